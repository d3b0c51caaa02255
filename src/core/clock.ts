/**
 * Time is injected so that many simulated tabs can share one deterministic clock in tests.
 */

/** Whatever a clock's `setTimeout` returns; only ever handed back to the same clock's `clearTimeout`. */
export type TimerHandle = unknown;

/** Time and timers, injected (`createAuthClient({ clock })`) so that simulated tabs can share one deterministic clock. */
export interface Clock {
  /** Epoch milliseconds (the wall clock: it can jump when the system clock is set). */
  now(): number;
  /**
   * Milliseconds on a monotonic clock (`performance.now()` in browsers): never jumps, but its origin is this tab's
   * own, so readings are never compared across tabs. Lifetimes are measured on it from the moment a pair is adopted.
   * Optional for custom clocks: without it, `now()` is used.
   */
  monotonic?(): number;
  /** Calls `callback` once after `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer that has not fired yet; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** Browsers and Node fire a timer at once when its delay exceeds a signed 32-bit integer (about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * A delay every timer API accepts: a 90-day token would otherwise schedule its refresh "now" (firing early is harmless,
 * the due time is re-checked), and NaN or Infinity would fire at once and spin.
 */
export function timerDelay(delayMs: number): number {
  if (Number.isNaN(delayMs)) return MAX_TIMER_DELAY_MS;
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs));
}

/** The real clock of the page (or of Node). Reads globals at call time so test runners may still patch them. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => (typeof performance !== 'undefined' && typeof performance.now === 'function' ? performance.now() : Date.now()),
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, timerDelay(delayMs)),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The clock's monotonic reading, or its wall clock when it has none. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now();
}

/**
 * The page's clock: the wall clock when it was made plus the monotonic time since, as
 * `performance.timeOrigin + performance.now()` is. A system clock set (or a tab's clock skewed) after that does not
 * move it, so two tabs' readings compare as long as the wall clock was not set between their starts. It stops with
 * the monotonic clock in system sleep on some platforms, which is why nothing takes it alone for an age (see
 * Freshness.storedAge).
 */
export type PageClock = () => number;

export function pageClock(clock: Clock): PageClock {
  const wall = clock.now();
  const mono = monotonicNow(clock);
  return () => wall + (monotonicNow(clock) - mono);
}

/** Resolves after `delayMs` on the given clock, or rejects with the signal's reason when aborted first. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
