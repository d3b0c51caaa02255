// @vitest-environment node
/**
 * The back/forward cache in real Chromium: a tabauth page that the user navigates away from and back to is restored
 * from the cache (not reloaded), and holds the newest pair afterwards although another tab refreshed while it was
 * cached. Chromium runs with its back/forward cache on (Playwright turns it off by default) and the page is served
 * `Cache-Control: no-cache` (a `no-store` page is never cached).
 *
 * What blocked tabauth pages before: the `unload` listener of broadcast-channel's leader election
 * (UnloadHandlerExistsInMainFrame). What would block or evict them now if the native coordination did not let go on
 * `pagehide`: a held or requested Web Lock, and a BroadcastChannel message arriving while the page is cached.
 */
import type { BrowserContext, CDPSession } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSession, signIn, skipBrowserTests, startWorld, type Session, type World } from './support/session';
import { jwtId } from './page/api';
import { records, snapshot, waitForAll, waitForLeader, waitForTab, type Tab } from './support/tabs';

/** Long enough that no rotation falls between the restore and the checks after it (a rotation every 4 s). */
const TTL_SECONDS = 8;
const PAGE = { mode: 'tabauth' as const, leewayMs: 0, ratio: 0.5 };

interface CacheWatch {
  /** Chromium's reasons, per navigation, for not using the back/forward cache (CDP Page.backForwardCacheNotUsed). */
  notUsed: unknown[];
  /** Event types with a listener on `window`, as DevTools lists them. */
  windowListenerTypes(): Promise<string[]>;
}

async function watchCache(context: BrowserContext, tab: Tab): Promise<CacheWatch> {
  const cdp: CDPSession = await context.newCDPSession(tab.page);
  await cdp.send('Page.enable');
  const notUsed: unknown[] = [];
  cdp.on('Page.backForwardCacheNotUsed', (event) => notUsed.push(event.notRestoredExplanations));
  return {
    notUsed,
    async windowListenerTypes() {
      const { result } = await cdp.send('Runtime.evaluate', { expression: 'window' });
      const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId! });
      return [...new Set(listeners.map((listener) => listener.type))].sort();
    },
  };
}

describe.skipIf(skipBrowserTests)('e2e: back/forward cache (Chromium with its bfcache on)', () => {
  let world: World;
  let session: Session | undefined;

  beforeAll(async () => {
    world = await startWorld({ accessTokenTtlSeconds: TTL_SECONDS, backForwardCache: true });
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it.each(['leader', 'follower'] as const)(
    'the %s navigates away and back: restored from the cache, and it holds the pair another tab refreshed meanwhile',
    async (role) => {
      world.server.resetCounters();
      session = await openSession(world, 2, { ...PAGE, namespace: `bfcache-${role}` });
      const { version: v0 } = await signIn(world, session);
      const leader = await waitForLeader(session.tabs);
      const away = role === 'leader' ? leader : session.tabs.find((tab) => tab !== leader)!;
      const stays = session.tabs.find((tab) => tab !== away)!;
      const watch = await watchCache(session.context, away);

      // Nothing in the page listens to unload (or beforeunload, which broadcast-channel's `unload` package adds too).
      const types = await watch.windowListenerTypes();
      expect(types).not.toContain('unload');
      expect(types).not.toContain('beforeunload');
      expect(types).toEqual(expect.arrayContaining(['pagehide', 'pageshow']));

      // Away to another page of the origin; the other tab leads (a leader hands over on pagehide) and refreshes.
      await away.page.goto(`${world.server.origin}/callback`);
      await waitForTab(stays, (s) => s.leader, 'the remaining tab leads', 30_000);
      const afterRefresh = await waitForTab(stays, (s) => s.version > v0, 'a rotation while the other page is cached', 30_000);

      // Back: restored from the cache. goBack's default waits for `load`, which a restored page never fires again.
      await away.page.goBack({ waitUntil: 'commit' });
      await away.page.waitForFunction(() => window.tabauthTest?.lifecycle.some((entry) => entry.type === 'pageshow:persisted') === true, undefined, {
        timeout: 30_000,
        polling: 50,
      });
      expect(watch.notUsed).toEqual([]);
      const lifecycle = (await records(away)).lifecycle.map((entry) => entry.type);
      expect(lifecycle.filter((type) => type.startsWith('page'))).toEqual(['pageshow', 'pagehide:persisted', 'pageshow:persisted']); // load, cached, restored

      // The restored page is the same document (nothing reloaded) and catches up: its first token after the restore
      // is at least the pair the other tab refreshed to while it was cached.
      const call = await away.page.evaluate(() => window.tabauthTest!.callApi());
      expect(call.status).toBe(200);
      expect(call.version).toBeGreaterThanOrEqual(afterRefresh.version);
      const [awayState, staysState] = await waitForAll(
        session.tabs,
        (all) => all.every((s) => s.status === 'authenticated' && s.version === all[0]!.version),
        'both tabs on one version',
      );
      expect(awayState!.jti).toBe(staysState!.jti);
      expect(jwtId((await away.page.evaluate(() => window.tabauthTest!.getAccessToken())) || null)).toBe(awayState!.jti);

      // One leader again, and the rotation rules held: one refresh per version, nothing reused.
      await waitForLeader(session.tabs);
      const awayRecords = await records(away);
      const gained = awayRecords.events.filter((entry) => entry.event.type === 'leadership-gained').length;
      const lost = awayRecords.events.filter((entry) => entry.event.type === 'leadership-lost').length;
      if (role === 'leader') expect(lost).toBeGreaterThanOrEqual(1); // it let go on pagehide
      expect(gained - lost).toBe((await snapshot(away)).leader ? 1 : 0);
      const counters = world.server.counters();
      expect(counters.invalidGrant).toBe(0);
      expect(counters.reuseDetected).toBe(0);
      expect(counters.grantsRevoked).toBe(0);
      expect(counters.refreshSuccesses).toBe(Math.max(awayState!.version, staysState!.version) - v0);
    },
    90_000,
  );
});
