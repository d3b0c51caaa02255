import type { AuthEnvironment, Clock } from './clock';
import { DisposedError, RefreshTimeoutError } from './errors';
import type { RefreshTrigger } from './events';
import type { StoredAuthState } from './types';
import type { VersionWaiters } from './waiters';

/** What a follower needs from its auth client. */
export interface FollowerHost {
  clock: Clock;
  environment: AuthEnvironment;
  waiters: VersionWaiters;
  retryMs: number;
  maxWaitMs: number;
  mounted(): boolean;
  isLeader(): boolean;
  current(): StoredAuthState | null;
  askLeader(version: number): void;
  reloadFromStorage(): Promise<void>;
  /** Used when this tab became the leader while it waited. */
  leaderRefresh(version: number, force: boolean, trigger: RefreshTrigger): Promise<StoredAuthState | null>;
}

/**
 * A follower asks the leader for a pair newer than `version` and waits; it never refreshes on its own. Any number
 * of callers in the tab share one wait per version.
 */
export class FollowerRequests {
  private readonly flights = new Map<number, Promise<StoredAuthState | null>>();

  constructor(private readonly host: FollowerHost) {}

  request(version: number): Promise<StoredAuthState | null> {
    const existing = this.flights.get(version);
    if (existing) return existing;
    const flight = this.wait(version).finally(() => this.flights.delete(version));
    this.flights.set(version, flight);
    return flight;
  }

  private async wait(version: number): Promise<StoredAuthState | null> {
    const { host } = this;
    let deadline = host.clock.now() + host.maxWaitMs;
    for (;;) {
      if (!host.mounted()) throw new DisposedError('Auth client is not mounted');
      if (host.isLeader()) return host.leaderRefresh(version, true, 'follower-request');
      // Offline, the leader cannot refresh either: wait (woken early by `online`) without asking or using up the
      // deadline; a pair from another tab is still taken if one arrives.
      if (host.environment.isOnline()) host.askLeader(version);
      else deadline = host.clock.now() + host.maxWaitMs;
      const outcome = await host.waiters.wait(version, host.retryMs);
      if (outcome.kind === 'state') return outcome.state;
      if (outcome.kind === 'failed') throw outcome.error;
      if (outcome.kind === 'disposed') throw new DisposedError();
      // No answer in time: re-read storage (the pair may be there already), then ask again. No spinning: one
      // request per retryMs at most.
      await host.reloadFromStorage();
      const current = host.current();
      if (current && current.version > version) return current;
      if (host.clock.now() >= deadline) throw new RefreshTimeoutError('No tab answered the refresh request in time');
    }
  }
}
