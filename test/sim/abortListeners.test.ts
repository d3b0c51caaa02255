/**
 * Abort listeners must not pile up on long-lived signals. The client's lifetime signal lives as long as the tab is
 * mounted; anything that adds an 'abort' listener to it per refresh (a lock request, a timeout, a sleep) and never
 * removes it grows without bound and holds every closure it captured. Node reports 11 listeners on one signal as
 * MaxListenersExceededWarning; this test counts them directly, for every lock kind, after 40 refreshes.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { strictSimulation } from './helpers';

/** Every AbortSignal that tabauth's code (src/, not the test runner's) gave an 'abort' listener while the spy was on. */
function recordAbortSignals(): Set<AbortSignal> {
  const signals = new Set<AbortSignal>();
  const original = EventTarget.prototype.addEventListener;
  vi.spyOn(EventTarget.prototype, 'addEventListener').mockImplementation(function (this: EventTarget, type, listener, options) {
    if (type === 'abort' && this instanceof AbortSignal && fromSource(new Error().stack)) signals.add(this);
    return original.call(this, type, listener, options);
  });
  return signals;
}

const sourceDir = new URL('../../src/', import.meta.url).pathname;
const fromSource = (stack: string | undefined) => stack?.includes(sourceDir) ?? false;

const mostListenersOnOneSignal = (signals: Set<AbortSignal>) => Math.max(0, ...[...signals].map((signal) => getEventListeners(signal, 'abort').length));

describe('abort listeners on long-lived signals', () => {
  let signals: Set<AbortSignal>;
  beforeEach(() => {
    signals = recordAbortSignals();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['simulated Web Locks', 'web-locks' as const],
    ['the storage lease', undefined],
  ])('a leader that refreshed 40 times under %s holds at most 2 abort listeners on any signal', async (_name, locks) => {
    const sim = strictSimulation({ ttlSeconds: 1, ...(locks ? { locks } : {}), client: { refreshLeewayMs: 100 } });
    const [leader] = [sim.openTab(), sim.openTab()];
    await sim.signIn(leader);
    await sim.advance(40_000);
    expect(sim.server.counters.successes).toBeGreaterThanOrEqual(40);
    expect(sim.server.counters.reuseDetections).toBe(0);
    expect(signals.size).toBeGreaterThan(0); // the spy saw the signals it is meant to check
    expect(mostListenersOnOneSignal(signals)).toBeLessThanOrEqual(2);
    await sim.dispose();
    expect(mostListenersOnOneSignal(signals)).toBe(0);
  });

  it('100 concurrent callers on an expired token leave no listener behind once they have their token', async () => {
    const sim = strictSimulation({ ttlSeconds: 1, locks: 'web-locks', client: { refreshLeewayMs: 100 } });
    const tabs = [sim.openTab(), sim.openTab()];
    await sim.signIn(tabs[0]);
    for (let round = 0; round < 12; round++) {
      await sim.advance(1_000);
      const calls = Array.from({ length: 100 }, (_, i) => tabs[i % 2]!.client.getAccessToken());
      await sim.advance(100);
      await Promise.all(calls);
    }
    expect(mostListenersOnOneSignal(signals)).toBeLessThanOrEqual(2);
    await sim.dispose();
  });
});
