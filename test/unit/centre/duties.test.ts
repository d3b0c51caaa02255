import { describe, expect, it } from 'vitest';
import { PROTOCOL as TAB_PROTOCOL } from '../../../src/core/coordination/tabMessages';
import { FollowerDuties } from '../../../src/core/follower';
import { LeaderDuties } from '../../../src/core/leader';
import { resolveRetryOptions } from '../../../src/core/refresh/backoff';
import { parts, recordingChannel, record } from './parts';

function follower(p: ReturnType<typeof parts>) {
  return new FollowerDuties(
    { clock: p.clock, environment: p.environment, retryMs: 1_000, maxWaitMs: 10_000 },
    { state: p.state, shared: p.shared, peers: p.peers, waiters: p.waiters, refresher: p.refresher, freshness: p.freshness, mount: p.mount },
  );
}

describe('FollowerDuties', () => {
  it('asks the leader, and takes the pair that arrives', async () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    p.state.adopt(record(1, p.clock.now()), 'channel', 0);
    const wait = follower(p).request(1);
    await p.clock.settle();
    expect(posted).toEqual([expect.objectContaining({ type: 'refresh-request', version: 1 })]);
    deliver({ type: 'state', state: record(2, p.clock.now()), ageMs: 0, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'leader' });
    expect((await wait)?.version).toBe(2);
  });

  it('a silent leader is rescued under the lock after retryMs; a leader that acks is waited for', async () => {
    const silent = parts();
    silent.peers.attach(recordingChannel().channel);
    silent.state.adopt(record(1, silent.clock.now()), 'channel', 60_000); // due: the follower asks because it is
    await silent.shared.compareAndSet(0, record(1, silent.clock.now())); // stored, as the leader wrote it: a rescue reads storage first
    silent.mount.lock = { ...silent.mount.lock, unpersisted: { hold: async () => () => {}, anyHeld: async () => false } } as typeof silent.mount.lock;
    const rescued = follower(silent).request(1);
    await silent.clock.advance(1_000);
    expect((await rescued)?.version).toBe(2);
    expect(silent.events).toContainEqual(expect.objectContaining({ type: 'refresh-started', trigger: 'follower-rescue' }));

    const busy = parts();
    const { channel, deliver } = recordingChannel();
    busy.peers.attach(channel);
    busy.state.adopt(record(1, busy.clock.now()), 'channel', 0);
    busy.mount.lock = { ...busy.mount.lock, unpersisted: { hold: async () => () => {}, anyHeld: async () => false } } as typeof busy.mount.lock;
    const waiting = follower(busy).request(1);
    await busy.clock.advance(500);
    deliver({ type: 'refresh-pending', version: 1, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'leader' });
    await busy.clock.advance(600);
    expect(busy.events.some((event) => event.type === 'refresh-started')).toBe(false);
    deliver({ type: 'state', state: record(2, busy.clock.now()), ageMs: 0, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'leader' });
    expect((await waiting)?.version).toBe(2);
  });
});

describe('LeaderDuties', () => {
  it('answers a request for an old version with the newer pair; a current one with an ack and one refresh; one above with a hello', async () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    const election = { isLeader: true };
    p.state.setLeadership(election);
    const leader = new LeaderDuties(
      { clock: p.clock, environment: p.environment, retry: resolveRetryOptions(), followerRetryMs: 1_000 },
      { state: p.state, shared: p.shared, sync: p.sync, peers: p.peers, refresher: p.refresher, telemetry: p.telemetry, freshness: p.freshness },
    );
    void leader;
    p.state.adopt(record(3, p.clock.now()), 'this-tab', 60_000); // due by the leader's own measure
    posted.length = 0;
    deliver({ type: 'refresh-request', version: 2, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    expect(posted).toEqual([expect.objectContaining({ type: 'state', state: expect.objectContaining({ version: 3 }) })]);
    posted.length = 0;
    deliver({ type: 'refresh-request', version: 3, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    // Above: the follower holds a record this tab never saw. No refresh of the current one (chaos seed 894: each
    // duplicate of such a request rotated again); the leader asks every tab for the record it holds.
    deliver({ type: 'refresh-request', version: 9, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    const types = posted.map((message) => (message as { type: string }).type);
    expect(types.filter((type) => type === 'refresh-pending')).toHaveLength(1);
    expect(types.filter((type) => type === 'leader-hello')).toHaveLength(1);
    expect(types.filter((type) => type === 'state')).toHaveLength(1); // one broadcast for the one new pair
    expect(p.state.version).toBe(4);
  });

  it('answers a request for a pair it measures as fresh (or both its clocks date as fresh) with that pair and its age, unless the follower reports a 401', async () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    p.state.setLeadership({ isLeader: true });
    new LeaderDuties(
      { clock: p.clock, environment: p.environment, retry: resolveRetryOptions(), followerRetryMs: 1_000 },
      { state: p.state, shared: p.shared, sync: p.sync, peers: p.peers, refresher: p.refresher, telemetry: p.telemetry, freshness: p.freshness },
    );
    const started = () => p.events.filter((event) => event.type === 'refresh-started').length;
    // A fresh pair whose age it read from storage is refreshed: that age is an estimate by a wall clock.
    p.state.adopt(record(3, p.clock.now()), 'storage');
    deliver({ type: 'refresh-request', version: 3, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    expect(p.state.version).toBe(4); // this one the leader made itself
    await p.clock.advance(5_000);
    posted.length = 0;
    deliver({ type: 'refresh-request', version: 4, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    expect(posted).toEqual([expect.objectContaining({ type: 'state', confirms: true, ageMs: 5_000, state: expect.objectContaining({ version: 4 }) })]);
    expect(started()).toBe(1);
    // A pair another tab made and announced with its age is confirmed too (seed 3522: two leaders each refreshed the
    // pair the other had just announced, for a follower that asked).
    p.state.adopt(record(5, p.clock.now()), 'channel', 2_000);
    posted.length = 0;
    deliver({ type: 'refresh-request', version: 5, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    expect(posted).toEqual([expect.objectContaining({ type: 'state', confirms: true, ageMs: 2_000, state: expect.objectContaining({ version: 5 }) })]);
    expect(started()).toBe(1);
    deliver({ type: 'refresh-request', version: 5, rejected: true, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    expect(p.state.version).toBe(6);
    expect(started()).toBe(2);
    // Read from storage, 200 ms old by both the wall clock and the page clock: confirmed with that age (seed 7689).
    const made = record(7, p.clock.now() - 200);
    p.state.adopt({ ...made, tokens: p.freshness.stamp(made.tokens!, 200) }, 'storage');
    posted.length = 0;
    deliver({ type: 'refresh-request', version: 7, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    expect(posted).toEqual([expect.objectContaining({ type: 'state', confirms: true, ageMs: 200, state: expect.objectContaining({ version: 7 }) })]);
    expect(started()).toBe(2);
    // Its wall-clock stamp in this tab's future (a clock set back since): one reading alone dates it, so it is refreshed.
    const ahead = record(8, p.clock.now() + 30_000);
    p.state.adopt({ ...ahead, tokens: p.freshness.stamp(ahead.tokens!, 200) }, 'storage');
    deliver({ type: 'refresh-request', version: 8, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'follower' });
    await p.clock.settle();
    expect(p.state.version).toBe(9);
    expect(started()).toBe(3);
  });
});

describe('FollowerDuties and a confirming leader', () => {
  it("takes the leader's age for a pair it read from storage, and stops waiting", async () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    // Written by a wall clock an hour behind this tab's: by the wall clock the pair is long expired.
    const stored = record(1, p.clock.now() - 3_600_000);
    p.state.adopt(stored, 'storage');
    expect(p.freshness.isExpired()).toBe(true);
    const wait = follower(p).request(1);
    await p.clock.settle();
    // The read from storage asks the leader for its measure of the pair's age; the due pair then asks for a newer one.
    expect(posted).toEqual([expect.objectContaining({ type: 'age-query', version: 1 }), expect.objectContaining({ type: 'refresh-request', version: 1 })]);
    expect(posted[1]).not.toHaveProperty('rejected');
    deliver({ type: 'state', state: stored, ageMs: 2_000, confirms: true, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'leader' });
    expect((await wait)?.version).toBe(1);
    expect(p.freshness.isDue()).toBe(false);
    expect(p.events.some((event) => event.type === 'refresh-started')).toBe(false);
  });
});

describe('the age query: a pair read from storage gets the leader’s measure of its age', () => {
  it('a follower that reads a pair from storage asks once; the leader answers with its measure, never a refresh', async () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    // By this tab's wall clock the pair is 2 s old; the leader measured 56 s (the wall clock went back since the write): due.
    const stored = record(1, p.clock.now() - 2_000);
    p.state.adopt(stored, 'storage');
    expect(p.freshness.isDue()).toBe(false);
    expect(posted.map((message) => (message as { type: string }).type)).toEqual(['age-query']);
    deliver({ type: 'state', state: stored, ageMs: 56_000, confirms: true, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'leader' });
    expect(p.freshness.isDue()).toBe(true);
    expect(p.events.some((event) => event.type === 'refresh-started')).toBe(false);
  });
});
