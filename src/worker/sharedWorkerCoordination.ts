import {
  describeRefreshGrant,
  nativeCoordination,
  systemClock,
  type BroadcastChannelLike,
  type CoordinationContext,
  type CoordinationFactory,
  type CoordinationFallbackReason,
  type LeaderElection,
  type PageLifecycleTarget,
  type TimerHandle,
  type WebLocksLike,
} from 'tabauth';
import { WORKER_PROTOCOL, workerLockName, type WorkerConnect } from './protocol';

/** What tabauth needs of a `SharedWorker` (the global one, or a stand-in in tests). */
export interface SharedWorkerLike {
  /** The tab's end of the connection (only the hello travels over it). */
  readonly port: {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
    start(): void;
    close(): void;
  };
  /** `error`: the script failed to load or run (a tab that has not had its hello falls back). */
  addEventListener(type: 'error', listener: () => void): void;
}

/** Options of `sharedWorkerCoordination`. */
export interface SharedWorkerCoordinationOptions {
  /**
   * Starts the worker. Default: tabauth's prebuilt worker (`tabauth/tabauth-worker.js` in the package, which your
   * bundler finds through the `new SharedWorker(new URL(...), ...)` pattern in tabauth/worker), which rebuilds the
   * client's `oauth2RefreshGrant` from the plain options the tab sends. For your own worker file (one that calls
   * `startAuthWorker({ refresh })`), write the `new SharedWorker(new URL(...))` call here yourself so that your
   * bundler sees the pattern, e.g. `(name) => new SharedWorker(new URL('./auth.worker.ts', import.meta.url), options)`
   * with `options` being `{ type: 'module', name }`.
   */
  worker?: (name: string) => SharedWorkerLike;
  /** A worker URL instead of `worker` (already built and served, e.g. from `public/`): started as a module worker. */
  url?: string | URL;
  /** How long a tab waits for the worker's first answer before it runs the leader-tab election. Default 3 000 ms. */
  helloTimeoutMs?: number;
  /** Default the global `SharedWorker`; `null` simulates a browser without it (a stand-in gets the script's relative name). */
  SharedWorker?: (new (url: string | URL, options: Record<string, unknown>) => SharedWorkerLike) | null;
  /** Web Locks (the worker's liveness lock and the fallback election). Default `navigator.locks`. */
  locks?: WebLocksLike;
  /** Default the global `BroadcastChannel` (the tabs and the worker talk over it like tabs do). */
  BroadcastChannel?: new (name: string) => BroadcastChannelLike;
  /** Where `pagehide`/`pageshow` arrive. Default `window`. */
  page?: PageLifecycleTarget | null;
}

/** The options every worker is started with: a module worker that may outlive its last tab where browsers allow it. */
function workerOptions(name: string): Record<string, unknown> {
  // `extendedLifetime` (proposed, Chrome behind a flag in 2026): lets a refresh started as the last tab closes finish
  // and be stored. Browsers that do not know it ignore it.
  return { type: 'module', name, extendedLifetime: true };
}

/**
 * Coordination where one SharedWorker of the origin performs every refresh: the worker runs an ordinary tabauth
 * client (same namespace, same IndexedDB record, same refresh lock) that always campaigns for leadership, and holds
 * a Web Lock `tabauth:<namespace>:worker` while it lives. Tabs stay followers while it holds that lock: they ask it
 * over the usual BroadcastChannel, and a tab that closes or crashes while its refresh is in flight loses nothing,
 * because the worker sent the request and stores the answer.
 *
 * Each tab also requests the worker's lock; the browser grants it when the worker goes away, and the tab then runs
 * the leader-tab election (`coordination-fallback` with reason 'worker-lost'). Where SharedWorker is missing, throws
 * (CSP, sandbox), fires `error`, refuses the connection, or does not answer within `helloTimeoutMs`, the tab runs
 * the election at once and says why (`coordination-fallback`). Either way the refresh lock and the storage re-read
 * inside it keep every refresh token single-use between the worker and fallback tabs.
 */
export function sharedWorkerCoordination(options: SharedWorkerCoordinationOptions = {}): CoordinationFactory {
  const native = nativeCoordination({ locks: options.locks, BroadcastChannel: options.BroadcastChannel, page: options.page });
  return (channelName, context) => {
    const inner = native(channelName);
    const locks = options.locks ?? (navigator as { locks?: WebLocksLike }).locks!;
    const page = options.page !== undefined ? options.page : typeof window === 'undefined' ? null : window;
    const follower = new WorkerFollower(channelName, options, context, locks, inner.election);
    page?.addEventListener('pagehide', follower.onPageHide);
    page?.addEventListener('pageshow', follower.onPageShow);
    const election: LeaderElection = {
      get isLeader() {
        return inner.election.isLeader;
      },
      start: (onChange) => follower.start(onChange),
      async close() {
        page?.removeEventListener('pagehide', follower.onPageHide);
        page?.removeEventListener('pageshow', follower.onPageShow);
        await follower.close();
      },
    };
    return { channel: inner.channel, election };
  };
}

type Phase = 'idle' | 'connecting' | 'worker' | 'fallback' | 'closed';

/**
 * One tab's side of the worker: connect, wait for the hello, then stay out of the election while the worker's lock is
 * held; run the election (the native one it wraps) the moment anything goes wrong.
 */
class WorkerFollower {
  private phase: Phase = 'idle';
  private onChange: ((isLeader: boolean) => void) | null = null;
  private worker: SharedWorkerLike | null = null;
  private helloTimer: TimerHandle | null = null;
  /** The pending request for the worker's lock; aborted on close and while the page sits in the bfcache. */
  private watch: AbortController | null = null;
  private hidden = false;
  private readonly clock;

  constructor(
    private readonly channelName: string,
    private readonly options: SharedWorkerCoordinationOptions,
    private readonly context: CoordinationContext | undefined,
    private readonly locks: WebLocksLike,
    private readonly election: LeaderElection,
  ) {
    this.clock = context?.clock ?? systemClock;
  }

  start(onChange: (isLeader: boolean) => void): void {
    if (this.phase !== 'idle') return;
    this.onChange = onChange;
    this.phase = 'connecting';
    const failure = this.connect();
    if (failure) this.fallBack(failure);
  }

  /** Starts the worker and sends the connect message; returns why it cannot, if it cannot. */
  private connect(): CoordinationFallbackReason | null {
    const Constructor =
      this.options.SharedWorker !== undefined
        ? this.options.SharedWorker
        : (globalThis as { SharedWorker?: SharedWorkerCoordinationOptions['SharedWorker'] }).SharedWorker;
    if (!Constructor && !this.options.worker) return 'unsupported';
    const custom = Boolean(this.options.worker || this.options.url);
    const grant = this.context ? describeRefreshGrant(this.context.refresh) : null;
    // The default worker can only rebuild an oauth2RefreshGrant; a custom worker brings its own refresh.
    if (!custom && !grant) return 'not-transferable';
    const name = this.channelName;
    try {
      if (this.options.worker) this.worker = this.options.worker(name);
      else if (this.options.url) this.worker = new Constructor!(this.options.url, workerOptions(name));
      else this.worker = defaultWorker(Constructor!, name);
    } catch {
      return 'blocked';
    }
    const worker = this.worker;
    worker.addEventListener('error', () => this.phase === 'connecting' && this.fallBack('worker-error'));
    worker.port.onmessage = (event) => this.onHello(event.data);
    worker.port.start();
    const connect: WorkerConnect = {
      type: 'tabauth-worker:connect',
      protocol: WORKER_PROTOCOL,
      settings: this.context?.settings ?? null,
      grant,
    };
    worker.port.postMessage(connect);
    this.helloTimer = this.clock.setTimeout(() => this.fallBack('no-hello'), this.options.helloTimeoutMs ?? 3_000);
    return null;
  }

  private onHello(data: unknown): void {
    const hello = data as { type?: unknown; ok?: unknown; reason?: unknown } | null;
    if (this.phase !== 'connecting' || hello?.type !== 'tabauth-worker:hello') return;
    if (hello.ok !== true) return this.fallBack(refusalReason(hello.reason));
    this.clearHelloTimer();
    this.phase = 'worker';
    this.context?.report({ type: 'coordination-worker' });
    this.watchWorker();
  }

  /**
   * Requests the worker's lock, which the worker holds while it lives (it answered only once it held it or was queued
   * for it): the grant means it is gone. The lock is let go at once, so every waiting tab hears it too.
   */
  private watchWorker(): void {
    if (this.phase !== 'worker' || this.hidden || this.watch) return;
    const watch = new AbortController();
    this.watch = watch;
    this.locks
      .request(workerLockName(this.channelName), { mode: 'exclusive', signal: watch.signal }, async () => {
        if (this.watch === watch) this.fallBack('worker-lost');
      })
      .catch(() => {
        // AbortError: withdrawn (close, pagehide). Anything else: no lock access; the worker still answers.
      })
      .finally(() => {
        if (this.watch === watch) this.watch = null;
      });
  }

  private fallBack(reason: CoordinationFallbackReason): void {
    if (this.phase === 'fallback' || this.phase === 'closed') return;
    this.phase = 'fallback';
    this.clearHelloTimer();
    this.stopWatching();
    this.closePort();
    this.context?.report({ type: 'coordination-fallback', reason });
    if (this.onChange) this.election.start(this.onChange);
  }

  /** A page that waits for a Web Lock cannot enter the back/forward cache: withdraw while hidden. */
  readonly onPageHide = (): void => {
    this.hidden = true;
    this.stopWatching();
  };

  readonly onPageShow = (event: Event): void => {
    if (!(event as PageTransitionEvent).persisted || !this.hidden) return;
    this.hidden = false;
    this.watchWorker();
  };

  async close(): Promise<void> {
    this.phase = 'closed';
    this.clearHelloTimer();
    this.stopWatching();
    this.closePort();
    this.onChange = null;
    await this.election.close();
  }

  private stopWatching(): void {
    const watch = this.watch;
    this.watch = null;
    watch?.abort();
  }

  private closePort(): void {
    if (!this.worker) return;
    this.worker.port.onmessage = null;
    this.worker.port.close();
    this.worker = null;
  }

  private clearHelloTimer(): void {
    if (this.helloTimer !== null) this.clock.clearTimeout(this.helloTimer);
    this.helloTimer = null;
  }
}

/** The fallback reason a tab reports for the worker's refusal. */
function refusalReason(reason: unknown): CoordinationFallbackReason {
  if (reason === 'not-transferable') return 'not-transferable';
  if (reason === 'dpop') return 'dpop-mismatch';
  return 'rejected';
}

/**
 * tabauth's prebuilt worker, next to this file in the package (dist/tabauth-worker.js). Written as the literal
 * `new SharedWorker(new URL('./…', import.meta.url), { type: 'module' … })` that Vite, webpack 5 and Next.js look for:
 * they emit the worker file and rewrite the URL (vite.config.ts keeps the literal out of tabauth's own build).
 */
function defaultWorker(Constructor: NonNullable<SharedWorkerCoordinationOptions['SharedWorker']>, name: string): SharedWorkerLike {
  if (Constructor !== (globalThis as { SharedWorker?: unknown }).SharedWorker) {
    // A stand-in constructor (tests) gets the script's relative name: no `new URL(…, import.meta.url)` here, which
    // bundlers would try to resolve (webpack warns about a dynamic one).
    return new Constructor('./tabauth-worker.js', workerOptions(name));
  }
  return new SharedWorker(new URL('./tabauth-worker.js', import.meta.url), { type: 'module', name, extendedLifetime: true } as WorkerOptions);
}
