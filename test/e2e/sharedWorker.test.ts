// @vitest-environment node
/**
 * `sharedWorkerCoordination()` in real Chromium against oidc-provider with rotation, reuse detection and NO grace
 * period. The prebuilt worker (built from src/core/coordination/tabauth-worker.js by the page's Vite build, the way
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
});
