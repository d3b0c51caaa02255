import { MalformedJwtError } from './errors';

/** JWT helpers: decoding only (tabauth never verifies signatures: that is the resource server's job). */

/** Decodes a JWT payload; throws MalformedJwtError (never echoing the token) when it is not one. */
export function decodeJwtClaims<T extends object = Record<string, unknown>>(token: string): T {
  try {
    // The payload is base64url JSON in UTF-8 (RFC 7519); a few lines instead of a dependency in the core bundle.
    const part = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '='));
    const claims: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
    if (claims === null || typeof claims !== 'object') throw new Error('payload is not an object');
    return claims as T;
  } catch (cause) {
    throw new MalformedJwtError('Token is not a decodable JWT', { cause: cause instanceof Error ? new Error('invalid JWT structure') : undefined });
  }
}

/** True when the string has the three-part shape of a JWS compact serialisation. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
