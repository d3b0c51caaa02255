import { AccessTokens, assertRejectedVersion } from './accessTokens';
import { systemClock } from './clock';
import { defaultCoordination } from './coordination/defaultCoordination';
import type { CoordinationContext } from './coordination/transport';
import { browserEnvironment } from './environment';
import type { DpopHandle } from './dpop';
import { AuthError, DisposedError } from './errors';
import type { AuthEventListener } from './events';
import type { Counter } from './counters';
import { FollowerDuties } from './follower';
import { randomId } from './ids';
import { LeaderDuties } from './leader';
import { Lifecycle, MountSlot } from './lifecycle';
import type { AuthClientOptions } from './options';
import { Peers } from './peers';
import { RecordSync } from './recordSync';
import { resolveRetryOptions } from './refresh/backoff';
import { Refresher } from './refresh/refresher';
import { Freshness, type RefreshPolicy } from './refreshPolicy';
import { KnownSecrets } from './redaction';
import { InFlight } from './inflight';
import { SharedRecord } from './sharedRecord';
import { Signing } from './signing';
import { createIndexedDbStorage } from './storage/indexedDbStorage';
import { TabState } from './tabState';
import { Telemetry } from './telemetry';
import { parseTokenResponse } from './tokenResponse';
import type { AuthSnapshot, RevokeFunction, TokenResponse, TokenSet } from './types';
import { VersionWaiters } from './waiters';

/** The auth client of one tab. Create it once per app (outside React), mount it, and read tokens from it. */
export interface AuthClient {
  /** The namespace this client was created with: it separates storage keys and the channel of apps on one origin. */
  readonly namespace: string;
  /** Random id of this tab's client instance (appears in channel messages, never a secret). */
  readonly tabId: string;
  /**
   * Starts the side effects: storage load, channel, leader election, timers, page listeners. Reference counted:
   * returns an unmount function, and side effects stop when the last mount is undone (safe under React StrictMode).
   */
  mount(): () => void;
  /**
   * Stops everything for good; pending calls reject with DisposedError. Resolves only after a request that already
   * reached the server (a refresh, a revocation) has been answered and its result stored and announced: a rotation
   * is never thrown away.
   */
  dispose(): Promise<void>;
  /** For `useSyncExternalStore`: called on every snapshot change. */
  subscribe(listener: () => void): () => void;
  /** The current snapshot; the same object until something observable changes. */
  getSnapshot(): AuthSnapshot;
  /** The snapshot to render on a server: always 'loading'. */
  getServerSnapshot(): AuthSnapshot;
  /** Resolves once the stored state has been loaded (status is no longer 'loading'). */
  ready(): Promise<void>;
  /** A valid access token, refreshed through the leader when missing, expired or inside the refresh buffer. */
  getAccessToken(): Promise<string>;
  /** Like getAccessToken, with the whole pair and its version. */
  getTokens(): Promise<{ tokens: TokenSet; version: number }>;
  /**
   * For a 401: refreshes only if `rejectedVersion` is still the current version (otherwise returns the newer pair
   * without a network call). Without it, forces a refresh of the current version.
   */
  refresh(options?: { rejectedVersion?: number }): Promise<{ tokens: TokenSet; version: number }>;
  /** Stores the result of a login and pushes it to every tab. Throws MalformedTokenResponseError for a bad body. */
  signIn(response: TokenResponse): Promise<void>;
  /** Removes the tokens from storage in every tab; with `revoke: true` also revokes the refresh token (RFC 7009). */
  signOut(options?: { revoke?: boolean }): Promise<void>;
  /** Listens to typed events. Returns an unsubscribe function. */
  on(listener: AuthEventListener): () => void;
  /** Counters labelled with the client type. */
  metrics(): Counter[];
  /**
   * For development tools only (tabauth/devtools "Expire"): treats the access token this tab holds as expired from
   * now on, in this tab's memory (storage and the other tabs keep the pair as it is). The next `getAccessToken()`
   * here then refreshes through the leader, and a leader's own refresh timer fires at once. Returns the version it
   * marked, or null when this tab holds no pair. Optional, so other AuthClient implementations need not have it.
   */
  markExpired?(): number | null;
  /**
   * The DPoP handle from `options.dpop` (`createDpop()` from tabauth/dpop), else null: `authedFetch` signs its
   * requests with it and a login's code exchange uses its key. Optional, so other AuthClient implementations need not
   * have it.
   */
  readonly dpop?: DpopHandle | null;
}

/** The options with their defaults applied, checked once. */
function resolveSettings(options: AuthClientOptions) {
  if (typeof options?.refresh !== 'function') throw new TypeError('createAuthClient: options.refresh must be a function');
  const namespace = options.namespace ?? 'default';
  const dpop = options.dpop ?? null;
  // One key per namespace: a handle made for another namespace would sign with (and delete) another app's key.
  if (dpop && dpop.namespace !== namespace) throw new TypeError('createAuthClient: dpop namespace differs');
  return {
    namespace,
    dpop,
    clientType: options.clientType ?? 'web',
    clock: options.clock ?? systemClock,
    environment: options.environment ?? browserEnvironment(),
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    followerRetryMs: options.followerRetryMs ?? 5_000,
    policy: { leewayMs: options.refreshLeewayMs ?? 30_000, lifetimeRatio: options.refreshLifetimeRatio ?? 0.1 } satisfies RefreshPolicy,
    retry: resolveRetryOptions(options.retry),
    storage: options.storage ?? createIndexedDbStorage(),
    tabId: randomId(),
  };
}

type Settings = ReturnType<typeof resolveSettings>;

/** What a coordination that runs the refresh elsewhere (a SharedWorker) may know of this client: plain settings. */
function coordinationContext(options: AuthClientOptions, settings: Settings): Omit<CoordinationContext, 'report'> {
  const { namespace, clientType, policy, requestTimeoutMs, followerRetryMs, clock, dpop } = settings;
  return {
    refresh: options.refresh,
    clock,
    settings: {
      namespace,
      clientType,
      refreshLeewayMs: policy.leewayMs,
      refreshLifetimeRatio: policy.lifetimeRatio,
      requestTimeoutMs,
      followerRetryMs,
      ...(options.retry ? { retry: options.retry } : {}),
      // Only the algorithm: a worker opens the namespace's key from IndexedDB itself, nothing else is sent.
      ...(dpop ? { dpop: { algorithm: dpop.algorithm } } : {}),
    },
  };
}

/**
 * Builds the parts of one tab's client and wires them to each other (see the Design section of the README for the
 * module map). Each part owns its own state; calls go one way, from the facade inwards.
 */
function wireParts(options: AuthClientOptions, settings: Settings) {
  const { namespace, dpop, clock, environment, requestTimeoutMs, followerRetryMs, policy, retry, storage, tabId } = settings;
  const telemetry = new Telemetry(settings.clientType, options.onEvent);
  const state = new TabState(storage.kind);
  // Subscribers to a new record run in this order: its events, the rendered snapshot, its expiry anchor, waiting
  // callers, the token strings to redact, the leader's timer.
  state.onTransition((transition) => telemetry.transition(transition));
  state.onTransition(({ record }) => {
    if (record.tokens) state.setError(null);
    state.syncSnapshot();
  });
  const freshness = new Freshness(clock, policy, state);
  const shared = new SharedRecord(storage, namespace, state, clock, telemetry, randomId(32));
  const peers = new Peers(namespace, tabId, telemetry);
  const waiters = new VersionWaiters(clock, state);
  const secrets = new KnownSecrets(state);
  const inflight = new InFlight();
  const sync = new RecordSync(state, peers, shared, freshness);
  const signing = new Signing(shared, sync, peers, clock, freshness);
  const slot = new MountSlot();
  const refresher = new Refresher(
    { clock, environment, retry, random: options.random ?? Math.random, requestTimeoutMs, refresh: options.refresh, dpop },
    { state, shared, sync, signing, peers, waiters, telemetry, mount: slot, freshness, secrets, inflight },
  );
  const leader = new LeaderDuties({ clock, environment, retry, followerRetryMs }, { state, shared, sync, peers, refresher, telemetry, freshness });
  const follower = new FollowerDuties(
    { clock, environment, retryMs: followerRetryMs, maxWaitMs: options.followerMaxWaitMs ?? 120_000 },
    { state, shared, peers, waiters, refresher, freshness, mount: slot },
  );
  const tokens = new AccessTokens({ clock, policy }, { state, leader, follower, freshness });
  const lifecycle = new Lifecycle(
    {
      namespace,
      tabId,
      clock,
      environment,
      coordination: options.coordination ?? defaultCoordination(),
      coordinationContext: coordinationContext(options, settings),
      refreshLock: options.refreshLock,
      requestTimeoutMs,
      peerQueryMs: options.peerQueryMs ?? 100,
      newDeviceId: () => randomId(32),
    },
    { slot, state, shared, peers, waiters, leader, tokens, telemetry, freshness, inflight, dpop },
  );
  return { telemetry, state, freshness, inflight, signing, leader, tokens, lifecycle };
}

/**
 * Creates the auth client of one tab. The facade only counts mounts and forwards each call to the part that owns
 * it (built by `wireParts`).
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  const settings = resolveSettings(options);
  const { namespace, tabId, clock, dpop } = settings;
  const { telemetry, state, freshness, inflight, signing, leader, tokens, lifecycle } = wireParts(options, settings);
  // DPoP events (key created, nonce retries) are this client's events, counted like the others.
  const stopDpopEvents = dpop?.subscribe((event) => telemetry.emit(event));
  // The session read starts now, not at mount. Not on a server (no window) with the default storage: nothing to read.
  if (options.storage || typeof window !== 'undefined') lifecycle.readEarly();
  let mountCount = 0;

  return {
    namespace,
    tabId,
    mount() {
      if (lifecycle.isDisposed) throw new DisposedError();
      if (++mountCount === 1) lifecycle.start();
      let undone = false;
      return () => {
        if (undone) return;
        undone = true;
        if (--mountCount === 0) lifecycle.end();
      };
    },
    async dispose() {
      mountCount = 0;
      await lifecycle.dispose();
      stopDpopEvents?.();
    },
    subscribe: state.subscribe,
    getSnapshot: state.getSnapshot,
    getServerSnapshot: state.getServerSnapshot,
    ready: () => state.loaded,
    async getTokens() {
      await lifecycle.requireUsable();
      return tokens.get();
    },
    async getAccessToken() {
      await lifecycle.requireUsable();
      return (await tokens.get()).tokens.accessToken;
    },
    async refresh(refreshOptions = {}) {
      assertRejectedVersion(refreshOptions.rejectedVersion);
      await lifecycle.requireUsable();
      return tokens.refresh(refreshOptions.rejectedVersion);
    },
    async signIn(response) {
      if (lifecycle.isDisposed) throw new DisposedError();
      await signing.signIn(parseTokenResponse(response, clock.now()));
    },
    async signOut(signOutOptions = {}) {
      if (lifecycle.isDisposed) throw new DisposedError();
      const previous = state.record?.tokens ?? null;
      await signing.signOut('user');
      if (signOutOptions.revoke && options.revoke && previous?.refreshToken) {
        await inflight.track(revokeAtSignOut(options.revoke, previous.refreshToken, settings, telemetry));
      }
      // The key goes for every tab after the revocation (which may need it); the next login makes a new one. A key
      // that cannot be deleted leaves nothing usable: the tokens bound to it are gone. Not when a sign-in the user
      // made after this click is what the tabs hold now (the sign-out was overtaken: SharedRecord.claimAbove): its
      // tokens are bound to that key.
      if (dpop && !state.record?.tokens) await inflight.track(dpop.deleteKey().catch(() => {}));
    },
    on: (listener) => telemetry.on(listener),
    metrics: () => telemetry.metrics(),
    dpop,
    markExpired() {
      const version = freshness.markExpired();
      leader.schedule();
      return version;
    },
  };
}

/** RFC 7009 at sign-out: bounded by requestTimeoutMs; a failure is an event, never a failed sign-out. */
async function revokeAtSignOut(revoke: RevokeFunction, refreshToken: string, settings: Settings, telemetry: Telemetry): Promise<void> {
  const { clock, requestTimeoutMs } = settings;
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(), requestTimeoutMs);
  try {
    await revoke({ token: refreshToken, tokenTypeHint: 'refresh_token', signal: controller.signal });
  } catch (error) {
    telemetry.emit({ type: 'revocation-failed', errorCode: error instanceof AuthError ? error.code : 'revocation_failed' });
  } finally {
    clock.clearTimeout(timer);
  }
}
