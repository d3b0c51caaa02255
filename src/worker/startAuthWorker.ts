/**
 * The SharedWorker side of `sharedWorkerCoordination`. The worker runs an ordinary tabauth client per namespace (the
 * same IndexedDB record, refresh lock and BroadcastChannel as the tabs) that always campaigns for leadership, and
 * holds the Web Lock `tabauth:<namespace>:worker` while it lives so the tabs stay out of the election.
 */
import {
  createAuthClient,
  createIndexedDbStorage,
  nativeCoordination,
  oauth2RefreshGrant,
  type AuthClient,
  type AuthEnvironment,
  type AuthEventListener,
  type AuthStorage,
  type DpopAlgorithm,
  type DpopHandle,
  type OAuth2RefreshOptions,
  type RefreshFunction,
  type TransferableClientSettings,
  type WebLocksLike,
} from 'tabauth';
import { WORKER_PROTOCOL, workerLockName, type WorkerConnect, type WorkerHello } from './protocol';

/** The part of a MessagePort the worker uses. */
export interface AuthWorkerPort {
  /** Receives the tab's connect message. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Sends the hello. */
  postMessage(message: unknown): void;
  /** Starts delivery (needed with addEventListener-style ports). */
  start(): void;
}

/** The part of `SharedWorkerGlobalScope` the worker uses (injectable for tests). */
export interface AuthWorkerScope {
  /** A tab connected: `event.ports[0]` is the worker's end. */
  addEventListener(type: 'connect', listener: (event: MessageEvent) => void): void;
  /** Stops listening (AuthWorker.close). */
  removeEventListener(type: 'connect', listener: (event: MessageEvent) => void): void;
}

/** Options of `startAuthWorker`. Without `refresh` or `oauth2`, the worker rebuilds the tab's `oauth2RefreshGrant`. */
export interface AuthWorkerOptions {
  /** Your refresh function; it runs in the worker (no DOM, no window). Wins over `oauth2` and over what tabs send. */
  refresh?: RefreshFunction;
  /** A fixed RFC 6749 refresh grant (functions such as `fetch` allowed: they live in the worker). */
  oauth2?: OAuth2RefreshOptions;
  /** Storage per namespace. Default IndexedDB, the record the tabs share. */
  storage?: (namespace: string) => AuthStorage;
  /** Web Locks. Default `navigator.locks` of the worker. */
  locks?: WebLocksLike;
  /** Where `connect` events arrive. Default the worker's global scope. */
  scope?: AuthWorkerScope;
  /** Every event of the worker's clients (no token strings, as everywhere in tabauth). */
  onEvent?: AuthEventListener;
  /**
   * DPoP for tabs that use it: `createDpop` from `tabauth/dpop` (the prebuilt worker passes it), called once per
   * namespace with the tabs' namespace and algorithm. The handle it returns opens the namespace's non-extractable key
   * from IndexedDB and shares nonces over the BroadcastChannel, as a tab's does; no key ever crosses the port.
   * Without it, a tab with DPoP is refused (`coordination-fallback` reason 'dpop-mismatch') and runs the election:
   * a worker never refreshes a DPoP-bound token without a proof.
   */
  dpop?: (settings: { namespace: string; algorithm: DpopAlgorithm }) => DpopHandle;
}

/** A running worker: its clients per namespace, for tests and diagnostics. */
export interface AuthWorker {
  /** The client of a namespace once a tab connected for it; undefined before. */
  client(namespace: string): AuthClient | undefined;
  /** Stops listening, disposes every client and lets the liveness locks go (tests; a real worker just ends). */
  close(): Promise<void>;
}

interface Entry {
  client: AuthClient;
  /** Whether this client signs its refreshes with DPoP: tabs of the other kind are refused. */
  dpop: boolean;
  /** Settles once this worker holds its liveness lock or is queued for it: only then may tabs rely on it. */
  ready: Promise<void>;
  /** Lets the liveness lock go (or withdraws the queued request): the tabs following this client fall back. */
  release: () => void;
}

/**
 * Starts tabauth in a SharedWorker. The prebuilt `tabauth/tabauth-worker.js` calls `startAuthWorker()`; write your own
 * worker file when the refresh cannot be described as plain `oauth2RefreshGrant` options:
 *
 * ```ts
 * // auth.worker.ts
 * import { startAuthWorker } from 'tabauth/worker';
 * startAuthWorker({ refresh: async ({ refreshToken, signal }) => myTokenCall(refreshToken, signal) });
 * ```
 */
export function startAuthWorker(options: AuthWorkerOptions = {}): AuthWorker {
  const scope = options.scope ?? (globalThis as unknown as AuthWorkerScope);
  const found = options.locks ?? (navigator as { locks?: WebLocksLike }).locks;
  if (!found) throw new TypeError('startAuthWorker: Web Locks are required (navigator.locks)');
  const locks: WebLocksLike = found;
  const entries = new Map<string, Entry>();
  /** Disposals of retired clients (see answer), awaited by close. */
  const retiring = new Set<Promise<void>>();

  const onConnect = (event: MessageEvent) => {
    const port = event.ports[0] as AuthWorkerPort | undefined;
    if (!port) return;
    port.onmessage = (message) => void answer(port, message.data);
    port.start();
  };

  async function answer(port: AuthWorkerPort, data: unknown): Promise<void> {
    const reply = (hello: WorkerHello) => port.postMessage(hello);
    const connect = data as Partial<WorkerConnect> | null;
    if (connect?.type !== 'tabauth-worker:connect') return;
    if (connect.protocol !== WORKER_PROTOCOL) return reply({ type: 'tabauth-worker:hello', protocol: WORKER_PROTOCOL, ok: false, reason: 'protocol' });
    const settings = validSettings(connect.settings);
    if (!settings) return reply({ type: 'tabauth-worker:hello', protocol: WORKER_PROTOCOL, ok: false, reason: 'settings' });
    const entry = entryFor(settings, connect);
    if (typeof entry === 'string') return reply({ type: 'tabauth-worker:hello', protocol: WORKER_PROTOCOL, ok: false, reason: entry });
    await entry.ready;
    reply({ type: 'tabauth-worker:hello', protocol: WORKER_PROTOCOL, ok: true });
  }

  type Refusal = 'not-transferable' | 'dpop';

  /** The namespace's client this tab may follow, started if needed; else why the tab must run the election. */
  function entryFor(settings: TransferableClientSettings, connect: Partial<WorkerConnect>): Entry | Refusal {
    const entry = entries.get(settings.namespace);
    if (entry && settings.dpop && !entry.dpop) return replaceWithSigner(entry, settings, connect);
    if (entry) {
      // The first tab decided: a tab without DPoP (another app version during a deploy) must not follow a client that
      // signs differently from it; it runs the election and serialises with the worker through the refresh lock.
      return entry.dpop === Boolean(settings.dpop) ? entry : 'dpop';
    }
    const refresh = refreshFor(connect);
    if (!refresh) return 'not-transferable';
    const dpop = settings.dpop ? dpopFor(settings.namespace, settings.dpop.algorithm) : null;
    if (settings.dpop && !dpop) return 'dpop';
    const started = start(settings, refresh, dpop, holdLivenessLock(locks, workerLockName(`tabauth:${settings.namespace}`)));
    entries.set(settings.namespace, started);
    return started;
  }

  /**
   * A tab without DPoP (another app version) started this namespace's client, and a DPoP tab arrives: that client
   * would refresh the DPoP tabs' bound tokens without proofs, so it retires (after its in-flight request is answered
   * and stored). With `dpop`, a client that signs takes its place and keeps its liveness lock, so the tabs following
   * the worker keep following it; without, the lock goes, they fall back ('worker-lost') and the DPoP tab is refused.
   */
  function replaceWithSigner(entry: Entry, settings: TransferableClientSettings, connect: Partial<WorkerConnect>): Entry | Refusal {
    const refresh = refreshFor(connect);
    const dpop = refresh ? dpopFor(settings.namespace, settings.dpop!.algorithm) : null;
    entries.delete(settings.namespace);
    const disposal = entry.client.dispose().finally(() => retiring.delete(disposal));
    retiring.add(disposal);
    if (!refresh || !dpop) {
      entry.release();
      return refresh ? 'dpop' : 'not-transferable';
    }
    const replacement = start(settings, refresh, dpop, { ready: entry.ready, release: entry.release });
    entries.set(settings.namespace, replacement);
    return replacement;
  }

  /** The refresh of this worker: its own, else the tab's grant rebuilt (a bad one is refused, never thrown here). */
  function refreshFor(connect: Partial<WorkerConnect>): RefreshFunction | null {
    if (options.refresh) return options.refresh;
    try {
      if (options.oauth2) return oauth2RefreshGrant(options.oauth2);
      if (connect.grant && typeof connect.grant === 'object') return oauth2RefreshGrant(connect.grant);
    } catch {
      // TypeError for a bad endpoint or client id: the tab falls back and refreshes itself.
    }
    return null;
  }

  /** The worker's own DPoP handle for a namespace; null when it has none or cannot make one (a bad algorithm). */
  function dpopFor(namespace: string, algorithm: DpopAlgorithm): DpopHandle | null {
    if (!options.dpop) return null;
    try {
      const handle = options.dpop({ namespace, algorithm });
      // createAuthClient refuses a handle of another namespace: it would sign with another app's key.
      return handle.namespace === namespace ? handle : null;
    } catch {
      return null; // TypeError for an algorithm it does not know: the tab refreshes itself.
    }
  }

  /**
   * The first tab of a namespace decides its settings; later tabs (another app version mid-deploy) join as they are.
   * With DPoP the client gets the worker's own handle, over the same stored key and nonces as the tabs' handles.
   */
  function start(settings: TransferableClientSettings, refresh: RefreshFunction, dpop: DpopHandle | null, liveness: Pick<Entry, 'ready' | 'release'>): Entry {
    const client = createAuthClient({
      namespace: settings.namespace,
      clientType: settings.clientType,
      refresh,
      refreshLeewayMs: settings.refreshLeewayMs,
      refreshLifetimeRatio: settings.refreshLifetimeRatio,
      requestTimeoutMs: settings.requestTimeoutMs,
      followerRetryMs: settings.followerRetryMs,
      ...(settings.retry ? { retry: settings.retry } : {}),
      storage: options.storage ? options.storage(settings.namespace) : createIndexedDbStorage(),
      coordination: nativeCoordination({ locks, page: null }),
      environment: workerEnvironment(),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(dpop ? { dpop } : {}),
    });
    client.mount();
    return { client, dpop: dpop !== null, ...liveness };
  }

  scope.addEventListener('connect', onConnect);
  return {
    client: (namespace) => entries.get(namespace)?.client,
    async close() {
      scope.removeEventListener('connect', onConnect);
      await Promise.all([...entries.values()].map((entry) => entry.client.dispose()).concat([...retiring]));
      [...entries.values()].forEach((entry) => entry.release());
    },
  };
}

/**
 * Holds the liveness lock for as long as this worker lives. If another worker holds it (two app versions with two
 * worker URLs during a deploy), this one queues behind it and answers anyway: the tabs' own requests queue behind
 * both, so they run the election only when no worker is left.
 */
function holdLivenessLock(locks: WebLocksLike, name: string): { ready: Promise<void>; release: () => void } {
  let released = false;
  const holders: Array<() => void> = [];
  const withdraw = new AbortController();
  const hold = () => (released ? Promise.resolve() : new Promise<void>((resolve) => holders.push(resolve)));
  const ready = new Promise<void>((ready) => {
    locks
      .request(name, { mode: 'exclusive', ifAvailable: true }, (lock) => {
        if (lock) {
          ready();
          return hold();
        }
        void locks.request(name, { mode: 'exclusive', signal: withdraw.signal }, hold).catch(() => {});
        ready();
        return Promise.resolve();
      })
      .catch(() => ready());
  });
  const release = () => {
    released = true;
    withdraw.abort();
    holders.splice(0).forEach((resolve) => resolve());
  };
  return { ready, release };
}

function validSettings(value: unknown): TransferableClientSettings | null {
  if (!value || typeof value !== 'object') return null;
  const s = value as Record<string, unknown>;
  const positive = (key: string) => typeof s[key] === 'number' && Number.isFinite(s[key]) && (s[key] as number) >= 0;
  if (typeof s.namespace !== 'string' || s.namespace.length === 0 || s.namespace.length > 200) return null;
  if (typeof s.clientType !== 'string') return null;
  if (!['refreshLeewayMs', 'refreshLifetimeRatio', 'requestTimeoutMs', 'followerRetryMs'].every(positive)) return null;
  if (s.dpop !== undefined && (!s.dpop || typeof (s.dpop as { algorithm?: unknown }).algorithm !== 'string')) return null;
  return value as TransferableClientSettings;
}

/** A worker has no page: always visible; online state and its events from the worker's own global scope. */
function workerEnvironment(): AuthEnvironment {
  const target = typeof addEventListener === 'function' ? (globalThis as unknown as EventTarget) : undefined;
  const listen = (type: string, listener: () => void) => {
    if (!target) return () => {};
    target.addEventListener(type, listener);
    return () => target.removeEventListener(type, listener);
  };
  return {
    isOnline: () => (typeof navigator !== 'undefined' && typeof navigator.onLine === 'boolean' ? navigator.onLine : true),
    isVisible: () => true,
    onOnline: (listener) => listen('online', listener),
    onOffline: (listener) => listen('offline', listener),
    onWake: () => () => {},
  };
}
