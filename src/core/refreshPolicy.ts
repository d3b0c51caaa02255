import { monotonicNow, pageClock, timerDelay, type Clock, type PageClock, type TimerHandle } from './clock';
import { ServerClock } from './serverClock';
import type { StateSource, TabState } from './tabState';
import { MAX_LIFETIME_MS } from './tokenResponse';
import type { StoredAuthState, TokenSet } from './types';

/** The expiry policy: when a pair is due for refresh, and when it has expired. */

export interface RefreshPolicy {
  /** Minimum time before expiry at which a refresh is due, in ms. */
  leewayMs: number;
  /** Fraction of the token lifetime reserved before expiry (0.1 = refresh in the last 10%). */
  lifetimeRatio: number;
}

/**
 * How long before expiry a token is refreshed: the larger of the fixed leeway and the lifetime ratio, capped at
 * half the lifetime so that very short tokens (1 s in tests) do not refresh the moment they arrive.
 */
export function refreshBufferMs(tokens: TokenSet, policy: RefreshPolicy): number {
  const lifetime = lifetimeMs(tokens);
  if (lifetime === null) return 0;
  return Math.min(Math.max(policy.leewayMs, lifetime * policy.lifetimeRatio), lifetime / 2);
}

/** The moment (local ms) at which the pair should be refreshed, or null for tokens of unknown lifetime. */
export function refreshDueAt(tokens: TokenSet, policy: RefreshPolicy): number | null {
  if (tokens.expiresAt === null) return null;
  return tokens.expiresAt - refreshBufferMs(tokens, policy);
}

/** True when the access token is missing its lifetime margin: expired or inside the refresh buffer. */
export function needsRefresh(tokens: TokenSet, now: number, policy: RefreshPolicy): boolean {
  const due = refreshDueAt(tokens, policy);
  return due !== null && now >= due;
}

/** True when the access token has outlived its lifetime by the wall clock `now` (the client itself measures on its monotonic clock). */
export function isExpired(tokens: TokenSet, now: number): boolean {
  return tokens.expiresAt !== null && now >= tokens.expiresAt;
}

/** The lifetime a pair claims, clamped to the documented maximum; null for tokens of unknown lifetime. */
export function lifetimeMs(tokens: TokenSet): number | null {
  if (tokens.expiresAt === null) return null;
  return Math.min(Math.max(0, tokens.expiresAt - tokens.receivedAt), MAX_LIFETIME_MS);
}

/**
 * How long after a resume a message still counts as one that waited while the page was frozen. Browsers deliver the
 * queued messages right after the page's `resume` event (the simulation: right before it); a message that arrives
 * later than this was sent after the resume, and its age is the sender's measure again.
 */
const THAW_MS = 250;

/** The longest delivery time a message's age is corrected by (see Freshness.withDelivery). */
const MAX_DELIVERY_MS = 5_000;

/**
 * How long a refresh that is due only by the estimate of a pair just read from storage waits for the answer to this
 * tab's age query (see `pendingAgeAnswerMs`). Messages between tabs take well under a millisecond in browsers.
 */
const AGE_ANSWER_MS = 250;

interface Anchor {
  record: StoredAuthState;
  /**
   * The age at adoption is an estimate, not a measure: the wall clock of the tab that stored the record, or a
   * message's age plus a freeze it may have waited through. Only an estimate gives way to a peer's measure.
   */
  estimated: boolean;
  /** An estimate both of whose clock readings (wall and page) placed the pair in the past; see isDatedByBothClocks. */
  dated: boolean;
  /** Adopted from this tab itself (its refresh or its sign-in): the age is this tab's own measure. */
  own: boolean;
  /**
   * The age is an upper bound: this tab's own measure (counted from when its request left), or the server's clock
   * (see ServerClock: never too young). A sender's measure is short by the message's delivery time, and a wall-clock
   * estimate may be off either way, so neither is.
   */
  bounded: boolean;
  /** Monotonic time at which this tab asked the tab that made the pair for its measure (an `age-query`). */
  queriedAtMono?: number;
  /** Marked expired by the development tools: treated like a pair the server rejected. */
  marked?: boolean;
  /** Monotonic time at which the pair would have been received, given its estimated age at adoption. */
  receivedAtMono: number;
  lifetimeMs: number | null;
  bufferMs: number;
}

/**
 * The one place that decides "is the held pair due, or expired?". Lifetimes are measured on the tab's monotonic
 * clock from the moment the pair was adopted, with its age at that moment estimated once: 0 for a pair this tab just
 * received, the sender's own measure for a pair from the channel (a duration, so skewed wall clocks do not matter),
 * and the wall clock only for a record read from storage (written by a tab that may be gone). So a wall-clock jump
 * after adoption changes nothing, and a tab whose wall clock disagrees with the leader's trusts the leader's fresh
 * pair instead of asking again. On wake the age is re-estimated from the wall clock if that says older (a frozen tab
 * may adopt a message that waited while it was frozen; some platforms stop the monotonic clock in system sleep).
 */
export class Freshness {
  private anchor: Anchor | null = null;
  private expiryTimer: TimerHandle | undefined;
  private watching = false;
  /** Monotonic time of the page's last `freeze` event, until it resumes. */
  private frozenAt: number | undefined;
  /** The last freeze: how long it lasted, and until when messages count as having waited through it. */
  private thaw: { frozenForMs: number; untilMono: number; askedAfterResume?: boolean } | undefined;
  private readonly server: ServerClock;
  private readonly page: PageClock;

  constructor(
    private readonly clock: Clock,
    private readonly policy: RefreshPolicy,
    private readonly state: TabState,
  ) {
    this.server = new ServerClock(clock);
    this.page = pageClock(clock);
    state.onTransition(({ record, source, ageMs }) => this.adopted(record, source, ageMs));
    state.onConfirm((record, ageMs) => this.confirmed(record, ageMs));
  }

  /** Milliseconds until the held pair is due (0 when due now); null without tokens or for unknown lifetimes. */
  dueInMs(): number | null {
    const anchor = this.current();
    if (!anchor || anchor.lifetimeMs === null) return null;
    return Math.max(0, anchor.receivedAtMono + anchor.lifetimeMs - anchor.bufferMs - monotonicNow(this.clock));
  }

  /** Expired, or inside the refresh buffer. */
  isDue(): boolean {
    return this.dueInMs() === 0;
  }

  isExpired(): boolean {
    const anchor = this.current();
    if (!anchor || anchor.lifetimeMs === null) return false;
    return monotonicNow(this.clock) >= anchor.receivedAtMono + anchor.lifetimeMs;
  }

  /**
   * Expires within half its refresh buffer (at most 5 s): too close to hand out as a fresh pair, since its age may
   * be short by a message's delivery time, and a request sent with it may reach the server after it expired.
   */
  isNearlyExpired(): boolean {
    const anchor = this.current();
    if (!anchor || anchor.lifetimeMs === null) return false;
    const marginMs = Math.min(anchor.bufferMs / 2, 5_000);
    return monotonicNow(this.clock) >= anchor.receivedAtMono + anchor.lifetimeMs - marginMs;
  }

  /**
   * Whether the held pair may be handed out as a token that still works: not expired, and, unless its age is an upper
   * bound (see Anchor.bounded), not within half its refresh buffer (at most 5 s) of expiry. This is for the fallbacks
   * of getAccessToken() that hand out a due pair (a refresh failed, the leader judged it fresh): a follower whose
   * leader kept failing handed out its pair in its last second, the age it took from the leader's message short by
   * that message's delivery time (found by the chaos runs, seeds 47 and 280).
   */
  isUsable(): boolean {
    const anchor = this.current();
    if (!anchor) return false;
    return anchor.bounded ? !this.isExpired() : !this.isNearlyExpired();
  }

  /**
   * Whether the held pair's age was measured on a monotonic clock (this tab's, or the sender's for a pair from the
   * channel) rather than estimated from the wall clock of the tab that stored it.
   */
  isMeasured(): boolean {
    const anchor = this.current();
    return anchor !== null && !anchor.estimated;
  }

  /**
   * Whether the held pair's age, an estimate, is the older of two clock readings that both place it in the past: the
   * wall clock and the page clock, each fooled alone by a different fault (see clocksAge), so this estimate is too
   * young only when both faults meet. A leader holding such a pair, not due by it, answers a follower that thinks the
   * pair due with that age instead of refreshing: a follower whose wall clock was 57 s ahead read a rescued pair from
   * storage as expired, and the leader, which had read it from storage too (0.2 s old by both of its clocks),
   * refreshed it for the follower, right after the rescue (found by the chaos runs, seed 7689).
   */
  isDatedByBothClocks(): boolean {
    return this.current()?.dated === true;
  }

  /** Whether the held pair came from this tab (its refresh or sign-in), so its age is measured on this tab's clock. */
  isOwn(): boolean {
    return this.current()?.own === true;
  }

  /** Whether the development tools marked the held pair expired (its refresh is requested as for a 401). */
  isMarkedExpired(): boolean {
    return this.current()?.marked === true;
  }

  /** Age of the held pair in ms (monotonic), for the state message that hands it to another tab. */
  ageMs(): number | undefined {
    const anchor = this.current();
    return anchor ? Math.max(0, monotonicNow(this.clock) - anchor.receivedAtMono) : undefined;
  }

  /** This tab asked the other tabs about the held pair (an `age-query`): the tab that made it answers with its measure. */
  queried(): void {
    const anchor = this.current();
    if (anchor) anchor.queriedAtMono = monotonicNow(this.clock);
  }

  /**
   * How long to wait for the answer to this tab's age query before acting on the estimate (0 when there is nothing to
   * wait for: no question out, the pair confirmed, or the answer overdue). A leader without server-clock samples read a
   * pair from storage that a tab whose wall clock was an hour off had made 0.2 s before, took it as expired and
   * refreshed it at once, though its maker was there to say how old it was (found by the chaos runs, seed 367).
   */
  pendingAgeAnswerMs(): number {
    const anchor = this.current();
    if (!anchor?.estimated || anchor.queriedAtMono === undefined) return 0;
    return Math.max(0, anchor.queriedAtMono + AGE_ANSWER_MS - monotonicNow(this.clock));
  }

  /** Tokens this tab received `ageMs` ago, with that moment on its page clock too (see storedAge). */
  stamp(tokens: TokenSet, ageMs = 0): TokenSet {
    return { ...tokens, pageReceivedAt: this.page() - ageMs };
  }

  /** A pair this tab's own refresh received, `ageMs` after its request was sent: it relates the server's clock to ours. */
  refreshed(record: StoredAuthState, ageMs: number): void {
    if (record.tokens) this.server.learn(record.tokens, monotonicNow(this.clock) - ageMs);
  }

  /** The page is about to be frozen (see `froze`'s use in `adopted`). */
  froze(): void {
    this.frozenAt ??= monotonicNow(this.clock);
  }

  /**
   * This tab asked the leader about the held pair: a confirmation arriving after this, even right after a resume,
   * answers that question, so it is no message that waited through the freeze (ignoring it left a thawed follower to
   * rescue a fresh pair; chaos seed 270).
   */
  asked(): void {
    if (this.thaw && this.frozenAt === undefined) this.thaw.askedAfterResume = true;
  }

  /** Between the page's `freeze` event and its resume. */
  isFrozen(): boolean {
    return this.frozenAt !== undefined;
  }

  /** The page woke: if it had been frozen, the messages delivered next may have waited through that freeze. */
  woke(): void {
    if (this.frozenAt === undefined) return;
    const now = monotonicNow(this.clock);
    this.thaw = { frozenForMs: Math.max(0, now - this.frozenAt), untilMono: now + THAW_MS };
    this.frozenAt = undefined;
  }

  /**
   * How much older than its stated age a message arriving now may be: a message queued while the page was frozen
   * arrives on resume with the age it had when it was sent. Without this, a sign-in sent a minute into a two-minute
   * freeze was handed out as new, long after the server expired it (found by the chaos runs, seed 370).
   */
  private queuedForMs(): number {
    const now = monotonicNow(this.clock);
    if (this.frozenAt !== undefined) return Math.max(0, now - this.frozenAt); // delivered before the resume event
    return this.thaw && now <= this.thaw.untilMono ? this.thaw.frozenForMs : 0;
  }

  /** The page woke (visible, resumed, online): if the wall clock says the pair is older, believe it. */
  rebase(): void {
    const anchor = this.current();
    if (!anchor?.record.tokens) return;
    const clockAge = this.storedAge(anchor.record.tokens);
    const monoAge = monotonicNow(this.clock) - anchor.receivedAtMono;
    // A pair "from the future" by both clocks (the wall clock went back since) says nothing of its age: keep the measure.
    if (clockAge !== null && clockAge > monoAge) {
      anchor.receivedAtMono = monotonicNow(this.clock) - clockAge;
      this.watchExpiry();
    }
  }

  /** Development tools: the held pair counts as expired from now on (in this tab only); its version, or null. */
  markExpired(): number | null {
    const anchor = this.current();
    if (!anchor) return null;
    anchor.lifetimeMs = anchor.lifetimeMs ?? 0;
    anchor.marked = true;
    anchor.receivedAtMono = monotonicNow(this.clock) - anchor.lifetimeMs;
    this.watchExpiry();
    return anchor.record.version;
  }

  /** The snapshot's `expired` flag needs a timer: one per pair, only while mounted. */
  setWatching(watching: boolean): void {
    this.watching = watching;
    this.watchExpiry();
  }

  private current(): Anchor | null {
    const record = this.state.record;
    return this.anchor && this.anchor.record === record && record?.tokens ? this.anchor : null;
  }

  private adopted(record: StoredAuthState, source: StateSource, ageMs: number | undefined): void {
    const tokens = record.tokens;
    if (!tokens) {
      this.anchor = null;
    } else {
      const lifetime = lifetimeMs(tokens);
      const { ageMs: measured, bounded } = this.ageAtAdoption(tokens, source, ageMs);
      const age = Math.max(0, measured);
      // A message without an age (an estimate is never sent as one: RecordSync.resend) is estimated here as well.
      const estimated = source === 'storage' || (source === 'channel' && (ageMs === undefined || this.queuedForMs() > 0));
      this.anchor = {
        record,
        estimated,
        dated: estimated && this.clocksAge(tokens) !== null,
        own: source === 'this-tab',
        bounded,
        receivedAtMono: monotonicNow(this.clock) - Math.min(age, lifetime ?? age),
        lifetimeMs: lifetime,
        bufferMs: refreshBufferMs(tokens, this.policy),
      };
    }
    this.watchExpiry();
  }

  /**
   * This tab's own pair: its age since the request was sent (0 when not given). From the channel: the sender's
   * measure, plus a freeze it may have waited through unless the server's clock (see ServerClock) bounds it closer.
   * From storage: the server's clock where it is known, else the wall clock, and a pair of unknown age (see wallAge)
   * counts as expired.
   */
  private ageAtAdoption(tokens: TokenSet, source: StateSource, ageMs: number | undefined): { ageMs: number; bounded: boolean } {
    if (source === 'this-tab') return { ageMs: ageMs ?? 0, bounded: true };
    const queuedMs = source === 'channel' ? this.queuedForMs() : 0;
    if (ageMs !== undefined && queuedMs === 0) return { ageMs: this.withDelivery(tokens, ageMs), bounded: false };
    // Decoded only here, off the path of an ordinary message.
    const issuedAt = this.server.issuedAtMono(tokens.accessToken);
    const serverAge = issuedAt === null ? null : monotonicNow(this.clock) - issuedAt;
    if (ageMs !== undefined) {
      const queued = ageMs + queuedMs;
      if (serverAge !== null && serverAge <= queued) return { ageMs: serverAge, bounded: true };
      return { ageMs: Math.max(ageMs, Math.min(queued, this.clocksAge(tokens) ?? queued)), bounded: false };
    }
    if (serverAge !== null) return { ageMs: serverAge, bounded: true };
    const wall = this.storedAge(tokens);
    // Unknown age counts as the whole lifetime: that is no underestimate.
    return wall !== null ? { ageMs: wall, bounded: false } : { ageMs: lifetimeMs(tokens) ?? 0, bounded: true };
  }

  /**
   * A sender's measure plus the time its message took to arrive, by the page clocks of this tab and of the pair's maker
   * (`pageReceivedAt`): a message delayed 2.9 s handed out a 10 s pair 0.3 s after the server expired it, past the
   * margin isUsable keeps for delivery times (found by the chaos runs, seed 947). Taken only up to MAX_DELIVERY_MS:
   * beyond that the two page clocks disagree (one tab started after the system clock was set) rather than measure a
   * delivery, and a message that waited through a freeze is counted by the freeze.
   */
  private withDelivery(tokens: TokenSet, ageMs: number): number {
    if (tokens.pageReceivedAt === undefined) return ageMs;
    const delivery = this.page() - tokens.pageReceivedAt - ageMs;
    return delivery > 0 && delivery <= MAX_DELIVERY_MS ? ageMs + delivery : ageMs;
  }

  /**
   * The leader confirmed the held pair with its own measure of its age. A tab that took the pair from storage only
   * had the writer's wall clock to go by; with that clock hours off, every pair looked expired and the tab asked for
   * a refresh of each (found by the chaos runs, seed 24). A duration measured on one monotonic clock is better.
   */
  private confirmed(record: StoredAuthState, ageMs: number): void {
    const anchor = this.current();
    // A confirmation that waited through a freeze is no measure either.
    const answersAskSinceResume = this.frozenAt === undefined && this.thaw?.askedAfterResume === true;
    if (!anchor || anchor.record !== record || !anchor.estimated || (this.queuedForMs() > 0 && !answersAskSinceResume)) return;
    anchor.estimated = false;
    anchor.bounded = false; // the leader's measure, short by the answer's delivery time beyond what the page clocks show
    // Plus the answer's delivery time, as for a pair from the channel (Fix #9.31): an answer delayed 2.7 s made a 10 s
    // pair 7.3 s old when it was 10 s old, and the follower handed it out 0.7 s after the server had expired it
    // (found by the chaos runs, seed 18038).
    const measured = record.tokens ? this.withDelivery(record.tokens, ageMs) : ageMs;
    anchor.receivedAtMono = monotonicNow(this.clock) - Math.min(measured, anchor.lifetimeMs ?? measured);
    this.watchExpiry();
  }

  /**
   * A pair's age when its wall-clock and page-clock readings both say it is from the past (the older of the two), else
   * null. This narrows the age of a message queued through a freeze from "as old as the freeze" to what the clocks
   * show: counting every queued pair as old as the freeze made a tab that resumed from a long freeze take a fresh pair
   * as expired and refresh (or rescue) it, and a second tab doing the same made a storm (found by the chaos runs,
   * seeds 6079 and 7388: a 35 s freeze, 60 s tokens, a pair sent 0.7 s before the resume). Both readings, and the
   * older one, because each is fooled alone: the wall clock by a clock set back since the pair was stamped, the page
   * clock by system sleep that stopped the monotonic clock (a pair sent before the sleep) or by a sender that started
   * after the clock was set; an underestimate needs both at once. A reading "in the future" says nothing: the whole
   * freeze is counted then.
   */
  private clocksAge(tokens: TokenSet): number | null {
    if (tokens.pageReceivedAt === undefined) return null;
    const wall = this.clock.now() - tokens.receivedAt;
    const page = this.page() - tokens.pageReceivedAt;
    return wall >= 0 && page >= 0 ? Math.max(wall, page) : null;
  }

  /**
   * The age of a pair another tab stored, by the clocks it was stamped with, clamped to the lifetime; null when
   * unknown. Two readings, the larger one kept: the wall clock (`receivedAt`), and the page clock (`pageReceivedAt`:
   * each tab's start wall clock plus monotonic time), which a clock set or skewed after the tabs started does not move.
   * With the wall clock alone, a follower whose clock was set 13 s back took the fresh pairs of an unskewed leader as
   * "from the future", of unknown age, and rescued them (chaos seeds 367, 2153); and every tab took pairs stored
   * before the clock was set back as younger than they were. The page clock alone would make a pair younger after
   * system sleep (it stops with the monotonic clock on some platforms) and in a tab opened after the clock was set
   * back, so the larger of the two is kept: a writer whose clock was set back still has its pairs taken as older
   * (one early refresh, which measures their age from then on). Neither is taken when it says "in the future": the
   * pair was stamped by a clock ahead of this one, so it may be any age. Counting such a pair as new trusted the whole
   * lifetime of a pair the server had expired (found by the chaos runs, seed 1).
   */
  private storedAge(tokens: TokenSet): number | null {
    const wall = this.clock.now() - tokens.receivedAt;
    const page = tokens.pageReceivedAt === undefined ? -1 : this.page() - tokens.pageReceivedAt;
    const age = Math.max(wall, page);
    if (age < 0) return null;
    const lifetime = lifetimeMs(tokens);
    return lifetime === null ? age : Math.min(age, lifetime);
  }

  private watchExpiry(): void {
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const anchor = this.current();
    const expired = this.isExpired();
    this.state.setExpired(expired);
    if (!this.watching || !anchor || anchor.lifetimeMs === null || expired) return;
    const inMs = anchor.receivedAtMono + anchor.lifetimeMs - monotonicNow(this.clock);
    this.expiryTimer = this.clock.setTimeout(() => {
      this.expiryTimer = undefined;
      this.watchExpiry();
    }, timerDelay(inMs));
  }
}
