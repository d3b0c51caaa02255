'use client';
import type { JwtPayload } from 'jwt-decode';
import {
  decodeJwtClaims,
  type AuthClient,
  type AuthError,
  type AuthSnapshot,
  type AuthStatus,
  type SignOutReason,
  type TokenResponse,
  type TokenSet,
} from 'tabauth';
import type { AuthLogin, LoginOptions, LogoutOptions, PopupLoginOptions } from 'tabauth/oidc';
import { missingLoginError } from './loginContext';

/** Decoded JWT claims: the registered ones typed, any other claim as `unknown`. */
export type AuthClaims = JwtPayload & { readonly [claim: string]: unknown };

/** What `useAuth()` returns (and what a `useAuth(selector)` selector receives). */
export interface AuthState {
  /** 'loading' until the stored state is read (always during a server render), then 'authenticated' or 'signed-out'. */
  status: AuthStatus;
  /** Whether this tab is the elected leader that performs refreshes. */
  isLeader: boolean;
  /**
   * Claims of the id token, or of the access token when there is no decodable id token; null when signed out or for
   * opaque tokens. The same object for as long as the token it was decoded from stays the same. Not verified: display
   * only, never an authorisation decision.
   */
  claims: AuthClaims | null;
  /** The last refresh or storage error; cleared by the next success. */
  error: AuthError | null;
  /** Version of the pair this tab holds; it only moves forward. */
  version: number;
  /** Why the last sign-out happened, when status is 'signed-out'. */
  signedOutReason: SignOutReason | null;
  /** Stores the result of a login (a token response) and pushes it to every tab. */
  signIn: (response: TokenResponse) => Promise<void>;
  /** Signs out in every tab; `revoke: true` also revokes the refresh token when the client has `revoke`. */
  signOut: (options?: { revoke?: boolean }) => Promise<void>;
  /**
   * Starts a login by redirect through the provider's `login` (`<AuthProvider login={oidcLogin}>`). Rejects with a
   * clear error when the provider has none.
   */
  login: (options?: LoginOptions) => Promise<void>;
  /** Logs in through a popup; resolves once every tab is signed in. Needs the provider's `login`. */
  loginWithPopup: (options?: PopupLoginOptions) => Promise<void>;
  /** Signs every tab out, then ends the session at the server (RP-initiated logout). Needs the provider's `login`. */
  logout: (options?: LogoutOptions) => Promise<void>;
}

/** The fields of every `AccessTokenState` variant, by status. */
export interface AccessTokenFields<S extends AuthStatus, T extends string | null, E extends number | null> {
  /** Narrow on it: 'authenticated' has a string `accessToken`. */
  status: S;
  /** The access token; null unless authenticated. */
  accessToken: T;
  /** Epoch milliseconds (local clock) at which the access token expires; null when unknown or not signed in. */
  expiresAt: E;
  /** Version of the pair this tab holds; it only moves forward. */
  version: number;
  /** A valid access token, refreshed through the leader tab when needed. Stable for the client's lifetime. */
  getAccessToken: () => Promise<string>;
}

/** What `useAccessToken()` returns: narrow on `status` to get a `string` access token. */
export type AccessTokenState =
  AccessTokenFields<'authenticated', string, number | null> | AccessTokenFields<'signed-out', null, null> | AccessTokenFields<'loading', null, null>;

/** What `useAccessToken({ suspense: true })` returns: never 'loading'. */
export type ResolvedAccessTokenState = Exclude<AccessTokenState, { status: 'loading' }>;

/**
 * Everything the hooks derive from one client, memoised per snapshot object (WeakMap) so that repeated reads of the
 * same snapshot give the same object, and claims memoised per token string so a leadership or error change keeps
 * the same `claims` object.
 */
export interface ClientView {
  subscribe: (onStoreChange: () => void) => () => void;
  getSnapshot: () => AuthSnapshot;
  getServerSnapshot: () => AuthSnapshot;
  authState: (snapshot: AuthSnapshot) => AuthState;
  tokenState: (snapshot: AuthSnapshot) => AccessTokenState;
  /**
   * Settles when the client has loaded (or was disposed): one stable promise per client, as React's `use()` needs,
   * marked with React's thenable fields (`status: 'fulfilled'`) so that `use()` returns synchronously once it is
   * known to be settled instead of suspending for a microtask.
   */
  loaded: TrackedPromise;
  /** Marks `loaded` as settled now (called when a render sees a snapshot that is no longer 'loading'). */
  markLoaded: () => void;
}

export type TrackedPromise = Promise<void> & { status?: 'pending' | 'fulfilled'; value?: undefined };

/** One view per client and login (a provider without `login` uses NO_LOGIN). */
const views = new WeakMap<AuthClient, WeakMap<object, ClientView>>();
const NO_LOGIN = {};

export function viewOf(client: AuthClient, login: AuthLogin | null = null): ClientView {
  let perLogin = views.get(client);
  if (!perLogin) {
    perLogin = new WeakMap();
    views.set(client, perLogin);
  }
  let view = perLogin.get(login ?? NO_LOGIN);
  if (!view) {
    view = createView(client, login);
    perLogin.set(login ?? NO_LOGIN, view);
  }
  return view;
}

function createView(client: AuthClient, authLogin: AuthLogin | null): ClientView {
  // Bound through closures: a custom AuthClient implementation may rely on `this`.
  const signIn = (response: TokenResponse) => client.signIn(response);
  const signOut = (options?: { revoke?: boolean }) => client.signOut(options);
  const withLogin =
    <A extends unknown[]>(what: string, call: (login: AuthLogin, ...args: A) => Promise<void>) =>
    (...args: A) =>
      authLogin ? call(authLogin, ...args) : Promise.reject(missingLoginError(`useAuth().${what}()`));
  const login = withLogin('login', (it, options?: LoginOptions) => it.login(options));
  const loginWithPopup = withLogin('loginWithPopup', (it, options?: PopupLoginOptions) => it.loginWithPopup(client, options));
  const logout = withLogin('logout', (it, options?: LogoutOptions) => it.logout(client, options));
  const getAccessToken = () => client.getAccessToken();
  const decodeIdToken = memoisedDecoder();
  const decodeAccessToken = memoisedDecoder();
  const claimsOf = (tokens: TokenSet | null): AuthClaims | null => {
    if (!tokens) return null;
    return (tokens.idToken ? decodeIdToken(tokens.idToken) : null) ?? decodeAccessToken(tokens.accessToken);
  };

  let resolveLoaded!: () => void;
  const loaded: TrackedPromise = new Promise<void>((resolve) => (resolveLoaded = resolve));
  const markLoaded = () => {
    if (loaded.status === 'fulfilled') return;
    loaded.status = 'fulfilled';
    loaded.value = undefined;
    resolveLoaded();
  };

  const authStates = new WeakMap<AuthSnapshot, AuthState>();
  const tokenStates = new WeakMap<AuthSnapshot, AccessTokenState>();
  const view: ClientView = {
    subscribe: (onStoreChange) => client.subscribe(onStoreChange),
    getSnapshot: () => client.getSnapshot(),
    getServerSnapshot: () => client.getServerSnapshot(),
    authState(snapshot) {
      let state = authStates.get(snapshot);
      if (!state) {
        state = Object.freeze({
          status: snapshot.status,
          isLeader: snapshot.isLeader,
          claims: claimsOf(snapshot.tokens),
          error: snapshot.error,
          version: snapshot.version,
          signedOutReason: snapshot.signedOutReason,
          signIn,
          signOut,
          login,
          loginWithPopup,
          logout,
        });
        authStates.set(snapshot, state);
      }
      return state;
    },
    tokenState(snapshot) {
      let state = tokenStates.get(snapshot);
      if (!state) {
        const tokens = snapshot.tokens;
        state = Object.freeze(
          snapshot.status === 'authenticated' && tokens
            ? { status: 'authenticated', accessToken: tokens.accessToken, expiresAt: tokens.expiresAt, version: snapshot.version, getAccessToken }
            : {
                status: snapshot.status === 'loading' ? 'loading' : 'signed-out',
                accessToken: null,
                expiresAt: null,
                version: snapshot.version,
                getAccessToken,
              },
        ) as AccessTokenState;
        tokenStates.set(snapshot, state);
      }
      return state;
    },
    loaded,
    markLoaded,
  };
  client.ready().then(markLoaded, markLoaded);
  return view;
}

/** Decodes one token at a time and remembers the last result (null for opaque or malformed tokens: never throws). */
function memoisedDecoder(): (token: string) => AuthClaims | null {
  let lastToken: string | null = null;
  let lastClaims: AuthClaims | null = null;
  return (token) => {
    if (token !== lastToken) {
      lastToken = token;
      try {
        lastClaims = Object.freeze(decodeJwtClaims<AuthClaims>(token));
      } catch {
        lastClaims = null;
      }
    }
    return lastClaims;
  };
}

/** True when two token states would render the same (the function is per client, so it is not compared). */
export function sameTokenState(a: AccessTokenState, b: AccessTokenState): boolean {
  return a.status === b.status && a.accessToken === b.accessToken && a.expiresAt === b.expiresAt && a.version === b.version;
}
