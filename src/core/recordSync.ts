import type { Peers } from './peers';
import type { Freshness } from './refreshPolicy';
import type { SharedRecord } from './sharedRecord';
import type { TabState } from './tabState';
import type { StoredAuthState } from './types';

/**
 * Keeps every tab on the newest record over the channel. Out: a record this tab made (a refreshed pair, a sign-in, a
 * sign-out) is adopted here, then sent to every other tab in one broadcast (a refreshed pair before it is written). In: a record from another tab is adopted
 * if newer, and a new leader's hello is answered with the record this tab holds.
 */
export class RecordSync {
  constructor(
    private readonly state: TabState,
    private readonly peers: Peers,
    private readonly shared: SharedRecord,
    private readonly freshness: Freshness,
  ) {
    peers.handle('state', (message) =>
      this.receive(message.state, message.ageMs, {
        unpersisted: message.unpersisted === true,
        storing: message.storing === true,
        marked: message.rotationMarked === true,
        confirms: message.confirms === true,
      }),
    );
    peers.handle('leader-hello', () => this.resend());
    // A pair read from storage has only the writer's wall clock for its age, which a jump of the clock since it was
    // written, or a writer's clock that disagrees, makes wrong: a new tab after the clock went back 61 s handed out a
    // token the server had expired 26 s before (found by the chaos runs, seed 231). The measure of the tab that made
    // the pair corrects it.
    // The leader asks too: it acts on its estimate at once (a due pair is refreshed), so a refresh due only by the
    // estimate of a pair just read waits briefly for the answer (Freshness.pendingAgeAnswerMs; seed 367).
    state.onTransition(({ record, source }) => {
      if (source !== 'storage' || !record.tokens) return;
      peers.post({ type: 'age-query', version: record.version });
      freshness.queried();
    });
    peers.handle('age-query', (message) => {
      const held = state.record;
      // Only a pair this tab made itself: an age taken from a message is short by that message's delivery time
      // (seed 18: a sign-in that reached the leader 2.2 s late made a new tab trust a pair past its expiry). Leader or
      // not: the maker is often a follower (a rescue, a sign-in), and with the leader frozen nobody answered, so a new
      // tab took a sign-in stored while every clock was 61 s ahead as 61 s younger (seed 812), and followers rescued
      // each other's fresh pairs, read from storage with an unknown age (seed 557). And the leader answers with a
      // measure it took from the channel (short by delivery times, far closer than a wall clock that may be minutes or
      // hours off): once the maker has closed nobody else could, and a tab that opened later took a fresh stored pair
      // as expired (seed 2268, refresh-storm). Not with an estimate of its own: a record read from storage, or a message
      // that waited through a freeze (Freshness.isMeasured). getAccessToken()'s fallbacks keep a margin for such an
      // age near expiry (Fix #9.20), which is what went wrong in seed 18.
      const measured = freshness.isOwn() || (state.isLeader && freshness.isMeasured());
      if (held?.tokens && held.version === message.version && measured) this.confirm();
    });
  }

  /**
   * Adopts and announces a record this tab made; `ageMs` is its age on this tab's monotonic clock (for a refreshed
   * pair: since the request was sent; for a sign-in: since `signIn()` was called; 0 for a sign-out). `beforeWrite`: announced before this tab's write
   * (a refreshed pair), so every receiver writes it too.
   */
  publish(record: StoredAuthState, ageMs = 0, beforeWrite = false): void {
    if (beforeWrite) this.freshness.refreshed(record, ageMs);
    // Posted first: this tab's own listeners (events, snapshot subscribers, timers) run while the message is on its
    // way, not before it leaves. Nothing can answer before the adoption below, which runs in the same task.
    this.peers.post({ type: 'state', state: record, ageMs, ...this.storageFlags(beforeWrite, record) });
    this.state.adopt(record, 'this-tab', ageMs);
  }

  /** Re-sends the record this tab holds (to a new leader, or a tab that asked for an older version than this one). */
  resend(): void {
    const held = this.state.record;
    // Only a measure is sent as the pair's age, never this tab's estimate (a record read from storage: the writer's
    // wall clock, or the whole lifetime for a pair of unknown age). Sent as an age, an estimate became the receivers'
    // measure: a leader 2 h behind resent a pair a rescuer had just stored, with its unknown age counted as the whole
    // lifetime, and the tab that took it asked for a refresh of a 2 ms old pair (found by the chaos runs, seed 2660).
    // Without an age the receiver estimates it itself, and may ask the tab that made it (age-query).
    if (held)
      this.peers.post({ type: 'state', state: held, ageMs: this.freshness.isMeasured() ? this.freshness.ageMs() : undefined, ...this.storageFlags(false) });
  }

  /** The leader's answer to a request for the version it holds, which it measures as fresh: that pair and its age. */
  confirm(): void {
    const held = this.state.record;
    const ageMs = this.freshness.ageMs();
    if (held && ageMs !== undefined) this.peers.post({ type: 'state', state: held, ageMs, confirms: true, ...this.storageFlags(false) });
  }

  /**
   * When this tab's write failed (unpersisted) or has not landed yet (storing), every receiver writes the record too:
   * this tab may die before its own write or retry, and the next leader may be a tab that missed the message.
   */
  private storageFlags(beforeWrite: boolean, record?: StoredAuthState): { unpersisted?: true; storing?: true; rotationMarked?: true } {
    if (this.shared.pendingWrite) return { unpersisted: true };
    if (beforeWrite && record && this.shared.markedRotation === record.version - 1) return { storing: true, rotationMarked: true };
    return beforeWrite || this.shared.writing ? { storing: true } : {};
  }

  private receive(
    record: StoredAuthState,
    ageMs: number | undefined,
    flags: { unpersisted: boolean; storing: boolean; marked: boolean; confirms: boolean },
  ): void {
    const { unpersisted, storing, marked, confirms } = flags;
    const adopted = this.state.adopt(record, 'channel', ageMs);
    if (!adopted) {
      if (confirms && ageMs !== undefined && this.state.confirm(record, ageMs)) return;
      // Same version, other content: the sender could not reserve its version in storage; storage decides.
      if (this.state.conflictsWith(record)) void this.shared.reload();
      return;
    }
    // The sender could not write this record: store it from here, or the next leader may start from the older record
    // in storage. The leader does it for every record it adopts, since the sender of a sign-out may close before
    // anyone asks. A no-op transaction when the record is stored already.
    if (unpersisted || this.state.isLeader) void this.shared.persistCurrent();
    else if (storing && marked) this.shared.received();
    else if (storing) void this.shared.persistCurrent(true);
  }
}
