/**
 * SharedWorker bench (`npm run bench:worker`): tabauth with the leader-tab election next to tabauth with
 * `sharedWorkerCoordination()`, real Chromium tabs against oidc-provider (rotation, reuse detection, no grace period).
 *
 *   rotations   N tabs, 3-second tokens refreshed at half-life, until ROTATIONS rotations: refresh requests per
 *               rotation at the provider, invalid_grant, revoked grants; propagation = the provider answered ->
 *               the last tab holds the pair (the same measure for both: in worker mode no tab receives the answer);
 *   new tab     navigation start -> first usable access token, NEW_TABS samples;
 *   asking tab  TRIALS trials of: a tab asks for a refresh (with the election: the leader, whose own request it is),
 *   closed      the provider holds its answer, the tab is closed, the answer is released; revoked grants, and the
 *               time from the release to every remaining tab holding the rotated pair (worker), or from the close
 *               to the new leader (election: the leader that asked is gone, its answer with it).
 *
 * Writes bench/results-sharedworker.json and docs/bench-sharedworker.md. Environment: BENCH_TABS=2,8
 * BENCH_ROTATIONS=12 BENCH_NEW_TABS=10 BENCH_TRIALS=5.
 */
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import type { PageConfig } from '../test/e2e/page/api';
import { signIn, startWorld, type Session, type World } from '../test/e2e/support/session';
import { waitForCoordination } from '../test/e2e/support/sharedWorker';
import { alive, openTab, pageConfig, pageUrl, records, snapshot, waitForAll, waitForTab, type Tab } from '../test/e2e/support/tabs';
import { formatSummary, summarize, type Summary } from './browser/stats';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const TAB_COUNTS = env('BENCH_TABS', '2,8').split(',').map(Number);
const ROTATIONS = Number(env('BENCH_ROTATIONS', '12'));
const NEW_TABS = Number(env('BENCH_NEW_TABS', '10'));
const TRIALS = Number(env('BENCH_TRIALS', '5'));
type Coordination = PageConfig['coordination'];
const LABEL: Record<Coordination, string> = { native: 'leader tab (election)', 'shared-worker': 'SharedWorker' };

interface Row {
  coordination: Coordination;
  tabs: number;
  rotations: number;
  requestsPerRotation: number;
  invalidGrant: number;
  grantsRevoked: number;
  propagation: Summary;
  newTab: Summary;
  askerClosed: { trials: number; revoked: number; signedOut: number; settled: Summary };
}

async function session(world: World, coordination: Coordination, tabs: number, namespace: string): Promise<Session> {
  const context: BrowserContext = await world.browser.newContext();
  const config = pageConfig(world.server, { mode: 'tabauth', namespace, leewayMs: 0, ratio: 0.5, coordination });
  const url = pageUrl(world.server, config);
  const list: Tab[] = [];
  const s: Session = {
    context,
    config,
    url,
    tabs: list,
    async openTab(name = `tab${list.length}`) {
      const tab = await openTab(context, url, name, 60_000);
      list.push(tab);
      return tab;
    },
    close: () => context.close().catch(() => {}),
  };
  for (let i = 0; i < tabs; i++) {
    const tab = await s.openTab();
    if (coordination === 'shared-worker') await waitForCoordination(tab, 'worker');
  }
  return s;
}

async function rotations(world: World, coordination: Coordination, tabCount: number) {
  world.server.resetCounters();
  const s = await session(world, coordination, tabCount, `bench-sw-rot-${coordination}-${tabCount}`);
  try {
    const { version: v0 } = await signIn(world, s);
    const since = Date.now();
    await waitForAll(s.tabs, (all) => all.every((t) => t.version >= v0 + ROTATIONS), `${ROTATIONS} rotations`, 120_000);
    const c = world.server.counters();
    const answered = world.server
      .events()
      .filter((e) => e.type === 'token' && e.ok && e.grantType === 'refresh_token' && e.at >= since)
      .map((e) => e.at);
    const recs = await Promise.all(s.tabs.map(records));
    const lags: number[] = [];
    answered.slice(0, ROTATIONS).forEach((at, k) => {
      // Date.now() on both sides: the provider logs with it, and so does each tab next to its page clock.
      const heldAt = recs.map((r) => r.held.find((h) => h.version === v0 + k + 1)?.clockAt);
      if (heldAt.every((t) => t !== undefined)) lags.push(Math.max(...(heldAt as number[])) - at);
    });
    const usable: number[] = [];
    for (let i = 0; i < NEW_TABS; i++) {
      const tab = await openTab(s.context, s.url, `new-${i}`, 60_000);
      const state = await waitForTab(tab, (t) => t.usableAfterMs !== null, 'usable', 30_000);
      usable.push(state.usableAfterMs!);
      await tab.page.close();
    }
    const rotated = Math.max(...(await Promise.all(alive(s.tabs).map(snapshot))).map((t) => t.version)) - v0;
    const counted = world.server.counters();
    return {
      rotations: rotated,
      requestsPerRotation: Math.round(((counted.refreshSuccesses + counted.refreshErrors) / rotated) * 100) / 100,
      invalidGrant: c.invalidGrant,
      grantsRevoked: counted.grantsRevoked,
      propagation: summarize(lags),
      newTab: summarize(usable),
    };
  } finally {
    await s.close();
  }
}

/** One trial: the asking tab is closed while the provider holds its answer. */
async function askerClosedTrial(world: World, coordination: Coordination, tabCount: number, trial: number) {
  world.server.resetCounters();
  const s = await session(world, coordination, tabCount, `bench-sw-close-${coordination}-${tabCount}-${trial}`);
  try {
    const { version: v0 } = await signIn(world, s);
    const states = await Promise.all(s.tabs.map(snapshot));
    // With the election the leader is the tab whose own request is lost; with the worker any tab asks.
    const asker = coordination === 'native' ? s.tabs[states.findIndex((t) => t.leader)]! : s.tabs[tabCount - 1]!;
    const hold = world.server.holdNextTokenResponse();
    await asker.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await hold.held;
    const others = s.tabs.filter((t) => t !== asker);
    const closedAt = Date.now();
    await asker.page.close();
    let settled: number;
    if (coordination === 'shared-worker') {
      const released = Date.now();
      hold.release();
      await waitForAll(others, (all) => all.every((t) => t.version === v0 + 1), 'the rotated pair');
      const recs = await Promise.all(others.map(records));
      settled = Math.max(...recs.map((r) => r.held.find((h) => h.version === v0 + 1)!.at)) - released;
    } else {
      // Released only once another tab leads: the closed page is gone for good by then (its lock was let go), so
      // the answer cannot reach it late.
      await waitForAll(others, (all) => all.filter((t) => t.leader).length === 1, 'a new leader');
      settled = Math.max(...(await Promise.all(others.map(records))).map((r) => r.snapshot.leadershipAt.at(-1) ?? closedAt)) - closedAt;
      hold.release();
    }
    // The next refresh shows whether the rotation survived.
    await others[0]!.page.evaluate(() => window.tabauthTest!.requestRefresh());
    await waitForAll(
      others,
      (all) => all.every((t) => t.version >= v0 + (coordination === 'shared-worker' ? 2 : 1) || t.status === 'signed-out'),
      'the next refresh',
    );
    const final = await Promise.all(others.map(snapshot));
    return { revoked: world.server.counters().grantsRevoked, signedOut: final.some((t) => t.status === 'signed-out') ? 1 : 0, settled };
  } finally {
    await s.close();
  }
}

function markdown(rows: Row[]): string {
  const lines = [
    '| coordination | tabs | refresh req. / rotation | invalid_grant | revoked grants | propagation (provider answered → last tab holds): p50 / p99 | new tab usable: p50 / p99 | asking tab closed mid-refresh: revoked / sign-outs | takeover: worker: answer released → every tab holds it; election: close → new leader (whose answer is lost): p50 / p99 |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${LABEL[r.coordination]} | ${r.tabs} | ${r.requestsPerRotation} | ${r.invalidGrant} | ${r.grantsRevoked} | ${formatSummary(r.propagation)} | ${formatSummary(r.newTab)} | ${r.askerClosed.revoked} of ${r.askerClosed.trials} / ${r.askerClosed.signedOut} of ${r.askerClosed.trials} | ${formatSummary(r.askerClosed.settled)} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const rows: Row[] = [];
  const fast = await startWorld({ accessTokenTtlSeconds: 3 });
  const slow = await startWorld({ accessTokenTtlSeconds: 600 });
  try {
    for (const tabs of TAB_COUNTS) {
      for (const coordination of ['native', 'shared-worker'] as const) {
        const rot = await rotations(fast, coordination, tabs);
        const trials = [];
        for (let i = 0; i < TRIALS; i++) trials.push(await askerClosedTrial(slow, coordination, tabs, i));
        const row: Row = {
          coordination,
          tabs,
          ...rot,
          askerClosed: {
            trials: trials.length,
            revoked: trials.reduce((sum, t) => sum + (t.revoked > 0 ? 1 : 0), 0),
            signedOut: trials.reduce((sum, t) => sum + t.signedOut, 0),
            settled: summarize(trials.map((t) => t.settled).filter((v): v is number => v !== null)),
          },
        };
        rows.push(row);
        console.log(markdown([row]).split('\n')[2]);
      }
    }
  } finally {
    await fast.close();
    await slow.close();
  }
  const table = markdown(rows);
  writeFileSync(resolve(root, 'bench/results-sharedworker.json'), `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
  writeFileSync(
    resolve(root, 'docs/bench-sharedworker.md'),
    `# SharedWorker bench\n\n\`npm run bench:worker\` (bench/sharedWorker.ts). ${new Date().toISOString().slice(0, 10)}, Chromium, oidc-provider without a grace period.\n\n${table}\n`,
  );
  console.log(`\n${table}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
