import type { Clock, TimerHandle } from './clock';
import type { CasResult } from './stateStore';
import type { StoredAuthState } from './types';

/** What the persister needs from its auth client. */
export interface PersisterHost {
  clock: Clock;
  mounted(): boolean;
  current(): StoredAuthState | null;
  compareAndSet(expectedVersion: number, state: StoredAuthState): Promise<CasResult>;
  /** Storage holds a newer state than this tab: take it. */
  adoptFromStorage(state: StoredAuthState): void;
  /** Reports a failed write (and calls `writeFailed` again). */
  storageError(error: unknown): void;
}

/**
 * A failed write leaves this tab holding a state that storage does not have: a refreshed pair, a sign-in, or a
 * sign-out tombstone. Until it is stored, a reload (or any tab opened later) reads the older record, that is a used
 * refresh token (reuse detection revokes the family) or, after a sign-out, the tokens themselves. So the write is
 * retried with backoff (1 s doubling to 30 s) until storage takes it or holds something at least as new. Found by
 * the chaos runs (test/chaos/regressions.test.ts).
 */
export class StatePersister {
  private timer: TimerHandle | undefined;
  private attempts = 0;
  /** A write failed and storage may be behind this tab; announced with every state the tab publishes meanwhile. */
  pending = false;

  constructor(private readonly host: PersisterHost) {}

  /** Called after any failed write: schedules the next attempt. */
  writeFailed(): void {
    this.pending = true;
    if (this.timer !== undefined || !this.host.mounted()) return;
    const delay = Math.min(30_000, 1_000 * 2 ** Math.min(this.attempts++, 5));
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = undefined;
      void this.persistCurrent();
    }, delay);
  }

  /** Writes the state this tab holds if storage is behind it (a no-op transaction otherwise). */
  async persistCurrent(): Promise<void> {
    const { host } = this;
    const state = host.current();
    if (!state || !host.mounted()) return;
    try {
      // Strictly newer than what is stored: at an equal version the stored record wins (see adopt).
      const result = await host.compareAndSet(state.version - 1, state);
      this.attempts = 0;
      if (host.current() === state) this.pending = false; // storage holds this state or a newer one now
      if (!result.written) host.adoptFromStorage(result.current);
    } catch (error) {
      host.storageError(error); // schedules the next attempt
    }
  }

  stop(): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
