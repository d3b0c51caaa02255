import { AuthError, redactSecrets } from 'tabauth';

/**
 * Typed errors of the OpenID Connect login. Like every tabauth error, each message is written by tabauth and never
 * contains a token, an authorization code, a code verifier, a state or a nonce; text that comes from the
 * authorization server (`error_description`) is redacted and stripped of markup first.
 *
 * Failures of the token endpoint reuse the core's classes: `OAuthError` (an OAuth error body, e.g. `invalid_grant`
 * for a code used twice), `TransientRefreshError` (network, 5xx, 429, timeout) and `MalformedTokenResponseError`.
 */

export type DiscoveryFailure =
  /** The discovery document could not be fetched (network error, aborted). */
  | 'network'
  /** The server answered with a status other than 200. */
  | 'http-status'
  /** The body is not JSON. */
  | 'not-json'
  /** The body is JSON but not authorization server metadata (no `issuer` string, not an object). */
  | 'invalid-metadata'
  /** The document names another issuer than the one configured (a mix-up or a misconfiguration). */
  | 'issuer-mismatch'
  /** `authorization_endpoint` or `token_endpoint` is missing or not an absolute URL. */
  | 'missing-endpoint'
  /** The issuer or an endpoint uses plain http (allowed only for loopback issuers or with `allowInsecureRequests`). */
  | 'insecure-url';

/** Discovery of the authorization server's metadata (`/.well-known/openid-configuration`) failed. */
export class DiscoveryError extends AuthError {
  /** Why discovery failed. */
  readonly reason: DiscoveryFailure;
  /** HTTP status of the discovery response, when there was one. */
  readonly status: number | null;
  constructor(reason: DiscoveryFailure, message: string, options: { status?: number | null; cause?: unknown } = {}) {
    super('oidc_discovery_failed', message, { cause: options.cause });
    this.name = 'DiscoveryError';
    this.reason = reason;
    this.status = options.status ?? null;
  }
}

/** Why a callback URL was refused: the `reason` of a `LoginCallbackError`. */
export type CallbackFailure =
  /** No `state` parameter: not the answer to a login started here. */
  | 'missing-state'
  /** No `code` and no `error` parameter. */
  | 'missing-code'
  /** A parameter (`state`, `code`, `iss`, `error`...) appears more than once. */
  | 'duplicate-parameter'
  /** Both `code` and `error`: a response is one or the other (RFC 6749 section 4.1.2). */
  | 'code-and-error'
  /** The state matches no login started in this tab: forged, or opened in another tab or browser. */
  | 'unknown-state'
  /** The state belongs to a login of this tab that was already completed: the callback URL was opened again. */
  | 'replayed'
  /** The login was started longer ago than `attemptMaxAgeMs`. */
  | 'expired-attempt'
  /** The callback arrived at another URL than the `redirect_uri` of its login. */
  | 'redirect-mismatch'
  /** The `iss` parameter names another issuer (RFC 9207 mix-up defence). */
  | 'issuer-mismatch'
  /** The server announces `iss` in authorization responses, and this one has none. */
  | 'missing-issuer'
  /** A response type tabauth does not accept (implicit or hybrid tokens in the URL, JARM). */
  | 'unsupported-response'
  /**
   * DPoP: the key this login's code is bound to (`dpop_jkt`, pending until the login completes) is gone: a sign-out
   * deleted it, or it was left so long that later logins cleaned it up. Nothing was stored; start a new login.
   */
  | 'dpop-key-changed';

/** The callback URL is not a valid answer to a login this tab started. Nothing was exchanged or stored. */
export class LoginCallbackError extends AuthError {
  /** Why the callback URL was refused. */
  readonly reason: CallbackFailure;
  constructor(reason: CallbackFailure, message: string, options: { cause?: unknown } = {}) {
    super('oidc_callback_invalid', message, { cause: options.cause });
    this.name = 'LoginCallbackError';
    this.reason = reason;
  }
}

/**
 * The authorization server answered the login with an error (`error=access_denied`, `login_required`,
 * `consent_required`...). The user is not signed in; nothing was stored.
 */
export class AuthorizationError extends AuthError {
  /** The OAuth `error` code, e.g. "access_denied" (anything outside RFC 6749's character set reads "invalid_error"). */
  readonly error: string;
  /** The server's `error_description`, redacted, without markup, at most 300 characters; null when absent. */
  readonly errorDescription: string | null;
  constructor(error: string, errorDescription: string | null | undefined) {
    const code = /^[A-Za-z0-9_.-]{1,64}$/.test(error) ? error : 'invalid_error';
    const description = errorDescription == null ? null : serverText(errorDescription, 300) || null;
    super('oidc_authorization_error', `The authorization server refused the login with "${code}"${description ? `: ${description}` : ''}`);
    this.name = 'AuthorizationError';
    this.error = code;
    this.errorDescription = description;
  }
}

/** Why an ID token failed validation: the `reason` of an `IdTokenValidationError`. */
export type IdTokenFailure =
  /** `openid` was asked for and the token response has no `id_token`. */
  | 'missing'
  /** Not a JWT, or its header or payload is not JSON. */
  | 'malformed'
  /** A required claim (iss, sub, aud, exp, iat, nonce) is absent. */
  | 'missing-claim'
  /** The `iss` claim is not the configured issuer. */
  | 'issuer-mismatch'
  /** The `aud` claim does not include this client. */
  | 'audience-mismatch'
  /** Several audiences and `azp` is absent or is not this client. */
  | 'azp-mismatch'
  /** The `nonce` claim is not the one this login sent (a token injected from another login). */
  | 'nonce-mismatch'
  /** `exp` is in the past. */
  | 'expired'
  /** `iat` is further in the future than the clock tolerance. */
  | 'issued-in-future'
  /** `nbf` is in the future. */
  | 'not-yet-valid'
  /** `auth_time` is older than `max_age` allows. */
  | 'auth-time';

/** The ID token of the code exchange failed validation. Its tokens were discarded; nobody was signed in. */
export class IdTokenValidationError extends AuthError {
  /** Why the ID token was refused. */
  readonly reason: IdTokenFailure;
  /** The claim that failed, when one did ("nonce", "iat", ...). */
  readonly claim: string | null;
  constructor(reason: IdTokenFailure, message: string, options: { claim?: string | null; cause?: unknown } = {}) {
    super('oidc_id_token_invalid', message, { cause: options.cause });
    this.name = 'IdTokenValidationError';
    this.reason = reason;
    this.claim = options.claim ?? null;
  }
}

/** Why a popup login failed: the `reason` of a `PopupLoginError`. */
export type PopupFailure = 'blocked' | 'closed' | 'timeout';

/** `loginWithPopup()` could not complete: the browser blocked the popup, the user closed it, or it timed out. */
export class PopupLoginError extends AuthError {
  /** Whether the popup was blocked, closed by the user, or timed out. */
  readonly reason: PopupFailure;
  constructor(reason: PopupFailure, message: string) {
    super('oidc_popup_failed', message);
    this.name = 'PopupLoginError';
    this.reason = reason;
  }
}

/**
 * Server-supplied text made safe to show and log: credentials redacted, markup and control characters removed
 * (an `error_description` may carry HTML meant for an `innerHTML`), whitespace collapsed, length capped.
 */
export function serverText(text: string, maxLength: number): string {
  return (
    redactSecrets(String(text))
      .replace(/<[^>]*>/g, ' ')
      .replace(/[<>"'`&\\]/g, '')
      // Control characters (C0 and C1) from server text become spaces.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point here
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, maxLength)
  );
}
