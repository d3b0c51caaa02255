import { afterEach, describe, expect, it } from 'vitest';
import type { SimTab, TabSimulation } from '../../src/testing';
import { RECEIVED_CHECK_MS } from '../../src/core/sharedRecord';
import { strictSimulation, versions } from './helpers';

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

const storedVersion = async (s: TabSimulation) => ((await s.storage.get('tabauth:default:state')) as { version: number } | undefined)?.version ?? 0;

/** The leader's writes stall from the moment it adopts its own new pair: inside its announcement, before the write. */
function stallWritesAtAnnouncement(leader: SimTab, fromVersion: number): { announced: () => boolean } {
  let announced = false;
  const off = leader.client.subscribe(() => {
    if (announced || leader.client.getSnapshot().version <= fromVersion) return;
    announced = true;
    leader.setStorageFaults({ writes: 'stall' });
    off();
  });
  return { announced: () => announced };
}

/** Three tabs signed in on one simulation, and the one that leads. */
async function threeSignedInTabs(seed: number, locks: 'web-locks' | undefined) {
  const s = strictSimulation({ seed, ttlSeconds: 2, locks });
  sim = s;
  const tabs = [s.openTab(), s.openTab(), s.openTab()];
  await s.settle();
  await s.signIn(tabs[0]);
  await s.advance(10);
  const leader = tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
  return { sim: s, leader, followers: tabs.filter((tab) => tab !== leader) };
}

describe('announce before write', () => {
  it.each([
    ['Web Locks', 'web-locks' as const],
    ['storage lease', undefined],
  ])('the leader announces its new pair before its write lands; killed in between, nothing is lost (%s)', async (_label, locks) => {
    const { sim: s, leader, followers } = await threeSignedInTabs(21, locks);
    const stall = stallWritesAtAnnouncement(leader, 1);

    // The proactive refresh: the followers hold version 2 while the leader's write of it has not landed.
    for (let step = 0; step < 400 && !followers.every((tab) => tab.client.getSnapshot().version === 2); step++) await s.advance(5);
    expect(stall.announced()).toBe(true);
    expect(followers.map((tab) => tab.client.getSnapshot().version)).toEqual([2, 2]);
    expect(s.server.counters.successes).toBe(1);
    // The leader's own write has not settled (its refresh has not finished): the announcement came first.
    expect(leader.events.filter((event) => event.type === 'refresh-succeeded')).toEqual([]);

    // The leader dies before its write lands; the receivers stored the announced pair themselves.
    leader.kill();
    await s.advance(100);
    expect(await storedVersion(s)).toBe(2);

    // Later refreshes start from version 2: each refresh token is sent once, nobody is signed out.
    await s.advance(30_000);
    expect(s.server.counters.reuseDetections).toBe(0);
    expect(s.server.counters.familiesRevoked).toBe(0);
    expect(s.server.counters.refreshRequests).toBe(s.server.counters.successes);
    expect(s.server.counters.successes).toBeGreaterThan(3);
    const live = versions(s);
    expect(new Set(live).size).toBe(1);
    expect(await storedVersion(s)).toBe(live[0]);
    expect(followers.every((tab) => tab.client.getSnapshot().status === 'authenticated')).toBe(true);
  });

  it('the leader dies after announcing and the next leader missed the announcement: the receivers stored the pair', async () => {
    // Guards the rotation mark. The receivers store the pair RECEIVED_CHECK_MS after it arrived, not at once (issue 14);
    // without the mark the next leader read the spent pair from storage before that and sent its refresh token
    // (chaos: 34 of 1 000 seeds with the mark's wait taken out; 84 of 3 000 when the receivers' write was put off
    // with nothing in its place).
    const { sim: s, leader, followers } = await threeSignedInTabs(35, 'web-locks');
    const [next, other] = followers as [SimTab, SimTab];
    stallWritesAtAnnouncement(leader, 1);
    // Every announcement to the tab that leads next is lost.
    s.network.setFaults({ drop: (from, to, message) => from === leader.name && to === next.name && (message as { type?: string }).type === 'state' });
    for (let step = 0; step < 400 && other.client.getSnapshot().version !== 2; step++) await s.advance(5);
    expect(next.client.getSnapshot().version).toBe(1);
    leader.kill();
    s.network.setFaults(null);
    await s.advance(3_000);
    expect(next.client.getSnapshot().isLeader).toBe(true);
    expect(s.server.counters.reuseDetections).toBe(0);
    expect(s.server.counters.refreshRequests).toBe(s.server.counters.successes);
    expect(next.client.getSnapshot().version).toBeGreaterThan(2);
  });

  it('the receivers store an announced pair after the fan-out, not at its arrival, and only when storage lacks it', async () => {
    const { sim: s, leader, followers } = await threeSignedInTabs(36, 'web-locks');
    stallWritesAtAnnouncement(leader, 1);
    for (let step = 0; step < 4000 && !followers.every((tab) => tab.client.getSnapshot().version === 2); step++) await s.advance(1);
    // The leader marked the rotation of version 1 before it sent the refresh token; nobody has written version 2 yet.
    expect(await s.storage.get('tabauth:default:rotation')).toMatchObject({ version: 1 });
    expect(await storedVersion(s)).toBe(1);
    leader.kill();
    await s.advance(RECEIVED_CHECK_MS + 50);
    expect(await storedVersion(s)).toBe(2);
    expect(s.server.counters.reuseDetections).toBe(0);
  });

  it('a lock holder whose memory is ahead of storage writes its pair before refreshing from it', async () => {
    sim = strictSimulation({ seed: 22, ttlSeconds: 2, locks: 'web-locks' });
    const tabs = [sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn(tabs[0]);
    await sim.advance(10);
    const leader = tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    const follower = tabs.find((tab) => tab !== leader)!;
    stallWritesAtAnnouncement(leader, 1);
    // The follower's own write of the announced pair fails too: storage stays at version 1 while both hold 2.
    follower.setStorageFaults({ writes: 'throw' });
    for (let step = 0; step < 400 && follower.client.getSnapshot().version !== 2; step++) await sim.advance(5);
    leader.kill();
    follower.setStorageFaults(null);
    expect(await storedVersion(sim)).toBe(1);

    // The follower leads now; its next refresh stores version 2 first, then rotates from it (not from version 1).
    const refreshed = follower.client.refresh({ rejectedVersion: 2 });
    await sim.advance(500);
    expect((await refreshed).version).toBe(3);
    expect(sim.server.counters.reuseDetections).toBe(0);
    expect(sim.server.counters.refreshRequests).toBe(2);
    expect(await storedVersion(sim)).toBe(3);
  });
});
