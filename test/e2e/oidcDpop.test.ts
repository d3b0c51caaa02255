// @vitest-environment node
/**
 * The real DPoP login in Chromium: tabauth/oidc's `createOidcLogin({ dpop })` (test/e2e/oidcPage with DPoP on)
 * through oidc-provider's login and consent pages, the provider with `features.dPoP` and `requireNonce`. The login
 * makes a pending key, binds the code to it (`dpop_jkt`), exchanges it with a proof and promotes the key as it signs
 * in; the tabs then refresh with it. Assertions are states and counts from the provider and IndexedDB, never timing.
 */
import type { BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OidcDpopInfo } from './oidcPage/api';
import { logInThroughProvider, newContext, openAppTab, snapshot, startOidcWorld, waitForTabs, type AppTab, type OidcWorld } from './support/oidcApp';
import { skipBrowserTests } from './support/session';

const TTL_SECONDS = 4;
const ROTATIONS = 3;
const dpopInfo = (tab: AppTab): Promise<OidcDpopInfo> => tab.page.evaluate(() => window.oidcTest!.dpopInfo!());

describe.skipIf(skipBrowserTests)('e2e: DPoP login with tabauth/oidc in real Chromium tabs against oidc-provider (dPoP, requireNonce)', () => {
  let world: OidcWorld;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    world = await startOidcWorld({ accessTokenTtlSeconds: TTL_SECONDS, dpop: { requireNonce: true } });
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await context?.close().catch(() => {});
    context = undefined;
  });

  it('login in tab 1 through createOidcLogin({ dpop }); 3 tabs refresh: 0 invalid_grant, one key in IndexedDB, cnf.jkt is its thumbprint', async () => {
    world.server.resetCounters();
    context = await newContext(world, { dpop: true });
    const tabs: AppTab[] = [];
    for (let i = 1; i <= 3; i++) tabs.push(await openAppTab(context, world, `tab${i}`));

    await logInThroughProvider(tabs[0]!, 'user-1');
    const signedIn = await waitForTabs(
      tabs,
      (s) => s.every((one) => one.status === 'authenticated' && one.idSub === 'user-1' && one.route === 'home'),
      'user-1 signed in everywhere',
    );
    const v0 = signedIn[0]!.version;
    expect(world.server.counters().codeExchanges).toBe(1);
    // The token endpoint required its nonce: the exchange met one challenge and was sent again at once.
    expect(world.server.dpopCounters().tokenNonceChallenges).toBeGreaterThanOrEqual(1);

    await waitForTabs(tabs, (s) => s.every((one) => one.version >= v0 + ROTATIONS), `${ROTATIONS} rotations in every tab`, 90_000);
    const counters = world.server.counters();
    expect(counters).toMatchObject({ refreshErrors: 0, invalidGrant: 0, grantsRevoked: 0, reuseDetected: 0, codeExchanges: 1 });
    expect(counters.refreshSuccesses).toBeGreaterThanOrEqual(ROTATIONS);

    const infos = await Promise.all(tabs.map(dpopInfo));
    const key = infos[0]!.storedThumbprint;
    expect(key).not.toBeNull();
    for (const info of infos) expect(info).toEqual({ thumbprint: key, storedKeys: 1, storedThumbprint: key, tokenJkt: key });
    expect((await Promise.all(tabs.map(snapshot))).map((s) => s.status)).toEqual(['authenticated', 'authenticated', 'authenticated']);
  }, 150_000);

  it('logout with revoke: the revocation of the DPoP-bound refresh token reaches the provider and revokes the grant', async () => {
    world.server.resetCounters();
    context = await newContext(world, { dpop: true });
    const tabs = [await openAppTab(context, world, 'tab1'), await openAppTab(context, world, 'tab2')];
    await logInThroughProvider(tabs[0]!, 'user-1');
    await waitForTabs(tabs, (s) => s.every((one) => one.status === 'authenticated' && one.route === 'home'), 'signed in everywhere');

    await tabs[1]!.page.locator('#logout').click();
    await tabs[1]!.page.waitForURL((url) => url.pathname === '/session/end');
    const events = world.server.events().filter((e) => e.type === 'revocation');
    expect(events.map((e) => (e as { status: number }).status)).toEqual([200]);
    expect(world.server.counters()).toMatchObject({ revocations: 1, grantsRevoked: 1 });
    expect(await snapshot(tabs[0]!)).toMatchObject({ status: 'signed-out' });
  }, 150_000);
});
