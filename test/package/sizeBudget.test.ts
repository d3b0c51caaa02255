/**
 * Size budget per entry, gzip, measured exactly as `npm run size` measures it (bench/sizeMeasure.ts: esbuild,
 * `export *` of the entry, code splitting, minified, gzip level 9). "initial" is what a page loads up front;
 * "on demand" is the broadcast-channel chunk that only browsers without BroadcastChannel or Web Locks load.
 *
 * The budgets are set from what issue 14 reached (figures in the README's Bundle size table) plus about 1% of
 * headroom. A change that needs more must raise a budget here on purpose, with the reason in its commit.
 */
import { describe, expect, it } from 'vitest';
import { measureSubject, tabauthSubjects, type Measured } from '../../bench/sizeMeasure';

const KB = 1024;

interface Budget {
  /** Own code (dependencies external), loaded up front. */
  own: number;
  /** With dependencies, loaded up front. */
  withDeps: number;
  /** With dependencies, loaded on demand only. */
  onDemand: number;
}

const BUDGETS: Record<string, Budget> = {
  // Issue 14 measured 16.39/16.64 (core), 16.97/17.22 (react), 2.47/2.47 (query), 20.37/20.61 (all three) kB gzip
  // with the early session read, announce-before-write and the core's own JWT decoder (jwt-decode left the bundle);
  // budgets are those plus about 1%. Issue 14's 10 kB target for the core is not reached; see the README's size table.
  'tabauth (core)': { own: 16.55 * KB, withDeps: 16.8 * KB, onDemand: 5.3 * KB },
  'tabauth/react': { own: 17.15 * KB, withDeps: 17.4 * KB, onDemand: 5.3 * KB },
  'tabauth/query': { own: 2.5 * KB, withDeps: 2.5 * KB, onDemand: 5.3 * KB }, // it imports the core as 'tabauth', default coordination included
  'tabauth + react + query': { own: 20.6 * KB, withDeps: 20.8 * KB, onDemand: 5.3 * KB },
};

const results = new Map<string, { own: Measured; withDeps: Measured }>();
async function measured(label: string) {
  let result = results.get(label);
  if (!result) {
    result = await measureSubject(tabauthSubjects.find((subject) => subject.label === label)!);
    results.set(label, result);
  }
  return result;
}

describe('size budget (gzip)', () => {
  it('covers every entry the size table reports', () => {
    expect(Object.keys(BUDGETS).sort()).toEqual(tabauthSubjects.map((subject) => subject.label).sort());
  });

  it.each(Object.entries(BUDGETS))('%s stays within its budget', async (label, budget) => {
    const { own, withDeps } = await measured(label);
    const figures = { own: own.initial.gzip, withDeps: withDeps.initial.gzip, onDemand: withDeps.lazy.gzip };
    for (const key of Object.keys(budget) as Array<keyof Budget>) {
      expect(figures[key], `${label}: ${key} is ${(figures[key] / KB).toFixed(2)} kB gzip, budget ${(budget[key] / KB).toFixed(2)} kB`).toBeLessThanOrEqual(budget[key]);
    }
  }, 60_000);

  it('broadcast-channel is not in what the core loads up front, only in its on-demand chunk', async () => {
    const { withDeps } = await measured('tabauth (core)');
    expect(withDeps.initialInputs.filter((path) => /node_modules\/(broadcast-channel|unload|oblivious-set)\//.test(path))).toEqual([]);
    expect(withDeps.initialInputs).toContain('src/core/coordination/nativeCoordination.ts');
    expect(withDeps.lazy.gzip).toBeGreaterThan(0);
  }, 60_000);
});
