/**
 * The core's parts, wired one by one as the facade does, on a simulated clock and memory storage: for the unit tests
 * of each module (test/unit/centre/*.test.ts), which build only what the module under test needs.
 */
import { createMemoryStorage } from '../../../src/core/storage/memoryStorage';
import { Freshness } from '../../../src/core/refreshPolicy';
import { KnownSecrets } from '../../../src/core/redaction';
import { InFlight } from '../../../src/core/inflight';
import { Peers } from '../../../src/core/peers';
import { RecordSync } from '../../../src/core/recordSync';
import { Refresher } from '../../../src/core/refresh/refresher';
import { resolveRetryOptions } from '../../../src/core/refresh/backoff';
import { SharedRecord } from '../../../src/core/sharedRecord';
import { Signing } from '../../../src/core/signing';
import { TabState } from '../../../src/core/tabState';
import { Telemetry } from '../../../src/core/telemetry';
import { VersionWaiters } from '../../../src/core/waiters';
import type { AuthEvent, AuthStorage, Clock, DpopHandle, RefreshFunction, StoredAuthState, TabChannel, TokenSet } from '../../../src/core';
import { createSimulatedClock } from '../../../src/testing/simulatedClock';
import { createSimulatedEnvironment } from '../../../src/testing/simulatedEnvironment';

export function tokens(n: number, at: number, lifetimeMs = 60_000): TokenSet {
  return {
    accessToken: `access-${n}-xxxxxxxx`,
    refreshToken: `refresh-${n}-xxxxxxxx`,
    idToken: null,
    tokenType: 'Bearer',
    scope: null,
    expiresAt: at + lifetimeMs,
    receivedAt: at,
    serverVersion: null,
  };
}

export function record(version: number, at: number, lifetimeMs = 60_000): StoredAuthState {
  return { schema: 1, version, tokens: tokens(version, at, lifetimeMs), signedOutReason: null, updatedAt: at };
}

/** A channel that records what was posted and lets the test deliver messages to the subscriber. */
export function recordingChannel() {
  const posted: unknown[] = [];
  let listener: ((message: unknown) => void) | null = null;
  const channel: TabChannel = {
    post: async (message) => void posted.push(message),
    subscribe: (next) => {
      listener = next;
      return () => (listener = null);
    },
    close: async () => {},
  };
  return { channel, posted, deliver: (message: unknown) => listener?.(message) };
}

export function parts(
  options: {
    refresh?: RefreshFunction;
    backing?: Map<string, unknown>;
    dpop?: DpopHandle;
    wrapStorage?: (storage: AuthStorage, clock: Clock) => AuthStorage;
  } = {},
) {
  const clock = createSimulatedClock();
  const environment = createSimulatedEnvironment();
  const events: AuthEvent[] = [];
  const telemetry = new Telemetry('web', (event) => events.push(event));
  const state = new TabState('memory');
  state.onTransition((transition) => telemetry.transition(transition));
  state.onTransition(() => state.syncSnapshot());
  const policy = { leewayMs: 1_000, lifetimeRatio: 0.1 };
  const freshness = new Freshness(clock, policy, state);
  const memory = createMemoryStorage(options.backing ?? new Map());
  const storage = options.wrapStorage ? options.wrapStorage(memory, clock) : memory;
  const shared = new SharedRecord(storage, 'ns', state, clock, telemetry, 'device-1');
  const peers = new Peers('ns', 'tab-a', telemetry);
  const waiters = new VersionWaiters(clock, state);
  const secrets = new KnownSecrets(state);
  const inflight = new InFlight();
  const sync = new RecordSync(state, peers, shared, freshness);
  const signing = new Signing(shared, sync, peers, clock, freshness);
  // A mount that is always on, with a lock that records how often it was taken (the Web Lock's stand-in).
  const lifetime = new AbortController();
  const lockRuns: number[] = [];
  const mount = {
    signal: lifetime.signal,
    isMounted: true,
    lock: { exclusive: true, run: <T>(work: () => Promise<T>) => (lockRuns.push(clock.now()), work()) },
  };
  const refresh: RefreshFunction =
    options.refresh ?? (async () => ({ access_token: 'access-next-xxxxxxxx', refresh_token: 'refresh-next-xxxxxxxx', expires_in: 60 }));
  const refresher = new Refresher(
    {
      clock,
      environment,
      retry: resolveRetryOptions({ attempts: 2, baseDelayMs: 10 }),
      random: () => 0.5,
      requestTimeoutMs: 1_000,
      refresh,
      dpop: options.dpop ?? null,
    },
    { state, shared, sync, signing, peers, waiters, telemetry, mount, freshness, secrets, inflight },
  );
  return {
    clock,
    environment,
    events,
    telemetry,
    state,
    freshness,
    storage,
    shared,
    peers,
    waiters,
    secrets,
    inflight,
    sync,
    signing,
    mount,
    lifetime,
    lockRuns,
    refresher,
    policy,
  };
}
