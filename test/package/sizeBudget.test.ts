/**
 * Size budget per entry, gzip, measured exactly as `npm run size` measures it (bench/sizeMeasure.ts: esbuild,
 * `export *` of the entry, code splitting, minified, gzip level 9). "initial" is what a page loads up front;
 * "on demand" is the broadcast-channel chunk that only browsers without BroadcastChannel or Web Locks load.
 *
 * The budgets are set from what issue 14 reached (figures in the README's Bundle size table) plus about 2% of
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
  // Raised from 11.85/12.45 (core), 11.7/12.3 (react), 15.1/15.7 (all three) by the core centre and the fixes of
  // issue 9 (monotonic expiry, repair of mistyped responses, wire-form errors, exact redaction, follower rescue,
  // unpersisted marker, peer query): +4.1 kB. Issue 14's 10 kB target is not reached; see the README's size table.
  // Own code raised from 16.1 by +0.05 kB for the DPoP hooks of issue 12 (+0.31 kB: the handle in the refresh
  // context, the grant's proof branch and token_type check, two counters); 16.11 kB measured.
  'tabauth (core)': { own: 16.15 * KB, withDeps: 16.75 * KB, onDemand: 5.35 * KB },
  // +0.6 kB for the login hooks and gates of issue 11 (useAuth().login/logout, SignedIn/SignedOut, AuthCallback...).
  'tabauth/react': { own: 16.7 * KB, withDeps: 17.35 * KB, onDemand: 5.35 * KB },
  // Raised from 2.5/2.8 by +0.2 kB for DPoP in authedFetch (issue 12: DPoP scheme and proof, the nonce retry that
  // takes no refresh, one fresh copy of a Request body per send).
  'tabauth/query': { own: 2.7 * KB, withDeps: 3.0 * KB, onDemand: 5.35 * KB }, // it imports the core as 'tabauth', default coordination included
  // Own code raised from 20.2 by +0.25 kB: the DPoP hooks of the core (+0.31 kB) and of
  // authedFetch (+0.22 kB) together; with dependencies it still fits.
  'tabauth + react + query': { own: 20.45 * KB, withDeps: 20.85 * KB, onDemand: 5.35 * KB },
  // New with issue 12 (measured 4.47 / 5.96 kB): createDpop, the shared key and nonces; with dependencies the dpop package.
  // Raised from 4.55 / 6.1 (measured 4.76 / 6.25 kB) for the pending login key: newKeyForLogin no longer replaces
  // the session's key (loginKey, promoteLoginKey, the clean-up of abandoned keys, their deletion at sign-out).
  'tabauth/dpop': { own: 4.85 * KB, withDeps: 6.3 * KB, onDemand: 5.35 * KB },
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
