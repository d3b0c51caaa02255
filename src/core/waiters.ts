import type { Clock, TimerHandle } from './clock';
import type { AuthError } from './errors';
import type { TabState } from './tabState';
import type { StoredAuthState } from './types';

/** How one wait ended. */
export type WaitOutcome = { kind: 'state'; state: StoredAuthState } | { kind: 'failed'; error: AuthError } | { kind: 'timeout' } | { kind: 'disposed' };

interface Waiter {
  version: number;
  resolve: (outcome: WaitOutcome) => void;
  timer: TimerHandle;
}

/**
 * Callers waiting for a record newer than some version. They are released by a transition of the tab's state (a newer
 * record arrived by message or storage, or this tab made one), by a failure the refreshing tab announced, by a
 * timeout, or by dispose.
 */
export class VersionWaiters {
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly clock: Clock,
    state: TabState,
  ) {
    state.onTransition(({ record }) => this.stateAdopted(record));
    // The leader answered a request for `version` with the pair this tab holds (it is still fresh): nothing newer comes.
    state.onConfirm((record) => {
      for (const waiter of [...this.waiters]) if (waiter.version === record.version) waiter.resolve({ kind: 'state', state: record });
    });
  }

  /** Waits until a state newer than `version` is adopted, or `timeoutMs` passes (or `signal` aborts: a timeout too). */
  wait(version: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        version,
        resolve: (outcome) => {
          this.clock.clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(outcome);
        },
        timer: undefined,
      };
      waiter.timer = this.clock.setTimeout(() => waiter.resolve({ kind: 'timeout' }), timeoutMs);
      this.waiters.add(waiter);
      if (signal?.aborted) waiter.resolve({ kind: 'timeout' });
      else signal?.addEventListener('abort', () => waiter.resolve({ kind: 'timeout' }), { once: true });
    });
  }

  private stateAdopted(state: StoredAuthState): void {
    for (const waiter of [...this.waiters]) if (state.version > waiter.version) waiter.resolve({ kind: 'state', state });
  }

  failed(version: number, error: AuthError): void {
    for (const waiter of [...this.waiters]) if (waiter.version <= version) waiter.resolve({ kind: 'failed', error });
  }

  /** Ends every wait early as if it timed out, so the waiters re-check (used when the browser comes back online). */
  wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter.resolve({ kind: 'timeout' });
  }

  disposeAll(): void {
    for (const waiter of [...this.waiters]) waiter.resolve({ kind: 'disposed' });
  }

  get size(): number {
    return this.waiters.size;
  }
}
