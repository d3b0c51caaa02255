/**
 * The page around the client: visibility, focus, connectivity. Injected like the clock, so simulated tabs can go
 * offline, hide and wake on their own.
 */

/**
 * What the client needs from the page besides time: visibility, focus and connectivity.
 * Each `on*` returns an unsubscribe function; tabauth attaches listeners only while mounted.
 */
export interface AuthEnvironment {
  /** Whether the browser says it is online. */
  isOnline(): boolean;
  /** Whether the page is visible. */
  isVisible(): boolean;
  /** Calls `listener` when the browser comes back online. */
  onOnline(listener: () => void): () => void;
  /** Calls `listener` when the browser goes offline. */
  onOffline(listener: () => void): () => void;
  /** Fires when the page becomes visible, regains focus, or resumes from the frozen/bfcache state. */
  onWake(listener: () => void): () => void;
  /**
   * Fires when the page is about to be frozen (the Page Lifecycle `freeze` event). Optional: messages that waited
   * while the page was frozen are delivered on resume with the age they had when sent, and the client can only count
   * the freeze against them if it knows when the freeze began.
   */
  onFreeze?(listener: () => void): () => void;
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
    onFreeze: (listener) => listen(doc, 'freeze', listener),
  };
}
