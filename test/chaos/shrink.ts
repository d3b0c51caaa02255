/**
 * Shrinking a failing schedule to the steps that matter, and printing it as a test to paste into
 * test/chaos/regressions.test.ts.
 */
import type { InvariantName, Violation } from './invariants';
import { runChaos, type ChaosResult } from './run';
import type { ChaosConfig, ChaosStep } from './schedule';

const PRIORITY: InvariantName[] = [
  'crash',
  'refresh-token-reused',
  'family-revoked',
  'version-went-backwards',
  'secret-leaked',
  'stuck-by-forged-version',
  'user-action-lost',
  'expired-token-returned',
  'timer-not-finite',
  'refresh-storm',
  'signed-out-while-valid',
  'unexpected-error',
  'leaked-timers-or-listeners',
  'no-convergence',
];

/** The violation to shrink for: the most fundamental one (a reuse explains the sign-outs that follow it). */
export function primaryViolation(result: ChaosResult): Violation | undefined {
  return [...result.violations].sort((a, b) => PRIORITY.indexOf(a.invariant) - PRIORITY.indexOf(b.invariant) || a.at - b.at)[0];
}

/**
 * Greedy delta debugging: removes chunks of steps (halves, quarters, ... single steps) while the run still violates
 * the same invariant. Returns the shortest schedule found within `maxRuns` runs.
 */
export async function minimize(
  config: ChaosConfig,
  schedule: ChaosStep[],
  target: Violation | InvariantName,
  maxRuns = 300,
): Promise<{ schedule: ChaosStep[]; runs: number }> {
  let runs = 0;
  const wanted = signature(target);
  const fails = async (candidate: ChaosStep[]) => {
    runs++;
    const result = await runChaos(config, candidate, { stopAtFirstViolation: false });
    return result.violations.some((violation) => signature(violation) === wanted);
  };
  let current = schedule;
  let chunks = 2;
  while (current.length >= 1 && runs < maxRuns) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let i = 0; i < chunks && runs < maxRuns; i++) {
      const candidate = [...current.slice(0, i * size), ...current.slice((i + 1) * size)];
      if (candidate.length === current.length) continue;
      if (await fails(candidate)) {
        current = candidate;
        chunks = Math.max(2, chunks - 1);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size <= 1) break;
      chunks = Math.min(current.length, chunks * 2);
    }
  }
  return { schedule: current, runs };
}

/** What shrinking must preserve: the invariant, and for a divergence its class (the detail's first word). */
function signature(violation: Violation | InvariantName): string {
  if (typeof violation === 'string') return violation;
  return violation.invariant === 'no-convergence' ? `${violation.invariant}:${violation.detail.split(':')[0]}` : violation.invariant;
}

/** A test to paste into test/chaos/regressions.test.ts. */
export function formatReproduction(result: ChaosResult, shrunk: ChaosStep[], originalLength: number): string {
  const first = primaryViolation(result);
  const title = `seed ${result.config.seed}: ${first?.invariant ?? 'no violation'} (shrunk from ${originalLength} to ${shrunk.length} steps)`;
  const lines = [
    `// ${first ? `${first.invariant} at ${first.at} ms: ${first.detail}` : ''}`,
    `it(${JSON.stringify(title)}, async () => {`,
    `  const config: ChaosConfig = ${JSON.stringify(result.config)};`,
    `  const schedule: ChaosStep[] = [`,
    ...shrunk.map((step) => `    ${JSON.stringify(step)},`),
    `  ];`,
    `  const result = await runChaos(config, schedule);`,
    `  expect(result.violations).toEqual([]);`,
    `});`,
  ];
  return lines.join('\n');
}
