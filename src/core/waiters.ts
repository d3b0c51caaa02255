import type { Clock, TimerHandle } from './clock';
import type { AuthError } from './errors';
import type { StoredAuthState } from './types';

/**
 * Followers waiting for a state newer than some version. They are released by `adopt` (a newer state arrived by
 * message or storage), by a failure announced by the leader, by a timeout, or by dispose.
 */
export type WaitOutcome =
  | { kind: 'state'; state: StoredAuthState }
  | { kind: 'failed'; error: AuthError }
  | { kind: 'timeout' }
  | { kind: 'disposed' };

interface Waiter {
  version: number;
  resolve: (outcome: WaitOutcome) => void;
  timer: TimerHandle;
}

export class VersionWaiters {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly clock: Clock) {}

  /** Waits until a state newer than `version` is adopted, or `timeoutMs` passes. */
  wait(version: number, timeoutMs: number): Promise<WaitOutcome> {
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
    });
  }

  stateAdopted(state: StoredAuthState): void {
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
