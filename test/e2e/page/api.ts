/**
 * The contract between the e2e/bench test page and the Node side (playwright `page.evaluate`).
 * Types only, plus a few pure helpers; imported by the page and by the tests.
 *
 * Times named `at`/`*At` are epoch milliseconds with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`), comparable across tabs on one machine.
 * `dueAt`, `expiresAt` and `RefreshCallRecord.clockAt` use `Date.now()`, the clock tabauth itself uses.
 */

/** 'idb-floor' is no library: the bench's floor for a new tab, one bare IndexedDB open + read (modes/idbFloor.ts). */
export type PageMode = 'tabauth' | 'react' | 'naive' | 'oidc-client-ts' | 'idb-floor';

export interface PageConfig {
  mode: PageMode;
  issuer: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  clientId: string;
  apiUrl: string;
  /** tabauth namespace; storage key prefix for naive / oidc-client-ts. */
  namespace: string;
  /** tabauth refreshLeewayMs (naive uses the same refresh policy). */
  leewayMs: number;
  /** tabauth refreshLifetimeRatio (naive uses the same refresh policy). */
  ratio: number;
  /** oidc-client-ts accessTokenExpiringNotificationTimeInSeconds. */
  oidcNotifySeconds: number;
  /** > 0: start calling the API every this many ms as soon as the page is ready. */
  apiIntervalMs: number;
  /** React mode: render `<TabauthDevtools initialIsOpen />` (tabauth/devtools/production, loaded lazily). */
  devtools: boolean;
  /** tabauth mode: DPoP on (createDpop), API calls through authedFetch, the key created at page start. */
  dpop?: boolean;
  /** DPoP: false = no Web Locks for key creation (compare-and-set alone). Default true. */
  dpopLocks?: boolean;
  /**
   * DPoP: when the tab first needs its key. 'load' (default): at page start. 'signal': when `dpop.startTogether()`
   * in any tab posts the start signal (a BroadcastChannel message reaches every tab at the same moment).
   */
  dpopStart?: 'load' | 'signal';
  /**
   * tabauth mode: 'shared-worker' uses `sharedWorkerCoordination()` (the prebuilt worker refreshes; this tab falls
   * back to the leader-tab election when it goes away); 'native' the default coordination.
   */
  coordination: 'native' | 'shared-worker';
}

export const DEFAULT_CONFIG: Omit<PageConfig, 'issuer' | 'tokenEndpoint' | 'revocationEndpoint' | 'clientId' | 'apiUrl'> = {
  mode: 'tabauth',
  namespace: 'e2e',
  leewayMs: 0,
  ratio: 0.5,
  oidcNotifySeconds: 2,
  apiIntervalMs: 0,
  devtools: false,
  dpop: false,
  dpopLocks: true,
  coordination: 'native',
};

/** Query string for the page; the inverse of the page's own parser. */
export function pageQuery(config: PageConfig): string {
  const params = new URLSearchParams({
    mode: config.mode,
    issuer: config.issuer,
    token: config.tokenEndpoint,
    revoke: config.revocationEndpoint,
    client: config.clientId,
    api: config.apiUrl,
    ns: config.namespace,
    leeway: String(config.leewayMs),
    ratio: String(config.ratio),
    notify: String(config.oidcNotifySeconds),
    apiMs: String(config.apiIntervalMs),
    devtools: config.devtools ? '1' : '0',
    coordination: config.coordination,
  });
  if (config.dpop) params.set('dpop', config.dpopLocks === false ? 'nolocks' : 'locks');
  if (config.dpop && config.dpopStart === 'signal') params.set('dpopStart', 'signal');
  return `?${params.toString()}`;
}

/** One call of the protected API (`GET /api/me` with the bearer token the tab held). */
export interface ApiCallRecord {
  seq: number;
  /** Version of the pair used (tabauth/naive); -1 when the mode has none. */
  version: number;
  /** `jti` of the access token sent; null when no token was available. */
  jti: string | null;
  /** When the call asked for a token (obtainedAt - requestedAt: how long it waited for one). */
  requestedAt: number;
  /** When the token was handed to the call. */
  obtainedAt: number;
  /** When fetch was called. */
  sentAt: number;
  doneAt: number;
  /** HTTP status; 0 = network error or no token. */
  status: number;
  /** The server's verdict: the token was the newest of its grant. null unless status 200. */
  newest: boolean | null;
  error: string | null;
}

/** The first moment this tab held a given pair (identified by its access token's jti). */
export interface HeldRecord {
  jti: string;
  version: number;
  at: number;
  /** Date.now() at the same moment: comparable with the Node side's clock (the provider's log), unlike `at`. */
  clockAt: number;
  /** How the pair reached this tab. */
  source: 'this-tab' | 'channel' | 'storage' | 'sign-in' | 'unknown';
  /** Date.now() clock: the pair's expiry and the moment it became due for refresh. */
  expiresAt: number | null;
  dueAt: number | null;
}

/** A pair this tab obtained from the token endpoint itself (the response arrived in this tab). */
export interface ReceivedRecord {
  jti: string;
  at: number;
}

/** A refresh request this tab sent. */
export interface RefreshCallRecord {
  /** Version of the pair being refreshed (tabauth/naive). */
  version: number;
  at: number;
  /** Date.now() when the request was started (same clock as HeldRecord.dueAt). */
  clockAt: number;
  outcome: 'pending' | 'ok' | 'invalid_grant' | 'error';
}

export interface PageSnapshot {
  mode: PageMode;
  ready: boolean;
  status: 'loading' | 'authenticated' | 'signed-out';
  version: number;
  leader: boolean;
  /** jti of the access token the tab holds. */
  jti: string | null;
  signedOutReason: string | null;
  /** Transitions authenticated -> signed-out that the user did not ask for. */
  forcedSignOuts: number;
  /** invalid_grant answers this tab received. */
  invalidGrants: number;
  /** Refresh requests this tab sent to the token endpoint. */
  refreshRequests: number;
  /** performance.now() (ms since navigation start) when the tab first had a usable access token. */
  usableAfterMs: number | null;
  /** performance.now() when the mode's chunk had loaded and its code started (before that: HTML, main chunk, mode chunk). */
  modeStartMs: number | null;
  /** Epoch ms at which this tab became the leader (tabauth). */
  leadershipAt: number[];
  apiCalls: number;
  lastError: string | null;
  /** Mode-specific state (React mode: what React rendered, the query cache). */
  extra: Record<string, unknown>;
}

export interface TestApi {
  config: PageConfig;
  snapshot(): PageSnapshot;
  apiCalls: ApiCallRecord[];
  held: HeldRecord[];
  received: ReceivedRecord[];
  refreshCalls: RefreshCallRecord[];
  /** tabauth events, in order, with the time they were seen. */
  events: Array<{ at: number; event: { type: string } & Record<string, unknown> }>;
  /** Page lifecycle events: freeze, resume, visibility:<state>, online, offline, pagehide[:persisted], pageshow[:persisted]. */
  lifecycle: Array<{ type: string; at: number }>;
  /** tabauth metrics summed per counter name (empty for other modes). */
  metrics(): Record<string, number>;
  getAccessToken(): Promise<string>;
  callApi(): Promise<ApiCallRecord>;
  startApiLoop(intervalMs: number): void;
  /** Stops the loop and waits for the call in flight. */
  stopApiLoop(): Promise<void>;
  signIn(tokenResponse: Record<string, unknown>): Promise<void>;
  /** Starts a forced refresh of the current pair (tabauth modes) without waiting for it. */
  requestRefresh(): void;
  signOut(options?: { revoke?: boolean }): Promise<void>;
  /** Starts `client.dispose()` and returns at once; `disposal()` says when (and whether) it resolved. tabauth modes. */
  dispose(): void;
  disposal(): { startedAt: number; resolvedAt: number | null; error: string | null } | null;
  /** Bare-platform probes for the bench's floors, measured in the same tabs as the libraries (bench/browser/). */
  probes: PlatformProbes;
  /** DPoP pages only. */
  dpop?: DpopTestApi;
}

/** Times are epoch ms with sub-millisecond resolution (`performance.timeOrigin + performance.now()`). */
export interface PlatformProbes {
  /** Opens a plain BroadcastChannel and records when each message arrives. */
  listenChannel(name: string): void;
  /** Posts `{ id, padding }` on that channel; returns when it was posted. */
  postChannel(name: string, id: number, paddingChars: number): number;
  /** Message id -> arrival time in this tab. */
  channelArrivals(name: string): Record<number, number>;
  /**
   * Requests an exclusive Web Lock and holds it; `lockGrantedAt` says when it got it. `releaseOnPageHide`: let go
   * on `pagehide` (as tabauth's election does), else hold it until the browser releases it with the page.
   */
  holdLock(name: string, releaseOnPageHide: boolean): void;
  lockGrantedAt(name: string): number | null;
}

/** What the DPoP test page offers: the login seam (a new key, the code exchange with its proof) and inspection. */
export interface DpopTestApi {
  /** `newKeyForLogin()`: the thumbprint for `dpop_jkt`. */
  newKeyForLogin(): Promise<string>;
  /** Redeems the code with oauth4webapi's `DPoP(client, keyPair)` on tabauth's key pair, then `signIn`. */
  exchange(callback: { callbackUrl: string; codeVerifier: string; nonce: string; state: string; redirectUri: string }): Promise<Record<string, unknown>>;
  info(): Promise<DpopInfo>;
  /** Posts the start signal to every other tab (see `PageConfig.dpopStart`) and asks for the key in this one. */
  startTogether(): Promise<string>;
  /** Durations (ms) of every proof this tab signed for its own requests so far. */
  proofTimings(): number[];
  /**
   * `samples` proofs of `handle.proof` (a GET with an access token and a nonce, as authedFetch makes them),
   * interleaved with as many bare `crypto.subtle.sign` calls (ECDSA P-256, non-extractable key, a payload of the
   * same size): the platform's floor, measured in the same tab at the same time.
   */
  measureProofs(samples: number): Promise<{ proofMs: number[]; signMs: number[] }>;
}

export interface DpopInfo {
  /** Thumbprint of the key this tab signs with. */
  thumbprint: string;
  /** Values in the 'tabauth' IndexedDB that hold a CryptoKeyPair, and the thumbprint stored with them. */
  storedKeys: number;
  storedThumbprint: string | null;
  privateKeyExtractable: boolean | null;
  /** Error name of `crypto.subtle.exportKey('jwk', privateKey)` ('none' if it did not throw). */
  exportError: string;
  /** `cnf.jkt` of the access token this tab holds. */
  tokenJkt: string | null;
  /** The refresh token this tab holds (test harness only: compared with the login's to tell rotation apart). */
  refreshToken: string | null;
}

declare global {
  interface Window {
    tabauthTest?: TestApi;
    tabauthTestError?: string;
  }
}

/** `jti` claim of a JWT, or null. Works in the page and in Node. */
export function jwtId(token: string | null | undefined): string | null {
  if (!token) return null;
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const claims = JSON.parse(json) as { jti?: unknown };
    return typeof claims.jti === 'string' ? claims.jti : null;
  } catch {
    return null;
  }
}
