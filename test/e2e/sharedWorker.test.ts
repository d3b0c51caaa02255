// @vitest-environment node
/**
 * `sharedWorkerCoordination()` in real Chromium against oidc-provider with rotation, reuse detection and NO grace
 * period. The prebuilt worker (built from src/worker/tabauth-worker.js by the page's Vite build, the way
 * an app's bundler builds it) performs every refresh; tabs are followers.
 *
 * The server holds its answer to a refresh (the rotation is done, the response not yet sent) while the test closes or
 * crashes the tab that asked, kills the worker, or closes every tab. Ground truth is the provider's own counters;
 * assertions are counts, versions, states and event order, never timings.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSession, signIn, skipBrowserTests, startWorld, type Session, type World } from './support/session';
import { coordinationEvents, killSharedWorkers, sharedWorkerTargets, waitForCoordination } from './support/sharedWorker';
import { alive, crashTab, snapshot, waitForAll, waitForTab, type Tab } from './support/tabs';
import type { PageConfig } from './page/api';

/** Long-lived access tokens: no proactive refresh interferes; every refresh here is one a tab asked for. */
const TTL_SECONDS = 600;
const WORKER: Partial<PageConfig> = { mode: 'tabauth', leewayMs: 0, ratio: 0.5, coordination: 'shared-worker' };
const NATIVE: Partial<PageConfig> = { mode: 'tabauth', leewayMs: 0, ratio: 0.5, coordination: 'native' };

describe.skipIf(skipBrowserTests)('e2e: SharedWorker coordination against oidc-provider without a grace period', () => {
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

  async function start(tabCount: number, namespace: string, page: Partial<PageConfig> = WORKER) {
    world.server.resetCounters();
    session = await openSession(world, tabCount, { ...page, namespace });
    if (page.coordination === 'shared-worker') for (const tab of session.tabs) await waitForCoordination(tab, 'worker');
    const signedIn = await signIn(world, session);
    return { session, ...signedIn };
  }

  /** Asks `asker` for a refresh while the server holds its answer; `during` runs once the server has rotated. */
  async function refreshWhileHeld(asker: Tab, during: () => Promise<void>) {
    const hold = world.server.holdNextTokenResponse();
    await asker.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await hold.held;
    await during();
    hold.release();
  }

  const forcedSignOuts = async (tabs: Tab[]) => (await Promise.all(alive(tabs).map(snapshot))).reduce((sum, s) => sum + s.forcedSignOuts, 0);

  it('the tab that asked is closed while the worker’s request is in flight: 0 revoked grants, 0 sign-outs, the next tab reads the rotated pair', async () => {
    const { session, version: v0 } = await start(3, 'sw-close');
    const [asker, ...others] = session.tabs;
    // The worker leads: no tab does.
    expect((await Promise.all(session.tabs.map(snapshot))).map((s) => s.leader)).toEqual([false, false, false]);

    await refreshWhileHeld(asker!, () => asker!.page.close());
    await waitForAll(others, (all) => all.every((s) => s.version === v0 + 1), 'the rotated pair in the remaining tabs');
    // The rotated refresh token works: one more rotation, asked by another tab.
    await others[0]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(others, (all) => all.every((s) => s.version === v0 + 2), 'a second rotation');
    const next = await session.openTab('next');
    const opened = await snapshot(next);

    const c = world.server.counters();
    expect(opened.status).toBe('authenticated');
    expect(opened.version).toBe(v0 + 2);
    expect(c.refreshSuccesses).toBe(2);
    expect(c.invalidGrant).toBe(0);
    expect(c.reuseDetected).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(await forcedSignOuts(session.tabs)).toBe(0);
    // No tab sent a refresh itself: the worker did both.
    expect(session.tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBe(0);
  }, 120_000);

  it('the tab that asked crashes (CDP Page.crash) while the worker’s request is in flight: 0 revoked grants, 0 sign-outs', async () => {
    const { session, version: v0 } = await start(3, 'sw-crash');
    // The last tab asks: Chromium runs the worker in the renderer process of the tab that started it (the first),
    // and a renderer crash takes everything in that process along (the next test measures that case).
    const asker = session.tabs[2]!;
    const others = session.tabs.slice(0, 2);
    await refreshWhileHeld(asker, () => crashTab(session.context, asker));
    await waitForAll(others, (all) => all.every((s) => s.version === v0 + 1), 'the rotated pair in the remaining tabs');
    await others[1]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(others, (all) => all.every((s) => s.version === v0 + 2), 'a second rotation');
    const next = await session.openTab('next');

    const c = world.server.counters();
    expect(await snapshot(next)).toMatchObject({ status: 'authenticated', version: v0 + 2 });
    expect(c.refreshSuccesses).toBe(2);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(await forcedSignOuts(session.tabs)).toBe(0);
    for (const tab of others) expect(await coordinationEvents(tab)).toEqual(['worker']);
  }, 120_000);

  it('the tab whose renderer process hosts the worker crashes mid-refresh (measured): the worker dies with it, the answer is lost', async () => {
    const { session } = await start(3, 'sw-crash-host');
    const host = session.tabs[0]!;
    const others = session.tabs.slice(1);
    await refreshWhileHeld(host, () => crashTab(session.context, host));
    for (const tab of others) await waitForCoordination(tab, 'fallback:worker-lost');
    await others[0]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(others, (all) => all.every((s) => s.status === 'signed-out'), 'the lost rotation signs the tabs out');
    const c = world.server.counters();
    expect(c.reuseDetected).toBe(1);
    expect(c.grantsRevoked).toBe(1);
  }, 120_000);

  it('today’s leader-tab election, for contrast: the leader that asked is closed mid-refresh and the grant is revoked', async () => {
    const { session } = await start(3, 'native-close', NATIVE);
    const states = await Promise.all(session.tabs.map(snapshot));
    const asker = session.tabs[states.findIndex((s) => s.leader)]!;
    await refreshWhileHeld(asker, async () => {
      await asker.page.close();
      // Released only once another tab leads: the closed page is gone for good, the answer cannot reach it late.
      await waitForAll(session.tabs, (all) => all.filter((s) => s.leader).length === 1, 'a new leader');
    });
    const survivor = alive(session.tabs)[0]!;
    await survivor.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForTab(survivor, (s) => s.status === 'signed-out', 'signed out by the revoked grant');
    const c = world.server.counters();
    expect(c.reuseDetected).toBe(1);
    expect(c.grantsRevoked).toBe(1);
  }, 120_000);

  it('all tabs closed, one reopened: the new worker reads the stored pair and rotates it, nobody signed out', async () => {
    const { session, version: v0 } = await start(2, 'sw-reopen');
    await session.tabs[0]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(session.tabs, (all) => all.every((s) => s.version === v0 + 1), 'one rotation');
    for (const tab of session.tabs) await tab.page.close();
    // Keep the context alive with a blank page (its own origin-less document connects to no worker).
    await session.context.newPage();
    const reopened = await session.openTab('reopened');
    await waitForCoordination(reopened, 'worker');
    expect(await snapshot(reopened)).toMatchObject({ status: 'authenticated', version: v0 + 1, leader: false });
    await reopened.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForTab(reopened, (s) => s.version === v0 + 2, 'a rotation by the new worker');
    const c = world.server.counters();
    expect(c.refreshSuccesses).toBe(2);
    expect(c.grantsRevoked).toBe(0);
    expect(reopened.tokenRequests).toBe(0);
  }, 120_000);

  it('every tab closes while the worker’s request is in flight: the worker outlives its last tab (Chromium 156) and stores the pair', async () => {
    const { session, version: v0 } = await start(2, 'sw-close-all');
    let listedWithNoTab = false;
    await refreshWhileHeld(session.tabs[0]!, async () => {
      for (const tab of session.tabs) await tab.page.close();
      await session.context.newPage(); // about:blank keeps the context, and connects to no worker
      // The answer stays held for 3 s (below requestTimeoutMs, so no retry): the worker has no tab left meanwhile.
      const since = Date.now();
      while (Date.now() - since < 3_000) await new Promise((r) => setTimeout(r, 100));
      listedWithNoTab = (await sharedWorkerTargets(world.browser, session.context)).length > 0;
    });
    const reopened = await session.openTab('reopened');
    await waitForCoordination(reopened, 'worker');
    const first = await snapshot(reopened);
    await reopened.page.evaluate(() => window.tabauthTest!.requestRefresh());
    const after = await waitForTab(reopened, (s) => s.version > first.version || s.status === 'signed-out', 'the next refresh settled');
    const c = world.server.counters();
    console.info(
      `[e2e] all tabs closed mid-refresh: worker listed with no tab: ${listedWithNoTab}; reopened at v0+${first.version - v0}, then ${after.status}; revoked ${c.grantsRevoked}`,
    );
    expect(listedWithNoTab).toBe(true);
    expect(first.version).toBe(v0 + 1);
    expect(c.grantsRevoked).toBe(0);
    expect(after).toMatchObject({ status: 'authenticated', version: v0 + 2 });
  }, 120_000);

  it('the worker is killed (CDP Target.closeTarget): every tab falls back to the election, one tab leads, rotations go on', async () => {
    const { session, version: v0 } = await start(3, 'sw-kill');
    expect(await sharedWorkerTargets(world.browser, session.context)).toHaveLength(1);
    await killSharedWorkers(world.browser, session.context);
    for (const tab of session.tabs) await waitForCoordination(tab, 'fallback:worker-lost');
    await waitForAll(session.tabs, (all) => all.filter((s) => s.leader).length === 1, 'exactly one leader tab');
    await session.tabs[2]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(session.tabs, (all) => all.every((s) => s.version === v0 + 1), 'a rotation by the fallback leader');
    for (const tab of session.tabs) expect(await coordinationEvents(tab)).toEqual(['worker', 'fallback:worker-lost']);
    const c = world.server.counters();
    expect(c.refreshSuccesses).toBe(1);
    expect(c.grantsRevoked).toBe(0);
    expect(session.tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBe(1);
    expect(await forcedSignOuts(session.tabs)).toBe(0);
  }, 120_000);

  it('the worker is killed mid-refresh (measured): the answer is lost with it, the fallback leader re-sends the used token', async () => {
    const { session } = await start(3, 'sw-kill-mid');
    await refreshWhileHeld(session.tabs[0]!, async () => {
      await killSharedWorkers(world.browser, session.context);
    });
    for (const tab of session.tabs) await waitForCoordination(tab, 'fallback:worker-lost');
    await session.tabs[1]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(session.tabs, (all) => all.every((s) => s.status === 'signed-out'), 'the lost rotation signs every tab out');
    const c = world.server.counters();
    // The limitation the README states: no client can know the rotated pair once the worker that got it is gone.
    expect(c.reuseDetected).toBe(1);
    expect(c.grantsRevoked).toBe(1);
    for (const s of await Promise.all(session.tabs.map(snapshot))) expect(s.signedOutReason).toBe('refresh-rejected');
  }, 120_000);

  it('mixed tabs (a rolling deploy: two run the leader-tab election, two the worker): one refresh per version, 0 revoked', async () => {
    world.server.resetCounters();
    session = await openSession(world, 0, { ...WORKER, namespace: 'sw-mixed' });
    const nativeUrl = session.url.replace('coordination=shared-worker', 'coordination=native');
    const first = await session.openTab('worker-0');
    await waitForCoordination(first, 'worker');
    const plain = [];
    for (let i = 0; i < 2; i++) {
      const page = await session.context.newPage();
      await page.goto(nativeUrl);
      await page.waitForFunction(() => window.tabauthTest?.snapshot().ready === true);
      plain.push({ page, name: `native-${i}`, tokenRequests: 0, crashed: false, closed: false } as Tab);
    }
    const second = await session.openTab('worker-1');
    const tabs = [first, second, ...plain];
    const { version: v0 } = await signIn(world, { ...session, tabs });
    // Refreshes asked by each kind of tab, and two at once (a native and a worker tab ask for the same version).
    await plain[0]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(tabs, (all) => all.every((s) => s.version === v0 + 1), 'rotation 1');
    await Promise.all([second, plain[1]!].map((tab) => tab.page.evaluate(() => window.tabauthTest!.requestRefresh())));
    await waitForAll(tabs, (all) => all.every((s) => s.version >= v0 + 2), 'rotation 2');
    // The worker goes away: the native tabs never noticed it, the worker tabs fall back; still one leader.
    await killSharedWorkers(world.browser, session.context);
    for (const tab of [first, second]) await waitForCoordination(tab, 'fallback:worker-lost');
    await waitForAll(tabs, (all) => all.filter((s) => s.leader).length === 1, 'exactly one leader');
    const before = Math.max(...(await Promise.all(tabs.map(snapshot))).map((s) => s.version));
    await first.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(tabs, (all) => all.every((s) => s.version === before + 1), 'rotation after the worker left');

    const c = world.server.counters();
    expect(c.refreshSuccesses).toBe(before + 1 - v0);
    expect(c.refreshErrors).toBe(0);
    expect(c.invalidGrant).toBe(0);
    expect(c.grantsRevoked).toBe(0);
    expect(await forcedSignOuts(tabs)).toBe(0);
    for (const tab of plain) expect(await coordinationEvents(tab)).toEqual([]);
  }, 120_000);
});
