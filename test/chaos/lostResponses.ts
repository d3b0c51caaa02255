/**
 * The one case no client can fix alone: the server rotated the refresh token, and the response never reached a tab
 * that could keep it. Either the tab whose refresh was in flight died (or closed), or the server rotated and then
 * failed the request (an injected failure with `rotate: true`). Every remaining copy of the pair holds the old
 * refresh token, so the next refresh presents a used token: reuse detection revokes the family unless the server
 * has a grace period and the token comes back inside it (then the server replays the successor pair).
 *
 * This measures, per case, lock and grace period: how often that ends in reuse detection, a revoked family and
 * signed-out tabs, how often the grace replay recovers it, and how long after the lost rotation the old token is
 * presented again (the number a grace period has to exceed). Results go to docs/chaos.md (npm run chaos -- --lost-responses).
 */
import { MISTYPED_FIELDS, type MockFailureKind } from '../../src/testing';
import { seededRandom } from '../sim/helpers';
import { runChaos, type ChaosConfig, type ChaosResult, type ChaosStep } from './engine';

/**
 * 'disposed' (the client disposed mid-refresh, the page staying open), 'remounted' (the client unmounted and mounted
 * again mid-refresh) and 'rotated-then-mistyped' (a rotated 200 with a mistyped optional field) lost the rotation
 * before issue #9; since then the answer is awaited and stored (and the mistyped field repaired), so they are in the
 * table to show that. 'closed' is a page that closes: it cannot wait for the answer.
 */
export type LostResponseCase = 'killed' | 'closed' | 'disposed' | 'remounted' | `rotated-then-${MockFailureKind}`;

export const LOST_RESPONSE_CASES: LostResponseCase[] = [
  'killed',
  'closed',
  'disposed',
  'remounted',
  'rotated-then-mistyped',
  'rotated-then-server-error',
  'rotated-then-rate-limited',
  'rotated-then-network',
  'rotated-then-html',
  'rotated-then-malformed',
  'rotated-then-timeout',
];

export interface LostResponseCell {
  case: LostResponseCase;
  locks: 'web-locks' | 'lease';
  gracePeriodMs: number;
  requestTimeoutMs: number;
}

export interface TrialOutcome {
  reuseDetected: boolean;
  familyRevoked: boolean;
  /** Tabs signed out at the end (no user signed out in these runs). */
  signedOut: boolean;
  graceReplayed: boolean;
  /** Every live tab authenticated on one valid pair after the quiet tail, the family alive, nobody signed out. */
  recovered: boolean;
  /** Simulated ms from the lost rotation until its refresh token reached the server again (null: never). */
  representedAfterMs: number | null;
}

export interface CellSummary extends LostResponseCell {
  trials: number;
  reuseDetected: number;
  familyRevoked: number;
  signedOut: number;
  graceReplayed: number;
  recovered: number;
  representedAfterMs: { p50: number | null; max: number | null };
}

const ARM_AT = 5_000;

/** The schedule of one trial: a few tabs, app activity (getAccessToken from random tabs), and the lost rotation. */
export function lostResponseTrial(cell: LostResponseCell, trial: number): { config: ChaosConfig; schedule: ChaosStep[] } {
  const seed = hash(`${cell.case}|${cell.locks}|${cell.gracePeriodMs}|${cell.requestTimeoutMs}|${trial}`);
  const random = seededRandom(seed);
  const config: ChaosConfig = {
    seed,
    profile: 'everything',
    storage: 'memory',
    locks: cell.locks,
    ttlSeconds: 60,
    latencyMs: [20, 50, 200][Math.floor(random() * 3)]!,
    gracePeriodMs: cell.gracePeriodMs,
    deliveryDelayMs: 1,
    // The message election of browsers without Web Locks takes a few seconds to fail over (broadcast-channel's
    // fallbackInterval 3 s + responseTime 1 s); the Web Locks election is instant.
    failoverDelayMs: cell.locks === 'web-locks' ? 0 : 4_000,
    duplicateLeaders: false,
    storageWriteFaults: false,
    storageReadFaults: false,
    maxSkewMs: 0,
    followerRetryMs: 5_000,
    requestTimeoutMs: cell.requestTimeoutMs,
    durationMs: 240_000,
  };
  const tabs = 2 + Math.floor(random() * 4);
  const schedule: ChaosStep[] = [];
  for (let i = 1; i <= tabs; i++) schedule.push({ at: 0, do: 'open', tab: `tab-${i}` });
  schedule.push({ at: 20, do: 'sign-in', tab: 'tab-1' });
  if (cell.case === 'killed') schedule.push({ at: ARM_AT, do: 'kill-in-flight' });
  else if (cell.case === 'closed') schedule.push({ at: ARM_AT, do: 'close-in-flight' });
  else if (cell.case === 'disposed') schedule.push({ at: ARM_AT, do: 'dispose-in-flight' });
  else if (cell.case === 'remounted') schedule.push({ at: ARM_AT, do: 'remount-in-flight', afterMs: 0 });
  else if (cell.case === 'rotated-then-mistyped')
    schedule.push({ at: ARM_AT, do: 'server-failures', kind: 'mistyped', count: 1, field: MISTYPED_FIELDS[trial % MISTYPED_FIELDS.length]! });
  else schedule.push({ at: ARM_AT, do: 'server-failures', kind: cell.case.slice('rotated-then-'.length) as MockFailureKind, count: 1, rotate: true });
  // The app keeps using the token: every few seconds some tab asks for it.
  for (let at = 1_000 + Math.floor(random() * 2_000); at < config.durationMs; at += 2_000 + Math.floor(random() * 4_000)) {
    schedule.push({ at, do: 'get-token', tab: `tab-${1 + Math.floor(random() * tabs)}` });
  }
  return { config, schedule: schedule.sort((a, b) => a.at - b.at) };
}

export function outcomeOf(result: ChaosResult): TrialOutcome {
  const events = result.serverEvents.filter((event) => event.at >= ARM_AT);
  // The lost rotation is the first one after the fault was armed (a kill happens inside that very request).
  const lost = events.find((event) => event.type === 'refresh');
  const again = lost ? events.find((event) => event.at >= lost.at && (event.type === 'grace-replay' || event.type === 'reuse')) : undefined;
  const familyRevoked = result.server.familiesRevoked > 0;
  return {
    reuseDetected: result.server.reuseDetections > 0,
    familyRevoked,
    signedOut: result.signedOutTabs > 0,
    graceReplayed: result.server.graceReplays > 0,
    recovered: result.convergenceMs !== null && !familyRevoked && result.signedOutTabs === 0,
    representedAfterMs: lost && again ? again.at - lost.at : null,
  };
}

export async function measureCell(cell: LostResponseCell, trials: number): Promise<CellSummary & { violations: string[] }> {
  const outcomes: TrialOutcome[] = [];
  const violations: string[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const { config, schedule } = lostResponseTrial(cell, trial);
    const result = await runChaos(config, schedule);
    // What must hold even here: no token string leaks, no version goes backwards, no crash, no leaked timers.
    for (const violation of result.violations)
      violations.push(`${cell.case}/${cell.locks}/${cell.gracePeriodMs}#${trial}: ${violation.invariant} ${violation.detail}`);
    outcomes.push(outcomeOf(result));
  }
  const delays = outcomes
    .map((outcome) => outcome.representedAfterMs)
    .filter((ms): ms is number => ms !== null)
    .sort((a, b) => a - b);
  const countOf = (pick: (outcome: TrialOutcome) => boolean) => outcomes.filter(pick).length;
  return {
    ...cell,
    trials,
    reuseDetected: countOf((o) => o.reuseDetected),
    familyRevoked: countOf((o) => o.familyRevoked),
    signedOut: countOf((o) => o.signedOut),
    graceReplayed: countOf((o) => o.graceReplayed),
    recovered: countOf((o) => o.recovered),
    representedAfterMs: { p50: delays.length ? delays[Math.floor(delays.length / 2)]! : null, max: delays.at(-1) ?? null },
    violations,
  };
}

/** The whole table: every case, both locks, grace periods 0 / 10 / 30 / 60 s; the timeout case also with a 10 s request timeout. */
export function lostResponseCells(): LostResponseCell[] {
  const cells: LostResponseCell[] = [];
  for (const kind of LOST_RESPONSE_CASES) {
    for (const locks of ['web-locks', 'lease'] as const) {
      for (const gracePeriodMs of [0, 10_000, 30_000, 60_000]) {
        cells.push({ case: kind, locks, gracePeriodMs, requestTimeoutMs: 30_000 });
        if (kind === 'rotated-then-timeout' || (kind === 'killed' && locks === 'lease'))
          cells.push({ case: kind, locks, gracePeriodMs, requestTimeoutMs: 10_000 });
      }
    }
  }
  return cells;
}

export function formatCells(cells: CellSummary[]): string {
  const seconds = (ms: number | null) => (ms === null ? '—' : `${Math.round(ms / 100) / 10} s`);
  const rows = [
    '| case | lock | request timeout | grace | trials | reuse detected | family revoked | tabs signed out | grace replay | recovered | token re-sent after (p50 / max) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const cell of cells) {
    rows.push(
      `| ${cell.case} | ${cell.locks} | ${cell.requestTimeoutMs / 1000} s | ${cell.gracePeriodMs / 1000} s | ${cell.trials} | ${cell.reuseDetected} | ${cell.familyRevoked} | ${cell.signedOut} | ${cell.graceReplayed} | ${cell.recovered} | ${seconds(cell.representedAfterMs.p50)} / ${seconds(cell.representedAfterMs.max)} |`,
    );
  }
  return rows.join('\n');
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
