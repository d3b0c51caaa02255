import { sleep, type Clock } from '../clock';
import type { AuthStorage } from '../storage/storage';

/**
 * Leadership is not a mutex: the fallback election can elect two leaders for a while, and a leader can lose its
 * lock mid-refresh. The refresh itself is therefore serialised across tabs by a RefreshLock, and the holder re-reads
 * storage before touching the network.
 */
export interface RefreshLock {
  /**
   * Runs `work` while holding the cross-tab refresh lock. A lock that cannot be taken (the lease's storage fails)
   * runs the work under leadership alone, unless `requireExclusive`: then it rejects with LockUnavailableError.
   */
  run<T>(work: () => Promise<T>, signal?: AbortSignal, options?: { requireExclusive?: boolean }): Promise<T>;
  /**
   * True when no tab can ever refresh outside this lock (Web Locks: the browser grants it, nobody bypasses it). Only
   * then may a follower rescue a silent leader: the storage lease lets a leader whose storage fails run without it.
   */
  readonly exclusive?: boolean;
  /** Present on Web Locks (see UnpersistedMarker). */
  readonly unpersisted?: UnpersistedMarker;
}

/** The refresh lock could not be taken for sure (the storage lease failed) and the caller asked for exclusivity. */
export class LockUnavailableError extends Error {
  constructor() {
    super('The cross-tab refresh lock could not be taken');
    this.name = 'LockUnavailableError';
  }
}

/** Minimal shape of `navigator.locks` that tabauth uses. */
export interface WebLocksLike {
  /** Requests a lock as `navigator.locks.request` does: the callback runs while it is held (`null` with `ifAvailable` when it is not free). */
  request<T>(
    name: string,
    options: { mode?: 'exclusive' | 'shared'; signal?: AbortSignal; ifAvailable?: boolean },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>;
}

/**
 * A cross-tab marker "some tab holds a rotation that storage does not have" (its write failed). Each such tab holds
 * it, in shared mode, until its write lands; the browser drops it with the tab. A follower must not rescue while it
 * is held: storage is behind that tab's memory, so the re-read under the lock would hand out a spent token.
 */
export interface UnpersistedMarker {
  /** Resolves once held; call the returned function to let go. */
  hold(): Promise<() => void>;
  /** Whether any tab holds it now. */
  anyHeld(): Promise<boolean>;
}

/** Web Locks: released by the browser when the holding tab closes or crashes, so it can never be orphaned. */
export function webLocksRefreshLock(name: string, locks: WebLocksLike): RefreshLock {
  const markerName = `${name}:unpersisted`;
  return {
    exclusive: true,
    run: (work, signal) => locks.request(name, signal ? { mode: 'exclusive', signal } : { mode: 'exclusive' }, () => work()),
    unpersisted: {
      hold: () =>
        new Promise((granted) => {
          void locks.request(markerName, { mode: 'shared' }, () => new Promise<void>((release) => granted(() => release())));
        }),
      anyHeld: () => locks.request(markerName, { mode: 'exclusive', ifAvailable: true }, async (lock) => lock === null),
    },
  };
}

interface LeaseRecord {
  owner: string;
  expiresAt: number;
}

function isLease(value: unknown): value is LeaseRecord {
  return (
    typeof value === 'object' && value !== null && typeof (value as LeaseRecord).owner === 'string' && typeof (value as LeaseRecord).expiresAt === 'number'
  );
}

/** Options of `leaseRefreshLock`, the refresh lock for browsers without Web Locks. */
export interface LeaseRefreshLockOptions {
  /** Where the lease record lives: the storage every tab shares (the client's own storage by default). */
  storage: AuthStorage;
  /** Storage key of the lease record. */
  key: string;
  /** Unique id of this tab. */
  owner: string;
  /** Time source for the lease's expiry and the waits between attempts. */
  clock: Clock;
  /** How long a lease lives if its holder dies without releasing it. Must exceed one refresh attempt. */
  ttlMs: number;
  /** Wait between attempts while another tab holds the lease. */
  retryDelayMs?: number;
  /** Called when storage fails and the lease cannot be taken (the work then runs under leadership alone). */
  onStorageFailure?: (error: unknown) => void;
}

/**
 * The runs of this page's lease locks, queued per lease key and owner across lock objects. A client makes a lock for
 * each mount period, and a refresh sent in one period is awaited and stored after its client unmounts (issue #9); with
 * a queue per lock object, a run of the next period (a retry that found a newer pair) re-took the tab's own lease,
 * released it at once, and another tab took it and sent the same refresh token while the first answer was on its way
 * (found by the chaos runs, seed 11148: an unmount and mount at once while the leader's refresh was at the server).
 */
const tabQueues = new Map<string, Promise<void>>();

/**
 * The in-browser twin of a Redis `SET key value NX PX ttl` lock, for browsers without Web Locks: a lease record
 * written by compare-and-set in one IndexedDB transaction. An expired lease (its holder died) is taken over.
 */
export function leaseRefreshLock(options: LeaseRefreshLockOptions): RefreshLock {
  const retryDelayMs = options.retryDelayMs ?? 100;
  const tryAcquire = async (): Promise<boolean> => {
    let acquired = false;
    await options.storage.update(options.key, (current) => {
      const now = options.clock.now();
      if (!isLease(current) || current.expiresAt <= now || current.owner === options.owner) {
        acquired = true;
        return { owner: options.owner, expiresAt: now + options.ttlMs } satisfies LeaseRecord;
      }
      return current;
    });
    return acquired;
  };
  const release = async () => {
    await options.storage.update(options.key, (current) => (isLease(current) && current.owner === options.owner ? undefined : current));
  };
  // Whether storage shows a lease of another tab that has not expired. A read that fails shows nothing.
  const heldByAnother = async (): Promise<boolean> => {
    try {
      const current = await options.storage.get(options.key);
      return isLease(current) && current.owner !== options.owner && current.expiresAt > options.clock.now();
    } catch {
      return false;
    }
  };

  // One holder at a time inside this tab as well. The lease is keyed by the tab, so a second run of the same tab
  // (a newer refresh started while an older one waited, e.g. offline) would re-take it, and the first run's release
  // would then free it under the second: another tab got in and sent the same refresh token (found by the chaos
  // runs, test/chaos/regressions.test.ts). Web Locks queue such requests; this does the same, in one queue per lease
  // and owner for every lock object (see tabQueues).
  const queue = `${options.key}\n${options.owner}`;
  return {
    async run(work, signal, runOptions) {
      const previous = tabQueues.get(queue) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => (done = resolve));
      const tail = previous.then(() => mine);
      tabQueues.set(queue, tail);
      try {
        await untilSettledOrAborted(previous, signal);
        return await runLeased(work, signal, runOptions?.requireExclusive === true);
      } finally {
        done();
        // Only once every run before this one is over too: a waiter aborted by its unmount gets here while the run
        // ahead of it still holds the lease, and the queue must keep that run for the next period's runs.
        void tail.then(() => tabQueues.get(queue) === tail && tabQueues.delete(queue));
      }
    },
  };

  async function runLeased<T>(work: () => Promise<T>, signal: AbortSignal | undefined, requireExclusive: boolean): Promise<T> {
    let held = false;
    let failures = 0;
    for (;;) {
      try {
        held = await tryAcquire();
      } catch (error) {
        if (failures++ === 0) options.onStorageFailure?.(error);
        if (requireExclusive) throw new LockUnavailableError();
        // This tab cannot write the lease, but it may still read one: a live lease of another tab means that tab is
        // inside a refresh (its request out, or its answer not stored yet), and the storage this tab would re-read is
        // behind it. Running now sent the spent token (Fix #9.14, found by chaos seed 2684: a client disposed after its
        // answer, still writing it, while the next leader's writes failed). Waits at most one lease lifetime, then
        // runs under leadership alone as before (a dead holder's lease, or a clock that jumped back).
        if (failures * retryDelayMs > options.ttlMs || !(await heldByAnother())) break;
        await sleep(options.clock, retryDelayMs, signal);
        continue;
      }
      if (held) break;
      await sleep(options.clock, retryDelayMs, signal);
    }
    try {
      return await work();
    } finally {
      if (held) await release().catch((error) => options.onStorageFailure?.(error));
    }
  }
}

/** The runs waiting on one signal, behind one abort listener (see untilSettledOrAborted). */
interface SignalWaiters {
  rejects: Set<(reason: unknown) => void>;
  onAbort: () => void;
}
const signalWaiters = new WeakMap<AbortSignal, SignalWaiters>();

/**
 * Waits for the previous run of this tab, or rejects when `signal` aborts. Every waiter of a signal shares one abort
 * listener: a tab that leads beside another one (duplicate leaders) queues a run per version it hears of while the
 * other holds the lease back to back, and a listener per waiter went past Node's limit of 10 on the mount's signal
 * (found with chaos seed 114: 15 runs queued behind 8 s refreshes). The listener goes with the last waiter.
 */
function untilSettledOrAborted(previous: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return previous;
  if (signal.aborted) return Promise.reject(signal.reason);
  let waiters = signalWaiters.get(signal);
  if (!waiters) {
    const rejects = new Set<(reason: unknown) => void>();
    const onAbort = () => {
      signalWaiters.delete(signal);
      for (const reject of rejects) reject(signal.reason);
    };
    waiters = { rejects, onAbort };
    signalWaiters.set(signal, waiters);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  const group = waiters;
  return new Promise((resolve, reject) => {
    group.rejects.add(reject);
    void previous.then(() => {
      group.rejects.delete(reject);
      if (group.rejects.size === 0 && signalWaiters.get(signal) === group) {
        signalWaiters.delete(signal);
        signal.removeEventListener('abort', group.onAbort);
      }
      resolve();
    });
  });
}

/** Web Locks where the browser has them, otherwise a storage lease. */
export function defaultRefreshLock(options: LeaseRefreshLockOptions & { lockName: string }): RefreshLock {
  const locks = typeof navigator === 'undefined' ? undefined : (navigator as { locks?: WebLocksLike | null }).locks;
  if (locks && typeof locks.request === 'function') return webLocksRefreshLock(options.lockName, locks);
  return leaseRefreshLock(options);
}
