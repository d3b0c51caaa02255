/**
 * Running a schedule: the steps in order over simulated time with invariants checked after every step, then a quiet
 * tail in which every fault is lifted and every live tab must converge on the newest pair, then a clean shutdown
 * that must release every timer and listener, and last the search for leaked token strings.
 */
import type { MockTokenServer, SimTab } from '../../src/testing';
import {
  checkClosedTab,
  checkEverythingReleased,
  checkForgedVersionGone,
  checkTimers,
  checkUserActionsWon,
  describeDivergence,
  describeError,
  divergence,
  watchServer,
  type Violation,
} from './invariants';
import { captureConsole, checkNoTokenLeaked } from './leakCheck';
import { convergenceBoundMs, type ChaosConfig, type ChaosStep } from './schedule';
import { applyStep } from './steps';
import { callToken, openTab } from './tabs';
import { ChaosWorld } from './world';

export interface ChaosResult {
  config: ChaosConfig;
  schedule: ChaosStep[];
  violations: Violation[];
  /** Steps that did something (steps naming a tab that is gone, or kills refused in the recoverable profile, did not). */
  stepsApplied: number;
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  /** Kills and closes refused because the tab held the only copy of a rotation (recoverable profile). */
  refusedLosingKills: number;
  server: MockTokenServer['counters'];
  /** Everything the server saw, with simulated times relative to the start of the run. */
  serverEvents: Array<{ at: number; type: string; familyId?: string; generation?: number }>;
  messages: { posted: number; delivered: number; dropped: number; duplicated: number };
  tokenCalls: { ok: number; failed: Record<string, number> };
  /** Simulated ms from the start of the quiet tail until every live tab held the newest pair (null: never). */
  convergenceMs: number | null;
  /** Tabs that were signed out at the end although no user signed out ('everything' profile: expected after reuse). */
  signedOutTabs: number;
  simulatedMs: number;
  /** Early rotations the clocks explain, and the would-be storms among them (not refresh-storm; see checkRefreshAge). */
  clockExplained: { early: number; inARow: string[] };
}

export interface RunOptions {
  /** Stop at the first violation (used while shrinking). Default false. */
  stopAtFirstViolation?: boolean;
  /** Capture console.* during the run and check it for token strings. Default true. */
  captureConsole?: boolean;
  /** Receives one line per step with every tab's state afterwards (for debugging a reproduction). */
  trace?: (line: string) => void;
  /** Receives every tab event and server event as it happens (for debugging a reproduction). */
  log?: (line: string) => void;
  /** Called with every tab the run opens (tests attach app-like listeners here). */
  onTab?: (tab: SimTab) => void;
}

export async function runChaos(config: ChaosConfig, schedule: ChaosStep[], options: RunOptions = {}): Promise<ChaosResult> {
  const world = new ChaosWorld(config, options);
  const restoreConsole = options.captureConsole === false ? () => {} : captureConsole(world.consoleLines);
  watchServer(world);
  try {
    await world.sim.settle();
    const sorted = [...schedule].sort((a, b) => a.at - b.at);
    if (await applySchedule(world, sorted)) {
      await runQuietTail(world, sorted);
      await closeEveryTab(world);
    }
  } catch (error) {
    world.violate('crash', `runner: ${describeError(error)}`);
  } finally {
    restoreConsole();
  }
  checkNoTokenLeaked(world);
  return resultOf(world, schedule);
}

/** Applies the steps at their times, settling after each. False when it stopped at the first violation. */
async function applySchedule(world: ChaosWorld, sorted: ChaosStep[]): Promise<boolean> {
  const stopAtFirstViolation = world.options.stopAtFirstViolation === true;
  for (let i = 0; i < sorted.length; i++) {
    const step = sorted[i]!;
    const wait = step.at - world.elapsed();
    if (wait > 0) await world.sim.advance(wait);
    world.stepIndex = i;
    try {
      if (await applyStep(world, step)) world.stepsApplied++;
    } catch (error) {
      world.violate('crash', `step ${JSON.stringify(step)} threw: ${describeError(error)}`);
    }
    await world.sim.settle();
    checkTimers(world);
    trace(world, JSON.stringify(step));
    if (stopAtFirstViolation && world.violations.length > 0) return false;
  }
  return !(stopAtFirstViolation && world.violations.length > 0);
}

/** Every fault lifted, frozen tabs resumed, network back: every live tab must converge on the newest pair. */
async function runQuietTail(world: ChaosWorld, sorted: ChaosStep[]): Promise<void> {
  const end = Math.max(world.config.durationMs, sorted.at(-1)?.at ?? 0);
  if (end > world.elapsed()) await world.sim.advance(end - world.elapsed());
  world.stepIndex = sorted.length;
  // With the storage lease, a clock that jumps back to the true time must not land in a refresh (see jumpClocks).
  // The server's faults go first: with answers slower than most of a pair's life (seed 114: 8 s answers, 10 s
  // tokens) the leader refreshes back to back and holds the lease all the time, so the wait below ran out and the
  // jump landed inside a refresh anyway (a 2 h jump forward expires the holder's lease in every tab's eyes; the
  // duplicate leader took it and sent the same token). The tail lifts these faults anyway.
  world.server.clearFailures();
  world.latency = world.config.latencyMs;
  for (let waited = 0; waited < 60_000 && world.clockJumpMs !== 0 && (await world.leaseHeld()); waited += 100) await world.sim.advance(100);
  const tailStart = world.elapsed();
  liftEveryFault(world);
  // A tab opened now must find the newest pair in storage (a reload after the faults).
  openTab(world, 'tail-probe');
  await world.sim.settle();
  world.convergenceMs = await timeToConvergence(world, tailStart);
  checkTimers(world);
  if (world.config.profile !== 'recoverable') return;
  if (world.convergenceMs === null) world.violate('no-convergence', await describeDivergence(world));
  await checkUserActionsWon(world);
  await checkForgedVersionGone(world);
}

function liftEveryFault(world: ChaosWorld): void {
  world.server.clearFailures();
  world.latency = world.config.latencyMs;
  world.messageFaults = { drop: 0, duplicate: 0, delayMs: 0 };
  world.applyMessageFaults();
  world.globalOffline = false;
  world.tabOffline.clear();
  world.inFlightArmed = null;
  world.signingArmed = null;
  world.killAfterAnnounceArmed = false;
  world.stepStorageFaults.clear();
  world.signingFaulted.clear();
  world.clockJumpMs = 0;
  world.tabSkewMs.clear();
  world.leaderSkew = null;
  for (const record of world.liveRecords()) {
    record.stalled = false;
    world.applyStorageFaults(record);
    world.applySkew(record);
    world.setOnline(record);
    if (record.tab.frozen) world.resume(record);
    record.tab.remount();
  }
}

/** Simulated ms from `tailStart` until every live tab held the newest pair, with the apps asking for tokens; null: never within the bound. */
async function timeToConvergence(world: ChaosWorld, tailStart: number): Promise<number | null> {
  const bound = convergenceBoundMs(world.config);
  for (let waited = 0; waited <= bound; waited += 1_000) {
    if (waited % 5_000 === 0) for (const record of world.liveRecords()) callToken(world, record, 'get-token');
    await world.sim.advance(1_000);
    if (waited % 5_000 === 0) trace(world, 'tail');
    if ((await divergence(world)) === null) return world.elapsed() - tailStart;
  }
  return null;
}

/**
 * Clean shutdown: every timer and listener of every tab must go. Followers first: closing a leader hands
 * leadership to a tab that may refresh at once, and closing that one mid-refresh would lose the response.
 */
async function closeEveryTab(world: ChaosWorld): Promise<void> {
  const closing = [...world.liveRecords()];
  closing.sort((a, b) => Number(a.tab.client.getSnapshot().isLeader) - Number(b.tab.client.getSnapshot().isLeader));
  // Unmount every tab first (no tab starts a refresh or a rescue once its provider is gone), then let every request
  // already out be answered and stored: a page closed with its request out is a lost response, outside the
  // recoverable envelope. Closing follower after follower handed the refresh lock to the next follower waiting to
  // rescue, which sent the token and was closed in turn; the one after it sent the same token (seed 9277).
  for (const record of closing) if (record.tab.alive && record.tab.mounted) record.tab.unmount();
  for (let waited = 0; closing.some((record) => record.inFlight > 0 && record.tab.alive) && waited <= 2 * world.config.requestTimeoutMs; waited += 100) {
    await world.sim.advance(100);
  }
  for (const record of closing) {
    await record.tab.close();
    await checkClosedTab(world, record);
  }
  await checkEverythingReleased(world);
  checkTimers(world);
}

/** One trace line: what just happened, then every live tab's state and the server's counters. */
function trace(world: ChaosWorld, what: string): void {
  world.options.trace?.(`${String(world.elapsed()).padStart(7)} ${what} -> ${stateLine(world)}`);
}

function stateLine(world: ChaosWorld): string {
  const tabs = [...world.liveRecords()].map((record) => {
    const snapshot = record.tab.client.getSnapshot();
    const flags = `${snapshot.isLeader ? 'L' : ''}${record.tab.frozen ? 'F' : ''}${record.tab.environment.isOnline() ? '' : 'O'}${record.tab.mounted ? '' : 'U'}`;
    return `${record.tab.name}:v${snapshot.version}${snapshot.status === 'authenticated' ? '' : `(${snapshot.status})`}${flags ? `[${flags}]` : ''}`;
  });
  const counters = world.server.counters;
  return `${tabs.join(' ')} | server req ${counters.refreshRequests} rot ${counters.successes} reuse ${counters.reuseDetections}`;
}

function resultOf(world: ChaosWorld, schedule: ChaosStep[]): ChaosResult {
  const { server, sim } = world;
  const signedOutTabs = [...world.records.values()].filter(
    (record) => record.tab.client.getSnapshot().status === 'signed-out' && record.tab.client.getSnapshot().signedOutReason !== 'user',
  ).length;
  return {
    config: world.config,
    schedule,
    violations: world.violations,
    stepsApplied: world.stepsApplied,
    faults: world.faults,
    refusedLosingKills: world.refusedLosingKills,
    server: server.counters,
    serverEvents: server.events.map((event) => ({ ...event, at: event.at - world.start })),
    messages: { ...sim.network.stats },
    tokenCalls: world.tokenCalls,
    convergenceMs: world.convergenceMs,
    signedOutTabs,
    simulatedMs: world.elapsed(),
    clockExplained: world.clockExplained,
  };
}
