// @vitest-environment node
/**
 * DPoP in real Chromium tabs against oidc-provider 9 with `features.dPoP` (nonceSecret set, requireNonce on), the
 * client registered with `dpop_bound_access_tokens`, and /api/me checking proofs and `cnf.jkt` bindings with jose.
 * The login is the real code + PKCE flow with `dpop_jkt`, redeemed in the tab with oauth4webapi's DPoP handle on
 * tabauth's key pair (the seam tabauth/oidc uses).
 *
 * Ground truth: the provider's own counters and events, the API's verdicts, and what the tabs hold in IndexedDB.
 * Assertions are counts and states; waits are conditions, never sleeps sized to make a timing work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allRecords, settle } from './support/checks';
import { openSession, signInWithDpop, skipBrowserTests, startApiLoops, startWorld, stopApiLoops, type Session, type World } from './support/session';
import { openTab, pageConfig, pageUrl, snapshot, waitForAll, waitForLeader, type Tab } from './support/tabs';
import type { DpopInfo } from './page/api';

const TTL_SECONDS = 5;
const PAGE = { mode: 'tabauth' as const, leewayMs: 0, ratio: 0.5, dpop: true };
const API_INTERVAL_MS = 350;

const dpopInfo = (tab: Tab): Promise<DpopInfo> => tab.page.evaluate(() => window.tabauthTest!.dpop!.info());
const maxVersion = (versions: number[]) => Math.max(...versions);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

for (const rotation of [true, false] as const) {
  describe.skipIf(skipBrowserTests)(`e2e DPoP: Chromium tabs against oidc-provider, rotateRefreshToken ${rotation ? 'on' : 'off'}`, () => {
    let world: World;
    let session: Session | undefined;

    beforeAll(async () => {
      world = await startWorld({ accessTokenTtlSeconds: TTL_SECONDS, server: { dpop: {}, rotateRefreshToken: rotation } });
    });
    afterAll(async () => {
      await world?.close();
    });
    afterEach(async () => {
      await session?.close();
      session = undefined;
    });

    it('4 tabs, 8 refreshes: one request per refresh, 0 invalid_grant, every token bound to the one non-extractable key, nonce retries counted', async () => {
      world.server.resetCounters();
      session = await openSession(world, 4, { ...PAGE, namespace: `dpop-${rotation}` });
      const { tabs } = session;
      const { version: v0, tokens } = await signInWithDpop(world, session);
      expect(tokens.token_type.toLowerCase()).toBe('dpop');
      await startApiLoops(tabs, API_INTERVAL_MS);
      await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 8), 'eight refreshes in every tab', 90_000);
      // The first calls met the resource server's nonce requirement with none.
      const challengesBefore = world.server.dpopCounters().apiNonceChallenges;
      expect(challengesBefore).toBeGreaterThanOrEqual(1);
      // A new resource nonce mid-run: the API calls that meet it are sent again at once, without a refresh. The wait is
      // for both a refresh and a challenged call: a refresh can land before any tab's next call (CI saw it once).
      world.server.rotateResourceNonce();
      world.server.rotateResourceNonce();
      const atRotation = maxVersion((await Promise.all(tabs.map(snapshot))).map((s) => s.version));
      await waitForAll(
        tabs,
        (all) => all.every((s) => s.version >= atRotation + 1) && world.server.dpopCounters().apiNonceChallenges > challengesBefore,
        'a refresh and a challenged API call after the nonce changed',
        30_000,
      );
      await stopApiLoops(tabs);
      const settled = await settle(tabs, world.server.counters);
      const vMax = maxVersion(settled.versions);
      const c = { ...settled.counters, ...world.server.dpopCounters() };

      // One request per refresh (the nonce challenges are counted apart), nothing refused, nobody signed out.
      expect(settled.versions).toEqual(tabs.map(() => vMax));
      expect(settled.statuses).toEqual(tabs.map(() => 'authenticated'));
      expect(c.refreshSuccesses).toBe(vMax - v0);
      expect(c.refreshErrors).toBe(0);
      expect(c.invalidGrant).toBe(0);
      expect(c.reuseDetected).toBe(0);
      expect(c.grantsRevoked).toBe(0);
      expect(c.apiNonceChallenges).toBeGreaterThan(challengesBefore); // the calls after the new nonce
      expect(c.apiDpopRejected).toBe(0);

      const recs = await allRecords(tabs);
      const refreshers = recs.filter((r) => r.refreshCalls.length > 0);
      expect(refreshers).toHaveLength(1);
      expect(sum(recs.map((r) => r.refreshCalls.length))).toBe(vMax - v0);
      // Every nonce challenge of a refresh or an API call is a retry the tabs counted (the login's own challenge was
      // oauth4webapi's, in the code exchange).
      const refreshChallenges = world.server
        .events()
        .filter((e) => e.type === 'token' && e.grantType === 'refresh_token' && !e.ok && e.error === 'use_dpop_nonce').length;
      expect(refreshChallenges).toBe(1); // the first refresh; the nonce it learnt served every later one
      expect(sum(recs.map((r) => r.metrics.dpop_nonce_retries ?? 0))).toBe(refreshChallenges + c.apiNonceChallenges);
      // Keys: one when the four tabs started (one of them created it, the others waited and read it), one for the login.
      const created = recs.flatMap((r) => r.events.map((e) => e.event)).filter((e) => e.type === 'dpop-key-created');
      expect(created.map((e) => e.reason).sort()).toEqual(['first-use', 'login']);
      expect(sum(recs.map((r) => r.metrics.dpop_keys_created ?? 0))).toBe(2);
      for (const r of recs) expect(r.snapshot.forcedSignOuts).toBe(0);
      const calls = recs.flatMap((r) => r.apiCalls);
      expect(calls.length).toBeGreaterThan(20);
      expect(calls.filter((call) => call.status !== 200)).toEqual([]);

      // One key: every tab signs with it, it is the only key in IndexedDB, the tokens are bound to it, and its
      // private half cannot be read.
      const infos = await Promise.all(tabs.map(dpopInfo));
      expect(new Set(infos.map((info) => info.thumbprint)).size).toBe(1);
      for (const info of infos) {
        expect(info.storedKeys).toBe(1);
        expect(info.storedThumbprint).toBe(info.thumbprint);
        expect(info.tokenJkt).toBe(info.thumbprint);
        expect(info.privateKeyExtractable).toBe(false);
        expect(info.exportError).toBe('InvalidAccessError');
      }
      // Rotation off: every refresh answered with the same refresh token, which every tab still holds.
      for (const info of infos) {
        if (rotation) expect(info.refreshToken).not.toBe(tokens.refresh_token);
        else expect(info.refreshToken).toBe(tokens.refresh_token);
      }
      console.info(
        `[e2e dpop rotation=${rotation}] ${vMax - v0} refreshes, ${calls.length} API calls, nonce challenges: token ${c.tokenNonceChallenges}, api ${c.apiNonceChallenges}`,
      );
    }, 150_000);

    if (rotation) {
      it('the leader closes: the next leader refreshes with the same key and the shared nonce, no invalid_grant', async () => {
        world.server.resetCounters();
        session = await openSession(world, 3, { ...PAGE, namespace: 'dpop-takeover' });
        const { tabs } = session;
        const { version: v0 } = await signInWithDpop(world, session);
        await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 2), 'two refreshes under the first leader', 30_000);
        const challengesBefore = world.server.dpopCounters().tokenNonceChallenges;
        const first = await waitForLeader(tabs);
        await first.page.close();
        const next = await waitForLeader(tabs);
        expect(next).not.toBe(first);
        const atClose = maxVersion((await Promise.all(tabs.filter((t) => !t.closed).map(snapshot))).map((s) => s.version));
        await waitForAll(tabs, (all) => all.every((s) => s.version >= atClose + 2), 'two refreshes under the next leader', 30_000);
        const settled = await settle(tabs, world.server.counters);
        const c = settled.counters;
        expect(c.invalidGrant).toBe(0);
        expect(c.refreshErrors).toBe(0);
        expect(c.refreshSuccesses).toBe(maxVersion(settled.versions) - v0);
        // The next leader had the nonce from the first one: it paid no failed round trip.
        expect(world.server.dpopCounters().tokenNonceChallenges).toBe(challengesBefore);
        expect(next.tokenRequests).toBeGreaterThanOrEqual(2);
      }, 120_000);

      it('sign-out deletes the key in IndexedDB for every tab; the next login gets a new key', async () => {
        session = await openSession(world, 2, { ...PAGE, namespace: 'dpop-signout' });
        const { tabs } = session;
        await signInWithDpop(world, session);
        const before = await dpopInfo(tabs[1]!);
        await tabs[0]!.page.evaluate(() => window.tabauthTest!.signOut({ revoke: true }));
        await waitForAll(tabs, (all) => all.every((s) => s.status === 'signed-out'), 'every tab signed out');
        const stored = await tabs[1]!.page.evaluate(async () => {
          const db = await new Promise<IDBDatabase>((resolve) => {
            const request = indexedDB.open('tabauth');
            request.onsuccess = () => resolve(request.result);
          });
          const keys = await new Promise<IDBValidKey[]>((resolve) => {
            const request = db.transaction('keyval').objectStore('keyval').getAllKeys();
            request.onsuccess = () => resolve(request.result);
          });
          db.close();
          return keys.map(String).filter((key) => key.endsWith(':dpop-key'));
        });
        expect(stored).toEqual([]);
        await signInWithDpop(world, session, tabs[1]!);
        const after = await dpopInfo(tabs[0]!);
        expect(after.thumbprint).not.toBe(before.thumbprint);
        expect(after.tokenJkt).toBe(after.thumbprint);
        expect(after.storedKeys).toBe(1);
      }, 90_000);
    }
  });
}

describe.skipIf(skipBrowserTests)('e2e DPoP: tabs opened at the same moment', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ accessTokenTtlSeconds: TTL_SECONDS, server: { dpop: {} } });
  });
  afterAll(async () => {
    await world?.close();
  });

  for (const locks of [true, false]) {
    it(`8 tabs that need their key at the same moment create one (${locks ? 'Web Locks' : 'no Web Locks: compare-and-set alone'})`, async () => {
      const context = await world.browser.newContext();
      try {
        const config = pageConfig(world.server, { ...PAGE, namespace: `dpop-race-${locks}`, dpopLocks: locks, dpopStart: 'signal' });
        const url = pageUrl(world.server, config);
        const tabs = await Promise.all(Array.from({ length: 8 }, (_, i) => openTab(context, url, `race-${i}`, 60_000)));
        // One BroadcastChannel message starts the key lookup in all tabs at once (page loads alone are ms apart).
        await tabs[0]!.page.evaluate(() => window.tabauthTest!.dpop!.startTogether());
        const infos = await Promise.all(tabs.map(dpopInfo));
        const recs = await allRecords(tabs);
        expect(new Set(infos.map((info) => info.thumbprint)).size).toBe(1);
        expect(infos.every((info) => info.storedKeys === 1 && info.storedThumbprint === info.thumbprint)).toBe(true);
        const events = recs.flatMap((r) => r.events.map((e) => e.event));
        expect(events.filter((e) => e.type === 'dpop-key-created')).toHaveLength(1);
        const adopted = events.filter((e) => e.type === 'dpop-key-adopted');
        expect(adopted).toHaveLength(7);
        if (locks) expect(adopted.every((e) => e.source === 'storage')).toBe(true); // nobody generated a key in vain
        console.info(`[e2e dpop race, locks=${locks}] adopted: ${adopted.map((e) => e.source).join(',')}`);
      } finally {
        await context.close();
      }
    }, 90_000);
  }
});
