/**
 * Typed errors. Every message is written by tabauth itself; none ever contains a token string.
 * Text that comes from a server (error_description) passes through `redactSecrets` first.
 */

/** The `code` of every tabauth error, one per error class. */
export type AuthErrorCode =
  | 'oauth_error'
  | 'transient_refresh_failure'
  | 'malformed_token_response'
  | 'malformed_jwt'
  | 'storage_failure'
  | 'corrupted_state'
  | 'signed_out'
  | 'disposed'
  | 'not_mounted'
  | 'unsupported_environment'
  | 'refresh_timeout'
  // tabauth/oidc (classes in src/oidc/errors.ts): hook added for the OIDC login, keep when restructuring.
  | 'oidc_discovery_failed'
  | 'oidc_callback_invalid'
  | 'oidc_authorization_error'
  | 'oidc_id_token_invalid'
  | 'oidc_popup_failed';

/** Base class of every error tabauth throws or reports; narrow on `code` or with `instanceof` of a subclass. */
export class AuthError extends Error {
  /** Which kind of error this is; stable across releases, unlike the message. */
  readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: sanitizeCause(options.cause) });
    this.name = 'AuthError';
    this.code = code;
  }
}

/** OAuth error codes after which the refresh token can never work again (RFC 6749 section 5.2). */
const TERMINAL_OAUTH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'access_denied']);

/** The token endpoint answered with an OAuth error body (`{"error": "..."}`). */
export class OAuthError extends AuthError {
  /** The server's `error` code, e.g. 'invalid_grant' (redacted, at most 100 characters). */
  readonly error: string;
  /** The server's `error_description`, redacted and cut to 300 characters; null when it sent none. */
  readonly errorDescription: string | null;
  /** HTTP status of the response, when it came from one. */
  readonly status: number | null;
  /** True when retrying with the same refresh token cannot succeed (invalid_grant and friends). */
  readonly terminal: boolean;
  constructor(error: string, options: { status?: number | null; errorDescription?: string | null } = {}) {
    const safeError = redactSecrets(error).slice(0, 100);
    const description = options.errorDescription == null ? null : redactSecrets(options.errorDescription).slice(0, 300);
    super('oauth_error', `Token endpoint returned OAuth error "${safeError}"${description ? `: ${description}` : ''}`);
    this.name = 'OAuthError';
    this.error = safeError;
    this.errorDescription = description;
    this.status = options.status ?? null;
    this.terminal = TERMINAL_OAUTH_ERRORS.has(safeError);
  }
}

/** What kind of transient failure a `TransientRefreshError` is: no answer, a 5xx, a 429, or a timeout (408 or ours). */
export type TransientKind = 'network' | 'server' | 'rate-limited' | 'timeout';

/** A failure that may go away by itself: network down, 5xx, 429, timeout. Retried with backoff. */
export class TransientRefreshError extends AuthError {
  /** Which transient failure this was. */
  readonly kind: TransientKind;
  /** HTTP status, when the server answered at all. */
  readonly status: number | null;
  /** Server-requested wait (Retry-After), in milliseconds, if any. */
  readonly retryAfterMs: number | null;
  constructor(kind: TransientKind, message: string, options: { status?: number | null; retryAfterMs?: number | null; cause?: unknown } = {}) {
    super('transient_refresh_failure', message, { cause: options.cause });
    this.name = 'TransientRefreshError';
    this.kind = kind;
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

/**
 * A successful-looking response that is not a usable token response (HTML, not JSON, missing or mistyped fields).
 * Not retried automatically when the status was 2xx: the server may already have rotated the refresh token, and
 * sending it again would trigger reuse detection.
 */
export class MalformedTokenResponseError extends AuthError {
  /** HTTP status of the response; null when the app's own `refresh` function returned the bad value. */
  readonly status: number | null;
  constructor(message: string, options: { status?: number | null; cause?: unknown } = {}) {
    super('malformed_token_response', message, { cause: options.cause });
    this.name = 'MalformedTokenResponseError';
    this.status = options.status ?? null;
  }
}

/** A string that should be a JWT could not be decoded. */
export class MalformedJwtError extends AuthError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('malformed_jwt', message, options);
    this.name = 'MalformedJwtError';
  }
}

/** Storage threw or is unavailable. */
export class StorageError extends AuthError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('storage_failure', message, options);
    this.name = 'StorageError';
  }
}

/** The stored record is not a valid tabauth state; it is left untouched and ignored. */
export class CorruptedStateError extends AuthError {
  constructor(message: string) {
    super('corrupted_state', message);
    this.name = 'CorruptedStateError';
  }
}

/** `getAccessToken()` was called while signed out (or the sign-out happened while waiting). */
export class SignedOutError extends AuthError {
  constructor(message = 'Not signed in') {
    super('signed_out', message);
    this.name = 'SignedOutError';
  }
}

/** The client was disposed while the call was pending. */
export class DisposedError extends AuthError {
  constructor(message = 'Auth client was disposed') {
    super('disposed', message);
    this.name = 'DisposedError';
  }
}

/** A token was requested from a client that nobody mounted (`client.mount()`, which AuthProvider calls). */
export class NotMountedError extends AuthError {
  constructor(message = 'Auth client is not mounted: call client.mount() (AuthProvider does this), and not during a server render') {
    super('not_mounted', message);
    this.name = 'NotMountedError';
  }
}

/** A browser API tabauth needs is missing and there is no fallback. */
export class UnsupportedEnvironmentError extends AuthError {
  constructor(message: string) {
    super('unsupported_environment', message);
    this.name = 'UnsupportedEnvironmentError';
  }
}

/** No new token arrived in time (a follower waited for the leader too long, or the refresh attempt timed out). */
export class RefreshTimeoutError extends AuthError {
  constructor(message: string) {
    super('refresh_timeout', message);
    this.name = 'RefreshTimeoutError';
  }
}

/**
 * Replaces anything that looks like a credential (long base64url / JWT-like runs) with "[redacted]".
 * Server error descriptions sometimes echo the token they rejected.
 */
export function redactSecrets(text: string): string {
  return String(text).replace(/[A-Za-z0-9_\-+/=.~]{24,}/g, '[redacted]');
}

function sanitizeCause(cause: unknown): unknown {
  if (cause instanceof AuthError) return cause;
  if (cause instanceof Error) {
    const copy = new Error(redactSecrets(cause.message));
    copy.name = cause.name;
    return copy;
  }
  return undefined;
}

/** True for any error tabauth throws or reports (an `AuthError` of any subclass). */
export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError;
}

/**
 * An error's wire form: what a refreshing tab tells the others, so a follower throws the same class, kind, status
 * and OAuth code the leader saw. No message text crosses: the receiver writes its own.
 */
export interface WireError {
  code: AuthErrorCode;
  kind?: TransientKind;
  status?: number | null;
  /** The OAuth `error` value (e.g. "temporarily_unavailable"). */
  oauthError?: string;
  retryAfterMs?: number | null;
}

const TRANSIENT_KINDS: ReadonlySet<string> = new Set<TransientKind>(['network', 'server', 'rate-limited', 'timeout']);

export function toWire(error: AuthError): WireError {
  const wire: WireError = { code: error.code };
  if (error instanceof TransientRefreshError) Object.assign(wire, { kind: error.kind, status: error.status, retryAfterMs: error.retryAfterMs });
  if (error instanceof OAuthError) Object.assign(wire, { status: error.status, oauthError: error.error });
  if (error instanceof MalformedTokenResponseError) wire.status = error.status;
  return wire;
}

export function isWireError(value: unknown): value is WireError {
  if (value === null || typeof value !== 'object') return false;
  const wire = value as Record<string, unknown>;
  const nullableNumber = (v: unknown) => v === undefined || v === null || (typeof v === 'number' && Number.isFinite(v));
  return (
    typeof wire.code === 'string' &&
    wire.code.length <= 100 &&
    (wire.kind === undefined || (typeof wire.kind === 'string' && TRANSIENT_KINDS.has(wire.kind))) &&
    (wire.oauthError === undefined || (typeof wire.oauthError === 'string' && wire.oauthError.length <= 100)) &&
    nullableNumber(wire.status) &&
    nullableNumber(wire.retryAfterMs)
  );
}

/** Rebuilds a typed error a refreshing tab announced (terminal errors arrive as a sign-out, not as this). */
export function fromWire(wire: WireError): AuthError {
  const message = 'The leader tab could not refresh the token';
  const status = wire.status ?? null;
  switch (wire.code) {
    case 'refresh_timeout':
      return new RefreshTimeoutError(message);
    case 'malformed_token_response':
      return new MalformedTokenResponseError(message, { status });
    case 'oauth_error':
      return new OAuthError(wire.oauthError ?? 'server_error', { status });
    case 'transient_refresh_failure':
      return new TransientRefreshError(wire.kind ?? 'server', message, { status, retryAfterMs: wire.retryAfterMs ?? null });
    default:
      return new TransientRefreshError('server', message, { status });
  }
}

/** Rebuilds a typed error from the code alone (a peer that sent no wire form). */
export function failureFromWire(code: string): AuthError {
  return fromWire({ code: code as AuthErrorCode });
}
