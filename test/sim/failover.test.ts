import { describe, expect } from 'vitest';
import { it } from '../support/simulationTest';
import type { TabSimulation } from '../../src/testing';
import { seededRandom, signOutEvents, strictSimulation, versions } from './helpers';

/** Advances time with random getAccessToken calls until the server performed `rotations` more rotations. */
async function rotate(s: TabSimulation, rotations: number, seed: number) {
  const target = s.server.counters.successes + rotations;
  const random = seededRandom(seed);
  const failures: unknown[] = [];
  for (let step = 0; s.server.counters.successes < target && step < rotations * 200; step++) {
    for (const tab of s.liveTabs()) if (random() < 0.2) tab.client.getAccessToken().catch((error) => failures.push(error));
    await s.advance(50);
  }
  await s.advance(100);
  return failures;
}

function leaderTab(s: TabSimulation) {
  const leaders = s.liveTabs().filter((tab) => tab.client.getSnapshot().isLeader);
  expect(leaders).toHaveLength(1);
  return leaders[0]!;
}

describe('leader failover', () => {
  it.for<[string, number]>([
    ['Web Locks election (instant failover)', 0],
    ['message election (4 s failover)', 4_000],
  ])('a leader killed without cleanup is replaced; later rotations cost one refresh each (%s)', async ([_label, failoverDelayMs], { track }) => {
    const sim = track(strictSimulation({ seed: 3, failoverDelayMs }));
    for (let i = 0; i < 6; i++) sim.openTab();
    await sim.settle();
    await sim.signIn();
    await sim.advance(10);
    expect(await rotate(sim, 5, 1)).toEqual([]);

    const firstLeader = leaderTab(sim);
    firstLeader.kill();
    // Followers keep asking while nobody leads; none of them refreshes on its own.
    const failures = await rotate(sim, 10, 2);
    const newLeader = leaderTab(sim);
    expect(newLeader).not.toBe(firstLeader);
    expect(newLeader.events.some((event) => event.type === 'leadership-gained')).toBe(true);
    expect(failures.filter((error) => !(error instanceof Error && error.name === 'RefreshTimeoutError'))).toEqual([]);
    expect(sim.server.counters.refreshRequests).toBe(sim.server.counters.successes);
    expect(sim.server.counters.reuseDetections).toBe(0);
    expect(signOutEvents(sim)).toBe(0);
    expect(new Set(versions(sim)).size).toBe(1);
  });

  it('a leader closed cleanly hands over at once and the new leader reloads state before acting', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 4 }));
    for (let i = 0; i < 4; i++) sim.openTab();
    await sim.settle();
    await sim.signIn();
    await sim.advance(10);
    await rotate(sim, 3, 3);
    const first = leaderTab(sim);
    await first.close();
    await sim.advance(10);
    const second = leaderTab(sim);
    expect(second).not.toBe(first);
    await rotate(sim, 3, 4);
    expect(sim.server.counters.refreshRequests).toBe(sim.server.counters.successes);
    expect(sim.server.counters.successes).toBeGreaterThanOrEqual(6);
    expect(sim.server.counters.reuseDetections).toBe(0);
  });

  it('two leaders at once (fallback election duplicate) still refresh each version once', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 5 }));
    for (let i = 0; i < 5; i++) sim.openTab();
    await sim.settle();
    await sim.signIn();
    await sim.advance(10);
    sim.network.forceLeader(sim.tabs[3]!.name);
    sim.network.forceLeader(sim.tabs[4]!.name);
    expect(sim.network.leaders()).toHaveLength(3);
    const failures = await rotate(sim, 15, 5);
    expect(failures).toEqual([]);
    expect(sim.server.counters.successes).toBeGreaterThanOrEqual(15);
    expect(sim.server.counters.refreshRequests).toBe(sim.server.counters.successes);
    expect(sim.server.counters.reuseDetections).toBe(0);
    // The duplicate leaders did try: the storage re-read inside the lock turned their attempts into no-ops.
    const skipped = sim.tabs.flatMap((tab) => tab.events).filter((event) => event.type === 'refresh-skipped' && event.reason === 'newer-pair-available');
    expect(skipped.length).toBeGreaterThan(0);
    expect(new Set(versions(sim)).size).toBe(1);
  });

  it('two leaders that cannot hear each other (all messages lost) still refresh each version once', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 7 }));
    for (let i = 0; i < 3; i++) sim.openTab();
    await sim.settle();
    await sim.signIn();
    await sim.advance(10);
    sim.network.forceLeader(sim.tabs[1]!.name);
    sim.network.setFaults({ drop: () => true });
    await rotate(sim, 10, 7);
    expect(sim.server.counters.refreshRequests).toBe(sim.server.counters.successes);
    expect(sim.server.counters.reuseDetections).toBe(0);
    // Only the storage re-read inside the refresh lock can have stopped the second leader here.
    const skipped = sim.tabs.flatMap((tab) => tab.events).filter((event) => event.type === 'refresh-skipped' && event.reason === 'newer-pair-available');
    expect(skipped.length).toBeGreaterThan(0);
    expect(signOutEvents(sim)).toBe(0);
  });

  it('a new tab opened mid-run takes the current pair from storage without a network refresh', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 6 }));
    sim.openTab();
    sim.openTab();
    await sim.settle();
    await sim.signIn();
    await sim.advance(10);
    await rotate(sim, 3, 6);
    const before = sim.server.counters.refreshRequests;
    const late = sim.openTab();
    await sim.settle();
    expect(late.client.getSnapshot().status).toBe('authenticated');
    expect(late.client.getSnapshot().version).toBe(sim.tabs[0]!.client.getSnapshot().version);
    expect(await late.client.getAccessToken()).toBe(sim.tabs[0]!.client.getSnapshot().tokens!.accessToken);
    expect(sim.server.counters.refreshRequests).toBe(before);
  });
});
