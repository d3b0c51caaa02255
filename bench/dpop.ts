/**
 * DPoP benchmark (`npm run bench:dpop`): the same tabauth page in N Chromium tabs, side by side in one run,
 *   - Bearer: oidc-provider without DPoP, API calls with `Authorization: Bearer`;
 *   - DPoP:   oidc-provider with features.dPoP (nonceSecret, requireNonce), the client bound to DPoP, /api/me checking
 *             proofs and `cnf.jkt` (jose) and requiring its own nonce, renewed every BENCH_NONCE_MS; API calls
 *             through tabauth/query's authedFetch.
 * Figures: refresh requests per rotation (nonce challenges counted apart), extra round trips caused by nonces per
 * 100 API calls, proof generation per request (p50/p99) next to a bare crypto.subtle.sign floor measured in the same
 * tab at the same time, and a new tab's time to a usable token (DPoP: with the key read from IndexedDB).
 *
 * Writes bench/dpop-results.json and prints the table.
 * Environment: BENCH_TABS=2,8  BENCH_ROTATIONS=10  BENCH_TTL=3 (seconds)  BENCH_NONCE_MS=10000  BENCH_PROOFS=200
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromiumPath, launchChromium } from '../test/e2e/support/chromium';
import { startOidcServer, type OidcServer } from '../test/e2e/support/oidcServer';
import { buildTestPage } from '../test/e2e/support/page';
import { delay, openTab, pageConfig, pageUrl, records, snapshots, waitForTab, type Tab } from '../test/e2e/support/tabs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TAB_COUNTS = (process.env.BENCH_TABS ?? '2,8').split(',').map(Number);
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 10);
const TTL_SECONDS = Number(process.env.BENCH_TTL ?? 3);
const NONCE_MS = Number(process.env.BENCH_NONCE_MS ?? 10_000);
const PROOF_SAMPLES = Number(process.env.BENCH_PROOFS ?? 200);
const RATIO = 0.5;
const PERIOD_MS = TTL_SECONDS * 1000 * (1 - RATIO);
const API_INTERVAL_MS = 500;
const NEW_TAB_SAMPLES = 7;

type Variant = 'bearer' | 'dpop';

interface Row {
  variant: Variant;
  tabs: number;
  rotations: number;
  refreshRequests: number;
  refreshRequestsPerRotation: number;
  invalidGrant: number;
  forcedSignOuts: number;
  apiCalls: number;
  apiFailed: number;
  /** use_dpop_nonce answers: at the token endpoint (refreshes) and at the API. */
  tokenNonceRoundTrips: number;
  apiNonceRoundTrips: number;
  /**
   * Why the API challenged: the proof carried no nonce (a tab that had not learnt one yet: its first call went out
   * before another tab's challenge shared the nonce), or a nonce the API no longer accepts (renewed twice since).
   */
  apiNonceChallenges: { noNonce: number; staleNonce: number };
  nonceRoundTripsPer100Calls: number;
  /** Proofs signed for the run's own requests (ms), all tabs. */
  inRunProof: { samples: number; p50: number | null; p99: number | null };
  /** One tab, interleaved: handle.proof() and a bare crypto.subtle.sign. */
  isolatedProof: { samples: number; p50: number | null; p99: number | null };
  signFloor: { samples: number; p50: number | null; p99: number | null };
  newTabUsableMs: number[];
  newTabRefreshRequests: number;
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const round = (value: number | null, digits = 3) => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);
const stats = (values: number[]) => ({ samples: values.length, p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) });

async function signIn(server: OidcServer, variant: Variant, tab: Tab): Promise<void> {
  if (variant === 'bearer') {
    const tokens = await server.obtainInitialTokens();
    await tab.page.evaluate((body) => window.tabauthTest!.signIn(body), tokens as unknown as Record<string, unknown>);
    return;
  }
  const jkt = await tab.page.evaluate(() => window.tabauthTest!.dpop!.newKeyForLogin());
  await server.obtainInitialTokens({
    dpopJkt: jkt,
    exchange: async (callback) => (await tab.page.evaluate((c) => window.tabauthTest!.dpop!.exchange(c), callback)) as never,
  });
}

async function runRow(browser: Browser, server: OidcServer, variant: Variant, tabCount: number): Promise<Row> {
  const context = await browser.newContext();
  const config = pageConfig(server, { mode: 'tabauth', namespace: `bench-${variant}-${tabCount}`, leewayMs: 0, ratio: RATIO, dpop: variant === 'dpop' });
  const url = pageUrl(server, config);
  const tabs: Tab[] = [];
  let nonceTimer: ReturnType<typeof setInterval> | undefined;
  try {
    for (let i = 0; i < tabCount; i++) tabs.push(await openTab(context, url, `${variant}-${i}`, 60_000));
    server.resetCounters();
    await signIn(server, variant, tabs[0]!);
    await Promise.all(tabs.map((tab) => waitForTab(tab, (s) => s.status === 'authenticated', 'signed in', 30_000)));
    const v0 = Math.max(...(await snapshots(tabs)).map((s) => s.version));
    if (variant === 'dpop') nonceTimer = setInterval(() => server.rotateResourceNonce(), NONCE_MS);
    await Promise.all(tabs.map((tab) => tab.page.evaluate((ms) => window.tabauthTest!.startApiLoop(ms), API_INTERVAL_MS)));
    const windowEnd = Date.now() + ROTATIONS * PERIOD_MS + PERIOD_MS / 2;
    while (Date.now() < windowEnd) await delay(250);
    await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.tabauthTest!.stopApiLoop())));
    clearInterval(nonceTimer);
    const counters = { ...server.counters(), ...server.dpopCounters() };
    const events = server.events();
    const recs = await Promise.all(tabs.map(records));
    const rotations = Math.max(...recs.map((r) => r.snapshot.version)) - v0;
    const refreshRequests = counters.refreshSuccesses + counters.refreshErrors;
    const tokenNonceRoundTrips = events.filter((e) => e.type === 'token' && e.grantType === 'refresh_token' && !e.ok && e.error === 'use_dpop_nonce').length;
    // API calls as the app sees them (one per call of the loop; a nonce retry is a second request of the same call).
    const apiCalls = recs.flatMap((r) => r.apiCalls).filter((call) => call.status !== 0);
    const inRun = variant === 'dpop' ? (await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.tabauthTest!.dpop!.proofTimings())))).flat() : [];
    const measured =
      variant === 'dpop' ? await tabs[0]!.page.evaluate((n) => window.tabauthTest!.dpop!.measureProofs(n), PROOF_SAMPLES) : { proofMs: [], signMs: [] };

    // A tab opened while signed in: navigation start to its first usable token (DPoP: key read from IndexedDB too).
    const newTabUsableMs: number[] = [];
    let newTabRefreshRequests = 0;
    for (let i = 0; i < NEW_TAB_SAMPLES; i++) {
      const tab = await openTab(context, url, `${variant}-new-${i}`, 60_000);
      const state = await waitForTab(tab, (s) => s.usableAfterMs !== null || s.status === 'signed-out', 'a usable token', 30_000);
      newTabRefreshRequests += tab.tokenRequests;
      if (state.usableAfterMs !== null) newTabUsableMs.push(round(state.usableAfterMs, 1)!);
      await tab.page.close();
    }

    return {
      variant,
      tabs: tabCount,
      rotations,
      refreshRequests,
      refreshRequestsPerRotation: round(refreshRequests / Math.max(1, rotations))!,
      invalidGrant: counters.invalidGrant,
      forcedSignOuts: recs.reduce((sum, r) => sum + r.snapshot.forcedSignOuts, 0),
      apiCalls: apiCalls.length,
      apiFailed: apiCalls.filter((call) => call.status !== 200).length,
      tokenNonceRoundTrips,
      apiNonceRoundTrips: counters.apiNonceChallenges,
      apiNonceChallenges: apiChallengeKinds(events),
      nonceRoundTripsPer100Calls: round(((tokenNonceRoundTrips + counters.apiNonceChallenges) / Math.max(1, apiCalls.length)) * 100)!,
      inRunProof: stats(inRun),
      isolatedProof: stats(measured.proofMs),
      signFloor: stats(measured.signMs),
      newTabUsableMs,
      newTabRefreshRequests,
    };
  } finally {
    clearInterval(nonceTimer);
    await context.close().catch(() => {});
  }
}

/** The API's use_dpop_nonce answers by the verifier's reason (test/e2e/support/oidcServer.ts, dpopVerifier). */
function apiChallengeKinds(events: ReturnType<OidcServer['events']>): Row['apiNonceChallenges'] {
  const reasons = events.flatMap((e) => (e.type === 'api' && e.status === 401 && e.reason.startsWith('use_dpop_nonce') ? [e.reason] : []));
  const noNonce = reasons.filter((reason) => reason.includes('nonce is required')).length;
  return { noNonce, staleNonce: reasons.length - noNonce };
}

const fmt = (value: number | null | undefined, unit = ' ms') => (value === null || value === undefined ? 'n/a' : `${value}${unit}`);
/** Proof timings are fractions of a millisecond: two decimals. */
const ms2 = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)} ms`);

function table(rows: Row[]): string {
  const header = [
    'tokens',
    'tabs',
    'refresh req. / rotation',
    'invalid_grant',
    'API calls (failed)',
    'nonce round trips: token / API',
    'extra round trips / 100 API calls',
    'proof per request p50 / p99 (in run)',
    'proof p50 / p99 (isolated)',
    'crypto.subtle.sign floor p50 / p99',
    'new tab usable (median)',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const dpop = r.variant === 'dpop';
    lines.push(
      `| ${[
        dpop ? 'DPoP' : 'Bearer',
        r.tabs,
        r.refreshRequestsPerRotation.toFixed(2),
        r.invalidGrant,
        `${r.apiCalls} (${r.apiFailed})`,
        dpop ? `${r.tokenNonceRoundTrips} / ${r.apiNonceRoundTrips}` : 'n/a',
        dpop ? r.nonceRoundTripsPer100Calls.toFixed(2) : '0',
        dpop ? `${ms2(r.inRunProof.p50)} / ${ms2(r.inRunProof.p99)} (n=${r.inRunProof.samples})` : 'n/a',
        dpop ? `${ms2(r.isolatedProof.p50)} / ${ms2(r.isolatedProof.p99)} (n=${r.isolatedProof.samples})` : 'n/a',
        dpop ? `${ms2(r.signFloor.p50)} / ${ms2(r.signFloor.p99)}` : 'n/a',
        fmt(percentile(r.newTabUsableMs, 50)),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const dir = await buildTestPage();
  const servers: Record<Variant, OidcServer> = {
    bearer: await startOidcServer({ accessTokenTtlSeconds: TTL_SECONDS }),
    dpop: await startOidcServer({ accessTokenTtlSeconds: TTL_SECONDS, dpop: {} }),
  };
  for (const server of Object.values(servers)) server.serveStatic(dir);
  const browser = await launchChromium();
  const rows: Row[] = [];
  try {
    for (const tabCount of TAB_COUNTS) {
      for (const variant of ['bearer', 'dpop'] as const) {
        const row = await runRow(browser, servers[variant], variant, tabCount);
        rows.push(row);
        console.log(
          `${variant} x${tabCount}: ${row.refreshRequestsPerRotation} req/rotation, ${row.rotations} rotations, nonce round trips ${row.tokenNonceRoundTrips}/${row.apiNonceRoundTrips} (API: ${row.apiNonceChallenges.noNonce} without a nonce, ${row.apiNonceChallenges.staleNonce} stale)`,
        );
      }
    }
  } finally {
    await browser.close().catch(() => {});
    for (const server of Object.values(servers)) await server.close().catch(() => {});
  }
  let chromium = 'unknown';
  try {
    chromium = execFileSync(chromiumPath(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // keep 'unknown'
  }
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cpus: cpus().length,
    chromium,
    node: process.version,
    ttlSeconds: TTL_SECONDS,
    rotationsPerRow: ROTATIONS,
    apiIntervalMs: API_INTERVAL_MS,
    resourceNonceRenewedEveryMs: NONCE_MS,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
  const text = table(rows);
  console.log(`\n${text}\n`);
  console.log(`Measured ${meta.date} on ${meta.cpu} (${meta.cpus} cores), ${meta.chromium}, Node ${meta.node} (${meta.durationSeconds} s)`);
  writeFileSync(resolve(root, 'bench/dpop-results.json'), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  console.log('wrote bench/dpop-results.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
