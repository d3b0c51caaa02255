import type { WebLocksLike } from '../core/coordination/refreshLock';

/** A Web Locks API shared by simulated tabs; each tab gets its own `navigator.locks` view. */
export interface SimulatedWebLocks {
  /** The `navigator.locks` of one tab (only what tabauth uses: exclusive `request` with an optional signal). */
  forTab(tab: string): WebLocksLike;
  /** What the browser does when a tab closes or crashes: its held locks are released, its queued requests dropped. */
  releaseTab(tab: string): void;
}

/**
 * Web Locks for simulated tabs: one exclusive FIFO lock per name, shared by every tab of the simulation. Like the
 * browser, it releases a lock (and forgets queued requests) when the holding tab dies or closes, whatever state its
 * callback is in; a killed tab's callback never settles, so nothing else would release it.
 */
export function createSimulatedWebLocks(): SimulatedWebLocks {
  interface LockRequest {
    tab: string;
    callback: () => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (reason: unknown) => void;
    granted: boolean;
  }
  const queues = new Map<string, LockRequest[]>();
  const remove = (name: string, request: LockRequest) => {
    const queue = queues.get(name) ?? [];
    const index = queue.indexOf(request);
    if (index < 0) return;
    queue.splice(index, 1);
    grant(name);
  };
  const grant = (name: string) => {
    const head = queues.get(name)?.[0];
    if (!head || head.granted) return;
    head.granted = true;
    // The browser calls the callback in a later task; a microtask keeps the simulated order deterministic.
    Promise.resolve()
      .then(() => head.callback())
      .then(head.resolve, head.reject)
      .finally(() => remove(name, head));
  };
  return {
    forTab(tab: string): WebLocksLike {
      return {
        request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> {
          return new Promise<T>((resolve, reject) => {
            const { signal } = options;
            if (signal?.aborted) {
              reject(signal.reason);
              return;
            }
            const request: LockRequest = { tab, callback, resolve: resolve as (value: unknown) => void, reject, granted: false };
            if (!queues.has(name)) queues.set(name, []);
            queues.get(name)!.push(request);
            signal?.addEventListener(
              'abort',
              () => {
                if (request.granted) return; // like the browser: the signal only cancels a request still waiting
                remove(name, request);
                reject(signal.reason);
              },
              { once: true },
            );
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
