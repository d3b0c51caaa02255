/**
 * The rotation window of one row: N tabs of one library, every tab calling the protected API, `rotations` refresh
 * periods from the sign-in. Counts what the provider saw (requests per rotation, invalid_grant, revoked grants),
 * what the tabs lost (forced sign-outs, re-logins, 401s), and how fast each new pair reached the last tab, next to
 * the floor measured in the same tabs during the same window: a bare BroadcastChannel message of the same size
 * fanned out to every other tab.
 */
import type { PageMode } from '../../test/e2e/page/api';
import { delay, records, snapshots, type Tab, type TabRecords } from '../../test/e2e/support/tabs';
import { obtainAndSignIn, type BenchWorld } from './harness';
import { summarize, type Summary } from './stats';

export interface RotationFigures {
  windowMs: number;
  refreshRequests: number;
  refreshRequestsPerRotation: number;
  refreshSuccesses: number;
  invalidGrant: number;
  reuseDetected: number;
  grantsRevoked: number;
  /** Tabs that lost their session without the user asking (summed over tabs). */
  forcedSignOuts: number;
  /** Times the harness had to log the user in again because every tab had lost the session. */
  relogins: number;
  apiCalls: number;
  api401: number;
  apiStale: number;
  /** The tab that refreshed received the pair -> the last other tab holds it; pairs every live tab held. */
  propagation: Summary;
  /** Pairs received by a tab that not every live tab ever held (overwritten or revoked first). */
  pairsNotPropagated: number;
  /** Floor: one BroadcastChannel message posted by one tab -> the last other tab received it. */
  channelFloor: Summary;
}

const FLOOR_CHANNEL = 'bench-floor-channel';

function propagationLags(recs: TabRecords[]): { lags: number[]; notPropagated: number } {
  const lags: number[] = [];
  let notPropagated = 0;
  for (const source of recs) {
    for (const received of source.received) {
      const heldAt = recs.filter((r) => r !== source).map((r) => r.held.find((h) => h.jti === received.jti)?.at);
      if (heldAt.some((at) => at === undefined)) {
        notPropagated++;
        continue;
      }
      lags.push(Math.max(received.at, ...(heldAt as number[])) - received.at);
    }
  }
  return { lags, notPropagated };
}

/** Posts floor messages from the tabs in turn until `until`; returns [id, posted-at, sender index]. */
async function postFloorMessages(world: BenchWorld, tabs: Tab[], until: number): Promise<Array<{ id: number; at: number; from: number }>> {
  const posted: Array<{ id: number; at: number; from: number }> = [];
  const { channelFloorIntervalMs, channelFloorPaddingChars } = world.settings;
  for (let id = 1; Date.now() < until; id++) {
    const from = id % tabs.length;
    const at = await tabs[from]!.page.evaluate(([name, n, padding]) => window.tabauthTest!.probes.postChannel(name, n, padding), [
      FLOOR_CHANNEL,
      id,
      channelFloorPaddingChars,
    ] as const);
    posted.push({ id, at, from });
    await delay(channelFloorIntervalMs * (0.5 + Math.random()));
  }
  return posted;
}

export async function runRotations(world: BenchWorld, mode: PageMode, tabs: Tab[]): Promise<RotationFigures> {
  const { server, settings } = world;
  server.resetCounters();
  await Promise.all(tabs.map((tab) => tab.page.evaluate((name) => window.tabauthTest!.probes.listenChannel(name), FLOOR_CHANNEL)));

  await obtainAndSignIn(server, tabs[0]!);
  const signedInAt = Date.now();
  for (;;) {
    const states = await snapshots(tabs);
    if (states.every((s) => s.status === 'authenticated')) break;
    if (Date.now() - signedInAt > 30_000) throw new Error(`${mode}: not every tab signed in`);
    await delay(50);
  }
  // Every tab reads its session once, as a page does on load (oidc-client-ts arms its renew timer here).
  await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.tabauthTest!.getAccessToken().catch(() => ''))));
  await Promise.all(tabs.map((tab) => tab.page.evaluate((ms) => window.tabauthTest!.startApiLoop(ms), settings.apiIntervalMs)));
  const windowMs = settings.rotations * settings.periodMs + settings.periodMs / 2;
  const windowEnd = signedInAt + windowMs;

  let relogins = 0;
  const watchSessions = (async () => {
    while (Date.now() < windowEnd) {
      await delay(250);
      const states = await snapshots(tabs);
      if (states.every((s) => s.status === 'signed-out') && Date.now() < windowEnd - 500) {
        relogins++;
        await obtainAndSignIn(server, tabs[0]!);
      }
    }
  })();
  const floorPosts = await postFloorMessages(world, tabs, windowEnd);
  await watchSessions;
  await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.tabauthTest!.stopApiLoop())));

  const counters = server.counters();
  const recs = await Promise.all(tabs.map(records));
  const { lags, notPropagated } = propagationLags(recs);
  const arrivals = await Promise.all(tabs.map((tab) => tab.page.evaluate((name) => window.tabauthTest!.probes.channelArrivals(name), FLOOR_CHANNEL)));
  const floorLags: number[] = [];
  for (const post of floorPosts) {
    const others = arrivals.filter((_, i) => i !== post.from).map((a) => a[post.id]);
    if (others.length === 0 || others.some((at) => at === undefined)) continue;
    floorLags.push(Math.max(...(others as number[])) - post.at);
  }
  const refreshRequests = counters.refreshSuccesses + counters.refreshErrors;
  const apiCalls = recs.flatMap((r) => r.apiCalls).filter((call) => call.jti !== null);
  return {
    windowMs,
    refreshRequests,
    refreshRequestsPerRotation: Math.round((refreshRequests / settings.rotations) * 100) / 100,
    refreshSuccesses: counters.refreshSuccesses,
    invalidGrant: counters.invalidGrant,
    reuseDetected: counters.reuseDetected,
    grantsRevoked: counters.grantsRevoked,
    forcedSignOuts: recs.reduce((sum, r) => sum + r.snapshot.forcedSignOuts, 0),
    relogins,
    apiCalls: apiCalls.length,
    api401: apiCalls.filter((call) => call.status === 401).length,
    apiStale: apiCalls.filter((call) => call.status === 200 && call.newest === false).length,
    propagation: summarize(lags),
    pairsNotPropagated: notPropagated,
    channelFloor: summarize(floorLags),
  };
}
