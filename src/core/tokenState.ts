import { jwtDecode } from 'jwt-decode';
import { CorruptedStateError, MalformedJwtError, MalformedTokenResponseError } from './errors';
import type { SignOutReason, StoredAuthState, TokenResponse, TokenSet } from './types';

/**
 * Token state: validation of what comes from the server and from storage, and the expiry math.
 */

const MAX_TOKEN_LENGTH = 64 * 1024;

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOKEN_LENGTH;
}

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

/** When a pair is due for refresh (from the `refreshLeewayMs` and `refreshLifetimeRatio` options). */
export interface RefreshPolicy {
  /** Minimum time before expiry at which a refresh is due, in ms. */
  leewayMs: number;
  /** Fraction of the token lifetime reserved before expiry (0.1 = refresh in the last 10%). */
  lifetimeRatio: number;
}

/**
 * How long before expiry a token is refreshed: the larger of the fixed leeway and the lifetime ratio, capped at
 * half the lifetime so that very short tokens (1 s in tests) do not refresh the moment they arrive.
 */
export function refreshBufferMs(tokens: TokenSet, policy: RefreshPolicy): number {
  if (tokens.expiresAt === null) return 0;
  const lifetime = Math.max(0, tokens.expiresAt - tokens.receivedAt);
  return Math.min(Math.max(policy.leewayMs, lifetime * policy.lifetimeRatio), lifetime / 2);
}

/** The moment (local ms) at which the pair should be refreshed, or null for tokens of unknown lifetime. */
export function refreshDueAt(tokens: TokenSet, policy: RefreshPolicy): number | null {
  if (tokens.expiresAt === null) return null;
  return tokens.expiresAt - refreshBufferMs(tokens, policy);
}

/** True when the access token is missing its lifetime margin: expired or inside the refresh buffer. */
export function needsRefresh(tokens: TokenSet, now: number, policy: RefreshPolicy): boolean {
  const due = refreshDueAt(tokens, policy);
  return due !== null && now >= due;
}

/** True when the access token has expired at `now` (local ms); never for tokens of unknown lifetime. */
export function isExpired(tokens: TokenSet, now: number): boolean {
  return tokens.expiresAt !== null && now >= tokens.expiresAt;
}

const SIGN_OUT_REASONS: ReadonlySet<string> = new Set<SignOutReason>(['user', 'refresh-rejected', 'no-refresh-token']);

function isTokenSet(value: unknown): value is TokenSet {
  if (value === null || typeof value !== 'object') return false;
  const t = value as Record<string, unknown>;
  const nullableString = (v: unknown) => v === null || isNonEmptyString(v);
  const nullableNumber = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
  return (
    isNonEmptyString(t.accessToken) &&
    nullableString(t.refreshToken) &&
    nullableString(t.idToken) &&
    isNonEmptyString(t.tokenType) &&
    nullableString(t.scope) &&
    nullableNumber(t.expiresAt) &&
    typeof t.receivedAt === 'number' &&
    Number.isFinite(t.receivedAt) &&
    (t.serverVersion === null || typeof t.serverVersion === 'string' || typeof t.serverVersion === 'number')
  );
}

/** Structural check of a stored record (also used for records arriving over the channel). */
export function isStoredAuthState(value: unknown): value is StoredAuthState {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<string, unknown>;
  if (s.schema !== 1) return false;
  if (typeof s.version !== 'number' || !Number.isSafeInteger(s.version) || s.version < 0) return false;
  if (typeof s.updatedAt !== 'number' || !Number.isFinite(s.updatedAt)) return false;
  if (s.tokens === null) {
    return s.signedOutReason === null || (typeof s.signedOutReason === 'string' && SIGN_OUT_REASONS.has(s.signedOutReason));
  }
  return isTokenSet(s.tokens) && s.signedOutReason === null;
}

/** Returns the record, or null for "nothing stored"; throws CorruptedStateError for anything else. */
export function validateStoredState(value: unknown): StoredAuthState | null {
  if (value === undefined || value === null) return null;
  if (!isStoredAuthState(value)) throw new CorruptedStateError('Stored auth state is not a valid tabauth record; ignoring it');
  return value;
}
