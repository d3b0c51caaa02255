import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core';
import { Freshness } from '../../../src/core/refreshPolicy';
import { TabState } from '../../../src/core/tabState';
import { record } from './parts';

/** A clock whose wall time the test moves on its own (a jump), apart from the monotonic time. */
function clocks() {
  let wall = Date.UTC(2030, 0, 1);
  let mono = 1_000;
  const clock: Clock = { now: () => wall, monotonic: () => mono, setTimeout: () => 0, clearTimeout: () => {} };
  return { clock, jumpWall: (ms: number) => (wall += ms), pass: (ms: number) => ((wall += ms), (mono += ms)) };
}

describe('Freshness (the one place that says due / expired)', () => {
  it('measures lifetimes on the monotonic clock from adoption: a wall-clock jump back changes nothing', () => {
    const { clock, jumpWall, pass } = clocks();
    const state = new TabState('memory');
    const freshness = new Freshness(clock, { leewayMs: 1_000, lifetimeRatio: 0.1 }, state);
    state.adopt(record(1, clock.now(), 60_000), 'this-tab');
    expect(freshness.dueInMs()).toBe(54_000);
    jumpWall(-2 * 3_600_000);
    pass(54_000);
    expect(freshness.isDue()).toBe(true);
    pass(6_000);
    expect(freshness.isExpired()).toBe(true);
  });

  it('a pair from the channel carries its age as a duration; from storage the wall clock estimates it', () => {
    const { clock } = clocks();
    const state = new TabState('memory');
    const freshness = new Freshness(clock, { leewayMs: 1_000, lifetimeRatio: 0.1 }, state);
    // The sender's wall clock was 2 h behind, but the pair is 10 s old: only the duration counts.
    state.adopt(record(1, clock.now() - 2 * 3_600_000, 60_000), 'channel', 10_000);
    expect(freshness.dueInMs()).toBe(44_000);
    state.adopt(record(2, clock.now() - 30_000, 60_000), 'storage');
    expect(freshness.dueInMs()).toBe(24_000);
    expect(freshness.ageMs()).toBe(30_000);
  });

  it('markExpired (devtools) makes the held pair expired in this tab only, until a new pair arrives', () => {
    const { clock } = clocks();
    const state = new TabState('memory');
    const freshness = new Freshness(clock, { leewayMs: 1_000, lifetimeRatio: 0.1 }, state);
    state.adopt(record(1, clock.now()), 'this-tab');
    expect(freshness.markExpired()).toBe(1);
    expect(freshness.isExpired()).toBe(true);
    expect(state.getSnapshot().expired).toBe(true);
    state.adopt(record(2, clock.now()), 'channel', 0);
    expect(freshness.isExpired()).toBe(false);
  });
});
