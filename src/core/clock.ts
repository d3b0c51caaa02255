/**
 * Time is injected so that many simulated tabs can share one deterministic clock in tests.
 */

export type TimerHandle = unknown;

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Browsers and Node fire a timer at once when its delay exceeds a signed 32-bit integer (about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** The real clock of the page (or of Node). Reads globals at call time so test runners may still patch them. */
export const systemClock: Clock = {
  now: () => Date.now(),
  // A 90-day token would otherwise schedule its refresh "now"; firing early is harmless (the due time is re-checked).
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs))),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

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
