import type { AuthClient } from 'tabauth';
import { DisposedError, SignedOutError, type AuthError } from 'tabauth';
import type { AuthEvent, AuthEventListener } from 'tabauth';
import { parseTokenResponse } from 'tabauth';
import type { AuthSnapshot, AuthStatus, SignOutReason, TokenResponse, TokenSet } from 'tabauth';

/**
 * A fixed auth state for component tests: `<AuthProvider client={createStaticAuthClient({ claims: { name: 'Ada' } })}>`
 * renders every hook as signed in, with no storage, channel, timer or network behind it. `setState` moves it to
 * another state (for "what does the page show when signed out" tests); `signIn`/`signOut` work like the real ones
 * and are recorded.
 */
export interface StaticAuthState {
  /** Default 'authenticated'. */
  status?: AuthStatus;
  /** Claims the hooks show (`useAuth().claims`): carried by an unsigned ID token, as the hooks decode, never verify. */
  claims?: Record<string, unknown> | null;
  /** Default 'static-access-token' while authenticated. */
  accessToken?: string;
  /** Refresh token of the session; default null (none). */
  refreshToken?: string | null;
  /** Epoch ms; default null (no expiry). */
  expiresAt?: number | null;
  /** Default true. */
  isLeader?: boolean;
  /** The error the snapshot reports; default null. */
  error?: AuthError | null;
  /** Why the tab is signed out, while it is; default 'user'. */
  signedOutReason?: SignOutReason | null;
}

/** An `AuthClient` with a fixed, settable state and a record of calls, for tests. */
export interface StaticAuthClient extends AuthClient {
  /** Replaces the state (fields not given keep their value); subscribers and `on` listeners are told. */
  setState(state: StaticAuthState): void;
  /** What the code under test asked for, in order. */
  readonly calls: {
    signIn: TokenResponse[];
    signOut: Array<{ revoke?: boolean } | undefined>;
    refresh: number;
    getAccessToken: number;
  };
}

const SERVER_SNAPSHOT: AuthSnapshot = Object.freeze({
  status: 'loading',
  tokens: null,
  version: 0,
  isLeader: false,
  error: null,
  storage: 'memory',
  signedOutReason: null,
  expired: false,
});

/** Creates a test client in the given state (signed in by default), with nothing behind it. */
export function createStaticAuthClient(initial: StaticAuthState = {}): StaticAuthClient {
  let state: Required<StaticAuthState> = {
    status: 'authenticated',
    claims: null,
    accessToken: 'static-access-token',
    refreshToken: null,
    expiresAt: null,
    isLeader: true,
    error: null,
    signedOutReason: null,
  };
  let version = 0;
  let snapshot: AuthSnapshot = SERVER_SNAPSHOT;
  let disposed = false;
  const subscribers = new Set<() => void>();
  const listeners = new Set<AuthEventListener>();
  const readyWaiters: Array<() => void> = [];
  const calls: StaticAuthClient['calls'] = { signIn: [], signOut: [], refresh: 0, getAccessToken: 0 };

  const emit = (event: AuthEvent) => listeners.forEach((listener) => listener(event));
  const build = (tokens: TokenSet | null) => {
    snapshot = Object.freeze({
      status: state.status,
      tokens: state.status === 'authenticated' ? tokens : null,
      version,
      isLeader: state.isLeader,
      error: state.error,
      storage: 'memory',
      signedOutReason: state.status === 'signed-out' ? (state.signedOutReason ?? 'user') : null,
      expired: false,
    });
    if (state.status !== 'loading') readyWaiters.splice(0).forEach((resolve) => resolve());
    subscribers.forEach((subscriber) => subscriber());
  };
  const tokensOf = (next: Required<StaticAuthState>): TokenSet => ({
    accessToken: next.accessToken,
    refreshToken: next.refreshToken,
    idToken: next.claims ? unsignedJwt(next.claims) : null,
    tokenType: 'Bearer',
    scope: null,
    expiresAt: next.expiresAt,
    receivedAt: Date.now(),
    serverVersion: null,
  });
  const transition = (next: Required<StaticAuthState>, tokens: TokenSet | null) => {
    const wasAuthenticated = snapshot.status === 'authenticated';
    state = next;
    if (next.status !== 'loading') version++;
    build(tokens);
    if (next.status === 'authenticated' && !wasAuthenticated) emit({ type: 'signed-in', version, source: 'this-tab' });
    if (next.status === 'signed-out' && wasAuthenticated) emit({ type: 'signed-out', version, reason: snapshot.signedOutReason, source: 'this-tab' });
  };
  const setState = (partial: StaticAuthState) => {
    const next = { ...state, ...partial } as Required<StaticAuthState>;
    transition(next, next.status === 'authenticated' ? tokensOf(next) : null);
  };
  setState(initial);

  const whenReady = () => (snapshot.status !== 'loading' || disposed ? Promise.resolve() : new Promise<void>((resolve) => readyWaiters.push(resolve)));
  const tokens = async () => {
    await whenReady();
    if (disposed) throw new DisposedError();
    if (!snapshot.tokens) throw new SignedOutError();
    return { tokens: snapshot.tokens, version: snapshot.version };
  };

  return {
    namespace: 'static',
    tabId: 'static-tab',
    mount: () => () => {},
    async dispose() {
      disposed = true;
      readyWaiters.splice(0).forEach((resolve) => resolve());
    },
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => void subscribers.delete(subscriber);
    },
    getSnapshot: () => snapshot,
    getServerSnapshot: () => SERVER_SNAPSHOT,
    ready: whenReady,
    async getAccessToken() {
      calls.getAccessToken++;
      return (await tokens()).tokens.accessToken;
    },
    getTokens: tokens,
    async refresh() {
      calls.refresh++;
      return tokens();
    },
    async signIn(response) {
      calls.signIn.push(response);
      const parsed = parseTokenResponse(response, Date.now()); // the same MalformedTokenResponseError as the real client
      transition(
        {
          ...state,
          status: 'authenticated',
          accessToken: parsed.accessToken,
          refreshToken: parsed.refreshToken,
          expiresAt: parsed.expiresAt,
          signedOutReason: null,
        },
        parsed,
      );
    },
    async signOut(options) {
      calls.signOut.push(options);
      transition({ ...state, status: 'signed-out', signedOutReason: 'user' }, null);
    },
    on(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    metrics: () => [],
    setState,
    calls,
  };
}

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => base64url(JSON.stringify(value));
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
