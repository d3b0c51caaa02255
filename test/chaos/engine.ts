/**
 * Seeded chaos engine for tabauth: from a seed, a schedule of steps over simulated time (tabs opening, closing and
 * dying, frozen tabs, network loss, server failures, message faults, clock skew, duplicate leaders, storage faults,
 * and token calls from random tabs), run against many simulated tabs and a strict reuse-detecting token server,
 * with invariants checked after every step and a quiet tail in which every fault is lifted.
 *
 * Free of vitest so that `npm run chaos` (bench/chaos.ts) can run it with tsx. A failing schedule can be shrunk with
 * `minimize()` and printed with `formatReproduction()` as a test to paste into test/chaos/regressions.test.ts.
 *
 * - schedule.ts: the configuration and schedule of a seed, and the profiles ('recoverable', 'everything')
 * - run.ts: `runChaos`, the driver (steps.ts applies each step, tabs.ts opens the tabs, world.ts holds a run's state)
 * - invariants.ts: the invariants and where each is checked
 * - leakCheck.ts: the search for token strings in everything an app could see or log
 * - shrink.ts: shrinking a failing schedule and printing it as a test
 */
export * from './schedule';
export * from './run';
export * from './invariants';
export * from './leakCheck';
export * from './shrink';
