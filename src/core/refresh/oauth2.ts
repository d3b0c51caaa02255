import { AuthError, MalformedTokenResponseError, OAuthError, TransientRefreshError, UnsupportedEnvironmentError, redactSecrets } from '../errors';
import { isNonEmptyString } from '../tokenResponse';
import type { RefreshContext, RefreshFunction, RevokeFunction, TokenResponse } from '../types';

/**
 * Built-in OAuth 2 refresh grant (RFC 6749 section 6) and token revocation (RFC 7009).
 *
 * The job of this module is mostly classification: the refresher decides whether to retry, give up or sign out
 * purely from the type of the error thrown here, so every way a token endpoint can fail maps to exactly one typed
 * error. No message built here ever contains a token or a response body; server-supplied text goes through
 * `redactSecrets` (OAuthError does that itself).
 */

/** Options of `oauth2RefreshGrant`. */
export interface OAuth2RefreshOptions {
  /** Absolute URL of the token endpoint. */
  tokenEndpoint: string;
  /** The app's OAuth client id, sent as the `client_id` form field (a public client: no secret). */
  clientId: string;
  /** Sent as `scope` only when set (RFC 6749 section 6: omitting it keeps the originally granted scope). */
  scope?: string;
  /** Additional form fields. They never replace the fields set by tabauth (grant_type, refresh_token, client_id...). */
  extraParams?: Record<string, string> | ((ctx: RefreshContext) => Record<string, string>);
  /** Form field name that carries `context.deviceId`; null (default) does not send it. */
  deviceIdParam?: string | null;
  /**
   * Extra request headers, e.g. an API gateway key or `DPoP`. `Content-Type` is always
   * `application/x-www-form-urlencoded` (a value given here is replaced: the body is a form); `Accept` defaults to
   * `application/json`. Any header other than those CORS-safelisted makes the browser send a preflight `OPTIONS`
   * request, which the token endpoint must answer for the app's origin.
   */
  headers?: Record<string, string>;
  /** Default `globalThis.fetch`, read at call time so test runners and polyfills may replace it later. */
  fetch?: typeof fetch;
  /**
   * The `credentials` mode of the request. Default 'omit': a token endpoint authenticates a public client by
   * `client_id`, not by cookies, and no cookie of the authorization server should ride along. Use 'include' only for
   * an endpoint that needs its own cookies (a backend-for-frontend, some gateways); it then has to answer with
   * `Access-Control-Allow-Credentials: true` and the app's exact origin.
   */
  credentials?: RequestCredentials;
}

/** Options of `oauth2Revoke`. */
export interface OAuth2RevokeOptions {
  /** Absolute URL of the revocation endpoint (RFC 7009). */
  revocationEndpoint: string;
  /** The app's OAuth client id, sent as the `client_id` form field. */
  clientId: string;
  /** Default `globalThis.fetch`, read at call time. */
  fetch?: typeof fetch;
  /** Extra request headers; as for `oauth2RefreshGrant`, `Content-Type` is always the form type. */
  headers?: Record<string, string>;
  /** The `credentials` mode of the request. Default 'omit' (see `OAuth2RefreshOptions.credentials`). */
  credentials?: RequestCredentials;
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

interface PostOptions {
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  credentials?: RequestCredentials;
}

/**
 * The standard OAuth 2 refresh grant (RFC 6749 section 6) as a `refresh` function for `createAuthClient`: POSTs
 * `grant_type=refresh_token`, the refresh token and `client_id` as a form to the token endpoint and maps every
 * failure to one typed error, which decides what the client does: `OAuthError` (terminal for invalid_grant and
 * friends: sign out unless another tab has a newer pair), `TransientRefreshError` (network, 5xx, 429, 408: retried
 * with backoff), `MalformedTokenResponseError` (an unusable body: after a 2xx retried once at once). No error message
 * ever contains a token.
 *
 * The token endpoint is usually on another origin than the app: it must allow the app's origin by CORS (see the
 * README's "Server settings").
 *
 * @param options - `tokenEndpoint` and `clientId` are required; see {@link OAuth2RefreshOptions}.
 * @returns The refresh function; only the leader tab ever calls it.
 * @throws TypeError at once (not at the first refresh) when `tokenEndpoint` is not an absolute http(s) URL or
 * `clientId` is empty.
 *
 * @example
 * ```ts
 * const authClient = createAuthClient({
 *   refresh: oauth2RefreshGrant({ tokenEndpoint: 'https://auth.example.com/oauth/token', clientId: 'my-spa' }),
 * });
 * ```
 */
export function oauth2RefreshGrant(options: OAuth2RefreshOptions): RefreshFunction {
  // Configuration mistakes are programmer errors: fail at setup, not at the first refresh an hour later.
  assertAbsoluteUrl(options.tokenEndpoint, 'oauth2RefreshGrant: tokenEndpoint');
  assertNonEmpty(options.clientId, 'oauth2RefreshGrant: clientId');

  const grant: RefreshFunction = async (context) => {
    const form = new URLSearchParams();
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', context.refreshToken);
    form.set('client_id', options.clientId);
    if (options.scope !== undefined) form.set('scope', options.scope);
    if (options.deviceIdParam) setIfAbsent(form, options.deviceIdParam, context.deviceId);
    const extra = typeof options.extraParams === 'function' ? options.extraParams(context) : options.extraParams;
    for (const [key, value] of Object.entries(extra ?? {})) {
      if (typeof value === 'string') setIfAbsent(form, key, value);
    }

    const label = 'Token endpoint';
    // With DPoP: a fresh proof per request, signed with the key stored for every tab (re-read: a tab never refreshes
    // with another key); a use_dpop_nonce answer is retried at once inside this call, so the backoff never sees it.
    const send = (dpop?: Record<string, string>) =>
      post(options.tokenEndpoint, form, dpop ? { ...options, headers: { ...options.headers, ...dpop } } : options, context.signal);
    const response = await (context.dpop
      ? context.dpop.fetchWithProof({ htm: 'POST', htu: options.tokenEndpoint, server: 'authorization', rereadKey: true }, send)
      : send());
    const status = response.status;
    // The server may echo the token it rejected, and a short opaque one slips past the heuristic: redact it exactly.
    if (status < 200 || status > 299) throw redactToken(await errorForStatus(response, context.signal, label), context.refreshToken);

    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (context.signal.aborted) throw abortError(context.signal, error);
      // The server already answered 2xx, so it has most likely rotated the token: this is a lost response,
      // not a network failure to retry blindly (resending the old token would trip reuse detection).
      throw new MalformedTokenResponseError(`${label} response body (HTTP ${status}) could not be read`, { status, cause: error });
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new MalformedTokenResponseError(`${label} returned HTTP ${status} with a body that is not JSON${describeContentType(response)}`, { status });
    }

    // Some servers (GitHub among them) answer errors with 200 and an OAuth error body. The server has said
    // explicitly that it issued nothing, which is more precise than "malformed".
    if (isRecord(body) && body.access_token === undefined) {
      const oauthError = oauthErrorFromBody(body, status);
      if (oauthError) throw oauthError;
    }

    // A 2xx that carries a new refresh token is never thrown away here: the client keeps the rotation and repairs or
    // drops mistyped optional fields (see readTokenResponse). Only a body with neither token is malformed.
    if (!isRecord(body) || (!isNonEmptyString(body.access_token) && !isNonEmptyString(body.refresh_token))) {
      throw new MalformedTokenResponseError(`${label} returned HTTP ${status} without a usable "access_token" or "refresh_token"`, { status });
    }
    // RFC 9449 section 5: a server that ignored the proof answers Bearer. Keeping that token would silently give up
    // the sender constraint, so it is refused (the message names the type, never the token).
    const tokenType = String(body.token_type);
    if (context.dpop && tokenType.toLowerCase() !== 'dpop') {
      throw new MalformedTokenResponseError(`${label} answered token_type "${redactSecrets(tokenType).slice(0, 20)}" to a DPoP proof`, { status });
    }
    return body as TokenResponse;
  };
  const description = describe(options);
  // Not enumerable and keyed by a registered symbol: invisible to app code, readable by any copy of tabauth.
  if (description) Object.defineProperty(grant, GRANT_DESCRIPTION, { value: description });
  return grant;
}

/**
 * The options of an `oauth2RefreshGrant` as plain data: what `sharedWorkerCoordination` sends to the default worker,
 * which rebuilds the same grant there. Functions (`fetch`, `extraParams` as a function) cannot cross to a worker.
 */
export type TransferableGrant = Omit<OAuth2RefreshOptions, 'fetch' | 'extraParams'> & { extraParams?: Record<string, string> };

const GRANT_DESCRIPTION = Symbol.for('tabauth.oauth2RefreshGrant');

function describe(options: OAuth2RefreshOptions): TransferableGrant | null {
  if (options.fetch !== undefined || typeof options.extraParams === 'function') return null;
  const { tokenEndpoint, clientId, scope, deviceIdParam, headers, credentials, extraParams } = options;
  const plain: TransferableGrant = { tokenEndpoint, clientId };
  if (scope !== undefined) plain.scope = scope;
  if (deviceIdParam !== undefined) plain.deviceIdParam = deviceIdParam;
  if (headers !== undefined) plain.headers = { ...headers };
  if (credentials !== undefined) plain.credentials = credentials;
  if (extraParams !== undefined) plain.extraParams = { ...extraParams };
  return plain;
}

/** The plain description of a refresh function made by `oauth2RefreshGrant`; null for any other function. */
export function describeRefreshGrant(refresh: RefreshFunction): TransferableGrant | null {
  const description = (refresh as unknown as Record<symbol, TransferableGrant | undefined>)[GRANT_DESCRIPTION];
  return description ?? null;
}

/**
 * Token revocation (RFC 7009) as a `revoke` function for `createAuthClient`: `signOut({ revoke: true })` then POSTs
 * the refresh token to the revocation endpoint. Best effort: a failure is reported as a `revocation-failed` event and
 * never blocks the sign-out.
 *
 * @param options - `revocationEndpoint` and `clientId` are required; see {@link OAuth2RevokeOptions}.
 * @returns The revoke function.
 * @throws TypeError at once when `revocationEndpoint` is not an absolute http(s) URL or `clientId` is empty.
 */
export function oauth2Revoke(options: OAuth2RevokeOptions): RevokeFunction {
  assertAbsoluteUrl(options.revocationEndpoint, 'oauth2Revoke: revocationEndpoint');
  assertNonEmpty(options.clientId, 'oauth2Revoke: clientId');

  return async ({ token, tokenTypeHint, signal }) => {
    const form = new URLSearchParams();
    form.set('token', token);
    form.set('token_type_hint', tokenTypeHint);
    form.set('client_id', options.clientId);
    const response = await post(options.revocationEndpoint, form, options, signal);
    if (response.status >= 200 && response.status <= 299) {
      // RFC 7009: the body of a successful revocation carries nothing the client needs.
      discardBody(response);
      return;
    }
    throw await errorForStatus(response, signal, 'Revocation endpoint');
  };
}

async function post(endpoint: string, form: URLSearchParams, options: PostOptions, signal: AbortSignal): Promise<Response> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new UnsupportedEnvironmentError('fetch is not available in this environment; pass the "fetch" option');
  }
  const headers = new Headers(options.headers);
  // The body is always a form: a caller-supplied Content-Type would make the server misread it.
  headers.set('Content-Type', FORM_CONTENT_TYPE);
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  try {
    // Called with globalThis as `this`: some browsers throw "Illegal invocation" for a detached window.fetch.
    return await fetchImpl.call(globalThis, endpoint, {
      method: 'POST',
      headers,
      body: form.toString(),
      credentials: options.credentials ?? 'omit',
      signal,
    });
  } catch (error) {
    throw transportError(error, signal);
  }
}

/** Maps a rejected fetch (or body read) to a typed error. */
function transportError(error: unknown, signal: AbortSignal): AuthError {
  if (signal.aborted) return abortError(signal, error);
  // A custom fetch may time out by itself (AbortSignal.timeout inside a wrapper) or already throw typed errors.
  if (isNamedError(error, 'AbortError') || isNamedError(error, 'TimeoutError')) {
    return new TransientRefreshError('timeout', 'Request to the authorization server timed out', { cause: error });
  }
  if (error instanceof AuthError) return error;
  return new TransientRefreshError('network', 'Network error while contacting the authorization server', { cause: error });
}

/**
 * The caller aborted. Its reason says why: tabauth aborts with its own typed error (RefreshTimeoutError,
 * DisposedError) and that must reach the refresher unchanged; any other reason is reported as a timeout.
 */
function abortError(signal: AbortSignal, cause: unknown): AuthError {
  const reason: unknown = signal.reason;
  if (reason instanceof AuthError) return reason;
  return new TransientRefreshError('timeout', 'Request to the authorization server was aborted', { cause: reason ?? cause });
}

/** Builds the error for a non-2xx answer. */
async function errorForStatus(response: Response, signal: AbortSignal, label: string): Promise<AuthError> {
  const status = response.status;
  const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'), Date.now());
  // For these the status alone decides: bodies are often HTML from a proxy and are never needed.
  if (status === 429) {
    discardBody(response);
    return new TransientRefreshError('rate-limited', `${label} rate-limited the request (HTTP 429)`, { status, retryAfterMs });
  }
  if (status === 408) {
    discardBody(response);
    return new TransientRefreshError('timeout', `${label} timed out (HTTP 408)`, { status, retryAfterMs });
  }
  if (status >= 500) {
    discardBody(response);
    return new TransientRefreshError('server', `${label} failed with HTTP ${status}`, { status, retryAfterMs });
  }
  if (status >= 400) {
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (signal.aborted) return abortError(signal, error);
      return new MalformedTokenResponseError(`${label} returned HTTP ${status} and its body could not be read`, { status, cause: error });
    }
    let body: unknown = undefined;
    try {
      body = JSON.parse(text);
    } catch {
      // fall through: not an OAuth error body
    }
    const oauthError = isRecord(body) ? oauthErrorFromBody(body, status) : null;
    if (oauthError) return oauthError;
    return new MalformedTokenResponseError(`${label} returned HTTP ${status} without an OAuth error body${describeContentType(response)}`, { status });
  }
  // 0 (opaque), 1xx, 3xx: nothing a token endpoint should ever answer to a POST followed by fetch.
  discardBody(response);
  return new MalformedTokenResponseError(`${label} returned unexpected HTTP status ${status}`, { status });
}

/** Replaces the refresh token this request sent wherever the error carries server text. */
function redactToken<E extends AuthError>(error: E, token: string): E {
  if (token.length < 8) return error;
  const clean = (text: string) => text.split(token).join('[redacted]');
  if (error.message.includes(token)) Object.defineProperty(error, 'message', { value: clean(error.message), configurable: true, writable: true });
  if (error instanceof OAuthError && error.errorDescription?.includes(token)) {
    Object.defineProperty(error, 'errorDescription', { value: clean(error.errorDescription), configurable: true });
  }
  return error;
}

function oauthErrorFromBody(body: Record<string, unknown>, status: number): OAuthError | null {
  if (typeof body.error !== 'string' || body.error.length === 0) return null;
  const description = typeof body.error_description === 'string' ? body.error_description : null;
  return new OAuthError(body.error, { status, errorDescription: description });
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3). */
function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

function describeContentType(response: Response): string {
  const type = response.headers.get('Content-Type');
  if (!type) return '';
  // A header is server-controlled text: keep it short and redacted like any other.
  return ` (content-type ${redactSecrets(type.split(';')[0]?.trim() ?? '').slice(0, 60)})`;
}

/** Frees the connection without waiting; a body we do not need must not keep a socket busy. */
function discardBody(response: Response): void {
  try {
    response.body?.cancel().catch(() => {});
  } catch {
    // Body already used or locked: nothing to free.
  }
}

function setIfAbsent(form: URLSearchParams, key: string, value: string): void {
  if (!form.has(key)) form.set(key, value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isNamedError(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

function assertAbsoluteUrl(value: unknown, what: string): void {
  let ok: boolean;
  try {
    ok = typeof value === 'string' && /^https?:$/.test(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new TypeError(`${what} must be an absolute http(s) URL`);
}

function assertNonEmpty(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${what} must be a non-empty string`);
}
