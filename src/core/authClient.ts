import { browserEnvironment, systemClock, type AuthEnvironment, type Clock, type TimerHandle } from './clock';
import { broadcastChannelCoordination } from './coordination/broadcastChannelTransport';
import { defaultRefreshLock, type RefreshLock } from './coordination/refreshLock';
import { isDropped, parseTabMessage, PROTOCOL, type TabMessageBody } from './coordination/tabMessages';
import type { TabCoordination } from './coordination/transport';
import { AuthError, DisposedError, MalformedTokenResponseError, NotMountedError, OAuthError, UnsupportedEnvironmentError, RefreshTimeoutError, SignedOutError, StorageError, TransientRefreshError } from './errors';
import { COUNTERS, CounterSet, type AuthEvent, type AuthEventListener, type Counter, type RefreshTrigger } from './events';
import type { AuthClientOptions } from './options';
import { resolveRetryOptions } from './refresh/backoff';
import { Refresher } from './refresh/refresher';
import { createSnapshotStore, type SnapshotStore } from './snapshot';
import { StateStore } from './stateStore';
import { StatePersister } from './statePersister';
import { FollowerRequests } from './followerRequests';
import { createIndexedDbStorage } from './storage/indexedDbStorage';
import { createMemoryStorage } from './storage/memoryStorage';
import { isExpired, needsRefresh, parseTokenResponse, refreshDueAt, type RefreshPolicy } from './tokenState';
import type { AuthSnapshot, SignOutReason, StoredAuthState, TokenResponse, TokenSet } from './types';
import { VersionWaiters } from './waiters';
import type { DpopHandle } from './dpop'; // [dpop hook 1/6]

/** The auth client of one tab. Create it once per app (outside React), mount it, and read tokens from it. */
export interface AuthClient {
  readonly namespace: string;
  /** Random id of this tab's client instance (appears in channel messages, never a secret). */
  readonly tabId: string;
  /**
   * Starts the side effects: storage load, channel, leader election, timers, page listeners. Reference counted:
   * returns an unmount function, and side effects stop when the last mount is undone (safe under React StrictMode).
   */
  mount(): () => void;
  /** Stops everything for good; pending calls reject with DisposedError. */
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
  /** [dpop hook 2/6] The DPoP handle from `options.dpop` (authedFetch signs requests with it), else null. */
  readonly dpop: DpopHandle | null;
}

interface Session {
  lifetime: AbortController;
  coordination: TabCoordination | null;
  cleanups: Array<() => void>;
  lock: RefreshLock | null;
  loaded: boolean;
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  if (typeof options?.refresh !== 'function') throw new TypeError('createAuthClient: options.refresh must be a function');
  const namespace = options.namespace ?? 'default';
  // [dpop hook 3/6] One key per namespace: a handle made for another namespace would share the wrong key.
  if (options.dpop && options.dpop.namespace !== namespace) throw new TypeError(`createAuthClient: options.dpop is for namespace "${options.dpop.namespace}", not "${namespace}"`);
  const clock: Clock = options.clock ?? systemClock;
  const environment: AuthEnvironment = options.environment ?? browserEnvironment();
  const random = options.random ?? Math.random;
  const retry = resolveRetryOptions(options.retry);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const followerRetryMs = options.followerRetryMs ?? 5_000;
  const followerMaxWaitMs = options.followerMaxWaitMs ?? 120_000;
  const policy: RefreshPolicy = { leewayMs: options.refreshLeewayMs ?? 30_000, lifetimeRatio: options.refreshLifetimeRatio ?? 0.1 };
  const coordinationFactory = options.coordination ?? broadcastChannelCoordination();
  const tabId = randomId();
  const counters = new CounterSet({ client_type: options.clientType ?? 'web' });
  const eventListeners = new Set<AuthEventListener>();
  if (options.onEvent) eventListeners.add(options.onEvent);
  const store = new StateStore(options.storage ?? createIndexedDbStorage(), namespace);
  const snapshots: SnapshotStore = createSnapshotStore(store.kind);
  const waiters = new VersionWaiters(clock);
  /** The leader's last failed refresh: requests sent before followers heard of it must not start a new cycle. */
  let lastFailure: { version: number; at: number; code: AuthError['code'] } | null = null;

  let current: StoredAuthState | null = null;
  let deviceId = randomId(32);
  let session: Session | null = null;
  let mountCount = 0;
  let everLoaded = false;
  let disposed = false;
  let proactiveTimer: TimerHandle | undefined;
  let resolveLoaded!: () => void;
  const loaded = new Promise<void>((resolve) => (resolveLoaded = resolve));

  const emit = (event: AuthEvent) => {
    for (const listener of [...eventListeners]) {
      try {
        listener(event);
      } catch {
        // A throwing listener must not break token handling.
      }
    }
  };
  // [dpop hook 5/6] DPoP events join this client's events and counters; the channel runs while mounted (startSession).
  const stopDpopEvents = options.dpop?.subscribe((event, counter) => {
    if (counter) counters.increment(counter.name, counter.labels);
    emit(event);
  });
  const storageError = (operation: 'read' | 'write', error: unknown) => {
    counters.increment(COUNTERS.storageErrors, { operation });
    emit({ type: 'storage-error', operation, errorCode: error instanceof AuthError ? error.code : 'storage_failure' });
    if (operation === 'write') persister.writeFailed();
  };

  const persister = new StatePersister({
    clock,
    mounted: () => session !== null,
    current: () => current,
    compareAndSet: (expected, state) => store.compareAndSet(expected, state),
    adoptFromStorage: (state) => void adopt(state, 'storage'),
    storageError: (error) => storageError('write', error),
  });
  const persistCurrent = () => persister.persistCurrent();
  const post = (message: TabMessageBody) => {
    const channel = session?.coordination?.channel;
    if (!channel) return;
    channel.post({ ...message, protocol: PROTOCOL, namespace, from: tabId }).catch(() => {});
  };
  // Without a channel there is no election and nobody to ask: the tab refreshes for itself once its state is loaded,
  // still serialised across tabs by the refresh lock and the storage re-read inside it. (Before, such a tab waited
  // for a leader that could never answer and failed every refresh with RefreshTimeoutError; found by the chaos
  // degraded-browser tests.)
  const isLeader = () => (session ? (session.coordination ? session.coordination.election.isLeader : session.loaded) : false);
  const lifetime = () => session?.lifetime.signal ?? AbortSignal.abort(new DisposedError('Auth client is not mounted'));
  const statusOf = (state: StoredAuthState | null) => (state?.tokens ? 'authenticated' : 'signed-out');
  const syncSnapshot = () => {
    snapshots.set({
      status: everLoaded || current ? statusOf(current) : 'loading',
      tokens: current?.tokens ?? null,
      version: current?.version ?? 0,
      isLeader: isLeader(),
      signedOutReason: current && !current.tokens ? current.signedOutReason : null,
    });
  };

  /** Takes a state if it is newer than what this tab holds. Versions only move forward. */
  const adopt = (state: StoredAuthState, source: 'channel' | 'storage' | 'this-tab'): boolean => {
    if (current && state.version < current.version) return false;
    if (current && state.version === current.version) {
      // Two different states with one version exist only when a tab could not write its state (it took the next
      // version number without reserving it in storage) while another tab stored that number. Storage arbitrates:
      // the stored state wins, so every tab ends on the same pair. A differing one from the channel sends this tab
      // to storage to find out which.
      if (sameState(state, current)) return false;
      if (source === 'channel') void reloadFromStorage();
      if (source !== 'storage') return false;
    }
    const previous = current;
    current = state;
    const origin = source === 'this-tab' ? 'this-tab' : 'other-tab';
    if (state.tokens && !previous?.tokens) emit({ type: 'signed-in', version: state.version, source: origin });
    if (!state.tokens && previous?.tokens) {
      counters.increment(COUNTERS.signOuts, { reason: state.signedOutReason ?? 'unknown' });
      emit({ type: 'signed-out', version: state.version, reason: state.signedOutReason, source: origin });
    }
    if (source !== 'this-tab') emit({ type: 'state-adopted', version: state.version, source });
    if (state.tokens) snapshots.setError(null);
    syncSnapshot();
    waiters.stateAdopted(state);
    scheduleProactiveRefresh();
    return true;
  };

  const publish = (state: StoredAuthState) => {
    adopt(state, 'this-tab');
    // When this tab's write failed, every receiver writes the state too: this tab may die before its own retry.
    post(persister.pending ? { type: 'state', state, unpersisted: true } : { type: 'state', state });
  };

  const writeAbove = async (build: (version: number) => StoredAuthState): Promise<StoredAuthState> => {
    try {
      return await store.writeAbove(current?.version ?? 0, build);
    } catch (error) {
      storageError('write', error);
      return build((current?.version ?? 0) + 1);
    }
  };

  const signOutEverywhere = async (reason: SignOutReason): Promise<StoredAuthState> => {
    const state = await writeAbove((version) => ({ schema: 1, version, tokens: null, signedOutReason: reason, updatedAt: clock.now() }));
    publish(state);
    store.deleteLease().catch(() => {});
    return state;
  };

  const refresher = new Refresher({
    clock,
    environment,
    retry,
    random,
    requestTimeoutMs,
    policy,
    refresh: options.dpop ? (context) => options.refresh({ ...context, dpop: options.dpop }) : options.refresh, // [dpop hook 4/6]
    store: () => store,
    lock: () => session?.lock ?? { run: (work) => work() },
    deviceId: () => deviceId,
    current: () => current,
    adoptFromStorage: (state) => void adopt(state, 'storage'),
    publish,
    signOutEverywhere: async (reason) => void (await signOutEverywhere(reason)),
    announceFailure: (version, error) => {
      lastFailure = { version, at: clock.now(), code: error.code };
      waiters.failed(version, error);
      post({ type: 'refresh-failed', version, errorCode: error.code });
    },
    emit,
    counters,
    reportError: (error) => snapshots.setError(error),
    storageError,
    lifetime,
  });

  function scheduleProactiveRefresh() {
    if (proactiveTimer !== undefined) clock.clearTimeout(proactiveTimer);
    proactiveTimer = undefined;
    if (!session || !isLeader() || !current?.tokens) return;
    const due = refreshDueAt(current.tokens, policy);
    if (due === null) return; // Opaque token of unknown lifetime: refreshed on 401 only.
    const version = current.version;
    proactiveTimer = clock.setTimeout(() => {
      proactiveTimer = undefined;
      // Timers in background tabs fire late or not at all; wake and request handlers cover for that.
      if (!environment.isOnline()) return;
      leaderRefresh(version, false, 'proactive').then(
        () => current?.version === version && scheduleProactiveRefresh(),
        () => {},
      );
    }, Math.max(0, due - clock.now()));
  }

  const leaderRefresh = (version: number, force: boolean, trigger: RefreshTrigger) => refresher.refresh({ version, force, trigger });

  const followers = new FollowerRequests({
    clock,
    environment,
    waiters,
    retryMs: followerRetryMs,
    maxWaitMs: followerMaxWaitMs,
    mounted: () => session !== null,
    isLeader,
    current: () => current,
    askLeader: (version) => post({ type: 'refresh-request', version }),
    reloadFromStorage: () => reloadFromStorage(),
    leaderRefresh: (version, force, trigger) => leaderRefresh(version, force, trigger),
  });

  const ensureFresh = (version: number, force: boolean, trigger: RefreshTrigger) =>
    isLeader() ? leaderRefresh(version, force, trigger) : followers.request(version);

  const reloadFromStorage = async () => {
    try {
      const { state, corrupted } = await store.read();
      if (corrupted) storageError('read', new StorageError('corrupted state record ignored'));
      if (state) adopt(state, 'storage');
      // Storage is behind what this tab holds: the tab that made the newer state could not write it (and may be gone).
      if (state && current && state.version < current.version) void persistCurrent();
    } catch (error) {
      storageError('read', error);
    }
  };

  const onMessage = (raw: unknown) => {
    const message = parseTabMessage(raw, namespace);
    if (isDropped(message)) {
      counters.increment(COUNTERS.messagesDropped, { reason: message.dropped });
      emit({ type: 'message-dropped', reason: message.dropped });
      return;
    }
    if (message.from === tabId) return;
    switch (message.type) {
      case 'state':
        // The sender could not write this state (see persistCurrent): store it from here, or the next leader may
        // start from the older record in storage. The leader does it for every state it adopts, since the sender
        // of a sign-out may close before anyone asks. A no-op transaction when the state is stored already.
        if (adopt(message.state, 'channel') && (message.unpersisted === true || isLeader())) void persistCurrent();
        return;
      case 'refresh-request':
        if (!isLeader()) return;
        if (current && current.version > message.version) {
          post({ type: 'state', state: current }); // The follower missed the newest pair.
          return;
        }
        if (lastFailure && lastFailure.version === message.version && clock.now() - lastFailure.at < followerRetryMs) {
          // Sent before the follower heard that the retries ran out: answer with the failure, don't start over.
          post({ type: 'refresh-failed', version: message.version, errorCode: lastFailure.code });
          return;
        }
        leaderRefresh(message.version, true, 'follower-request').then(
          (state) => state && state.version > message.version && post({ type: 'state', state }),
          () => {},
        );
        return;
      case 'refresh-failed':
        waiters.failed(message.version, failureFromCode(message.errorCode));
        return;
      case 'leader-hello':
        if (current) post({ type: 'state', state: current });
        return;
    }
  };

  const onWake = () => {
    void (async () => {
      await reloadFromStorage();
      if (!session || !current?.tokens || !environment.isOnline()) return;
      if (!needsRefresh(current.tokens, clock.now(), policy)) return;
      ensureFresh(current.version, false, 'wake').catch(() => {});
    })();
  };

  const onLeadershipChange = (leading: boolean) => {
    syncSnapshot();
    if (leading) {
      counters.increment(COUNTERS.leadershipGained);
      emit({ type: 'leadership-gained' });
      // A new leader reloads state before acting: the previous leader may have written moments ago.
      void reloadFromStorage().then(() => {
        post({ type: 'leader-hello' });
        scheduleProactiveRefresh();
        if (current?.tokens && needsRefresh(current.tokens, clock.now(), policy) && environment.isOnline()) {
          leaderRefresh(current.version, false, 'proactive').catch(() => {});
        }
      });
    } else {
      emit({ type: 'leadership-lost' });
      scheduleProactiveRefresh();
    }
  };

  const startSession = (): Session => {
    const active: Session = { lifetime: new AbortController(), coordination: null, cleanups: [], lock: null, loaded: false };
    session = active;
    if (options.dpop) active.cleanups.push(options.dpop.connect()); // [dpop hook 5/6]
    active.cleanups.push(
      environment.onWake(onWake),
      environment.onOnline(() => {
        waiters.wakeAll(); // followers waiting out the offline period ask again right away
        onWake();
      }),
    );
    try {
      active.coordination = coordinationFactory(`tabauth:${namespace}`);
      active.cleanups.push(active.coordination.channel.subscribe(onMessage));
    } catch (error) {
      // No channel at all: this tab still works alone (and still serialises refreshes through the lock).
      snapshots.setError(error instanceof AuthError ? error : new UnsupportedEnvironmentError('Tab channel could not be created'));
    }
    void (async () => {
      try {
        await store.read();
      } catch (error) {
        if (session !== active) return;
        store.replaceStorage(createMemoryStorage());
        if (current) await store.compareAndSet(current.version, current).catch(() => {});
        snapshots.setStorage('memory');
        counters.increment(COUNTERS.storageFallbacks);
        emit({ type: 'storage-fallback', errorCode: error instanceof AuthError ? error.code : 'storage_failure' });
      }
      if (session !== active) return;
      try {
        deviceId = await store.deviceId(() => randomId(32));
      } catch (error) {
        storageError('write', error);
      }
      await reloadFromStorage();
      if (session !== active) return;
      active.lock =
        options.refreshLock ??
        defaultRefreshLock({
          lockName: `tabauth:${namespace}:refresh`,
          storage: store.backing,
          key: store.leaseKey,
          owner: tabId,
          clock,
          ttlMs: requestTimeoutMs + 10_000,
          onStorageFailure: (error) => storageError('write', error),
        });
      active.loaded = true;
      everLoaded = true;
      syncSnapshot();
      resolveLoaded();
      if (active.coordination) active.coordination.election.start(onLeadershipChange);
      else scheduleProactiveRefresh();
    })();
    return active;
  };

  const endSession = () => {
    const ending = session;
    if (!ending) return;
    const wasLeader = isLeader();
    session = null;
    ending.lifetime.abort(new DisposedError('Auth client was unmounted'));
    if (proactiveTimer !== undefined) clock.clearTimeout(proactiveTimer);
    proactiveTimer = undefined;
    persister.stop();
    ending.cleanups.forEach((cleanup) => cleanup());
    if (ending.coordination) {
      void ending.coordination.election.close().catch(() => {});
      void ending.coordination.channel.close().catch(() => {});
    }
    if (wasLeader) emit({ type: 'leadership-lost' });
    syncSnapshot();
  };

  const requireUsable = async () => {
    if (disposed) throw new DisposedError();
    if (!session && !everLoaded) {
      // React runs children's effects before the provider's, so a call from a child effect arrives just before the
      // mount in the same task: give it that task. A client nobody mounts (a server render) fails fast instead of
      // waiting forever.
      await Promise.resolve();
      await Promise.resolve();
      if (!session && !everLoaded && !disposed) throw new NotMountedError();
    }
    await loaded;
    if (disposed) throw new DisposedError();
  };

  const getTokens = async (): Promise<{ tokens: TokenSet; version: number }> => {
    await requireUsable();
    for (let round = 0; round < 3; round++) {
      const held = current;
      if (!held?.tokens) throw new SignedOutError();
      if (!needsRefresh(held.tokens, clock.now(), policy)) return { tokens: held.tokens, version: held.version };
      try {
        await ensureFresh(held.version, false, 'get-access-token');
      } catch (error) {
        // A proactive refresh failed but the old token still works: hand it out rather than failing the call.
        const still = current;
        if (still?.tokens && !isExpired(still.tokens, clock.now()) && !(error instanceof OAuthError && error.terminal)) {
          return { tokens: still.tokens, version: still.version };
        }
        throw error;
      }
      if (current?.version === held.version && current.tokens && !isExpired(current.tokens, clock.now())) {
        return { tokens: current.tokens, version: current.version }; // The leader judged it still fresh.
      }
    }
    if (current?.tokens && !isExpired(current.tokens, clock.now())) return { tokens: current.tokens, version: current.version };
    throw new RefreshTimeoutError('Could not obtain a fresh access token');
  };

  return {
    namespace,
    tabId,
    mount() {
      if (disposed) throw new DisposedError();
      if (++mountCount === 1) startSession();
      let undone = false;
      return () => {
        if (undone) return;
        undone = true;
        if (--mountCount === 0) endSession();
      };
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      mountCount = 0;
      endSession();
      stopDpopEvents?.(); // [dpop hook 5/6]
      waiters.disposeAll();
      resolveLoaded();
    },
    subscribe: snapshots.subscribe,
    getSnapshot: snapshots.get,
    getServerSnapshot: snapshots.server,
    ready: () => loaded,
    getTokens,
    getAccessToken: async () => (await getTokens()).tokens.accessToken,
    async refresh(refreshOptions = {}) {
      await requireUsable();
      const held = current;
      if (!held?.tokens) throw new SignedOutError();
      const rejected = refreshOptions.rejectedVersion ?? held.version;
      if (held.version > rejected) return { tokens: held.tokens, version: held.version };
      const state = await ensureFresh(rejected, true, 'rejected-token');
      if (!state?.tokens) throw new SignedOutError('Signed out while refreshing');
      return { tokens: state.tokens, version: state.version };
    },
    async signIn(response) {
      if (disposed) throw new DisposedError();
      const tokens = parseTokenResponse(response, clock.now());
      const state = await writeAbove((version) => ({ schema: 1, version, tokens, signedOutReason: null, updatedAt: clock.now() }));
      snapshots.setError(null);
      publish(state);
    },
    async signOut(signOutOptions = {}) {
      if (disposed) throw new DisposedError();
      const previous = current?.tokens ?? null;
      await signOutEverywhere('user');
      if (signOutOptions.revoke && options.revoke && previous?.refreshToken) {
        const controller = new AbortController();
        const timer = clock.setTimeout(() => controller.abort(), requestTimeoutMs);
        try {
          await options.revoke({ token: previous.refreshToken, tokenTypeHint: 'refresh_token', signal: controller.signal });
        } catch (error) {
          emit({ type: 'revocation-failed', errorCode: error instanceof AuthError ? error.code : 'revocation_failed' });
        } finally {
          clock.clearTimeout(timer);
        }
      }
      // [dpop hook 6/6] The key is deleted for every tab on sign-out (after the revocation, which may need it).
      if (options.dpop) await options.dpop.deleteKey().catch(() => {});
    },
    on(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    metrics: () => counters.list(),
    dpop: options.dpop ?? null, // [dpop hook 2/6]
  };
}

/** Same record: the version alone does not say it (see adopt). */
function sameState(a: StoredAuthState, b: StoredAuthState): boolean {
  return (
    a.version === b.version &&
    a.updatedAt === b.updatedAt &&
    a.signedOutReason === b.signedOutReason &&
    (a.tokens?.accessToken ?? null) === (b.tokens?.accessToken ?? null) &&
    (a.tokens?.refreshToken ?? null) === (b.tokens?.refreshToken ?? null)
  );
}

/** Rebuilds a typed error from the code a leader announced over the channel (terminal errors arrive as a sign-out). */
function failureFromCode(code: string): AuthError {
  const message = 'The leader tab could not refresh the token';
  if (code === 'refresh_timeout') return new RefreshTimeoutError(message);
  if (code === 'malformed_token_response') return new MalformedTokenResponseError(message);
  return new TransientRefreshError('server', message);
}

/**
 * Ids for tabs and devices. Not from the injectable `random` (which drives jitter): two tabs given the same seeded
 * random must still get different ids.
 */
function randomId(length = 16): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(length);
  if (typeof crypto !== 'undefined' && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}
