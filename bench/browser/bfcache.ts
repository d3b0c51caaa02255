/**
 * The back/forward cache, per library: two tabs signed in, one navigates to another page of the origin, the other
 * rotates the pair while it is away, then the first goes back. Restored (pageshow with persisted) or reloaded, with
 * Chromium's reasons when it was not restored (CDP Page.backForwardCacheNotUsed), and whether the restored tab then
 * holds the newest pair (the same access token as the tab that stayed) without anyone being signed out.
 * 'idb-floor' (a bare page with an open IndexedDB connection) is the control.
 */
import type { PageMode } from '../../test/e2e/page/api';
import { delay, openTab, snapshot, waitForTab, type Tab } from '../../test/e2e/support/tabs';
import { modeUrl, obtainAndSignIn, type BenchWorld } from './harness';

export interface BfcacheRow {
  library: PageMode;
  trials: number;
  restored: number;
  /** Chromium's reasons for every trial that was not restored. */
  reasons: string[];
  /** Trials after which the tab that went away held the same pair as the tab that stayed (null for the control). */
  newestPairAfterRestore: number | null;
  invalidGrant: number;
  forcedSignOuts: number;
}

async function trial(
  world: BenchWorld,
  library: PageMode,
  index: number,
): Promise<{ restored: boolean; reasons: string[]; newest: boolean; invalidGrant: number; forced: number }> {
  const { server, browser } = world;
  const context = await browser.newContext();
  try {
    const url = modeUrl(world, library, `bfcache-${library}-${index}`);
    const away = await openTab(context, url, `${library}-away`, 60_000);
    const stays: Tab | null = library === 'idb-floor' ? null : await openTab(context, url, `${library}-stays`, 60_000);
    const before = server.counters();
    if (stays) {
      await obtainAndSignIn(server, away);
      await waitForTab(stays, (s) => s.status === 'authenticated', 'signed in');
      await Promise.all([away, stays].map((tab) => tab.page.evaluate(() => window.tabauthTest!.getAccessToken().catch(() => ''))));
    }
    const cdp = await context.newCDPSession(away.page);
    await cdp.send('Page.enable');
    const reasons: string[] = [];
    cdp.on('Page.backForwardCacheNotUsed', (event) => reasons.push(...event.notRestoredExplanations.map((e) => e.reason)));

    const leftWith = stays ? (await snapshot(stays)).jti : null;
    await away.page.goto(`${server.origin}/callback`);
    if (stays) await waitForTab(stays, (s) => s.jti !== leftWith || s.status !== 'authenticated', 'a rotation while the other tab is away', 30_000);
    else await delay(500);
    await away.page.goBack({ waitUntil: 'commit' });
    // Restored: the same document fires pageshow (persisted). Not restored: a new document loads and starts again.
    await away.page.waitForFunction(
      () => window.tabauthTest?.lifecycle.some((entry) => entry.type === 'pageshow:persisted') === true || window.tabauthTest?.snapshot().ready === true,
      undefined,
      { timeout: 30_000, polling: 50 },
    );
    await delay(200);
    const restored = await away.page.evaluate(() => window.tabauthTest!.lifecycle.some((entry) => entry.type === 'pageshow:persisted'));
    let newest = false;
    if (stays) {
      await away.page.evaluate(() => window.tabauthTest!.getAccessToken().catch(() => ''));
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !newest) {
        const [a, b] = await Promise.all([snapshot(away), snapshot(stays)]);
        newest = a.status === 'authenticated' && b.status === 'authenticated' && a.jti === b.jti;
        if (!newest) await delay(50);
      }
    }
    const after = server.counters();
    const forced = stays ? (await snapshot(away)).forcedSignOuts + (await snapshot(stays)).forcedSignOuts : 0;
    return { restored, reasons: restored ? [] : reasons, newest, invalidGrant: after.invalidGrant - before.invalidGrant, forced };
  } finally {
    await context.close().catch(() => {});
  }
}

export async function runBfcache(world: BenchWorld, libraries: PageMode[]): Promise<BfcacheRow[]> {
  const rows: BfcacheRow[] = [];
  for (const library of [...libraries, 'idb-floor' as const]) {
    const results = [];
    for (let i = 0; i < world.settings.bfcacheTrials; i++) results.push(await trial(world, library, i));
    rows.push({
      library,
      trials: results.length,
      restored: results.filter((r) => r.restored).length,
      reasons: [...new Set(results.flatMap((r) => r.reasons))].sort(),
      newestPairAfterRestore: library === 'idb-floor' ? null : results.filter((r) => r.newest).length,
      invalidGrant: results.reduce((sum, r) => sum + r.invalidGrant, 0),
      forcedSignOuts: results.reduce((sum, r) => sum + r.forced, 0),
    });
    console.log(`bfcache ${library}: restored ${rows.at(-1)!.restored}/${results.length} ${rows.at(-1)!.reasons.join(', ')}`);
  }
  return rows;
}
