/**
 * Lost responses (test/chaos/lostResponses.ts): the server rotated and no tab kept the answer. No client can fix that
 * alone; these runs pin down what happens, with and without a server grace period (the full table is in
 * docs/chaos.md, from `npm run chaos -- --lost-responses`).
 */
import { describe, expect, it } from 'vitest';
import { measureCell, type LostResponseCell } from './lostResponses';
import { notOpenLine } from './openInvariants';

const TRIALS = 3;

async function measure(cell: LostResponseCell) {
  const summary = await measureCell(cell, TRIALS);
  // Even here: no token string leaks, no version goes backwards, nothing crashes or leaks timers.
  expect(summary.violations.filter(notOpenLine)).toEqual([]);
  return summary;
}

describe('a leader that dies with its refresh in flight', () => {
  it('without a grace period: the next leader presents the used token, the family is revoked, every tab signs out', async () => {
    const summary = await measure({ case: 'killed', locks: 'web-locks', gracePeriodMs: 0, requestTimeoutMs: 30_000 });
    expect(summary).toMatchObject({ reuseDetected: TRIALS, familyRevoked: TRIALS, signedOut: TRIALS, recovered: 0 });
  });

  it('with a grace period and Web Locks: the next leader re-sends at once and gets the successor pair replayed', async () => {
    const summary = await measure({ case: 'killed', locks: 'web-locks', gracePeriodMs: 10_000, requestTimeoutMs: 30_000 });
    expect(summary).toMatchObject({ reuseDetected: 0, familyRevoked: 0, signedOut: 0, graceReplayed: TRIALS, recovered: TRIALS });
    expect(summary.representedAfterMs.max).toBeLessThan(1_000);
  });

  it("with the storage lease (no Web Locks) the next leader waits for the dead holder's lease: 40 s by default, more than a 30 s grace", async () => {
    const tooShort = await measure({ case: 'killed', locks: 'lease', gracePeriodMs: 30_000, requestTimeoutMs: 30_000 });
    expect(tooShort).toMatchObject({ reuseDetected: TRIALS, signedOut: TRIALS });
    expect(tooShort.representedAfterMs.p50).toBeGreaterThanOrEqual(40_000);
    // A shorter request timeout shortens the lease (request timeout + 10 s) and fits the same grace period.
    const shorterTimeout = await measure({ case: 'killed', locks: 'lease', gracePeriodMs: 30_000, requestTimeoutMs: 10_000 });
    expect(shorterTimeout).toMatchObject({ reuseDetected: 0, recovered: TRIALS });
  });
});

describe('the server rotates, then the request fails', () => {
  it('a 5xx after rotating: retried after the first backoff (2-3 s), inside a 10 s grace period', async () => {
    const summary = await measure({ case: 'rotated-then-server-error', locks: 'web-locks', gracePeriodMs: 10_000, requestTimeoutMs: 30_000 });
    expect(summary).toMatchObject({ reuseDetected: 0, recovered: TRIALS });
    expect(summary.representedAfterMs.max).toBeLessThan(4_000);
  });

  it('a response that never comes: re-sent after the request timeout plus a backoff, so 30 s + 2 s misses a 30 s grace period', async () => {
    const defaults = await measure({ case: 'rotated-then-timeout', locks: 'web-locks', gracePeriodMs: 30_000, requestTimeoutMs: 30_000 });
    expect(defaults).toMatchObject({ reuseDetected: TRIALS, signedOut: TRIALS });
    const tenSeconds = await measure({ case: 'rotated-then-timeout', locks: 'web-locks', gracePeriodMs: 30_000, requestTimeoutMs: 10_000 });
    expect(tenSeconds).toMatchObject({ reuseDetected: 0, recovered: TRIALS });
  });

  it('a malformed 200 after rotating is not retried by itself; the next token call re-sends it (inside the grace period here)', async () => {
    const summary = await measure({ case: 'rotated-then-malformed', locks: 'web-locks', gracePeriodMs: 30_000, requestTimeoutMs: 30_000 });
    expect(summary).toMatchObject({ reuseDetected: 0, recovered: TRIALS });
  });
});

describe('no longer lost since issue #9: the answer of a sent request is awaited and stored', () => {
  // Without a grace period: before issue #9 each of these revoked the family and signed every tab out.
  it.each([['disposed'], ['remounted'], ['rotated-then-mistyped']] as const)(
    '%s mid-refresh, no grace period: no reuse, every tab on the new pair',
    async (kind) => {
      for (const locks of ['web-locks', 'lease'] as const) {
        const summary = await measure({ case: kind, locks, gracePeriodMs: 0, requestTimeoutMs: 10_000 });
        expect(summary, locks).toMatchObject({ reuseDetected: 0, familyRevoked: 0, signedOut: 0, graceReplayed: 0 });
        expect(summary.recovered, locks).toBe(TRIALS);
      }
    },
  );
});
