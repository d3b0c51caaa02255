// @vitest-environment node
/**
 * Real tabs, real OAuth server: N Chromium tabs of one browser context run the test page (tabauth core entry)
 * against oidc-provider with refresh-token rotation and reuse detection, 5-second JWT access tokens and a refresh
 * at half-life (a rotation every ~2.5 s).
 *
 * Ground truth is the provider's own counters (grant.success / grant.error / grant.revoked) and, per tab, the
 * token requests playwright saw leave that tab. Every assertion is about counts, versions and states; waits are
 * conditions with generous timeouts, never sleeps sized to make a timing work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allRecords, earlyRefreshes, missingVersions, settle, staleCalls, unjustifiedStaleCalls } from './support/checks';
import { openSession, signIn, skipBrowserTests, startApiLoops, startWorld, stopApiLoops, type Session, type World } from './support/session';
import { jwtId } from './page/api';
import { alive, crashTab, freezeTab, records, snapshot, waitForAll, waitForLeader, waitForTab, type Tab } from './support/tabs';

const TTL_SECONDS = 5;
/** Refresh at half-life: tabauth's buffer is max(leeway, ratio * lifetime), capped at half the lifetime. */
const PAGE = { mode: 'tabauth' as const, leewayMs: 0, ratio: 0.5 };
const API_INTERVAL_MS = 350;

const maxVersion = (versions: number[]) => Math.max(...versions);
const browserTokenRequests = (tabs: Tab[]) => tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0);

describe.skipIf(skipBrowserTests)('e2e: real Chromium tabs against oidc-provider (tabauth core)', () => {
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

  async function start(tabCount: number, namespace: string) {
    world.server.resetCounters();
    session = await openSession(world, tabCount, { ...PAGE, namespace });
    const signedIn = await signIn(world, session);
    return { session, ...signedIn };
  }

  it('4 tabs, 10 rotations: one refresh per rotation, no invalid_grant, no revoked grant, newest token everywhere', async () => {
    const { session, version: v0 } = await start(4, 'rotation');
    const { tabs } = session;
    await startApiLoops(tabs, API_INTERVAL_MS);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 10), 'ten rotations in every tab', 90_000);
    await stopApiLoops(tabs);
    const settled = await settle(tabs, world.server.counters);
    const vMax = maxVersion(settled.versions);
    const rotations = vMax - v0;
    const c = settled.counters;

    // Exactly one refresh per rotation, at the provider and leaving the browser.
    expect(rotations).toBeGreaterThanOrEqual(10);
    expect(settled.versions).toEqual(tabs.map(() => vMax));
    expect(c.refreshSuccesses).toBe(rotations);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.reuseDetected).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(browserTokenRequests(tabs)).toBe(rotations);
    expect(settled.statuses).toEqual(tabs.map(() => 'authenticated'));

    const recs = await allRecords(tabs);
    // One leader did every refresh; nobody refreshed before the pair was due.
    const refreshers = recs.filter((r) => r.refreshCalls.length > 0);
    expect(refreshers).toHaveLength(1);
    expect(refreshers[0]!.snapshot.leader).toBe(true);
    expect(refreshers[0]!.refreshCalls.every((call) => call.outcome === 'ok')).toBe(true);
    for (const r of recs) {
      expect(earlyRefreshes(r), `${r.name} refreshed early`).toEqual([]);
      // Every tab received every pair (pushed to it; none of them refreshed).
      expect(missingVersions(r, v0, vMax), `${r.name} never held`).toEqual([]);
      expect(r.snapshot.forcedSignOuts).toBe(0);
      expect(r.metrics.sign_outs ?? 0).toBe(0);
    }

    // Every API call succeeded, each with the newest token the tab could hold.
    const calls = recs.flatMap((r) => r.apiCalls);
    expect(recs.every((r) => r.apiCalls.length >= 10)).toBe(true);
    expect(calls.filter((call) => call.status !== 200)).toEqual([]);
    expect(c.apiUnauthorized).toBe(0);
    for (const r of recs) expect(unjustifiedStaleCalls(r), `${r.name}: stale token although a newer pair was held`).toEqual([]);
    // Calls that raced a rotation (sent before the new pair reached the tab, verified after the server issued it)
    // are the only stale ones; the provider's own count agrees with the tabs' records.
    const raced = recs.reduce((sum, r) => sum + staleCalls(r).length, 0);
    expect(c.apiStale).toBe(raced);
    console.info(`[e2e] ${rotations} rotations, ${calls.length} API calls, ${raced} raced a rotation (sent before the tab held the new pair)`);
  }, 150_000);

  it('the leader tab is closed, then the next leader crashes: takeover, no extra refresh, no sign-out', async () => {
    const { session, version: v0 } = await start(4, 'takeover');
    const { tabs, context } = session;
    const first = await waitForLeader(tabs);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 1), 'a rotation under the first leader', 30_000);

    await first.page.close();
    const second = await waitForLeader(tabs);
    expect(second).not.toBe(first);
    const afterClose = maxVersion((await Promise.all(alive(tabs).map(snapshot))).map((s) => s.version));
    await waitForAll(tabs, (all) => all.every((s) => s.version >= afterClose + 2), 'two rotations under the second leader', 30_000);

    await crashTab(context, second);
    const survivors = alive(tabs);
    expect(survivors.length).toBeGreaterThanOrEqual(1);
    const third = await waitForLeader(tabs);
    expect([first, second]).not.toContain(third);
    const afterCrash = maxVersion((await Promise.all(survivors.map(snapshot))).map((s) => s.version));
    await waitForAll(tabs, (all) => all.every((s) => s.version >= afterCrash + 2), 'two rotations under the third leader', 30_000);

    const settled = await settle(tabs, world.server.counters);
    const vMax = maxVersion(settled.versions);
    const c = settled.counters;
    expect(settled.statuses).toEqual(survivors.map(() => 'authenticated'));
    expect(settled.versions).toEqual(survivors.map(() => vMax));
    // One refresh per version across three leaders: takeover itself never refreshed, no request was repeated.
    expect(c.refreshSuccesses).toBe(vMax - v0);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(browserTokenRequests(tabs)).toBe(vMax - v0);
    expect(first.tokenRequests).toBeGreaterThanOrEqual(1);
    expect(second.tokenRequests).toBeGreaterThanOrEqual(1);
    expect(third.tokenRequests).toBeGreaterThanOrEqual(1);

    const recs = await allRecords(survivors);
    for (const r of recs) {
      expect(earlyRefreshes(r), `${r.name} refreshed before the pair was due`).toEqual([]);
      expect(r.snapshot.forcedSignOuts).toBe(0);
      expect(r.events.filter((e) => e.event.type === 'signed-out')).toEqual([]);
    }
    // The third leader took over after the crash, and only once.
    const thirdRecords = recs.find((r) => r.name === third.name)!;
    expect(thirdRecords.snapshot.leadershipAt).toHaveLength(1);
  }, 150_000);

  it('a tab frozen across an expiry catches up on resume without a refresh of its own', async () => {
    const { session, version: v0 } = await start(3, 'frozen');
    const { tabs, context } = session;
    const leader = await waitForLeader(tabs);
    const frozen = tabs.find((tab) => tab !== leader)!;
    const others = tabs.filter((tab) => tab !== frozen);
    await startApiLoops(tabs, API_INTERVAL_MS);

    const freeze = await freezeTab(context, frozen);
    const atFreeze = maxVersion((await Promise.all(others.map(snapshot))).map((s) => s.version));
    // Three rotations = 7.5 s > the 5 s lifetime: the pair the frozen tab holds expires while it sleeps.
    await waitForAll(others, (all) => all.every((s) => s.version >= atFreeze + 3), 'three rotations while frozen', 45_000);
    const resumedAt = await freeze.resume();

    const target = maxVersion((await Promise.all(others.map(snapshot))).map((s) => s.version));
    await waitForTab(frozen, (s) => s.version >= target, `the resumed tab reaches version ${target}`, 30_000);
    const token = await frozen.page.evaluate(() => window.tabauthTest!.getAccessToken());
    await stopApiLoops(tabs);
    const settled = await settle(tabs, world.server.counters);
    const vMax = maxVersion(settled.versions);
    const c = settled.counters;
    const rec = await records(frozen);

    // It really was frozen: it recorded nothing between the freeze and the resume.
    const during = (t: number) => t > freeze.frozenAt && t < resumedAt;
    expect(rec.apiCalls.filter((call) => during(call.sentAt) || during(call.doneAt))).toEqual([]);
    expect(rec.held.filter((h) => during(h.at))).toEqual([]);
    expect(rec.events.filter((e) => during(e.at))).toEqual([]);
    // The newest pair it held when frozen had expired before it ran again.
    const heldAtFreeze = rec.held.filter((h) => h.at <= freeze.frozenAt).at(-1)!;
    expect(heldAtFreeze.expiresAt!).toBeLessThan(resumedAt);

    // It caught up without a refresh of its own.
    expect(frozen.tokenRequests).toBe(0);
    expect(rec.refreshCalls).toEqual([]);
    expect(rec.metrics.refresh_token_requests ?? 0).toBe(0);
    expect(rec.snapshot.status).toBe('authenticated');
    expect(rec.snapshot.forcedSignOuts).toBe(0);
    expect(settled.versions).toEqual(tabs.map(() => vMax));
    expect(c.refreshSuccesses).toBe(vMax - v0);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(browserTokenRequests(tabs)).toBe(vMax - v0);
    // After resuming it hands out the newest token, the one the leader holds, and its API calls use it.
    const [frozenNow, leaderNow] = await Promise.all([snapshot(frozen), snapshot(leader)]);
    expect(frozenNow.jti).toBe(leaderNow.jti);
    expect(jwtId(token)).not.toBe(heldAtFreeze.jti);
    expect(rec.apiCalls.filter((call) => call.sentAt >= resumedAt && call.status !== 200)).toEqual([]);
    expect(unjustifiedStaleCalls(rec)).toEqual([]);
  }, 120_000);

  it('a LEADER frozen across expiries: a follower rescues under the refresh lock, one refresh per version, nobody signed out, the thawed leader repeats nothing', async () => {
    const { session, version: v0 } = await start(3, 'frozen-leader');
    const { tabs, context } = session;
    const leader = await waitForLeader(tabs);
    const followers = tabs.filter((tab) => tab !== leader);
    await startApiLoops(tabs, API_INTERVAL_MS);

    const freeze = await freezeTab(context, leader);
    const atFreeze = maxVersion((await Promise.all(followers.map(snapshot))).map((s) => s.version));
    // The follower rescue (issue #9): a follower whose frozen leader does not answer within followerRetryMs (2 s on
    // this page) takes the cross-tab refresh lock itself, re-reads storage under it and refreshes if still current.
    // Two rotations while frozen: the rescue works more than once, and the other follower takes the rescued pair.
    await waitForAll(
      followers,
      (all) => all.every((s) => s.version >= atFreeze + 2) || all.some((s) => s.status === 'signed-out'),
      `two rotations by the followers while the leader is frozen (from version ${atFreeze})`,
      45_000,
    );
    const during = await settle(followers, world.server.counters);
    const resumedAt = await freeze.resume();

    // Thawed, the leader catches up from storage and leads the next rotation.
    const afterFreeze = maxVersion(during.versions);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= afterFreeze + 1), 'a rotation after the leader resumed', 30_000);
    await stopApiLoops(tabs);
    const settled = await settle(tabs, world.server.counters);
    const vMax = maxVersion(settled.versions);
    const c = settled.counters;

    // While frozen: the followers refreshed, one of them per version, and nobody was signed out.
    expect(during.statuses).toEqual(followers.map(() => 'authenticated'));
    expect(during.versions).toEqual(followers.map(() => afterFreeze));
    expect(followers.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBeGreaterThanOrEqual(afterFreeze - atFreeze);
    // Overall: one refresh per version (the thawed leader sent nothing for a version a follower had refreshed), no
    // invalid_grant, no revoked grant, every tab on the newest pair.
    expect(settled.versions).toEqual(tabs.map(() => vMax));
    expect(c.refreshSuccesses).toBe(vMax - v0);
    expect(browserTokenRequests(tabs)).toBe(vMax - v0);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    const recs = await allRecords(tabs);
    for (const r of recs) {
      expect(r.snapshot.forcedSignOuts).toBe(0);
      expect(unjustifiedStaleCalls(r)).toEqual([]);
    }

    // What the rescue costs (reported, not asserted): how long a follower waited for a new pair. Per rotation done
    // while the leader was frozen: from the moment the pair it replaced was due (the followers' own policy, Date.now
    // clock) to the first follower holding the new one; and how long the followers' API calls waited for a token.
    const frozenFrom = freeze.frozenAt;
    const followerRecords = recs.filter((r) => r.name !== leader.name);
    const rescueWaits: number[] = [];
    for (let version = atFreeze + 1; version <= afterFreeze; version++) {
      const due = followerRecords.map((r) => r.held.find((h) => h.version === version - 1)?.dueAt ?? null).find((at) => at !== null);
      const got = Math.min(...followerRecords.map((r) => r.held.find((h) => h.version === version)?.at ?? Infinity));
      if (due !== undefined && due !== null && Number.isFinite(got)) rescueWaits.push(got - Math.max(due, frozenFrom));
    }
    const callWaits = followerRecords
      .flatMap((r) => r.apiCalls)
      .filter((call) => call.requestedAt >= frozenFrom && call.requestedAt < resumedAt && call.obtainedAt > 0)
      .map((call) => call.obtainedAt - call.requestedAt)
      .sort((a, b) => a - b);
    const failed = followerRecords
      .flatMap((r) => r.apiCalls)
      .filter((call) => call.sentAt >= frozenFrom && call.sentAt < resumedAt && call.status !== 200).length;
    const ms = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value)} ms`);
    const sorted = [...rescueWaits].sort((a, b) => a - b);
    console.info(
      `[e2e] frozen leader, follower rescue (followerRetryMs 2000): pair due -> new pair in a follower ${sorted.map((w) => ms(w)).join(', ')} ` +
        `(${sorted.length} rotations while frozen); follower API calls waited for a token: p50 ${ms(callWaits[Math.floor(callWaits.length / 2)])}, ` +
        `max ${ms(callWaits.at(-1))} (${callWaits.length} calls, ${callWaits.filter((w) => w > 100).length} waited > 100 ms); calls not answered 200 while frozen: ${failed}`,
    );
  }, 150_000);

  it('offline across an expiry, then online: exactly one refresh after reconnect', async () => {
    const { session, version: v0 } = await start(3, 'offline');
    const { tabs, context } = session;
    const leader = await waitForLeader(tabs);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 1), 'a rotation before going offline', 30_000);
    await startApiLoops(tabs, API_INTERVAL_MS);

    await context.setOffline(true);
    const offline = await settle(tabs, world.server.counters);
    const vOffline = maxVersion(offline.versions);
    const held = (await records(leader)).held.find((h) => h.version === vOffline)!;
    // Wait (in the page's own clock) until the pair held when the network went away has expired.
    await leader.page.waitForFunction((expiresAt) => Date.now() > expiresAt + 250, held.expiresAt!, { timeout: 30_000, polling: 100 });
    const whileOffline = await settle(tabs, world.server.counters);
    expect(whileOffline.counters.tokenRequests).toBe(offline.counters.tokenRequests);
    expect(whileOffline.versions).toEqual(tabs.map(() => vOffline));
    expect(whileOffline.statuses).toEqual(tabs.map(() => 'authenticated'));

    await context.setOffline(false);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= vOffline + 1), 'a new pair after reconnecting', 30_000);
    await stopApiLoops(tabs);
    const online = await settle(tabs, world.server.counters);
    const vMax = maxVersion(online.versions);
    const c = online.counters;

    // The first rotation after reconnecting was one request: every version came from exactly one refresh.
    const events = world.server.events().filter((e) => e.type === 'token' && e.grantType === 'refresh_token');
    expect(events.every((e) => e.type === 'token' && e.ok)).toBe(true);
    expect(c.refreshSuccesses).toBe(vMax - v0);
    expect(c.refreshSuccesses - offline.counters.refreshSuccesses).toBe(vMax - vOffline);
    expect(vMax - vOffline).toBeGreaterThanOrEqual(1);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(browserTokenRequests(tabs)).toBe(vMax - v0);
    expect(online.statuses).toEqual(tabs.map(() => 'authenticated'));
    const recs = await allRecords(tabs);
    for (const r of recs) {
      expect(r.snapshot.forcedSignOuts).toBe(0);
      expect(unjustifiedStaleCalls(r)).toEqual([]);
    }
  }, 120_000);

  it('sign-out in one tab signs every tab out and revokes the refresh token at the provider', async () => {
    const { session, tokens } = await start(3, 'signout');
    const { tabs } = session;
    await startApiLoops(tabs, API_INTERVAL_MS);
    const beforeSignOut = world.server.counters();
    expect(beforeSignOut.refreshSuccesses).toBe(0); // still the initial pair: its refresh token is the one revoked

    await tabs[1]!.page.evaluate(() => window.tabauthTest!.signOut({ revoke: true }));
    await waitForAll(tabs, (all) => all.every((s) => s.status === 'signed-out' && s.signedOutReason === 'user'), 'every tab signed out');
    await stopApiLoops(tabs);
    const c = world.server.counters();
    expect(c.revocations).toBe(1);

    // The revoked refresh token is dead at the provider.
    const reuse = await fetch(world.server.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: world.server.clientId }),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');

    for (const tab of tabs) {
      const error = await tab.page.evaluate(() =>
        window.tabauthTest!.getAccessToken().then(
          () => 'token',
          (e: Error) => e.name,
        ),
      );
      expect(error).toBe('SignedOutError');
    }
    const recs = await allRecords(tabs);
    for (const r of recs) {
      expect(r.snapshot.forcedSignOuts).toBe(0);
      expect(r.refreshCalls).toEqual([]);
    }
    expect(c.refreshSuccesses).toBe(0);
  }, 90_000);

  it('a tab opened mid-run takes the current pair from IndexedDB, with no network refresh', async () => {
    const { session, version: v0 } = await start(3, 'newtab');
    const { tabs } = session;
    await startApiLoops(tabs, API_INTERVAL_MS);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 2), 'two rotations before the new tab', 30_000);
    const before = await settle(tabs, world.server.counters);

    const late = await session.openTab('late');
    const first = await waitForTab(late, (s) => s.status === 'authenticated' && s.usableAfterMs !== null, 'the new tab has a usable token');
    const rec = await records(late);
    expect(rec.held[0]!.source).toBe('storage');
    expect(rec.held[0]!.version).toBeGreaterThanOrEqual(maxVersion(before.versions));
    expect(first.refreshRequests).toBe(0);
    expect(late.tokenRequests).toBe(0);

    // It follows the next rotation like every other tab, still without refreshing itself.
    await late.page.evaluate((ms) => window.tabauthTest!.startApiLoop(ms), API_INTERVAL_MS);
    await waitForAll(tabs, (all) => all.every((s) => s.version >= first.version + 1), 'a rotation after the new tab opened', 30_000);
    await stopApiLoops(tabs);
    const settled = await settle(tabs, world.server.counters);
    const vMax = maxVersion(settled.versions);
    expect(settled.versions).toEqual(tabs.map(() => vMax));
    expect(settled.counters.refreshSuccesses).toBe(vMax - v0);
    expect(settled.counters.invalidGrant).toBe(0);
    expect(late.tokenRequests).toBe(0);
    const lateRecords = await records(late);
    expect(lateRecords.refreshCalls).toEqual([]);
    expect(missingVersions(lateRecords, rec.held[0]!.version, vMax)).toEqual([]);
    expect(unjustifiedStaleCalls(lateRecords)).toEqual([]);
    expect(lateRecords.apiCalls.filter((call) => call.status !== 200)).toEqual([]);
  }, 90_000);
});
