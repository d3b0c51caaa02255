import { monotonicNow, type Clock } from './clock';
import type { RefreshLock } from './coordination/refreshLock';
import type { AuthEnvironment } from './environment';
import { DisposedError, failureFromWire, fromWire, RefreshTimeoutError } from './errors';
import type { Peers } from './peers';
import type { Refresher } from './refresh/refresher';
import type { Freshness } from './refreshPolicy';
import type { SharedRecord } from './sharedRecord';
import type { TabState } from './tabState';
import type { StoredAuthState } from './types';
import type { VersionWaiters } from './waiters';

export interface FollowerSettings {
  clock: Clock;
  environment: AuthEnvironment;
  /** Ask again (after re-reading storage) when no answer came within this long. */
  retryMs: number;
  /** Give up with RefreshTimeoutError after this long in total (offline time does not count). */
  maxWaitMs: number;
}

export interface FollowerParts {
  state: TabState;
  shared: SharedRecord;
  peers: Peers;
  waiters: VersionWaiters;
  refresher: Refresher;
  /** Told when this tab asks, so an answer to it counts as sent after a freeze (see Freshness.asked). */
  freshness: Pick<Freshness, 'asked'>;
  /** Whether the client is mounted (a follower of an unmounted client has nobody to ask), and its refresh lock. */
  mount: { readonly isMounted: boolean; readonly lock: RefreshLock };
}

/**
 * Everything a follower tab does: ask the leader for a pair newer than `version` and wait for it to arrive (by
 * message or storage), or for the leader's announced failure. Any number of callers in the tab share one wait per
 * version.
 */
export class FollowerDuties {
  private readonly flights = new Map<string, Promise<StoredAuthState | null>>();
  /** When the leader last said it is working on a version (this tab's clock). */
  private readonly pendingSince = new Map<number, number>();

  constructor(
    private readonly settings: FollowerSettings,
    private readonly parts: FollowerParts,
  ) {
    parts.peers.handle('refresh-pending', (message) => this.pendingSince.set(message.version, monotonicNow(settings.clock)));
    parts.peers.handle('refresh-failed', (message) =>
      parts.waiters.failed(message.version, message.error ? fromWire(message.error) : failureFromWire(message.errorCode)),
    );
  }

  /** `rejected`: the app reported a 401 for `version` (the leader then refreshes even if it measures the pair fresh). */
  request(version: number, rejected = false): Promise<StoredAuthState | null> {
    const key = `${version}:${rejected}`;
    const existing = this.flights.get(key);
    if (existing) return existing;
    const flight = this.wait(version, rejected).finally(() => {
      this.flights.delete(key);
      if (![...this.flights.keys()].some((other) => other.startsWith(`${version}:`))) this.pendingSince.delete(version);
    });
    this.flights.set(key, flight);
    return flight;
  }

  private async wait(version: number, rejected: boolean): Promise<StoredAuthState | null> {
    const { clock, environment, retryMs, maxWaitMs } = this.settings;
    const { state, shared, peers, waiters, refresher, mount } = this.parts;
    let deadline = clock.now() + maxWaitMs;
    for (;;) {
      if (!mount.isMounted) throw new DisposedError('Auth client is not mounted');
      // This tab became the leader while it waited: refresh itself.
      if (state.isLeader) return refresher.refresh({ version, force: rejected, trigger: 'follower-request' });
      // Offline, the leader cannot refresh either: wait (woken early by `online`) without asking or using up the
      // deadline; a pair from another tab is still taken if one arrives.
      if (environment.isOnline()) {
        this.parts.freshness.asked();
        peers.post({ type: 'refresh-request', version, ...(rejected ? { rejected: true } : {}) });
      } else deadline = clock.now() + maxWaitMs;
      const outcome = await waiters.wait(version, retryMs);
      if (outcome.kind === 'state') return outcome.state;
      if (outcome.kind === 'failed') throw outcome.error;
      if (outcome.kind === 'disposed') throw new DisposedError();
      // No answer in time: re-read storage (the pair may be there already).
      await shared.reload();
      const held = state.record;
      if (held && held.version > version) return held;
      // Still nothing, and the leader did not even say it is working on it: it may be frozen (a background tab, a
      // debugger) or gone without a successor yet.
      // Rescue: take the cross-tab refresh lock and refresh here, after re-reading storage under it, and only if
      // `version` is still the newest. A thawed leader re-reads under the same lock before it acts, so this never
      // sends a refresh token twice. Only under Web Locks: a leader may run outside the storage lease (when its
      // storage fails), so with the lease a follower asks again instead (found by the chaos runs, seed 1827).
      const acknowledged = this.pendingSince.get(version);
      const leaderWorking = acknowledged !== undefined && monotonicNow(clock) - acknowledged <= retryMs;
      if (!leaderWorking && mount.lock.exclusive === true && environment.isOnline() && mount.isMounted) {
        const rescued = await refresher.rescue(version, rejected);
        if (rescued !== undefined) return rescued;
      }
      if (clock.now() >= deadline) throw new RefreshTimeoutError('No tab answered the refresh request in time');
    }
  }
}
