import type { WebLocksLike } from 'tabauth';
/** A Web Locks API shared by simulated tabs; each tab gets its own `navigator.locks` view. */
export interface SimulatedWebLocks {
  /** The `navigator.locks` of one tab (what tabauth uses: exclusive and shared `request`, `signal`, `ifAvailable`). */
  forTab(tab: string): WebLocksLike;
  /** What the browser does when a tab closes or crashes: its held locks are released, its queued requests dropped. */
  releaseTab(tab: string): void;
}

/**
 * Web Locks for simulated tabs: per name, a FIFO queue of exclusive and shared requests shared by every tab of the
 * simulation (shared holders coexist; an exclusive one waits for all). Like the browser, it releases a lock (and
 * forgets queued requests) when the holding tab dies or closes, whatever state its callback is in; a killed tab's
 * callback never settles, so nothing else would release it. `ifAvailable` gets `null` at once when it would wait.
 */
export function createSimulatedWebLocks(): SimulatedWebLocks {
  interface LockRequest {
    tab: string;
    mode: 'exclusive' | 'shared';
    callback: (lock: unknown) => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (reason: unknown) => void;
    granted: boolean;
    /** Removes the abort listener: a granted or dropped request must not keep one on a long-lived signal. */
    forget: () => void;
  }
  const queues = new Map<string, LockRequest[]>();
  const queueOf = (name: string) => {
    if (!queues.has(name)) queues.set(name, []);
    return queues.get(name)!;
  };
  const remove = (name: string, request: LockRequest) => {
    const queue = queueOf(name);
    const index = queue.indexOf(request);
    if (index < 0) return;
    queue.splice(index, 1);
    request.forget();
    grant(name);
  };
  /** Whether `request` could be granted now, ahead of nobody. */
  const grantable = (queue: LockRequest[], request: LockRequest) => {
    for (const other of queue) {
      if (other === request) return true;
      if (request.mode === 'exclusive' || other.mode === 'exclusive' || !other.granted) return false;
    }
    return true;
  };
  const start = (name: string, request: LockRequest) => {
    request.granted = true;
    request.forget();
    // The browser calls the callback in a later task; a microtask keeps the simulated order deterministic.
    Promise.resolve()
      .then(() => request.callback({ name, mode: request.mode }))
      .then(request.resolve, request.reject)
      .finally(() => remove(name, request));
  };
  const grant = (name: string) => {
    const queue = queueOf(name);
    for (const request of queue) if (!request.granted && grantable(queue, request)) start(name, request);
  };
  return {
    forTab(tab: string): WebLocksLike {
      return {
        request<T>(
          name: string,
          options: { mode?: 'exclusive' | 'shared'; signal?: AbortSignal; ifAvailable?: boolean },
          callback: (lock: unknown) => Promise<T>,
        ): Promise<T> {
          return new Promise<T>((resolve, reject) => {
            const { signal } = options;
            if (signal?.aborted) {
              reject(signal.reason);
              return;
            }
            const request: LockRequest = {
              tab,
              mode: options.mode ?? 'exclusive',
              callback: callback as (lock: unknown) => Promise<unknown>,
              resolve: resolve as (value: unknown) => void,
              reject,
              granted: false,
              forget: () => {},
            };
            const queue = queueOf(name);
            queue.push(request);
            if (options.ifAvailable && !grantable(queue, request)) {
              queue.pop();
              Promise.resolve()
                .then(() => callback(null))
                .then(resolve, reject);
              return;
            }
            if (signal) {
              const onAbort = () => {
                if (request.granted) return; // like the browser: the signal only cancels a request still waiting
                remove(name, request);
                reject(signal.reason);
              };
              signal.addEventListener('abort', onAbort, { once: true });
              request.forget = () => signal.removeEventListener('abort', onAbort);
            }
            grant(name);
          });
        },
      };
    },
    releaseTab(tab: string) {
      for (const [name, queue] of queues) for (const request of queue.filter((entry) => entry.tab === tab)) remove(name, request);
    },
  };
}
