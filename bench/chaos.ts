/**
 * npm run chaos -- [--seeds 10000] [--from 1] [--profile recoverable|everything] [--workers 2] [--minimize 3] [--json out.json]
 * npm run chaos -- --lost-responses [--trials 40] [--json out.json]
 *
 * Runs the seeded chaos engine (test/chaos/engine.ts) over many seeds and prints totals: seeds, steps, faults injected
 * by kind, invariant violations (the goal is zero in the 'recoverable' profile) and the time taken. Failing seeds are
 * listed; with --minimize N the first N are shrunk and printed as tests for test/chaos/regressions.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import {
  formatReproduction,
  generateConfig,
  generateSchedule,
  minimize,
  primaryViolation,
  runChaos,
  type ChaosProfile,
  type ChaosResult,
} from '../test/chaos/engine';
import { formatCells, lostResponseCells, measureCell } from '../test/chaos/lostResponses';

interface SeedSummary {
  seed: number;
  steps: number;
  stepsApplied: number;
  simulatedMs: number;
  faults: Record<string, number>;
  refusedLosingKills: number;
  server: ChaosResult['server'];
  messages: ChaosResult['messages'];
  tokenCalls: ChaosResult['tokenCalls'];
  convergenceMs: number | null;
  signedOutTabs: number;
  violations: Array<{ invariant: string; detail: string }>;
  clockExplained: ChaosResult['clockExplained'];
}

async function runSeed(seed: number, profile: ChaosProfile): Promise<SeedSummary> {
  const config = generateConfig(seed, profile);
  const schedule = generateSchedule(config);
  const result = await runChaos(config, schedule);
  return {
    seed,
    steps: schedule.length,
    stepsApplied: result.stepsApplied,
    simulatedMs: result.simulatedMs,
    faults: result.faults,
    refusedLosingKills: result.refusedLosingKills,
    server: result.server,
    messages: result.messages,
    tokenCalls: result.tokenCalls,
    convergenceMs: result.convergenceMs,
    signedOutTabs: result.signedOutTabs,
    violations: result.violations.map(({ invariant, detail }) => ({ invariant, detail })),
    clockExplained: result.clockExplained,
  };
}

// Workers are child processes of this script (tsx-compiled), one per core, fed by IPC.
if (process.env.TABAUTH_CHAOS_WORKER === '1') {
  process.on('message', async (message: { seeds: number[]; profile: ChaosProfile }) => {
    for (const seed of message.seeds) process.send!(await runSeed(seed, message.profile));
    process.send!('done');
  });
} else {
  await main();
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1]! : fallback;
}

async function lostResponses() {
  const trials = Number(argument('trials', '40'));
  const jsonPath = argument('json', '');
  const started = Date.now();
  const cells = [];
  const violations: string[] = [];
  for (const cell of lostResponseCells()) {
    const summary = await measureCell(cell, trials);
    violations.push(...summary.violations);
    cells.push(summary);
  }
  console.log(`lost responses: ${trials} trials per row (2-5 tabs, 60 s tokens, app activity every 2-6 s, defaults otherwise)\n`);
  console.log(formatCells(cells));
  console.log(`\nsafety invariant violations: ${violations.length}${violations.length ? `\n${violations.slice(0, 10).join('\n')}` : ''}`);
  console.log(`time: ${Math.round((Date.now() - started) / 100) / 10} s`);
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(cells, null, 2)}\n`);
  process.exitCode = violations.length > 0 ? 1 : 0;
}

async function main() {
  if (process.argv.includes('--lost-responses')) return lostResponses();
  const count = Number(argument('seeds', '200'));
  const from = Number(argument('from', '1'));
  const profile = argument('profile', 'recoverable') as ChaosProfile;
  const workers = Math.max(1, Math.min(Number(argument('workers', String(Math.min(2, cpus().length)))), count));
  const minimizeCount = Number(argument('minimize', '0'));
  const jsonPath = argument('json', '');
  if (!Number.isInteger(count) || count < 1 || (profile !== 'recoverable' && profile !== 'everything')) {
    console.error('usage: npm run chaos -- --seeds 10000 [--from 1] [--profile recoverable|everything] [--workers 2] [--minimize 3] [--json file]');
    process.exit(2);
  }

  const started = Date.now();
  const seeds = Array.from({ length: count }, (_, i) => from + i);
  const summaries: SeedSummary[] = [];
  let lastReport = Date.now();
  const report = () => {
    if (Date.now() - lastReport < 10_000) return;
    lastReport = Date.now();
    const bad = summaries.filter((summary) => summary.violations.length > 0).length;
    process.stderr.write(`  ${summaries.length}/${count} seeds, ${bad} failing, ${Math.round((Date.now() - started) / 1000)} s\n`);
  };

  if (workers === 1) {
    for (const seed of seeds) {
      summaries.push(await runSeed(seed, profile));
      report();
    }
  } else {
    const self = fileURLToPath(import.meta.url);
    await Promise.all(
      Array.from(
        { length: workers },
        (_, w) =>
          new Promise<void>((resolve, reject) => {
            const child = fork(self, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, TABAUTH_CHAOS_WORKER: '1' } });
            child.on('message', (message: SeedSummary | 'done') => {
              if (message === 'done') {
                child.kill();
                resolve();
                return;
              }
              summaries.push(message);
              report();
            });
            child.on('error', reject);
            child.on('exit', (code) => (code === 0 || code === null ? resolve() : reject(new Error(`chaos worker exited with ${code}`))));
            child.send({ seeds: seeds.filter((_, i) => i % workers === w), profile });
          }),
      ),
    );
  }
  summaries.sort((a, b) => a.seed - b.seed);
  const wallMs = Date.now() - started;

  const sum = (pick: (summary: SeedSummary) => number) => summaries.reduce((total, summary) => total + pick(summary), 0);
  const faults: Record<string, number> = {};
  for (const summary of summaries) for (const [kind, n] of Object.entries(summary.faults)) faults[kind] = (faults[kind] ?? 0) + n;
  const violations: Record<string, number> = {};
  const failingSeeds: number[] = [];
  /** The first seeds that broke each invariant: where to start shrinking. */
  const seedsByInvariant: Record<string, number[]> = {};
  for (const summary of summaries) {
    if (summary.violations.length > 0) failingSeeds.push(summary.seed);
    for (const invariant of new Set(summary.violations.map((violation) => violation.invariant))) {
      violations[invariant] = (violations[invariant] ?? 0) + 1;
      (seedsByInvariant[invariant] ??= []).push(summary.seed);
    }
  }
  const tokenFailures: Record<string, number> = {};
  for (const summary of summaries) for (const [code, n] of Object.entries(summary.tokenCalls.failed)) tokenFailures[code] = (tokenFailures[code] ?? 0) + n;
  const convergence = summaries
    .map((summary) => summary.convergenceMs)
    .filter((ms): ms is number => ms !== null)
    .sort((a, b) => a - b);
  const quantile = (q: number) => (convergence.length ? convergence[Math.min(convergence.length - 1, Math.floor(q * convergence.length))]! : null);

  const totals = {
    profile,
    seeds: summaries.length,
    seedRange: [from, from + count - 1],
    steps: sum((s) => s.steps),
    stepsApplied: sum((s) => s.stepsApplied),
    simulatedHours: Math.round(sum((s) => s.simulatedMs) / 36_000) / 100,
    faultsInjected: Object.fromEntries(Object.entries(faults).sort(([a], [b]) => a.localeCompare(b))),
    faultsTotal: Object.values(faults).reduce((a, b) => a + b, 0),
    injectedServerFailuresApplied: sum((s) => s.server.injectedFailures),
    messagesPosted: sum((s) => s.messages.posted),
    deliveriesDropped: sum((s) => s.messages.dropped),
    deliveriesDuplicated: sum((s) => s.messages.duplicated),
    killsRefusedAsLostResponse: sum((s) => s.refusedLosingKills),
    server: {
      refreshRequests: sum((s) => s.server.refreshRequests),
      rotations: sum((s) => s.server.successes),
      reuseDetections: sum((s) => s.server.reuseDetections),
      familiesRevoked: sum((s) => s.server.familiesRevoked),
      graceReplays: sum((s) => s.server.graceReplays),
      revocations: sum((s) => s.server.revocations),
    },
    tokenCalls: { ok: sum((s) => s.tokenCalls.ok), failedByCode: tokenFailures },
    convergenceAfterFaultsMs: {
      p50: quantile(0.5),
      p99: quantile(0.99),
      max: convergence.at(-1) ?? null,
      neverConverged: summaries.length - convergence.length,
    },
    tabsSignedOutWithoutUser: sum((s) => s.signedOutTabs),
    // Counted apart from refresh-storm (test/chaos/invariants.ts, checkRefreshAge): early rotations the clocks explain.
    clockExplainedEarlyRotations: sum((s) => s.clockExplained.early),
    clockExplainedTwiceInARowSeeds: summaries.filter((s) => s.clockExplained.inARow.length > 0).map((s) => s.seed),
    invariantViolations: violations,
    seedsWithViolations: failingSeeds.length,
    failingSeeds: failingSeeds.slice(0, 50),
    wallSeconds: Math.round(wallMs / 100) / 10,
    workers,
  };

  console.log(
    `chaos (${profile}): ${totals.seeds} seeds (${from}..${from + count - 1}), ${totals.steps} steps (${totals.stepsApplied} applied), ${totals.simulatedHours} simulated hours`,
  );
  console.log(`faults injected: ${totals.faultsTotal}`);
  for (const [kind, n] of Object.entries(totals.faultsInjected)) console.log(`  ${kind.padEnd(32)} ${n}`);
  console.log(
    `  (server failures applied to requests: ${totals.injectedServerFailuresApplied}; deliveries dropped ${totals.deliveriesDropped} and duplicated ${totals.deliveriesDuplicated} (${totals.messagesPosted} messages posted, each delivered to every other tab); kills/closes refused as lost responses: ${totals.killsRefusedAsLostResponse})`,
  );
  console.log(
    `server: ${totals.server.refreshRequests} refresh requests, ${totals.server.rotations} rotations, ${totals.server.reuseDetections} reuse detections, ${totals.server.familiesRevoked} families revoked (${totals.server.revocations} revocation requests), ${totals.server.graceReplays} grace replays`,
  );
  console.log(`token calls: ${totals.tokenCalls.ok} ok, failed ${JSON.stringify(totals.tokenCalls.failedByCode)}`);
  console.log(
    `newest pair in every live tab after the faults stopped: p50 ${totals.convergenceAfterFaultsMs.p50} ms, p99 ${totals.convergenceAfterFaultsMs.p99} ms, max ${totals.convergenceAfterFaultsMs.max} ms, never ${totals.convergenceAfterFaultsMs.neverConverged}`,
  );
  console.log(
    `early rotations the clocks explain (not refresh-storm): ${totals.clockExplainedEarlyRotations}; after another early one, in ${totals.clockExplainedTwiceInARowSeeds.length} seeds${totals.clockExplainedTwiceInARowSeeds.length ? ` (${totals.clockExplainedTwiceInARowSeeds.slice(0, 20).join(', ')})` : ''}`,
  );
  console.log(`invariant violations: ${totals.seedsWithViolations === 0 ? '0' : JSON.stringify(violations)}${profile === 'recoverable' ? ' (goal 0)' : ''}`);
  if (failingSeeds.length) console.log(`failing seeds: ${failingSeeds.slice(0, 50).join(', ')}${failingSeeds.length > 50 ? ' ...' : ''}`);
  for (const [invariant, seeds] of Object.entries(seedsByInvariant))
    console.log(`  ${invariant.padEnd(32)} seeds ${seeds.slice(0, 10).join(', ')}${seeds.length > 10 ? ' ...' : ''}`);
  console.log(`time: ${totals.wallSeconds} s on ${workers} worker(s)`);
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(totals, null, 2)}\n`);

  for (const seed of failingSeeds.slice(0, minimizeCount)) {
    const config = generateConfig(seed, profile);
    const schedule = generateSchedule(config);
    const result = await runChaos(config, schedule);
    const primary = primaryViolation(result);
    if (!primary) continue;
    const shrunk = await minimize(config, schedule, primary);
    const rerun = await runChaos(config, shrunk.schedule);
    console.log(`\n// ---- seed ${seed}: paste into test/chaos/regressions.test.ts (${shrunk.runs} shrinking runs)`);
    console.log(formatReproduction(rerun.violations.length ? rerun : result, shrunk.schedule, schedule.length));
  }
  process.exitCode = profile === 'recoverable' && failingSeeds.length > 0 ? 1 : 0;
}
