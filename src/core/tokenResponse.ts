import { MalformedTokenResponseError } from './errors';
import { decodeJwtClaims, looksLikeJwt } from './jwt';
import type { TokenResponse, TokenSet } from './types';

/** Token endpoint responses: validation of what comes from the server, and the lifetime it implies. */

export const MAX_TOKEN_LENGTH = 64 * 1024;

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOKEN_LENGTH;
}

/**
 * Local expiry time of an access token.
 * - `expires_in` (seconds, relative to when the response was received) wins: it needs no clock agreement.
 * - Else a JWT `exp`; when `iat` is also present the lifetime `exp - iat` is applied to the local receive time,
 *   which cancels any skew between the server's clock and ours.
 * - Else null: an opaque token of unknown lifetime (refreshed on 401 only).
 */
export function computeExpiresAt(accessToken: string, expiresIn: number | undefined, receivedAt: number): number | null {
  if (typeof expiresIn === 'number') return receivedAt + expiresIn * 1000;
  if (!looksLikeJwt(accessToken)) return null;
  let claims: { exp?: unknown; iat?: unknown };
  try {
    claims = decodeJwtClaims(accessToken);
  } catch {
    return null; // Not really a JWT after all: treat as opaque rather than rejecting a usable token.
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return null;
  if (typeof claims.iat === 'number' && Number.isFinite(claims.iat) && claims.exp >= claims.iat) {
    return receivedAt + (claims.exp - claims.iat) * 1000;
  }
  return claims.exp * 1000;
}

/**
 * Validates a token endpoint response body and turns it into a TokenSet.
 * `previous` supplies the refresh token when the server does not rotate (RFC 6749 section 6 allows omitting it).
 */
export function parseTokenResponse(body: unknown, receivedAt: number, previous?: TokenSet | null): TokenSet {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new MalformedTokenResponseError('Token response is not a JSON object');
  }
  const response = body as Partial<TokenResponse>;
  if (!isNonEmptyString(response.access_token)) {
    throw new MalformedTokenResponseError('Token response has no valid "access_token" string');
  }
  const optionalString = (field: 'refresh_token' | 'id_token' | 'scope' | 'token_type') => {
    const value = response[field];
    // An empty string means "none": oidc-provider sends "scope": "" with resource indicators. Rejecting it would
    // throw away a pair the server has already rotated to, and the next refresh would trip reuse detection.
    if (value === undefined || value === null || value === '') return null;
    if (!isNonEmptyString(value)) throw new MalformedTokenResponseError(`Token response field "${field}" is not a string`);
    return value;
  };
  const refreshToken = optionalString('refresh_token') ?? previous?.refreshToken ?? null;
  const tokenType = optionalString('token_type') ?? 'Bearer';
  const expiresInRaw = response.expires_in as unknown;
  let expiresIn: number | undefined;
  if (expiresInRaw !== undefined && expiresInRaw !== null) {
    // Some servers send expires_in as a numeric string.
    const parsed = typeof expiresInRaw === 'string' && expiresInRaw.trim() !== '' ? Number(expiresInRaw) : expiresInRaw;
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
      throw new MalformedTokenResponseError('Token response field "expires_in" is not a non-negative number');
    }
    expiresIn = parsed;
  }
  const version = response.version;
  if (version !== undefined && version !== null && typeof version !== 'string' && typeof version !== 'number') {
    throw new MalformedTokenResponseError('Token response field "version" is not a string or number');
  }
  return {
    accessToken: response.access_token,
    refreshToken,
    // OIDC refresh responses often omit the id token; the identity it describes has not changed.
    idToken: optionalString('id_token') ?? previous?.idToken ?? null,
    tokenType,
    scope: optionalString('scope') ?? previous?.scope ?? null,
    expiresAt: computeExpiresAt(response.access_token, expiresIn, receivedAt),
    receivedAt,
    serverVersion: version ?? null,
  };
}

