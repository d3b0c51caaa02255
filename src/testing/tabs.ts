import {
  createAuthClient,
  type AuthClient,
  type Clock,
  type TimerHandle,
  webLocksRefreshLock,
  type CoordinationFactory,
  type AuthEvent,
  type AuthClientOptions,
  oauth2RefreshGrant,
  oauth2Revoke,
  createIndexedDbStorage,
  createMemoryStorage,
  type AuthStorage,
} from 'tabauth';
import { createMockTokenServer, type MockTokenServer } from './mockTokenServer';
import { createSimulatedClock, type SimulatedClock } from './simulatedClock';
import { createSimulatedEnvironment, type SimulatedEnvironment } from './simulatedEnvironment';
import { createSimulatedNetwork, type SimulatedNetwork } from './simulatedNetwork';
import { createSimulatedWebLocks } from './simulatedWebLocks';
import { createDpop, type DpopOptions } from 'tabauth/dpop';

/**
 * N browser tabs in one process: each tab has its own auth client, environment and view of the clock; all share one
 * simulated channel network, one storage (an IndexedDB factory such as fake-indexeddb's, or a shared memory map) and
 * one mock token server, all on one simulated clock. A tab can close cleanly, die without cleanup, freeze, go
 * offline, or run with a skewed clock.
 */
export interface TabSimulationOptions {
  /** The simulation's clock. Default: a new simulated clock (pass your own to share it with your own mock server). */
  clock?: SimulatedClock;
  /** Default: a strict mock server (rotation, reuse detection, no grace period) on the same clock. */
  server?: MockTokenServer;
  /** The "browser's" IndexedDB, e.g. `new IDBFactory()` from fake-indexeddb. Default: a shared in-memory store. */
  indexedDB?: IDBFactory;
  /** Options for every tab's client (`refresh` defaults to the OAuth 2 grant against `server`). */
  client?: Partial<AuthClientOptions>;
  /** Message delivery delay between tabs. Default 1 ms. */
  deliveryDelayMs?: number | ((from: string, to: string) => number);
  /** Leader failover delay after a leader closes or dies. Default 0 (Web Locks). */
  failoverDelayMs?: number;
  /** Seeded randomness for ids and jitter. */
  random?: () => number;
  /**
   * The cross-tab refresh lock. Default: what the client picks itself (Web Locks in browsers that have them, else a
   * lease in the shared storage; Node has no Web Locks, so the lease). 'web-locks': a simulated Web Locks API shared
   * by the tabs, released the moment its holder is killed or closed, like the browser does.
   */
  locks?: 'web-locks';
  /**
   * DPoP in every tab: each tab's client gets its own `createDpop()` handle over the shared storage, the simulated
   * channel and (with `locks: 'web-locks'`) the simulated Web Locks, so the tabs share one key and their nonces
   * exactly as browser tabs do. `true` or the handle's options. The default server then has DPoP on too, and
   * `signIn()` binds the new family to the tabs' key.
   */
  dpop?: boolean | Pick<DpopOptions, 'algorithm'>;
}

/**
 * Storage faults of one tab, for chaos runs (see `SimTab.setStorageFaults`). Faults apply to this tab's view only;
 * the shared storage itself stays intact.
 */
export interface StorageFaults {
  /**
   * 'throw': every update and delete rejects, as on a quota error or an aborted transaction. 'stall': they wait (a
   * slow disk) until the faults change, then run; a tab killed meanwhile never writes them (a crash before the commit).
   */
  writes?: 'throw' | 'stall';
  /**
   * 'throw': every read rejects. 'empty': every read resolves with "nothing stored" (WebKit during page hide).
   * Reads inside an update (the compare-and-set) are not affected.
   */
  reads?: 'throw' | 'empty';
}

/** One simulated tab: its own client, environment and clock view, in one shared simulated browser. */
export interface SimTab {
  /** Its name (`tab-1`, ...), used in the network and the lock queues. */
  readonly name: string;
  /** This tab's auth client (mounted unless opened with `mount: false`). */
  readonly client: AuthClient;
  /**
   * The tab's view of time, as its client gets it: `now()` is the simulated wall clock plus this tab's skew;
   * `monotonic()` (like `performance.now()`) is the unskewed simulated time from a per-tab origin, so readings of two
   * tabs cannot be compared; timers are held while the tab is frozen and dropped when it dies.
   */
  readonly clock: Clock & { monotonic(): number };
  /** This tab's page environment: `setOnline`, `setVisible`, `wake`. */
  readonly environment: SimulatedEnvironment;
  /** Every event this tab's client emitted, in order. */
  readonly events: AuthEvent[];
  /** False once the tab was closed or killed. */
  readonly alive: boolean;
  /** Whether the tab is frozen (see `freeze()`). */
  readonly frozen: boolean;
  /** Whether the tab's client is mounted (false between `unmount()` and `remount()`, and after `close()`). */
  readonly mounted: boolean;
  /**
   * Drops the client's mount count to 0 without disposing it, as an `AuthProvider` that unmounts does (a route or
   * layout change, a new `key`, HMR). The tab stays alive; `remount()` mounts it again.
   */
  unmount(): void;
  /** Mounts the client again after `unmount()` (a no-op when mounted, dead or closed). */
  remount(): void;
  /**
   * Closes the tab cleanly (unmount + dispose): leadership passes on at once. A closed page never sees the answer to
   * a request it sent (`pageClosing` is true from the first moment): that is a lost response, unlike `disposeClient()`.
   */
  close(): Promise<void>;
  /** True from the moment `close()` starts: the page sees no more answers to its requests. */
  readonly pageClosing: boolean;
  /**
   * The app disposes the tab's client while the page stays open (an `AuthProvider` with `options` that unmounts, an
   * `<Activity>` hidden for good): unmount + `client.dispose()`, and the page goes away only once that resolved. Unlike
   * `close()`, a request already sent is answered and stored first; its answer comes on the simulated clock, so keep
   * advancing it meanwhile.
   */
  disposeClient(): Promise<void>;
  /** The tab dies without any cleanup (crash, kill): it never runs another line. */
  kill(): void;
  /** Freezes the tab (timers and messages held back) until `resume()`. */
  freeze(): void;
  /** Unfreezes the tab: runs what was held back, in order, then fires its wake listeners. */
  resume(): void;
  /**
   * Offsets this tab's wall clock (`now()`: clock skew between tabs, or a wall-clock jump when set on every tab).
   * The tab's monotonic clock (`monotonic()`, like `performance.now()`) does not move with it.
   */
  setSkewMs(skewMs: number): void;
  /** Makes this tab's storage operations fail (or reads come back empty) until called again with null. */
  setStorageFaults(faults: StorageFaults | null): void;
  /** Timers this tab scheduled that have neither fired nor been cleared (0 after a clean close means no leak). */
  pendingTimers(): number;
  /**
   * Every delay this tab's client passed to `setTimeout` that was not a finite number (NaN, Infinity), in order. A
   * browser runs such a timer at once, so a timer that re-arms itself with one spins: the harness records the delay
   * and, past `NON_FINITE_TIMER_LIMIT` of them, stops scheduling them so that the simulation can still end.
   */
  nonFiniteTimerDelays(): readonly number[];
}

/** N tabs in one process, on one simulated clock (what `createTabSimulation` returns). */
export interface TabSimulation {
  /** The clock every tab, the server and the network run on. */
  readonly clock: SimulatedClock;
  /** The token server every tab refreshes against. */
  readonly server: MockTokenServer;
  /** The channel network between the tabs: `kill`, `forceLeader`, `setFaults`. */
  readonly network: SimulatedNetwork;
  /** Every tab opened so far, dead ones included. */
  readonly tabs: readonly SimTab[];
  /** The shared storage without any tab's faults or liveness checks, for inspecting what is stored. */
  readonly storage: AuthStorage;
  /** Opens a tab (mounted unless `mount: false`), optionally with its own client options. */
  openTab(options?: { name?: string; client?: Partial<AuthClientOptions>; mount?: boolean }): SimTab;
  /**
   * Starts a token family on the server, signs in through `tab` (default: the first live tab) and advances the
   * clock just enough (10 ms) for the sign-in message to reach every other tab.
   */
  signIn(tab?: SimTab): Promise<void>;
  /** The tabs still alive. */
  liveTabs(): SimTab[];
  /** Moves simulated time forward by `ms`, firing timers and delivering messages in order. */
  advance(ms: number): Promise<void>;
  /** Lets pending work finish without moving time. */
  settle(): Promise<void>;
  /** Disposes every tab. */
  dispose(): Promise<void>;
}

/** A promise that never settles: what a dead tab's pending work turns into. */
const never = <T>() => new Promise<T>(() => {});

/** Non-finite timer delays a tab may schedule (as 0, like a browser) before the harness stops running them. */
export const NON_FINITE_TIMER_LIMIT = 1_000;

/**
 * The origin of a tab's monotonic clock: like `performance.now()` it counts from the tab's own start, so readings of
 * two tabs cannot be compared. Derived from the tab's name (not from the simulation's random stream, which would
 * shift every seeded run), spread over about 11 days.
 */
function monotonicOrigin(name: string): number {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  return (hash >>> 0) % 1_000_000_000;
}

/**
 * Creates a tab simulation: open tabs with `openTab()`, sign in with `signIn()`, move time with `advance()`.
 *
 * @example
 * ```ts
 * const sim = createTabSimulation();
 * const tabs = [sim.openTab(), sim.openTab()];
 * await sim.signIn();
 * await sim.advance(60_000);
 * await sim.dispose();
 * ```
 */
export function createTabSimulation(options: TabSimulationOptions = {}): TabSimulation {
  const clock = options.clock ?? createSimulatedClock();
  const random = options.random ?? Math.random;
  const dpopOptions = options.dpop === true ? {} : options.dpop || null;
  const server = options.server ?? createMockTokenServer({ clock, random, ...(dpopOptions ? { dpop: {} } : {}) });
  const network = createSimulatedNetwork({ clock, deliveryDelayMs: options.deliveryDelayMs, failoverDelayMs: options.failoverDelayMs });
  const sharedMemory = new Map<string, unknown>();
  const tabs: SimTab[] = [];
  const webLocks = options.locks === 'web-locks' ? createSimulatedWebLocks() : null;
  const inspection: AuthStorage = options.indexedDB ? createIndexedDbStorage({ indexedDB: options.indexedDB }) : createMemoryStorage(sharedMemory);

  const openTab: TabSimulation['openTab'] = (tabOptions = {}) => {
    const name = tabOptions.name ?? `tab-${tabs.length + 1}`;
    let alive = true;
    let frozen = false;
    let skewMs = 0;
    let storageFaults: StorageFaults | null = null;
    const timers = new Set<TimerHandle>();
    const nonFiniteDelays: number[] = [];
    // Monotonic time: the unskewed simulated time since the tab opened, from a per-tab origin.
    const monotonicOffset = monotonicOrigin(name) - clock.now();
    const heldWhileFrozen: Array<() => void> = [];
    const run = (callback: () => void) => {
      if (!alive) return;
      if (frozen) heldWhileFrozen.push(callback);
      else callback();
    };

    // The tab's view of time: a skewed wall clock, a monotonic clock that never moves with the skew, and timers that
    // are silent once the tab is dead or while it is frozen.
    const tabClock: Clock & { monotonic(): number } = {
      now: () => clock.now() + skewMs,
      // Skew moves the wall clock only, like a system clock being set; the monotonic clock never jumps, and its
      // per-tab origin keeps anything from comparing readings of two tabs.
      monotonic: () => clock.now() + monotonicOffset,
      setTimeout: (callback, delayMs): TimerHandle => {
        if (typeof delayMs !== 'number' || !Number.isFinite(delayMs)) {
          nonFiniteDelays.push(delayMs);
          // Past the limit the timer is never run: a self-re-arming one would otherwise spin forever at one instant.
          if (nonFiniteDelays.length > NON_FINITE_TIMER_LIMIT) return clock.setTimeout(() => {}, 0);
        }
        // A timer that fires while the tab is frozen runs at resume, unless it was cleared in between: browsers never
        // run a cleared timer, even one whose task was already queued.
        const handle = clock.setTimeout(
          () =>
            run(() => {
              if (timers.delete(handle)) callback();
            }),
          delayMs,
        );
        timers.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        timers.delete(handle);
        clock.clearTimeout(handle);
      },
    };

    // Dead tabs never see the result of anything they started.
    const guard = <T>(work: Promise<T>): Promise<T> =>
      work.then(
        (value) => (alive ? value : never<T>()),
        (error) => (alive ? Promise.reject(error) : never<T>()),
      );
    // Storage completes on real macrotasks (fake-indexeddb): the clock must wait for it before firing timers.
    // Fetches are not tracked: the mock server's latency runs on the simulated clock itself.
    const tracked = <T>(work: Promise<T>): Promise<T> => guard(clock.track(work));
    const baseStorage: AuthStorage = options.indexedDB ? createIndexedDbStorage({ indexedDB: options.indexedDB }) : createMemoryStorage(sharedMemory);
    // Injected faults reject like IndexedDB does (with a DOMException), after a tracked turn of the event loop.
    const injected = (operation: 'read' | 'write'): Promise<never> =>
      tracked(Promise.reject(new DOMException(`simulated storage ${operation} failure`, operation === 'write' ? 'QuotaExceededError' : 'UnknownError')));
    // Writes held by a 'stall' fault, run once the faults change (not tracked: the clock keeps moving meanwhile).
    const stalled: Array<() => void> = [];
    const write = <T>(work: () => Promise<T>): Promise<T> => {
      if (storageFaults?.writes === 'throw') return injected('write');
      if (storageFaults?.writes !== 'stall') return tracked(work());
      return new Promise<void>((resume) => stalled.push(resume)).then(() => (alive ? tracked(work()) : never<T>()));
    };
    const storage: AuthStorage = {
      kind: baseStorage.kind,
      get: (key) => {
        if (!alive) return never();
        if (storageFaults?.reads === 'throw') return injected('read');
        if (storageFaults?.reads === 'empty') return tracked(Promise.resolve(undefined));
        return tracked(baseStorage.get(key));
      },
      getMany: (keys) => {
        if (!alive) return never();
        if (storageFaults?.reads === 'throw') return injected('read');
        if (storageFaults?.reads === 'empty') return tracked(Promise.resolve(keys.map(() => undefined)));
        return tracked(baseStorage.getMany ? baseStorage.getMany(keys) : Promise.all(keys.map((key) => baseStorage.get(key))));
      },
      update: (key, updater) => (alive ? write(() => baseStorage.update(key, updater)) : never()),
      delete: (key) => (alive ? write(() => baseStorage.delete(key)) : never()),
    };

    const environment = createSimulatedEnvironment();
    // A page being closed sees no answer to anything it sent (its requests are cancelled with it).
    let pageClosing = false;
    const tabFetch: typeof fetch = (input, init) => {
      if (!alive || pageClosing) return never();
      if (!environment.isOnline()) return Promise.reject(new TypeError('Failed to fetch'));
      return server.fetch(input, init).then(
        (value) => (alive && !pageClosing ? value : never<Response>()),
        (error) => (alive && !pageClosing ? Promise.reject(error) : never<Response>()),
      );
    };

    const baseCoordination = network.coordination(name);
    const coordination: CoordinationFactory = (channelName) => {
      const { channel, election } = baseCoordination(channelName);
      return {
        channel: {
          post: (message) => (alive ? channel.post(message) : never()),
          subscribe: (listener) => channel.subscribe((message) => run(() => listener(message))),
          close: () => channel.close(),
        },
        election: {
          get isLeader() {
            return election.isLeader;
          },
          start: (onChange) => election.start((leading) => run(() => onChange(leading))),
          close: () => election.close(),
        },
      };
    };

    const events: AuthEvent[] = [];
    const clientOptions = { ...options.client, ...tabOptions.client };
    const lockOptions: Partial<AuthClientOptions> = {};
    if (webLocks) lockOptions.refreshLock = webLocksRefreshLock(`tabauth:${clientOptions.namespace ?? 'default'}:refresh`, webLocks.forTab(name));
    if (dpopOptions) {
      const dpopChannels = network.coordination(name);
      lockOptions.dpop = createDpop({
        ...dpopOptions,
        namespace: clientOptions.namespace ?? 'default',
        storage,
        locks: webLocks ? webLocks.forTab(name) : null,
        channel: (channelName) => {
          const { channel } = dpopChannels(channelName);
          return {
            post: (message) => (alive ? channel.post(message) : never()),
            subscribe: (listener) => channel.subscribe((message) => run(() => listener(message))),
            close: () => channel.close(),
          };
        },
        now: tabClock.now,
        track: (work) => guard(clock.track(work)),
      });
    }
    const client = createAuthClient({
      refresh: oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: tabFetch }),
      revoke: oauth2Revoke({ revocationEndpoint: server.revocationEndpoint, clientId: 'tabauth-demo', fetch: tabFetch }),
      random,
      ...lockOptions,
      ...clientOptions,
      clock: tabClock,
      environment,
      storage,
      coordination,
      onEvent: (event) => {
        events.push(event);
        clientOptions.onEvent?.(event);
      },
    });
    let unmount: (() => void) | null = tabOptions.mount === false ? null : client.mount();
    let closing = false;

    const tab: SimTab = {
      name,
      client,
      clock: tabClock,
      environment,
      events,
      get alive() {
        return alive;
      },
      get frozen() {
        return frozen;
      },
      get mounted() {
        return alive && unmount !== null;
      },
      get pageClosing() {
        return pageClosing;
      },
      unmount() {
        unmount?.();
        unmount = null;
      },
      remount() {
        if (!alive || unmount !== null || closing) return;
        unmount = client.mount();
      },
      async close() {
        if (!alive) return;
        closing = true;
        // The page goes away: dispose's cleanup runs, but a closed page cannot wait for a request still at the
        // server (client.dispose() alone would). Like a browser, it never sees that answer, and its timers die with
        // it: this is the lost-response case (see docs/chaos.md), which the 'recoverable' chaos profile never does.
        pageClosing = true;
        unmount?.();
        unmount = null;
        let disposed = false;
        void client.dispose().then(() => {
          disposed = true;
        });
        // What finishes without the simulated clock moving (storage, the channel) finishes; an answer still on its
        // way never arrives. Deterministic: nothing here depends on real time.
        await clock.settle();
        alive = false;
        if (!disposed) {
          for (const handle of timers) clock.clearTimeout(handle);
          timers.clear();
        }
        webLocks?.releaseTab(name); // the browser releases a closed page's locks
      },
      async disposeClient() {
        if (!alive) return;
        closing = true;
        unmount?.();
        unmount = null;
        await client.dispose();
        alive = false;
        webLocks?.releaseTab(name);
      },
      kill() {
        if (!alive) return;
        alive = false;
        // A dead page's timers are gone with it (they would only run as no-ops): nothing of this tab stays scheduled.
        for (const handle of timers) clock.clearTimeout(handle);
        timers.clear();
        network.kill(name);
        webLocks?.releaseTab(name);
      },
      freeze() {
        if (alive && !frozen) environment.freeze(); // the page's `freeze` event runs before the page stops
        frozen = true;
      },
      resume() {
        if (!frozen) return;
        frozen = false;
        heldWhileFrozen.splice(0).forEach((callback) => run(callback));
        environment.wake();
      },
      setSkewMs(next) {
        skewMs = next;
      },
      setStorageFaults(next) {
        storageFaults = next;
        if (next?.writes !== 'stall') stalled.splice(0).forEach((resume) => resume());
      },
      pendingTimers: () => timers.size,
      nonFiniteTimerDelays: () => nonFiniteDelays,
    };
    tabs.push(tab);
    return tab;
  };

  return {
    clock,
    server,
    network,
    tabs,
    storage: inspection,
    openTab,
    async signIn(tab) {
      const target = tab ?? tabs.find((candidate) => candidate.alive);
      if (!target) throw new Error('no live tab to sign in with');
      // With DPoP the login binds the family to the tabs' key, as `dpop_jkt` on an authorization request does.
      const jkt = target.client.dpop ? await target.client.dpop.thumbprint() : undefined;
      await target.client.signIn(server.issueTokens({ subject: 'user-1', scope: 'openid offline_access', ...(jkt ? { jkt } : {}) }));
      await clock.advance(10);
    },
    liveTabs: () => tabs.filter((tab) => tab.alive),
    advance: (ms) => clock.advance(ms),
    settle: () => clock.settle(),
    async dispose() {
      for (const tab of tabs) await tab.close();
      await clock.settle();
    },
  };
}
