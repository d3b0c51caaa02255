import { MalformedTokenResponseError } from './errors';
import { decodeJwtClaims, looksLikeJwt } from './jwt';
import type { TokenSet } from './types';

/** Token endpoint responses: validation of what comes from the server, and the lifetime it implies. */

export const MAX_TOKEN_LENGTH = 64 * 1024;

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOKEN_LENGTH;
}

/**
 * The longest access-token lifetime tabauth accepts: 400 days (the cap browsers put on cookies). Larger values,
 * from `expires_in`, a JWT or a stored record, are clamped to it on every path, so no due time overflows to
 * Infinity and no timer is ever scheduled with NaN.
 */
export const MAX_LIFETIME_MS = 400 * 24 * 3600 * 1000;

/**
 * Local expiry time of an access token, `receivedAt` being the local moment the lifetime counts from (the refresher
 * passes the moment the request was sent: the server's clock for the token starts no earlier than that).
 * - `expires_in` (seconds): needs no clock agreement. But when the access token is a JWT with `exp`, the JWT's own
 *   lifetime caps it: a server (or proxy) that sends `expires_in: 1e306`, or a stale value, must not make the client
 *   trust a token for longer than the resource server will accept it (found by the chaos runs, seed 13).
 * - Else a JWT `exp`.
 * A JWT's lifetime is `exp - iat` applied to `receivedAt` when `iat` is present (which cancels any skew between the
 * server's clock and ours), else `exp` read on the local wall clock.
 * - Else null: an opaque token of unknown lifetime (refreshed on 401 only).
 * Every lifetime is clamped to MAX_LIFETIME_MS.
 */
export function computeExpiresAt(accessToken: string, expiresIn: number | undefined, receivedAt: number): number | null {
  const cap = receivedAt + MAX_LIFETIME_MS;
  const fromJwt = jwtExpiresAt(accessToken, receivedAt);
  const fromExpiresIn = typeof expiresIn === 'number' ? receivedAt + Math.min(expiresIn * 1000, MAX_LIFETIME_MS) : null;
  if (fromExpiresIn === null) return fromJwt === null ? null : Math.min(fromJwt, cap);
  return fromJwt === null ? fromExpiresIn : Math.min(fromExpiresIn, fromJwt);
}

/** The local expiry a JWT access token's `exp` implies (see computeExpiresAt), or null for an opaque token. */
function jwtExpiresAt(accessToken: string, receivedAt: number): number | null {
  if (!looksLikeJwt(accessToken)) return null;
  let claims: { exp?: unknown; iat?: unknown };
  try {
    claims = decodeJwtClaims(accessToken);
  } catch {
    return null; // Not really a JWT after all: treat as opaque rather than rejecting a usable token.
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return null;
  if (typeof claims.iat === 'number' && Number.isFinite(claims.iat) && claims.exp >= claims.iat) {
    return receivedAt + Math.min((claims.exp - claims.iat) * 1000, MAX_LIFETIME_MS);
  }
  return Math.min(claims.exp * 1000, receivedAt + MAX_LIFETIME_MS);
}

/** An optional field of a 2xx token response that was mistyped and replaced (dropped, repaired or clamped). */
export type RepairedField = 'refresh_token' | 'id_token' | 'scope' | 'token_type' | 'expires_in' | 'version' | 'access_token';

/** What `readTokenResponse` makes of a 2xx body. */
export interface ReadTokenResponse {
  /** The pair to store. */
  tokens: TokenSet;
  /** Optional fields that were mistyped: each was dropped (the previous value, or none, kept) or repaired. */
  repaired: RepairedField[];
  /**
   * The body had no usable access token but a new refresh token: the rotation is kept (with the previous access
   * token, marked expired, so the next call refreshes with the new refresh token) and the caller reports the failure.
   */
  accessTokenUnusable: boolean;
}

/**
 * Reads a token endpoint response body into a TokenSet. A 2xx that carries a new refresh token is never thrown away:
 * the server has rotated, and the old refresh token is spent. So only the access token is required, and only when
 * there is no new refresh token to keep; every mistyped optional field is dropped or repaired and listed in `repaired`.
 * `previous` supplies the fields the server omitted (RFC 6749 section 6 lets it omit the refresh token).
 */
export function readTokenResponse(body: unknown, receivedAt: number, previous?: TokenSet | null): ReadTokenResponse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new MalformedTokenResponseError('Token response is not a JSON object');
  }
  const response = body as Record<string, unknown>;
  const repaired: RepairedField[] = [];
  const optionalString = (field: 'refresh_token' | 'id_token' | 'token_type'): string | null => {
    const value = response[field];
    // An empty string means "none": oidc-provider sends "scope": "" with resource indicators.
    if (value === undefined || value === null || value === '') return null;
    if (isNonEmptyString(value)) return value;
    repaired.push(field);
    return null;
  };
  const newRefreshToken = optionalString('refresh_token');
  const rotated = newRefreshToken !== null && newRefreshToken !== previous?.refreshToken;
  let accessToken = response.access_token;
  let accessTokenUnusable = false;
  if (!isNonEmptyString(accessToken)) {
    if (!previous || !rotated) throw new MalformedTokenResponseError('Token response has no valid "access_token" string');
    accessToken = previous.accessToken;
    accessTokenUnusable = true;
    repaired.push('access_token');
  }
  const expiresIn = readExpiresIn(response.expires_in, repaired);
  const tokenType = optionalString('token_type');
  const idToken = optionalString('id_token');
  const token = accessToken as string;
  const tokens: TokenSet = {
    accessToken: token,
    refreshToken: newRefreshToken ?? previous?.refreshToken ?? null,
    // OIDC refresh responses often omit the id token; the identity it describes has not changed.
    idToken: idToken ?? previous?.idToken ?? null,
    tokenType: tokenType ?? previous?.tokenType ?? 'Bearer',
    scope: readScope(response.scope, repaired) ?? previous?.scope ?? null,
    expiresAt: accessTokenUnusable ? receivedAt : computeExpiresAt(token, expiresIn, receivedAt),
    receivedAt,
    serverVersion: readVersion(response.version, repaired) ?? previous?.serverVersion ?? null,
  };
  return { tokens, repaired, accessTokenUnusable };
}

/** Strict form for callers that want a TokenSet or an error: a body without a usable access token is rejected. */
export function parseTokenResponse(body: unknown, receivedAt: number, previous?: TokenSet | null): TokenSet {
  const read = readTokenResponse(body, receivedAt, previous);
  if (read.accessTokenUnusable) throw new MalformedTokenResponseError('Token response has no valid "access_token" string');
  return read.tokens;
}

function readExpiresIn(raw: unknown, repaired: RepairedField[]): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  // Some servers send expires_in as a numeric string.
  const parsed = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0) {
    if (parsed * 1000 > MAX_LIFETIME_MS) repaired.push('expires_in');
    return parsed;
  }
  // "3600s", -1, NaN, an object: unknown lifetime. The JWT's own exp decides, else the token is refreshed on 401.
  repaired.push('expires_in');
  return undefined;
}

function readScope(raw: unknown, repaired: RepairedField[]): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (isNonEmptyString(raw)) return raw;
  repaired.push('scope');
  // A list of scope strings (some servers send a JSON array) means the space-separated list RFC 6749 asks for.
  if (Array.isArray(raw) && raw.length > 0 && raw.every((item) => typeof item === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(item))) {
    return raw.join(' ');
  }
  return null;
}

function readVersion(raw: unknown, repaired: RepairedField[]): string | number | null {
  if (raw === undefined || raw === null) return null;
  if ((typeof raw === 'string' && raw.length <= 1024) || (typeof raw === 'number' && Number.isFinite(raw))) return raw;
  repaired.push('version');
  return null;
}
