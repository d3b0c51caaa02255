import type { AuthEnvironment } from 'tabauth';
/** A page environment the test controls: connectivity, visibility, and wake-ups (focus, resume). */
export interface SimulatedEnvironment extends AuthEnvironment {
  /** Goes offline or back online, firing the `onOffline` / `onOnline` listeners on a change. */
  setOnline(online: boolean): void;
  /** Hides or shows the page; showing it fires the wake listeners. */
  setVisible(visible: boolean): void;
  /** Fires the wake listeners (as focus / visibilitychange / resume would). */
  wake(): void;
  /** Fires the freeze listeners (as the page's `freeze` event would, right before the page stops running). */
  freeze(): void;
  /** Number of listeners currently attached (0 after the client is unmounted). */
  listenerCount(): number;
}

/** Creates a simulated page environment, online and visible unless `initial` says otherwise. */
export function createSimulatedEnvironment(initial: { online?: boolean; visible?: boolean } = {}): SimulatedEnvironment {
  let online = initial.online ?? true;
  let visible = initial.visible ?? true;
  const onlineListeners = new Set<() => void>();
  const offlineListeners = new Set<() => void>();
  const wakeListeners = new Set<() => void>();
  const freezeListeners = new Set<() => void>();
  const add = (set: Set<() => void>, listener: () => void) => {
    // Wrapped so the same function can be registered twice and removed once, like addEventListener with distinct handlers.
    const entry = () => listener();
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  };
  const fire = (set: Set<() => void>) => [...set].forEach((listener) => listener());
  return {
    isOnline: () => online,
    isVisible: () => visible,
    onOnline: (listener) => add(onlineListeners, listener),
    onOffline: (listener) => add(offlineListeners, listener),
    onWake: (listener) => add(wakeListeners, listener),
    onFreeze: (listener) => add(freezeListeners, listener),
    setOnline(next) {
      if (next === online) return;
      online = next;
      fire(next ? onlineListeners : offlineListeners);
    },
    setVisible(next) {
      if (next === visible) return;
      visible = next;
      if (next) fire(wakeListeners);
    },
    wake: () => fire(wakeListeners),
    freeze: () => fire(freezeListeners),
    listenerCount: () => onlineListeners.size + offlineListeners.size + wakeListeners.size + freezeListeners.size,
  };
}
