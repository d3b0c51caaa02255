import type { Clock, TimerHandle } from './clock';
import type { AuthEnvironment } from './environment';
import type { RefreshTrigger } from './events';
import type { Peers } from './peers';
import type { RecordSync } from './recordSync';
import type { Refresher } from './refresh/refresher';
import { needsRefresh, refreshDueAt, type RefreshPolicy } from './refreshPolicy';
import type { SharedRecord } from './sharedRecord';
import type { TabState } from './tabState';
import type { Telemetry } from './telemetry';
import type { StoredAuthState } from './types';

export interface LeaderSettings {
  clock: Clock;
  environment: AuthEnvironment;
  policy: RefreshPolicy;
  /** Failures younger than this are answered from memory instead of starting a new cycle. */
  followerRetryMs: number;
}

export interface LeaderParts {
  state: TabState;
  shared: SharedRecord;
  sync: RecordSync;
  peers: Peers;
  refresher: Refresher;
  telemetry: Telemetry;
}

/**
 * Everything the leader tab does: refresh before expiry (the proactive timer), answer followers' refresh requests,
 * and catch up when it becomes the leader. Only the leader runs the proactive timer; every duty goes through the
 * Refresher, so a duplicate leader is still harmless.
 */
export class LeaderDuties {
  private proactiveTimer: TimerHandle | undefined;
  private mounted = false;

  constructor(
    private readonly settings: LeaderSettings,
    private readonly parts: LeaderParts,
  ) {
    parts.state.onTransition(() => this.schedule());
    parts.peers.handle('refresh-request', (message) => this.answer(message.version));
  }

  refresh(version: number, force: boolean, trigger: RefreshTrigger): Promise<StoredAuthState | null> {
    return this.parts.refresher.refresh({ version, force, trigger });
  }

  /** Mount and unmount: the timer runs only while mounted. */
  setMounted(mounted: boolean): void {
    this.mounted = mounted;
    if (!mounted) this.cancelTimer();
  }

  leadershipChanged(leading: boolean): void {
    const { state, shared, peers, telemetry } = this.parts;
    state.syncSnapshot();
    if (!leading) {
      telemetry.emit({ type: 'leadership-lost' });
      this.schedule();
      return;
    }
    telemetry.emit({ type: 'leadership-gained' });
    // A new leader reloads state before acting: the previous leader may have written moments ago.
    void shared.reload().then(() => {
      peers.post({ type: 'leader-hello' });
      this.schedule();
      const held = state.record;
      if (held?.tokens && needsRefresh(held.tokens, this.settings.clock.now(), this.settings.policy) && this.settings.environment.isOnline()) {
        this.refresh(held.version, false, 'proactive').catch(() => {});
      }
    });
  }

  /** (Re)arms the proactive timer for the pair this tab holds; only the mounted leader has one. */
  schedule(): void {
    const { clock, environment, policy } = this.settings;
    const { state } = this.parts;
    this.cancelTimer();
    const held = state.record;
    if (!this.mounted || !state.isLeader || !held?.tokens) return;
    const due = refreshDueAt(held.tokens, policy);
    if (due === null) return; // Opaque token of unknown lifetime: refreshed on 401 only.
    const version = held.version;
    this.proactiveTimer = clock.setTimeout(() => {
      this.proactiveTimer = undefined;
      // Timers in background tabs fire late or not at all; wake and request handlers cover for that.
      if (!environment.isOnline()) return;
      this.refresh(version, false, 'proactive').then(
        () => state.record?.version === version && this.schedule(),
        () => {},
      );
    }, Math.max(0, due - clock.now()));
  }

  private cancelTimer(): void {
    if (this.proactiveTimer !== undefined) this.settings.clock.clearTimeout(this.proactiveTimer);
    this.proactiveTimer = undefined;
  }

  /** A follower needs a pair newer than `version`. */
  private answer(version: number): void {
    const { state, sync, peers, refresher } = this.parts;
    if (!state.isLeader) return;
    const held = state.record;
    if (held && held.version > version) {
      sync.resend(); // The follower missed the newest pair.
      return;
    }
    const failed = refresher.recentFailure(version, this.settings.followerRetryMs);
    if (failed) {
      // Sent before the follower heard that the retries ran out: answer with the failure, don't start over.
      peers.post({ type: 'refresh-failed', version, errorCode: failed });
      return;
    }
    this.refresh(version, true, 'follower-request').then(
      (record) => record && record.version > version && peers.post({ type: 'state', state: record }),
      () => {},
    );
  }
}
