import * as oauth from 'oauth4webapi';
import type { AuthClient } from 'tabauth';
import { AuthError, TransientRefreshError, UnsupportedEnvironmentError } from 'tabauth';
import { oauth2RefreshGrant, oauth2Revoke } from 'tabauth';
import type { RefreshFunction, RevokeFunction } from 'tabauth';
import { createAttemptStore } from './attemptStore';
import { startLogin } from './authorizationRequest';
import { completeCallback } from './callback';
import type { OidcContext } from './context';
import { createDiscovery, isLoopback, type HttpOptions } from './discovery';
import { DiscoveryError } from './errors';
import { logout } from './logout';
import { handlePopupCallback, loginWithPopup } from './popup';
import type { OidcBrowser, OidcLogin, OidcLoginOptions, OidcMetadata } from './types';

/**
 * OpenID Connect login (authorization code + PKCE) for a tabauth client, on oauth4webapi. The protocol (discovery,
 * PKCE, state, nonce and iss checks, the code exchange, ID token validation) is oauth4webapi's; what tabauth adds is
 * that a login completed in one tab signs in every tab at once, and a logout signs out every tab.
 *
 * ```ts
 * const oidc = createOidcLogin({ issuer, clientId, redirectUri, scope: 'openid offline_access' });
 * const authClient = createAuthClient({ refresh: oidc.refresh, revoke: oidc.revoke });
 * ```
 */
export function createOidcLogin(options: OidcLoginOptions): OidcLogin {
  const config = checkOptions(options);
  const insecure = options.allowInsecureRequests ?? isLoopback(options.issuer ?? options.metadata?.issuer);
  const http: HttpOptions = {
    // Read at call time, like the core's grant: test runners and polyfills may replace fetch after setup. Cookies are
    // never sent: a public client authenticates with its client_id, and discovery needs none.
    [oauth.customFetch]: (url, init) => {
      const fetchImpl = options.fetch ?? globalThis.fetch;
      if (typeof fetchImpl !== 'function') throw new UnsupportedEnvironmentError('fetch is not available in this environment; pass the "fetch" option');
      return fetchImpl.call(globalThis, url, { ...init, credentials: 'omit' } as RequestInit);
    },
    [oauth.allowInsecureRequests]: insecure,
  };
  const discovery = createDiscovery({ issuer: options.issuer, metadata: options.metadata, http, insecure });
  const browser = { ...windowBrowser(), ...options.browser } as OidcBrowser;
  const attemptMaxAgeMs = options.attemptMaxAgeMs ?? 600_000;
  const clockToleranceSeconds = options.clockToleranceSeconds ?? 30;
  const now = options.now ?? Date.now;
  const ctx: OidcContext = {
    clientId: options.clientId,
    oauthClient: { client_id: options.clientId, token_endpoint_auth_method: 'none', [oauth.clockTolerance]: clockToleranceSeconds },
    discovery,
    attempts: createAttemptStore({ storage: () => browser.sessionStorage(), prefix: `tabauth:oidc:${options.clientId}`, maxAgeMs: attemptMaxAgeMs, now }),
    http,
    browser,
    scope: config.scope,
    openid: config.scope.split(/\s+/).includes('openid'),
    redirectUri: options.redirectUri,
    popupRedirectUri: options.popupRedirectUri ?? options.redirectUri,
    postLogoutRedirectUri: options.postLogoutRedirectUri ?? null,
    extraParams: { ...options.extraParams },
    attemptMaxAgeMs,
    clockToleranceSeconds,
    now,
    dpop: options.dpop ?? null,
  };

  // The grant is the core's (RFC 6749 classification and redaction), built once the token endpoint is known.
  let grant: { endpoint: string; refresh: RefreshFunction } | null = null;
  const refresh: RefreshFunction = async (context) => {
    const as = await metadataForRefresh(discovery.get(), context.signal);
    let current = grant;
    if (!current || current.endpoint !== as.token_endpoint) {
      current = {
        endpoint: as.token_endpoint!,
        refresh: oauth2RefreshGrant({ tokenEndpoint: as.token_endpoint!, clientId: options.clientId, fetch: options.fetch }),
      };
      grant = current;
    }
    return current.refresh(context);
  };
  let revoker: { endpoint: string; revoke: RevokeFunction } | null = null;
  const revoke: RevokeFunction = async (token) => {
    const as = await discovery.get();
    if (typeof as.revocation_endpoint !== 'string') throw new UnsupportedEnvironmentError('The authorization server has no revocation_endpoint');
    let current = revoker;
    if (!current || current.endpoint !== as.revocation_endpoint) {
      current = {
        endpoint: as.revocation_endpoint,
        revoke: oauth2Revoke({ revocationEndpoint: as.revocation_endpoint, clientId: options.clientId, fetch: options.fetch }),
      };
      revoker = current;
    }
    return current.revoke(token);
  };

  // One completion per callback URL: React StrictMode runs the callback effect twice, and both runs get this answer.
  const callbacks = new Map<string, Promise<string>>();

  return {
    refresh,
    revoke,
    metadata: () => discovery.get() as Promise<OidcMetadata>,
    async login(loginOptions = {}) {
      browser.navigate(await startLogin(ctx, loginOptions, 'redirect'));
    },
    loginWithPopup: (client, popupOptions) => loginWithPopup(ctx, client, popupOptions),
    logout: (client, logoutOptions) => logout(ctx, client, logoutOptions),
    handleCallback(client: AuthClient, url?: string) {
      const href = url ?? browser.currentUrl();
      let pending = callbacks.get(href);
      if (!pending) {
        pending = completeCallback(ctx, client, new URL(href), 'redirect').finally(() => callbacks.delete(href));
        callbacks.set(href, pending);
      }
      return pending;
    },
    handlePopupCallback,
  };
}

function checkOptions(options: OidcLoginOptions): { scope: string } {
  if (!options || typeof options !== 'object') throw new TypeError('createOidcLogin: options are required');
  if ((options.issuer === undefined) === (options.metadata === undefined)) throw new TypeError('createOidcLogin: give either "issuer" or "metadata"');
  if (options.issuer !== undefined) assertHttpUrl(options.issuer, 'issuer');
  if (typeof options.clientId !== 'string' || options.clientId.length === 0) throw new TypeError('createOidcLogin: clientId must be a non-empty string');
  assertHttpUrl(options.redirectUri, 'redirectUri');
  if (options.popupRedirectUri !== undefined) assertHttpUrl(options.popupRedirectUri, 'popupRedirectUri');
  if (options.postLogoutRedirectUri !== undefined) assertHttpUrl(options.postLogoutRedirectUri, 'postLogoutRedirectUri');
  const scope = (options.scope ?? 'openid').trim();
  if (scope.length === 0) throw new TypeError('createOidcLogin: scope must not be empty');
  return { scope };
}

function assertHttpUrl(value: unknown, what: string): void {
  let ok: boolean;
  try {
    ok = typeof value === 'string' && /^https?:$/.test(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new TypeError(`createOidcLogin: ${what} must be an absolute http(s) URL`);
}

/**
 * The refresher decides from the error's type whether to retry or sign out. A discovery failure says nothing about
 * the refresh token, so it is reported as transient: retried with backoff, never a sign-out.
 */
async function metadataForRefresh(metadata: Promise<oauth.AuthorizationServer>, signal: AbortSignal): Promise<oauth.AuthorizationServer> {
  try {
    return await raceAbort(metadata, signal);
  } catch (error) {
    if (error instanceof DiscoveryError) {
      const kind = error.reason === 'network' ? 'network' : 'server';
      throw new TransientRefreshError(kind, `Discovery failed before the refresh (${error.reason})`, { status: error.status, cause: error });
    }
    if (error instanceof AuthError) throw error;
    throw new TransientRefreshError('network', 'Discovery failed before the refresh', { cause: error });
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The real page; every member is read at call time so that a login created during a server render stays inert. */
function windowBrowser(): OidcBrowser {
  const page = () => {
    if (typeof window === 'undefined') throw new UnsupportedEnvironmentError('tabauth/oidc needs a browser window for this call');
    return window;
  };
  return {
    currentUrl: () => page().location.href,
    navigate: (url) => page().location.assign(url),
    replaceUrl: (url) => page().history.replaceState(page().history.state, '', url),
    sessionStorage: () => page().sessionStorage,
    openPopup: (url, name, features) => page().open(url, name, features),
  };
}
