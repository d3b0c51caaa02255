/**
 * tabauth's leader takeover: the leader tab is closed (`page.close()`) or crashed (CDP `Page.crash`), and the time
 * to the next tab's `leadership-gained` is measured. Floors, paired sample by sample: every tab also requests two
 * bare Web Locks, queued in the same tab order as tabauth's election, so the tab that goes away holds all three and
 * the same next tab gets them. One bare lock is let go on `pagehide`, as tabauth's election does: the floor. The
 * other is held until the browser releases it with the page, which is what a lock holder without a pagehide
 * handler gets (and what every holder gets after a crash, where no pagehide runs).
 */
import type { BrowserContext } from 'playwright-core';
import { alive, crashTab, openTab, snapshot, snapshots, waitForLeader, delay, type Tab } from '../../test/e2e/support/tabs';
import type { BenchWorld } from './harness';
import { summarize, type Summary } from './stats';

export interface TakeoverFigures {
  close: Summary;
  crash: Summary;
  /** Floor: the bare Web Lock (let go on pagehide) handed over after the same close. */
  closeFloor: Summary;
  /** The bare Web Lock held until the browser releases it with the closed page. */
  closeHeldLock: Summary;
  crashFloor: Summary;
  /** Samples where the same tab got the bare lock and tabauth's leadership (all of them, when the queues agree). */
  pairedSamples: number;
  /** Refresh requests sent during the takeovers beyond the rotations that were due. */
  extraRefreshes: number;
}

const FLOOR_LOCK = 'bench-floor-lock';
const HELD_LOCK = 'bench-held-lock';

async function holdFloorLocks(tab: Tab): Promise<void> {
  await tab.page.evaluate(([floor, held]) => {
    window.tabauthTest!.probes.holdLock(floor, true);
    window.tabauthTest!.probes.holdLock(held, false);
  }, [FLOOR_LOCK, HELD_LOCK] as const);
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

export async function runTakeovers(world: BenchWorld, context: BrowserContext, url: string, tabs: Tab[]): Promise<TakeoverFigures> {
  const { server, settings } = world;
  // Same order as the tabs joined tabauth's election.
  for (const tab of alive(tabs)) await holdFloorLocks(tab);
  const before = server.counters();
  const versionBefore = Math.max(...(await snapshots(tabs)).map((s) => s.version));
  const close: number[] = [];
  const crash: number[] = [];
  const closeFloor: number[] = [];
  const closeHeldLock: number[] = [];
  const crashFloor: number[] = [];
  let paired = 0;
  for (let i = 0; i < settings.samples * 2; i++) {
    while (alive(tabs).length < 2) {
      const tab = await openTab(context, url, `takeover-extra-${i}-${tabs.length}`, 60_000);
      tabs.push(tab);
      await holdFloorLocks(tab);
    }
    const leader = await waitForLeader(tabs);
    const holder = await waitForHolder(tabs, FLOOR_LOCK);
    const heldHolder = await waitForHolder(tabs, HELD_LOCK);
    const byClose = i % 2 === 0;
    const t0 = Date.now();
    if (byClose) await leader.page.close();
    else await crashTab(context, leader);
    const next = await waitForLeader(tabs);
    const gained = (await snapshot(next)).leadershipAt.at(-1)!;
    (byClose ? close : crash).push(gained - t0);
    if (holder.tab === leader) {
      const floorNext = await waitForHolder(tabs, FLOOR_LOCK);
      (byClose ? closeFloor : crashFloor).push(floorNext.at - t0);
      if (floorNext.tab === next) paired++;
    }
    if (byClose && heldHolder.tab === leader) closeHeldLock.push((await waitForHolder(tabs, HELD_LOCK)).at - t0);
  }
  const versionAfter = Math.max(...(await snapshots(tabs)).map((s) => s.version));
  const after = server.counters();
  return {
    close: summarize(close),
    crash: summarize(crash),
    closeFloor: summarize(closeFloor),
    closeHeldLock: summarize(closeHeldLock),
    crashFloor: summarize(crashFloor),
    pairedSamples: paired,
    extraRefreshes: after.refreshSuccesses + after.refreshErrors - (before.refreshSuccesses + before.refreshErrors) - (versionAfter - versionBefore),
  };
}
