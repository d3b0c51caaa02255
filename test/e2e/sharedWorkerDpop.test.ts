// @vitest-environment node
/**
 * DPoP and `sharedWorkerCoordination()` together in real Chromium, against oidc-provider 9 with `features.dPoP`
 * (nonceSecret set, requireNonce on), refresh token rotation and reuse detection, NO grace period. The prebuilt worker
 * (built from src/worker/tabauth-worker.js by the page's Vite build) refreshes with its own `createDpop` handle over
 * the tabs' non-extractable key in IndexedDB; the tabs are followers and never send it key material.
 *
 * The server holds its answer to a refresh (rotated, not yet sent) while the test closes the tab that asked. Ground
 * truth: the provider's counters and what the tabs hold in IndexedDB; assertions are counts and states, never timing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSession, signInWithDpop, skipBrowserTests, startWorld, type Session, type World } from './support/session';
import { coordinationEvents, waitForCoordination } from './support/sharedWorker';
import { alive, snapshot, waitForAll, type Tab } from './support/tabs';
import type { DpopInfo, PageConfig } from './page/api';

/** Long-lived access tokens: every refresh here is one a tab asked for. */
const TTL_SECONDS = 600;
const PAGE: Partial<PageConfig> = { mode: 'tabauth', leewayMs: 0, ratio: 0.5, coordination: 'shared-worker', dpop: true };

const dpopInfo = (tab: Tab): Promise<DpopInfo> => tab.page.evaluate(() => window.tabauthTest!.dpop!.info());

describe.skipIf(skipBrowserTests)('e2e: DPoP with SharedWorker coordination against oidc-provider (dPoP, requireNonce, rotation, no grace period)', () => {
  let world: World;
  let session: Session | undefined;

  beforeAll(async () => {
    world = await startWorld({ accessTokenTtlSeconds: TTL_SECONDS, server: { dpop: {}, rotateRefreshToken: true } });
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it('the asking tab is closed while the worker’s DPoP refresh is held: 0 invalid_grant, 0 revoked, one key, cnf.jkt = its thumbprint', async () => {
    world.server.resetCounters();
    session = await openSession(world, 3, { ...PAGE, namespace: 'sw-dpop-close' });
    const { tabs } = session;
    for (const tab of tabs) await waitForCoordination(tab, 'worker');
    const { version: v0 } = await signInWithDpop(world, session);
    const [asker, ...others] = tabs;

    const hold = world.server.holdNextTokenResponse();
    await asker!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await hold.held;
    await asker!.page.close();
    hold.release();
    await waitForAll(others, (all) => all.every((s) => s.version === v0 + 1), 'the rotated pair in the remaining tabs');
    // The rotated, DPoP-bound refresh token works: one more rotation, asked by another tab, again by the worker.
    await others[0]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(others, (all) => all.every((s) => s.version === v0 + 2), 'a second rotation');
    const next = await session.openTab('next');
    await waitForCoordination(next, 'worker');

    const c = { ...world.server.counters(), ...world.server.dpopCounters() };
    expect(await snapshot(next)).toMatchObject({ status: 'authenticated', version: v0 + 2 });
    expect(c.refreshSuccesses).toBe(2);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.reuseDetected).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    const states = await Promise.all(alive(tabs).map(snapshot));
    expect(states.reduce((sum, s) => sum + s.forcedSignOuts, 0)).toBe(0);
    expect(states.map((s) => s.leader)).toEqual(states.map(() => false));
    // No tab sent a refresh itself: the worker sent both, with proofs (a bound token refreshed without one is
    // invalid_grant at oidc-provider).
    expect(tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBe(0);
    for (const tab of alive(tabs)) expect(await coordinationEvents(tab)).toEqual(['worker']);
    // The worker's first refresh met the token endpoint's nonce challenge (retried at once); its second carried the
    // nonce it had learnt and stored for every tab.
    const refreshChallenges = world.server
      .events()
      .filter((e) => e.type === 'token' && e.grantType === 'refresh_token' && !e.ok && e.error === 'use_dpop_nonce');
    expect(refreshChallenges).toHaveLength(1);

    // One key in IndexedDB, the one every tab signs with, non-extractable; the tokens the worker got are bound to it.
    const infos = await Promise.all(alive(tabs).map(dpopInfo));
    expect(new Set(infos.map((info) => info.thumbprint)).size).toBe(1);
    for (const info of infos) {
      expect(info.storedKeys).toBe(1);
      expect(info.storedThumbprint).toBe(info.thumbprint);
      expect(info.tokenJkt).toBe(info.thumbprint);
      expect(info.privateKeyExtractable).toBe(false);
    }
    console.info(
      `[e2e sw+dpop] ${c.refreshSuccesses} refreshes by the worker, invalid_grant ${c.invalidGrant}, revoked ${c.grantsRevoked}, token nonce challenges ${c.tokenNonceChallenges}, keys stored ${infos[0]!.storedKeys}`,
    );
  }, 150_000);
});
