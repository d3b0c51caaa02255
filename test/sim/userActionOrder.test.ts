/**
 * Fix #9.15 (issue #9, `user-action-lost`): a sign-in or sign-out whose write fails claims a version epoch, so that it
 * wins over every refresh in flight, but a later user action of a tab that never heard of it must still win. Every
 * message is lost in these scenarios, so only storage can order the two actions. Each test failed on the previous
 * main (the earlier action won everywhere, or the re-versioned copy brought back a spent refresh token).
 */
import { expect } from 'vitest';
import { decodeJwtClaims } from '../../src/core';
import { VERSION_EPOCH } from '../../src/core/sharedRecord';
import type { SimTab, TabSimulation } from '../../src/testing';
import { it } from '../support/simulationTest';
import { strictSimulation, versions } from './helpers';

const STATE_KEY = 'tabauth:default:state';
type Stored = { version: number; tokens: { accessToken: string; refreshToken: string | null } | null; movedFrom?: number };
const stored = async (sim: TabSimulation) => (await sim.storage.get(STATE_KEY)) as Stored | undefined;
const subjectOf = (accessToken: string | undefined) => (accessToken ? decodeJwtClaims(accessToken).sub : undefined);

/** Every version each tab's snapshot showed, in order (versions never go backwards, per tab). */
function recordVersions(tabs: readonly SimTab[]): number[][] {
  return tabs.map((tab) => {
    const seen = [tab.client.getSnapshot().version];
    tab.client.subscribe(() => seen.push(tab.client.getSnapshot().version));
    return seen;
  });
}

const ascending = (seen: number[]) => seen.every((version, i) => i === 0 || version >= seen[i - 1]!);

/**
 * The messages come back and a page reloads (it reads storage). A tab that heard nothing during the partition keeps
 * what it holds until its next refresh re-reads storage under the lock, so give it one token lifetime; then the app
 * asks every tab for a token, as on its next API call.
 */
async function everyTabAsks(sim: TabSimulation): Promise<void> {
  sim.network.setFaults(null);
  sim.openTab();
  await sim.advance(90_000);
  const calls = sim.liveTabs().map((tab) => tab.client.getAccessToken().catch(() => null));
  await sim.advance(2_000);
  await Promise.all(calls);
}

type Action = 'sign-in' | 'sign-out';

it.for<[Action, Action]>([
  ['sign-in', 'sign-in'],
  ['sign-out', 'sign-in'],
  ['sign-in', 'sign-out'],
])(
  'an unwritable %s, then a written %s in another tab, every message lost: the later one ends in every tab and in storage',
  async ([earlier, later], { track }) => {
    const sim = track(strictSimulation({ seed: 1501, ttlSeconds: 60, storage: 'memory', locks: 'web-locks' }));
    const [leader, early, late] = [sim.openTab(), sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn(leader);
    await sim.advance(1_000);
    const seen = recordVersions(sim.tabs);
    sim.network.setFaults({ drop: () => true });

    early.setStorageFaults({ writes: 'throw' });
    // The earlier call resolves: it took effect in its tab (and a channel exists to carry it), like any sign-in that
    // the user replaces later. It claims a version epoch, and records that storage stood at the leader's version.
    await (earlier === 'sign-in' ? early.client.signIn(sim.server.issueTokens({ subject: 'user-early' })) : early.client.signOut());
    expect(early.client.getSnapshot().version).toBeGreaterThan(VERSION_EPOCH);

    await (later === 'sign-in' ? late.client.signIn(sim.server.issueTokens({ subject: 'user-late' })) : late.client.signOut());
    expect(late.client.getSnapshot().version).toBeLessThan(VERSION_EPOCH); // written: storage ordered it

    early.setStorageFaults(null); // its retry now writes the epoch record, and meets the later action in storage
    await sim.advance(60_000);
    await everyTabAsks(sim);

    const record = await stored(sim);
    if (later === 'sign-in') {
      expect(subjectOf(record?.tokens?.accessToken)).toBe('user-late');
      expect(sim.liveTabs().map((tab) => subjectOf(tab.client.getSnapshot().tokens?.accessToken))).toEqual([
        'user-late',
        'user-late',
        'user-late',
        'user-late',
      ]);
      expect(new Set([...versions(sim), record!.version]).size).toBe(1);
    } else {
      // Signed out everywhere (a signed-out tab that took the tombstone before it was moved keeps that version: harmless,
      // every write goes above the stored one).
      expect(record?.tokens).toBeNull();
      expect(sim.liveTabs().map((tab) => tab.client.getSnapshot().status)).toEqual(['signed-out', 'signed-out', 'signed-out', 'signed-out']);
    }
    // The later record was stored again above the epoch, so no tab had to go back to reach it.
    expect(record!.version).toBeGreaterThan(VERSION_EPOCH);
    expect(seen.every(ascending)).toBe(true);
    expect(sim.server.counters.reuseDetections).toBe(0);
  },
);

it('a refresh whose answer meets its base stored again above an epoch (a re-versioned copy) stores the rotation above it: no spent token is sent', async ({
  track,
}) => {
  // Slow answers: the copy is written while the leader's request is at the server. The storage lease (no Web Locks):
  // with Web Locks the unwritten sign-in's "storage is behind me" marker stops every refresh until it is stored.
  const sim = track(strictSimulation({ seed: 1502, ttlSeconds: 60, latencyMs: 5_000, storage: 'memory' }));
  const [leader, early] = [sim.openTab(), sim.openTab()];
  await sim.settle();
  sim.network.setFaults({ drop: () => true });
  early.setStorageFaults({ writes: 'throw' });
  await early.client.signIn(sim.server.issueTokens({ subject: 'user-early' })); // unwritten: an epoch above 0
  await leader.client.signIn(sim.server.issueTokens({ subject: 'user-late' })); // written at version 1, a later session
  const refreshed = leader.client.refresh(); // the leader spends version 1's refresh token
  await sim.advance(100);
  early.setStorageFaults(null);
  await sim.advance(2_000); // the retry stores version 1's content again, above the epoch (the spent token)
  const copy = await stored(sim);
  expect(copy).toMatchObject({ movedFrom: 1 });
  expect(copy!.version).toBeGreaterThan(VERSION_EPOCH);
  await sim.advance(4_000); // the answer: the compare-and-set meets the copy of its base
  const made = await refreshed;
  expect(made.version).toBeGreaterThan(copy!.version);
  expect((await stored(sim))?.tokens?.refreshToken).toBe(leader.client.getSnapshot().tokens?.refreshToken);

  await everyTabAsks(sim);
  // Every tab on the rotation, and the next refresh (asked by the tab that made the copy) sends its refresh token.
  const call = early.client.refresh({ rejectedVersion: early.client.getSnapshot().version });
  await sim.advance(11_000);
  await call;
  expect(sim.server.counters.reuseDetections).toBe(0);
  expect(sim.server.counters.refreshRequests).toBe(sim.server.counters.successes);
  expect(new Set(versions(sim)).size).toBe(1);
  expect(sim.liveTabs().map((tab) => subjectOf(tab.client.getSnapshot().tokens?.accessToken))).toEqual(['user-late', 'user-late', 'user-late']);
});

it('a rotation its maker could not write yet is stored above a copy of its base once it can: no spent token is sent', async ({ track }) => {
  // The storage lease, as above (with Web Locks the marker stops the leader's refresh).
  const sim = track(strictSimulation({ seed: 1503, ttlSeconds: 60, storage: 'memory' }));
  const [leader, early] = [sim.openTab(), sim.openTab()];
  await sim.settle();
  sim.network.setFaults({ drop: () => true });
  early.setStorageFaults({ writes: 'throw' });
  await early.client.signIn(sim.server.issueTokens({ subject: 'user-early' }));
  await leader.client.signIn(sim.server.issueTokens({ subject: 'user-late' })); // version 1
  leader.setStorageFaults({ writes: 'throw' });
  const refreshed = leader.client.refresh();
  await sim.advance(100);
  const rotation = (await refreshed).tokens!.refreshToken; // version 2, in the leader's memory only
  early.setStorageFaults(null);
  await sim.advance(2_000);
  expect(await stored(sim)).toMatchObject({ movedFrom: 1 }); // version 1's spent refresh token, above the epoch
  leader.setStorageFaults(null);
  await sim.advance(10_000); // the leader's retry meets the copy of an older record of its session
  const record = await stored(sim);
  expect(record?.tokens?.refreshToken === rotation).toBe(true); // compared, not printed
  expect(record).toMatchObject({ movedFrom: 2 });

  await everyTabAsks(sim);
  const call = early.client.refresh({ rejectedVersion: early.client.getSnapshot().version });
  await sim.advance(11_000);
  await call;
  expect(sim.server.counters.reuseDetections).toBe(0);
  expect(sim.server.counters.refreshRequests).toBe(sim.server.counters.successes);
  expect(new Set(versions(sim)).size).toBe(1);
  expect(sim.liveTabs().map((tab) => subjectOf(tab.client.getSnapshot().tokens?.accessToken))).toEqual(['user-late', 'user-late', 'user-late']);
});
