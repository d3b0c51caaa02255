import { jwtDecode } from 'jwt-decode';
import { MalformedJwtError } from './errors';

/** JWT helpers: decoding only (tabauth never verifies signatures: that is the resource server's job). */

/** Decodes a JWT payload; throws MalformedJwtError (never echoing the token) when it is not one. */
export function decodeJwtClaims<T extends object = Record<string, unknown>>(token: string): T {
  try {
    const claims = jwtDecode<T>(token);
    if (claims === null || typeof claims !== 'object') throw new Error('payload is not an object');
    return claims;
  } catch (cause) {
    throw new MalformedJwtError('Token is not a decodable JWT', { cause: cause instanceof Error ? new Error('invalid JWT structure') : undefined });
  }
}

/** True when the string has the three-part shape of a JWS compact serialisation. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

