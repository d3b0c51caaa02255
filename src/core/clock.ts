/**
 * Time is injected so that many simulated tabs can share one deterministic clock in tests.
 */

/** Whatever a clock's `setTimeout` returns; only ever handed back to the same clock's `clearTimeout`. */
export type TimerHandle = unknown;

/** Time and timers, injected (`createAuthClient({ clock })`) so that simulated tabs can share one deterministic clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `callback` once after `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer that has not fired yet; a handle that already fired or was cleared is ignored. */
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

/**
 * What the client needs from the page besides time: visibility, focus and connectivity.
 * Each `on*` returns an unsubscribe function; tabauth attaches listeners only while mounted.
 */
export interface AuthEnvironment {
  /** Whether the browser believes it is online (`navigator.onLine`); no refresh is attempted while false. */
  isOnline(): boolean;
  /** Whether the page is visible (`document.visibilityState`). */
  isVisible(): boolean;
  /** Fires when the browser comes back online. */
  onOnline(listener: () => void): () => void;
  /** Fires when the browser goes offline. */
  onOffline(listener: () => void): () => void;
  /** Fires when the page becomes visible, regains focus, or resumes from the frozen/bfcache state. */
  onWake(listener: () => void): () => void;
}

/** The browser environment; degrades to "always online and visible, no events" where `window`/`document` are missing. */
export function browserEnvironment(): AuthEnvironment {
  const win = typeof window === 'undefined' ? undefined : window;
  const doc = typeof document === 'undefined' ? undefined : document;
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  const listen = (target: EventTarget | undefined, type: string, listener: () => void) => {
    if (!target) return () => {};
    target.addEventListener(type, listener);
    return () => target.removeEventListener(type, listener);
  };
  return {
    isOnline: () => (nav && typeof nav.onLine === 'boolean' ? nav.onLine : true),
    isVisible: () => (doc ? doc.visibilityState !== 'hidden' : true),
    onOnline: (listener) => listen(win, 'online', listener),
    onOffline: (listener) => listen(win, 'offline', listener),
    onWake: (listener) => {
      const onVisibility = () => {
        if (!doc || doc.visibilityState === 'visible') listener();
      };
      const offs = [
        listen(doc, 'visibilitychange', onVisibility),
        listen(win, 'focus', listener),
        listen(win, 'pageshow', listener),
        listen(doc, 'resume', listener),
      ];
      return () => offs.forEach((off) => off());
    },
  };
}
