import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core';
import { Freshness } from '../../../src/core/refreshPolicy';
import { TabState } from '../../../src/core/tabState';
import { parts, record, tokens } from './parts';

/** A clock whose wall time the test moves on its own (a jump), apart from the monotonic time. */
function clocks() {
  let wall = Date.UTC(2030, 0, 1);
  let mono = 1_000;
  const clock: Clock = { now: () => wall, monotonic: () => mono, setTimeout: () => 0, clearTimeout: () => {} };
  return { clock, jumpWall: (ms: number) => (wall += ms), pass: (ms: number) => ((wall += ms), (mono += ms)) };
}

/**
 * Two tabs of one browser: one true time; each tab's wall clock is that plus an offset its test sets (a clock set or
 * skewed after the tab started), and its monotonic clock has its own origin and stops in system sleep.
 */
function twoTabs(writerStartOffsetMs = 0) {
  const start = Date.UTC(2030, 0, 1);
  let time = start;
  let slept = 0;
  const tab = (monoOrigin: number, startOffsetMs = 0) => {
    let offset = startOffsetMs;
    const clock: Clock = { now: () => time + offset, monotonic: () => monoOrigin + time - start - slept, setTimeout: () => 0, clearTimeout: () => {} };
    const state = new TabState('memory');
    return { clock, state, freshness: new Freshness(clock, { leewayMs: 1_000, lifetimeRatio: 0.1 }, state), setOffset: (ms: number) => (offset = ms) };
  };
  return {
    writer: tab(5_000, writerStartOffsetMs),
    reader: tab(90_000),
    pass: (ms: number) => (time += ms),
    sleepSystem: (ms: number) => ((time += ms), (slept += ms)),
  };
}

/** The record a tab stores after receiving a 60 s pair now: both its wall-clock and its page-clock stamps. */
function storedBy(writer: ReturnType<typeof twoTabs>['writer'], version: number) {
  const made = record(version, writer.clock.now(), 60_000);
  return { ...made, tokens: writer.freshness.stamp(made.tokens!) };
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

  it("dates a stored pair by the page clock too: a reader whose clock was set back since it started does not take another tab's fresh pair as from the future", () => {
    const { writer, reader, pass } = twoTabs();
    reader.setOffset(-13_000);
    const stored = storedBy(writer, 1);
    pass(2_000);
    reader.state.adopt(stored, 'storage');
    // By the wall clock the pair was received 11 s in the reader's future (unknown age, counted as expired before).
    expect(reader.freshness.ageMs()).toBe(2_000);
    expect(reader.freshness.dueInMs()).toBe(52_000);
  });

  it('a writer whose clock was set forward since it started: its pairs are dated by the page clock, not as from the future', () => {
    const { writer, reader, pass } = twoTabs();
    writer.setOffset(3_600_000);
    const stored = storedBy(writer, 1);
    pass(5_000);
    reader.state.adopt(stored, 'storage');
    expect(reader.freshness.ageMs()).toBe(5_000);
  });

  it('keeps the older of the two readings: after system sleep (the monotonic clock stopped) the wall clock dates a stored pair', () => {
    const { writer, reader, sleepSystem } = twoTabs();
    const stored = storedBy(writer, 1);
    sleepSystem(50_000);
    reader.state.adopt(stored, 'storage');
    expect(reader.freshness.ageMs()).toBe(50_000);
    expect(reader.freshness.dueInMs()).toBe(4_000);
  });

  it('a pair both clocks place in the future is of unknown age and counts as expired', () => {
    // The writer opened while its clock was 20 s ahead: its page clock is ahead too.
    const { writer, reader, pass } = twoTabs(20_000);
    const stored = storedBy(writer, 1);
    pass(1_000);
    reader.state.adopt(stored, 'storage');
    expect(reader.freshness.isExpired()).toBe(true);
  });

  it("a pair from the channel: the sender's measure plus the message's delivery time by the page clocks, up to 5 s", () => {
    const { writer, reader, pass } = twoTabs();
    const sent = storedBy(writer, 1);
    pass(2_900); // the message took 2.9 s to arrive
    reader.state.adopt(sent, 'channel', 0);
    expect(reader.freshness.ageMs()).toBe(2_900);
    // Page clocks 2 h apart (the writer opened while the system clock was 2 h behind): no delivery takes that long.
    const far = twoTabs(-2 * 3_600_000);
    far.reader.state.adopt(storedBy(far.writer, 1), 'channel', 1_000);
    expect(far.reader.freshness.ageMs()).toBe(1_000);
  });

  it('a message queued through a freeze: as old as the freeze unless both clocks say younger (and never younger than its stated age)', () => {
    const { writer, reader, pass, sleepSystem } = twoTabs();
    reader.freshness.froze();
    pass(35_000);
    const sent = storedBy(writer, 1);
    pass(700); // sent 0.7 s before the resume, queued meanwhile
    reader.freshness.woke();
    reader.state.adopt(sent, 'channel', 0);
    expect(reader.freshness.ageMs()).toBe(700); // counted as 35.7 s old before: due at once (60 s tokens)
    // The reader's clock set back since the pair was stamped: its wall clock says "in the future", the whole freeze counts.
    reader.freshness.froze();
    const early = storedBy(writer, 2);
    pass(20_000);
    reader.setOffset(-30_000);
    reader.freshness.woke();
    reader.state.adopt(early, 'channel', 0);
    expect(reader.freshness.ageMs()).toBe(20_000);
    // Sent before system sleep that stopped the monotonic clocks: the freeze and the page clock say 1 s; the wake's
    // rebase takes the wall clock's 41 s.
    reader.setOffset(0);
    reader.freshness.froze();
    const beforeSleep = storedBy(writer, 3);
    sleepSystem(40_000);
    pass(1_000);
    reader.freshness.woke();
    reader.state.adopt(beforeSleep, 'channel', 0);
    reader.freshness.rebase();
    expect(reader.freshness.ageMs()).toBe(41_000);
  });

  it("a leader's confirmation counts its delivery time by the page clocks too, as a pair from the channel does (seed 18038)", () => {
    const { writer, reader, pass } = twoTabs();
    const stored = storedBy(writer, 1);
    pass(6_200);
    reader.state.adopt(stored, 'storage');
    expect(reader.freshness.isMeasured()).toBe(false);
    pass(2_700); // the leader answered when the pair was 6.2 s old; its answer took 2.7 s
    reader.state.confirm(reader.state.record!, 6_200);
    expect(reader.freshness.isMeasured()).toBe(true);
    expect(reader.freshness.ageMs()).toBe(8_900);
  });

  it("a sign-in's pair counts its age from the call to signIn, not from when a slow storage write lets it be published (seed 18689)", async () => {
    const p = parts({
      wrapStorage: (storage, clock) => ({
        ...storage,
        update: async (key, updater) => {
          await new Promise<void>((resolve) => clock.setTimeout(resolve, 7_600)); // a write queued behind a slow one
          return storage.update(key, updater);
        },
      }),
    });
    const signedIn = p.signing.signIn(tokens(1, p.clock.now(), 10_000));
    await p.clock.advance(7_600);
    await signedIn;
    expect(p.freshness.ageMs()).toBe(7_600);
    expect(p.freshness.dueInMs()).toBe(1_400); // 10 s tokens, a 1 s buffer: due 1.4 s from now, not 8.6 s
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
