// @vitest-environment node
/**
 * A login's key is pending until the login completes: the session that is signed in keeps refreshing with its own
 * key while a login (re-authentication, another account) is in progress or abandoned, and only the completed login's
 * tokens switch every tab to the new key. Simulated tabs over one fake-indexeddb, against the mock server with DPoP
 * (tokens bound to the proof key, a bound refresh token with another key answered invalid_grant).
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/core';
import { createDpop, dpopKeyStorageKey, type Dpop } from '../../src/dpop';
import { dpopPendingKeyStorageKey } from '../../src/dpop/keyStore';
import { createMockTokenServer, createSimulatedClock, createTabSimulation, type TabSimulation } from '../../src/testing';
import { seededRandom } from '../sim/helpers';

let sim: TabSimulation | undefined;
const handles: Dpop[] = [];
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
  handles.splice(0).forEach((handle) => handle.close());
});

function dpopSimulation(seed: number) {
  const random = seededRandom(seed);
  const clock = createSimulatedClock();
  const server = createMockTokenServer({ clock, random, accessTokenTtlSeconds: 1, latencyMs: 20, dpop: {} });
  sim = createTabSimulation({
    clock,
    server,
    random,
    indexedDB: new IDBFactory(),
    dpop: true,
    locks: 'web-locks',
    client: { refreshLeewayMs: 100, followerRetryMs: 1_000 },
  });
  return sim;
}

/** Asks for access tokens in random tabs until the server rotated `rotations` more times. */
async function rotate(s: TabSimulation, rotations: number, seed: number) {
  const random = seededRandom(seed);
  const failures: unknown[] = [];
  const start = s.server.counters.successes;
  for (let step = 0; s.server.counters.successes - start < rotations && step < rotations * 100; step++) {
    for (const tab of s.liveTabs()) if (random() < 0.3) tab.client.getAccessToken().catch((error) => failures.push(error));
    await s.advance(50);
  }
  await s.advance(200);
  return failures;
}

const thumbprints = (s: TabSimulation) => Promise.all(s.tabs.map((tab) => tab.client.dpop!.thumbprint()));
const statuses = (s: TabSimulation) => s.tabs.map((tab) => tab.client.getSnapshot().status);

describe('a login key is pending until its login completes', () => {
  it('signed-in tabs keep refreshing with their key, 0 invalid_grant, while a login is started and abandoned', async () => {
    const s = dpopSimulation(51);
    for (let i = 0; i < 3; i++) s.openTab();
    await s.settle();
    await s.signIn();
    const session = await s.tabs[0]!.client.dpop!.thumbprint();
    await rotate(s, 3, 52);

    const login = await s.tabs[1]!.client.dpop!.newKeyForLogin(); // the user starts a login in tab 1 and walks away
    expect(login.thumbprint).not.toBe(session);
    await s.advance(10);
    const failures = await rotate(s, 6, 53);

    expect(failures).toEqual([]);
    expect(s.server.counters.invalidGrant).toBe(0);
    expect(s.server.dpopCounters.bindingMismatches).toBe(0);
    expect(s.server.counters.successes).toBeGreaterThanOrEqual(9);
    expect(statuses(s)).toEqual(['authenticated', 'authenticated', 'authenticated']);
    expect(await thumbprints(s)).toEqual([session, session, session]);
    expect(((await s.storage.get(dpopKeyStorageKey('default'))) as { thumbprint: string }).thumbprint).toBe(session);
  });

  it('a completed login (exchange with the pending key, promote, signIn) switches every tab to the new key', async () => {
    const s = dpopSimulation(61);
    const [a, b, c] = [s.openTab(), s.openTab(), s.openTab()];
    await s.settle();
    await s.signIn(a);
    await rotate(s, 2, 62);

    const login = await b.client.dpop!.newKeyForLogin();
    expect((await b.client.dpop!.loginKey(login.thumbprint))?.thumbprint).toBe(login.thumbprint);
    const tokens = s.server.issueTokens({ subject: 'user-2', jkt: login.thumbprint }); // the code exchange, bound to it
    expect(await b.client.dpop!.promoteLoginKey(login.thumbprint)).toBe(true);
    await b.client.signIn(tokens);
    await s.advance(10);
    const failures = await rotate(s, 6, 63);

    expect(failures).toEqual([]);
    expect(s.server.counters.invalidGrant).toBe(0);
    expect(s.server.dpopCounters.bindingMismatches).toBe(0);
    expect(await thumbprints(s)).toEqual([login.thumbprint, login.thumbprint, login.thumbprint]);
    expect([a, b, c].map((tab) => tab.client.getSnapshot().status)).toEqual(['authenticated', 'authenticated', 'authenticated']);
    expect(((await s.storage.get(dpopKeyStorageKey('default'))) as { thumbprint: string }).thumbprint).toBe(login.thumbprint);
    expect(await s.storage.get(dpopPendingKeyStorageKey('default'))).toEqual([]); // promoted: no longer pending
  });

  it('signOut() deletes the namespace key and every pending login key; that login can no longer complete', async () => {
    const s = dpopSimulation(71);
    const [a, b] = [s.openTab(), s.openTab()];
    await s.settle();
    await s.signIn(a);
    const login = await b.client.dpop!.newKeyForLogin();
    await a.client.signOut();
    await s.advance(10);

    expect(await s.storage.get(dpopKeyStorageKey('default'))).toBeUndefined();
    expect(await s.storage.get(dpopPendingKeyStorageKey('default'))).toBeUndefined();
    expect(await b.client.dpop!.loginKey(login.thumbprint)).toBeNull();
    expect(await b.client.dpop!.promoteLoginKey(login.thumbprint)).toBe(false);
  });

  it('the next login drops pending keys of logins abandoned long ago, and keeps a recent one (a login in another tab)', async () => {
    let now = 1_000_000;
    const handle = createDpop({ namespace: 'app', storage: createMemoryStorage(new Map()), locks: null, channel: null, now: () => now });
    handles.push(handle);
    const abandoned = await handle.newKeyForLogin();
    now += 20 * 60_000; // longer than any login attempt lives
    const other = await handle.newKeyForLogin();
    now += 60_000;
    const latest = await handle.newKeyForLogin();

    expect(await handle.loginKey(abandoned.thumbprint)).toBeNull();
    expect((await handle.loginKey(other.thumbprint))?.thumbprint).toBe(other.thumbprint);
    expect((await handle.loginKey(latest.thumbprint))?.thumbprint).toBe(latest.thumbprint);
  });
});
