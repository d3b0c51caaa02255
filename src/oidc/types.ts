/**
 * Public types of tabauth/oidc. Types only: `tabauth/react` imports them without pulling in the OIDC code.
 */
import type { AuthClient, DpopHandle } from 'tabauth';
import type { RefreshFunction, RevokeFunction } from 'tabauth';

/** Authorization server metadata (RFC 8414 / OpenID Connect Discovery), as discovery returns it. */
export interface OidcMetadata {
  /** The issuer identifier, which must match the configured issuer. */
  issuer: string;
  /** URL the browser is sent to for login. */
  authorization_endpoint?: string;
  /** URL of the code exchange and refresh grant. */
  token_endpoint?: string;
  /** URL for token revocation (RFC 7009), when supported. */
  revocation_endpoint?: string;
  /** URL for RP-initiated logout, when supported. */
  end_session_endpoint?: string;
  /** URL of the server's signing keys. */
  jwks_uri?: string;
  /** URL of the UserInfo endpoint. */
  userinfo_endpoint?: string;
  /** Whether authorization responses carry an `iss` parameter (RFC 9207). */
  authorization_response_iss_parameter_supported?: boolean;
  /** PKCE code challenge methods the server accepts. */
  code_challenge_methods_supported?: string[];
  /** Any other metadata field the server publishes. */
  [field: string]: unknown;
}

/** What the login needs from the page. Every member defaults to the real `window`; tests pass their own. */
export interface OidcBrowser {
  /** The current URL (default `location.href`). */
  currentUrl(): string;
  /** Full-page navigation to the authorization or end-session endpoint (default `location.assign`). */
  navigate(url: string): void;
  /** Replaces the current URL without navigating (default `history.replaceState`): removes code and state. */
  replaceUrl(url: string): void;
  /** Per-tab storage for login attempts (default `sessionStorage`; null when the browser has none). */
  sessionStorage(): Storage | null;
  /** Opens the login popup (default `window.open`); null when the browser blocked it. */
  openPopup(url: string, name: string, features: string): Window | null;
}

/** Options of `createOidcLogin`: the server, the client registration and how the login runs. */
export interface OidcLoginOptions {
  /**
   * Issuer URL; its `/.well-known/openid-configuration` is fetched once per tab, on first use. Give either `issuer`
   * or `metadata`.
   */
  issuer?: string;
  /** The metadata itself, for servers without discovery or to skip the request. */
  metadata?: OidcMetadata;
  /** The client ID registered with the authorization server. */
  clientId: string;
  /** Absolute URL of the page that calls `handleCallback()`; must be registered with the server. */
  redirectUri: string;
  /**
   * Space-separated scopes. Default 'openid'. Ask for 'offline_access' (or what your server uses) to get a refresh
   * token. With 'openid' an ID token is required and its claims are validated, nonce included.
   */
  scope?: string;
  /** Extra authorization request parameters for every login (e.g. `{ audience: 'https://api.example.com' }`). */
  extraParams?: Record<string, string>;
  /** Where the server sends the browser after RP-initiated logout (registered with the server). */
  postLogoutRedirectUri?: string;
  /** redirect_uri of popup logins. Default `redirectUri`. */
  popupRedirectUri?: string;
  /** A login attempt (state, nonce, code verifier) is kept this long, then refused. Default 600 000 ms (10 minutes). */
  attemptMaxAgeMs?: number;
  /** Tolerance for ID token time claims (exp, nbf, iat), in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Default `globalThis.fetch`, read at call time. Used for discovery, the code exchange, refresh and revocation. */
  fetch?: typeof fetch;
  /**
   * Allow http:// URLs for the issuer and its endpoints. Default true for loopback issuers (127.0.0.1, [::1],
   * localhost) and false otherwise: keep it that way in production.
   */
  allowInsecureRequests?: boolean;
  /** Page access (navigation, URL, sessionStorage, popups); defaults to the real window. */
  browser?: Partial<OidcBrowser>;
  /** Time source for attempt expiry. Default Date.now. */
  now?: () => number;
  /**
   * DPoP (RFC 9449): the same `createDpop()` handle the auth client gets. Each login then makes a new key, pending
   * until it completes (every tab keeps the current session's key meanwhile), binds the code to it with `dpop_jkt`,
   * sends the code exchange with a proof of it (a nonce challenge is retried at once, once), and makes it every
   * tab's key just before storing the tokens. The callback also finds the handle on `client.dpop`; this
   * option is what the authorization request needs, as it runs before any client is involved.
   */
  dpop?: DpopHandle;
}

/** Options of one login. */
export interface LoginOptions {
  /**
   * Where `handleCallback()` sends the user afterwards: a same-origin path or URL (another origin throws a
   * TypeError, so a `?next=` parameter cannot become an open redirect). Default: the current path, query and hash.
   */
  returnTo?: string;
  /** OIDC `prompt`: 'login', 'consent', 'select_account', 'none', or several separated by spaces. */
  prompt?: string;
  /** OIDC `login_hint`, e.g. the user's email. */
  loginHint?: string;
  /** Extra parameters for this login; they never replace the ones tabauth sets (state, nonce, PKCE, redirect_uri...). */
  extraParams?: Record<string, string>;
}

/** Options of one popup login (`loginWithPopup`). */
export interface PopupLoginOptions extends LoginOptions {
  /** Give up after this long. Default `attemptMaxAgeMs`. */
  timeoutMs?: number;
  /** `window.open` features. Default a centred 500 x 640 window. */
  features?: string;
}

/** Options of one logout. */
export interface LogoutOptions {
  /** Also revoke the refresh token (RFC 7009) through the client's `revoke` option. Default false. */
  revoke?: boolean;
  /**
   * Redirect to the server's `end_session_endpoint` (RP-initiated logout) with `id_token_hint`, ending the session
   * at the server too. Default true when the server has one.
   */
  endSession?: boolean;
  /** Overrides the `postLogoutRedirectUri` option for this logout. */
  postLogoutRedirectUri?: string;
  /** `state` passed through the end-session redirect. */
  state?: string;
}

/**
 * The login a `<AuthProvider login={...}>` uses: what `createOidcLogin` returns, or any object with these methods
 * (a custom login flow). Methods that store or remove tokens take the auth client they act on.
 */
export interface AuthLogin {
  /** Starts a login by full-page redirect. Resolves once the navigation was started. */
  login(options?: LoginOptions): Promise<void>;
  /** Logs in through a popup window; resolves when this tab (and so every tab) is signed in. */
  loginWithPopup(client: AuthClient, options?: PopupLoginOptions): Promise<void>;
  /** Signs every tab out, optionally revokes, and redirects to the end-session endpoint. */
  logout(client: AuthClient, options?: LogoutOptions): Promise<void>;
  /** Completes the login on the callback page; resolves with the `returnTo` of the login. */
  handleCallback(client: AuthClient, url?: string): Promise<string>;
  /** On a popup's callback page: hands the response to the opener and closes the popup. False anywhere else. */
  handlePopupCallback(url?: string): boolean;
}

/** What `createOidcLogin` returns. */
export interface OidcLogin extends AuthLogin {
  /** For `createAuthClient({ refresh })`: the RFC 6749 refresh grant against the discovered token endpoint. */
  readonly refresh: RefreshFunction;
  /** For `createAuthClient({ revoke })`: RFC 7009 revocation at the discovered revocation endpoint. */
  readonly revoke: RevokeFunction;
  /** The server's metadata: discovered once per tab (one request, shared by concurrent callers), then cached. */
  metadata(): Promise<OidcMetadata>;
}
