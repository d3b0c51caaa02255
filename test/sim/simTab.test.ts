/**
 * The simulated tab's own behaviour (src/testing/tabs.ts) that the chaos faults of issue #9 rely on: unmounting and
 * mounting again, a monotonic clock that ignores wall-clock skew, non-finite timer delays, and a dead tab's timers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NON_FINITE_TIMER_LIMIT, type TabSimulation } from '../../src/testing';
import { strictSimulation } from './helpers';

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

describe('SimTab.unmount() and remount()', () => {
  it('drops the mount count to 0 (the tab leaves the election and its listeners go) and mounts the same client again', async () => {
    sim = strictSimulation({ seed: 901, ttlSeconds: 3600, storage: 'memory' });
    const [a, b] = [sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn();
    expect(a.client.getSnapshot().isLeader).toBe(true);
    const listeners = a.environment.listenerCount();
    expect(listeners).toBeGreaterThan(0);

    a.unmount();
    await sim.settle();
    expect(a.mounted).toBe(false);
    expect(a.alive).toBe(true);
    expect(a.environment.listenerCount()).toBe(0);
    expect(b.client.getSnapshot().isLeader).toBe(true);

    a.remount();
    await sim.settle();
    expect(a.mounted).toBe(true);
    expect(a.environment.listenerCount()).toBe(listeners);
    const refreshed = b.client.refresh();
    await sim.advance(100);
    const { version } = await refreshed;
    await sim.advance(100);
    expect(a.client.getSnapshot().version).toBe(version); // it hears of new pairs again
  });

  it('remount() after close() is a no-op', async () => {
    sim = strictSimulation({ seed: 902, storage: 'memory' });
    const tab = sim.openTab();
    await sim.settle();
    await tab.close();
    tab.remount();
    expect(tab.mounted).toBe(false);
    expect(tab.environment.listenerCount()).toBe(0);
  });
});

describe("the tab's clocks", () => {
  it('skew moves the wall clock only; the monotonic clock counts simulated time from a per-tab origin', async () => {
    sim = strictSimulation({ seed: 903, storage: 'memory' });
    const [a, b] = [sim.openTab({ name: 'tab-a' }), sim.openTab({ name: 'tab-b' })];
    const wall = a.clock.now();
    const [monoA, monoB] = [a.clock.monotonic(), b.clock.monotonic()];
    expect(monoA).not.toBe(monoB);
    a.setSkewMs(-2 * 3_600_000);
    expect(a.clock.now()).toBe(wall - 2 * 3_600_000);
    expect(a.clock.monotonic()).toBe(monoA);
    await sim.advance(1_500);
    a.setSkewMs(55 * 60_000);
    expect(a.clock.now()).toBe(wall + 1_500 + 55 * 60_000);
    expect(a.clock.monotonic()).toBe(monoA + 1_500);
    expect(b.clock.monotonic()).toBe(monoB + 1_500);
  });

  it('records non-finite timer delays, and stops running them past the limit', async () => {
    sim = strictSimulation({ seed: 904, storage: 'memory' });
    const tab = sim.openTab({ mount: false });
    let runs = 0;
    const spin = () => {
      runs++;
      tab.clock.setTimeout(spin, Number.NaN); // a timer that re-arms itself with NaN spins at one instant
    };
    tab.clock.setTimeout(spin, Number.POSITIVE_INFINITY);
    await sim.advance(10);
    expect(tab.nonFiniteTimerDelays().length).toBe(NON_FINITE_TIMER_LIMIT + 1);
    expect(tab.nonFiniteTimerDelays()[0]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(tab.nonFiniteTimerDelays()[1])).toBe(true);
    expect(runs).toBe(NON_FINITE_TIMER_LIMIT);
  });

  it('a killed tab leaves nothing scheduled', async () => {
    sim = strictSimulation({ seed: 905, ttlSeconds: 3600, storage: 'memory' });
    const tab = sim.openTab();
    await sim.settle();
    await sim.signIn();
    expect(tab.pendingTimers()).toBeGreaterThan(0); // the leader's proactive refresh
    tab.kill();
    expect(tab.pendingTimers()).toBe(0);
  });
});
