/**
 * tabauth's leader takeover: the leader tab is closed (`page.close()`) or crashed (CDP `Page.crash`), and the time
 * to the next tab's `leadership-gained` is measured, from the same instant and the same way as before (Node's clock
 * when the close starts, the next tab's clock when it leads).
 *
 * Floor: the same with bare pages (mode 'idb-floor', no library), N of them in a context of their own, each
 * requesting two bare exclusive Web Locks and recording when it gets them. One is let go on `pagehide`, as tabauth's
 * election does: the floor. The other is held until the browser releases it with the page: what a holder without a
 * pagehide handler gets (after a crash no pagehide runs, so there both are the browser's release). Bare pages, not
 * locks inside tabauth's tabs: there the next tab would handle tabauth's own handoff first, which delays a probe
 * lock's grant callback and would flatter tabauth.
 */
import type { BrowserContext } from 'playwright-core';
import { alive, crashTab, delay, openTab, snapshot, snapshots, waitForLeader, type Tab } from '../../test/e2e/support/tabs';
import { modeUrl, type BenchWorld } from './harness';
import { summarize, type Summary } from './stats';

export interface TakeoverFigures {
  close: Summary;
  crash: Summary;
  /** Floor: a bare Web Lock, let go on pagehide, handed over after its page is closed. */
  closeFloor: Summary;
  /** A bare Web Lock held until the browser releases it with the closed page. */
  closeHeldLock: Summary;
  /** A bare Web Lock handed over after its page crashed. */
  crashFloor: Summary;
  /** Refresh requests sent during the takeovers beyond the rotations that were due. */
  extraRefreshes: number;
}

const FLOOR_LOCK = 'bench-floor-lock';
const HELD_LOCK = 'bench-held-lock';

async function measureTabauth(world: BenchWorld, context: BrowserContext, url: string, tabs: Tab[]) {
  const close: number[] = [];
  const crash: number[] = [];
  for (let i = 0; i < world.settings.samples * 2; i++) {
    while (alive(tabs).length < 2) tabs.push(await openTab(context, url, `takeover-extra-${i}-${tabs.length}`, 60_000));
    const leader = await waitForLeader(tabs);
    const t0 = Date.now();
    if (i % 2 === 0) await leader.page.close();
    else await crashTab(context, leader);
    const next = await waitForLeader(tabs);
    (i % 2 === 0 ? close : crash).push((await snapshot(next)).leadershipAt.at(-1)! - t0);
  }
  return { close, crash };
}

const grantedAt = (tab: Tab, lock: string) => tab.page.evaluate((name) => window.tabauthTest!.probes.lockGrantedAt(name), lock);

async function waitForHolder(tabs: Tab[], lock: string, timeoutMs = 30_000): Promise<{ tab: Tab; at: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = alive(tabs);
    const granted = await Promise.all(live.map((tab) => grantedAt(tab, lock)));
    const index = granted.findIndex((at) => at !== null);
    if (index >= 0) return { tab: live[index]!, at: granted[index]! };
    if (Date.now() > deadline) throw new Error(`no tab holds ${lock}`);
    await delay(20);
  }
}

async function measureFloor(world: BenchWorld, tabCount: number, namespace: string) {
  const context = await world.browser.newContext();
  const url = modeUrl(world, 'idb-floor', `${namespace}-locks`);
  const tabs: Tab[] = [];
  const open = async (name: string) => {
    const tab = await openTab(context, url, name, 60_000);
    await tab.page.evaluate(
      ([floor, held]) => {
        window.tabauthTest!.probes.holdLock(floor, true);
        window.tabauthTest!.probes.holdLock(held, false);
      },
      [FLOOR_LOCK, HELD_LOCK] as const,
    );
    tabs.push(tab);
  };
  const close: number[] = [];
  const held: number[] = [];
  const crash: number[] = [];
  try {
    for (let i = 0; i < tabCount; i++) await open(`lock-floor-${i}`);
    for (let i = 0; i < world.settings.samples * 2; i++) {
      while (alive(tabs).length < 2) await open(`lock-floor-extra-${i}-${tabs.length}`);
      const holder = await waitForHolder(tabs, FLOOR_LOCK);
      const heldHolder = await waitForHolder(tabs, HELD_LOCK);
      const t0 = Date.now();
      if (i % 2 === 0) await holder.tab.page.close();
      else await crashTab(context, holder.tab);
      (i % 2 === 0 ? close : crash).push((await waitForHolder(tabs, FLOOR_LOCK)).at - t0);
      if (i % 2 === 0 && heldHolder.tab === holder.tab) held.push((await waitForHolder(tabs, HELD_LOCK)).at - t0);
    }
  } finally {
    await context.close().catch(() => {});
  }
  return { close, held, crash };
}

export async function runTakeovers(world: BenchWorld, context: BrowserContext, url: string, tabs: Tab[], namespace: string): Promise<TakeoverFigures> {
  const { server } = world;
  const tabCount = alive(tabs).length;
  const before = server.counters();
  const versionBefore = Math.max(...(await snapshots(tabs)).map((s) => s.version));
  const tabauth = await measureTabauth(world, context, url, tabs);
  const versionAfter = Math.max(...(await snapshots(tabs)).map((s) => s.version));
  const after = server.counters();
  const floor = await measureFloor(world, tabCount, namespace);
  return {
    close: summarize(tabauth.close),
    crash: summarize(tabauth.crash),
    closeFloor: summarize(floor.close),
    closeHeldLock: summarize(floor.held),
    crashFloor: summarize(floor.crash),
    extraRefreshes: after.refreshSuccesses + after.refreshErrors - (before.refreshSuccesses + before.refreshErrors) - (versionAfter - versionBefore),
  };
}
