// @vitest-environment node
/**
 * The same real tabs and real OAuth server, with the page using tabauth/react (<AuthProvider>, useAuth,
 * useAccessToken under StrictMode) and tabauth/query (createAuthedQueryClient: every API call is a useQuery going
 * through authedFetch). Checks what React committed and what TanStack Query cached, not only the client's state.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allRecords, earlyRefreshes, missingVersions, settle, staleCalls, unjustifiedStaleCalls } from './support/checks';
import { openSession, signIn, skipBrowserTests, startApiLoops, startWorld, stopApiLoops, type Session, type World } from './support/session';
import { waitForAll, type Tab } from './support/tabs';

const TTL_SECONDS = 5;
const PAGE = { mode: 'react' as const, leewayMs: 0, ratio: 0.5 };
const API_INTERVAL_MS = 350;
const ROTATIONS = 6;

const browserTokenRequests = (tabs: Tab[]) => tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0);

describe.skipIf(skipBrowserTests)('e2e: real Chromium tabs against oidc-provider (tabauth/react + tabauth/query)', () => {
  let world: World;
  let session: Session | undefined;

  beforeAll(async () => {
    world = await startWorld({ accessTokenTtlSeconds: TTL_SECONDS });
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it(`4 tabs, ${ROTATIONS} rotations through useQuery/authedFetch: one refresh per rotation, React renders the newest pair`, async () => {
    world.server.resetCounters();
    session = await openSession(world, 4, { ...PAGE, namespace: 'react-rotation' });
    const { tabs } = session;
    const { version: v0 } = await signIn(world, session);
    await startApiLoops(tabs, API_INTERVAL_MS);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + ROTATIONS), `${ROTATIONS} rotations rendered in every tab`, 90_000);
    await stopApiLoops(tabs);
    const settled = await settle(tabs, world.server.counters);
    const vMax = Math.max(...settled.versions);
    const c = settled.counters;

    expect(settled.versions).toEqual(tabs.map(() => vMax));
    expect(c.refreshSuccesses).toBe(vMax - v0);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(browserTokenRequests(tabs)).toBe(vMax - v0);

    const recs = await allRecords(tabs);
    expect(recs.filter((r) => r.refreshCalls.length > 0)).toHaveLength(1);
    for (const r of recs) {
      // What React committed, what is in the DOM and what the client holds agree.
      expect(r.snapshot.status).toBe('authenticated');
      expect(r.snapshot.extra).toMatchObject({
        clientVersion: vMax,
        clientStatus: 'authenticated',
        domVersion: vMax,
        domStatus: 'authenticated',
        renderedSubject: 'user-1',
      });
      expect(r.snapshot.extra.queriesWithData).toBe(1);
      expect(earlyRefreshes(r)).toEqual([]);
      expect(missingVersions(r, v0, vMax)).toEqual([]);
      // Every call went through authedFetch with a token this tab held, and succeeded.
      expect(r.apiCalls.length).toBeGreaterThanOrEqual(5);
      expect(r.apiCalls.filter((call) => call.status !== 200 || call.version < v0)).toEqual([]);
      expect(unjustifiedStaleCalls(r)).toEqual([]);
    }
    expect(c.apiUnauthorized).toBe(0);
    expect(c.apiStale).toBe(recs.reduce((sum, r) => sum + staleCalls(r).length, 0));
  }, 150_000);

  it('the sign-out button in one tab signs every tab out, clears every query cache and revokes the refresh token', async () => {
    world.server.resetCounters();
    session = await openSession(world, 3, { ...PAGE, namespace: 'react-signout' });
    const { tabs } = session;
    await signIn(world, session);
    await startApiLoops(tabs, API_INTERVAL_MS);
    await waitForAll(tabs, (all) => all.every((s) => Number(s.extra.queriesWithData) === 1), 'every tab has API data cached', 30_000);

    await tabs[2]!.page.click('#sign-out');
    const after = await waitForAll(
      tabs,
      (all) => all.every((s) => s.status === 'signed-out' && s.extra.domStatus === 'signed-out' && s.extra.queriesWithData === 0),
      'every tab rendered signed-out with an empty query cache',
    );
    await stopApiLoops(tabs);
    expect(after.every((s) => s.signedOutReason === 'user' && s.forcedSignOuts === 0)).toBe(true);
    await waitForAll(tabs, () => world.server.counters().revocations === 1, 'the provider saw the revocation');
    const c = world.server.counters();
    expect(c.revocations).toBe(1);
    expect(c.invalidGrant).toBe(0);
    const recs = await allRecords(tabs);
    for (const r of recs) expect(r.apiCalls.filter((call) => call.status !== 200)).toEqual([]);
  }, 90_000);
});
