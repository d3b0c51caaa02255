import { monotonicNow, timerDelay, type Clock, type TimerHandle } from './clock';
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

interface Anchor {
  record: StoredAuthState;
  /** Where the age at adoption came from: only a wall-clock estimate ('storage') gives way to a peer's measure. */
  source: StateSource;
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

  constructor(
    private readonly clock: Clock,
    private readonly policy: RefreshPolicy,
    private readonly state: TabState,
  ) {
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
   * Whether the held pair's age was measured on a monotonic clock (this tab's, or the sender's for a pair from the
   * channel) rather than estimated from the wall clock of the tab that stored it.
   */
  isMeasured(): boolean {
    const anchor = this.current();
    return anchor !== null && anchor.source !== 'storage';
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

  /** The page woke (visible, resumed, online): if the wall clock says the pair is older, believe it. */
  rebase(): void {
    const anchor = this.current();
    if (!anchor?.record.tokens) return;
    const wallAge = this.wallAge(anchor.record.tokens);
    const monoAge = monotonicNow(this.clock) - anchor.receivedAtMono;
    // A pair "from the future" by the wall clock (it went back since) says nothing about its age: keep the measure.
    if (wallAge !== null && wallAge > monoAge) {
      anchor.receivedAtMono = monotonicNow(this.clock) - wallAge;
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
      // This tab's own pair: its age since the request was sent (0 when not given). From the channel: the sender's
      // measure. From storage: the wall clock, and a pair of unknown age (see wallAge) counts as expired.
      const given = source === 'this-tab' ? (ageMs ?? 0) : ageMs;
      const age = given !== undefined ? Math.min(given, lifetime ?? given) : (this.wallAge(tokens) ?? lifetime ?? 0);
      this.anchor = { record, source, receivedAtMono: monotonicNow(this.clock) - age, lifetimeMs: lifetime, bufferMs: refreshBufferMs(tokens, this.policy) };
    }
    this.watchExpiry();
  }

  /**
   * The leader confirmed the held pair with its own measure of its age. A tab that took the pair from storage only
   * had the writer's wall clock to go by; with that clock hours off, every pair looked expired and the tab asked for
   * a refresh of each (found by the chaos runs, seed 24). A duration measured on one monotonic clock is better.
   */
  private confirmed(record: StoredAuthState, ageMs: number): void {
    const anchor = this.current();
    if (!anchor || anchor.record !== record || anchor.source !== 'storage') return;
    anchor.source = 'channel';
    anchor.receivedAtMono = monotonicNow(this.clock) - Math.min(ageMs, anchor.lifetimeMs ?? ageMs);
    this.watchExpiry();
  }

  /**
   * The pair's age by the wall clock, clamped to the lifetime; null when unknown: a pair received "in the future" was
   * written by a wall clock ahead of this one (a skewed writer, or this clock went back since), so it may be any age.
   * Counting it as new trusted the whole lifetime of a pair the server had expired (found by the chaos runs, seed 1).
   */
  private wallAge(tokens: TokenSet): number | null {
    const age = this.clock.now() - tokens.receivedAt;
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
