import type { Clock, TimerHandle } from './clock';
import type { AuthEnvironment } from './environment';
import type { RefreshTrigger } from './events';
import type { Peers } from './peers';
import type { RecordSync } from './recordSync';
import type { Refresher } from './refresh/refresher';
import { monotonicNow, timerDelay } from './clock';
import type { Freshness } from './refreshPolicy';
import type { ResolvedRetryOptions } from './refresh/backoff';
import type { SharedRecord } from './sharedRecord';
import type { TabState } from './tabState';
import type { Telemetry } from './telemetry';
import type { StoredAuthState } from './types';

export interface LeaderSettings {
  clock: Clock;
  environment: AuthEnvironment;
  retry: ResolvedRetryOptions;
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
  freshness: Freshness;
}

/** The longest pause between proactive retry cycles while the token endpoint keeps failing. */
const MAX_OUTAGE_DELAY_MS = 5 * 60_000;

/**
 * Everything the leader tab does: refresh before expiry (the proactive timer), answer followers' refresh requests,
 * and catch up when it becomes the leader. Only the leader runs the proactive timer; every duty goes through the
 * Refresher, so a duplicate leader is still harmless.
 */
export class LeaderDuties {
  private proactiveTimer: TimerHandle | undefined;
  private mounted = false;
  /** Proactive cycles that failed in a row for the held version (an outage): the next one waits longer. */
  private failedCycles = 0;
  /** The version above this tab's that a follower last asked for, and when this tab last asked the tabs for theirs. */
  private helloFor: { version: number; at: number } | undefined;

  constructor(
    private readonly settings: LeaderSettings,
    private readonly parts: LeaderParts,
  ) {
    parts.state.onTransition(() => {
      // A usable new pair ends an outage; a record that is due at once (a rotation without a usable access token)
      // does not, or a server that keeps sending such bodies would be asked again without pause.
      if (!parts.freshness.isDue()) this.failedCycles = 0;
      this.schedule();
    });
    parts.peers.handle('refresh-request', (message) => this.answer(message.version, message.rejected === true));
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
      if (held?.tokens && this.parts.freshness.isDue() && this.settings.environment.isOnline()) {
        this.refresh(held.version, false, 'proactive').catch(() => {});
      }
    });
  }

  /**
   * (Re)arms the proactive timer for the pair this tab holds; only the mounted leader has one. After a failed cycle
   * (the retries of one refresh ran out: an outage) it keeps trying, each pause twice the last, up to 5 minutes,
   * until a refresh succeeds or the session ends.
   */
  schedule(): void {
    const { clock, environment, retry } = this.settings;
    const { state, freshness } = this.parts;
    this.cancelTimer();
    const held = state.record;
    if (!this.mounted || !state.isLeader || !held?.tokens) return;
    const dueIn = freshness.dueInMs();
    if (dueIn === null) return; // Opaque token of unknown lifetime: refreshed on 401 only.
    const pause = this.failedCycles === 0 ? 0 : Math.min(MAX_OUTAGE_DELAY_MS, Math.max(retry.maxDelayMs, 1_000) * 2 ** (this.failedCycles - 1));
    const version = held.version;
    this.proactiveTimer = clock.setTimeout(
      () => {
        this.proactiveTimer = undefined;
        // Timers in background tabs fire late or not at all; wake and request handlers cover for that.
        if (!environment.isOnline()) return;
        this.refresh(version, false, 'proactive').then(
          () => state.record?.version === version && this.schedule(),
          () => {
            this.failedCycles++;
            this.schedule();
          },
        );
      },
      timerDelay(Math.max(dueIn, pause)),
    );
  }

  private cancelTimer(): void {
    if (this.proactiveTimer !== undefined) this.settings.clock.clearTimeout(this.proactiveTimer);
    this.proactiveTimer = undefined;
  }

  /** A follower needs a pair newer than `version`. */
  private answer(requested: number, rejected: boolean): void {
    const { state, sync, peers, refresher, freshness } = this.parts;
    if (!state.isLeader) return;
    const held = state.record;
    if (held && held.version > requested) {
      sync.resend(); // The follower missed the newest pair.
      return;
    }
    // The follower holds this pair and only thinks it is due (its estimate of the pair's age comes from a wall clock
    // that may be hours off); this tab measures it as fresh: answer with the pair and its age, don't rotate. Forcing a
    // refresh for each such request rotated the pair again and again (found by the chaos runs, seed 24). A 401 the app
    // reported is the server's word and is always refreshed. The age must be one this tab can vouch for:
    // - a pair it made (a refresh, or the user's sign-in here: seed 152, where refreshing the new sign-in for a
    //   follower began a storm), measured on its monotonic clock;
    // - a pair another tab announced with its measure. Only pairs it made were confirmed before, and two leaders (the
    //   message election) each refreshed the pair the other had just announced, for a follower that woke (seed 3522);
    // - an estimate both of its clocks agree on (Freshness.isDatedByBothClocks): a follower whose clock was 57 s ahead
    //   asked about a rescued pair this leader had read from storage 0.2 s old, and it refreshed that (seed 7689).
    // Not an estimate resting on one clock or on a freeze's length: a message queued while this tab was frozen arrives
    // with the age it had when sent, and that age confirmed handed out an expired token (seed 186).
    const measured = freshness.isMeasured() || freshness.isDatedByBothClocks(); // a pair it made is measured
    if (held?.tokens && held.version === requested && !rejected && measured && !freshness.isDue()) {
      sync.confirm();
      return;
    }
    // A version above this tab's: the follower holds a record this tab never saw (its message lost, its writes
    // failing; or a forged request). Refreshing the version held here instead rotated a fresh pair for that request
    // and again for each of its duplicates and retries, since each found the leader's new version still below it
    // (found by the chaos runs, seed 894: five rotations in 1.4 s). Ask for the records the tabs hold instead (the
    // follower resends its own) and read storage; the follower's next request then names a version this tab holds.
    if (held && requested > held.version) {
      const now = monotonicNow(this.settings.clock);
      if (this.helloFor?.version !== requested || now - this.helloFor.at >= this.settings.followerRetryMs) {
        this.helloFor = { version: requested, at: now };
        void this.parts.shared.reload().then(() => {
          if ((state.record?.version ?? 0) < requested) peers.post({ type: 'leader-hello' });
        });
      }
      return;
    }
    const failed = refresher.recentFailure(requested, this.settings.followerRetryMs);
    if (failed) {
      // Sent before the follower heard that the retries ran out: answer with the failure, don't start over.
      peers.post({ type: 'refresh-failed', version: requested, errorCode: failed.code, error: failed });
      return;
    }
    const flight = this.refresh(requested, true, 'follower-request');
    peers.post({ type: 'refresh-pending', version: requested });
    flight.then(
      // A pair this refresh made was announced already (one broadcast per pair); one it found instead (another tab
      // made it and the follower may have missed that broadcast) is sent again.
      (record) => record && record.version > requested && !refresher.made(record) && sync.resend(),
      () => {},
    );
  }
}
