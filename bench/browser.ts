/**
 * Real-browser benchmark (`npm run bench`): N Chromium tabs of one browser context against oidc-provider
 * (refresh-token rotation + reuse detection), side by side for
 *   - tabauth        the library (core entry), one leader tab refreshes;
 *   - naive          every tab refreshes on its own over localStorage (test/e2e/page/modes/naive.ts);
 *   - oidc-client-ts UserManager, automaticSilentRenew with refresh tokens, user store on localStorage.
 * Same provider, same page (test/e2e/page), same machine, same token lifetime, same API load.
 *
 * Writes bench/results.json and docs/bench-browser.md, and prints the table.
 * Environment: BENCH_TABS=2,8,16  BENCH_ROTATIONS=20  BENCH_TTL=3 (seconds)  BENCH_MODES=tabauth,naive,oidc-client-ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { PageMode } from '../test/e2e/page/api';
import { chromiumPath, launchChromium } from '../test/e2e/support/chromium';
import { startOidcServer, type OidcServer } from '../test/e2e/support/oidcServer';
import { buildTestPage } from '../test/e2e/support/page';
import { alive, crashTab, delay, openTab, pageConfig, pageUrl, records, snapshot, snapshots, waitForLeader, waitForTab, type Tab, type TabRecords } from '../test/e2e/support/tabs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const TAB_COUNTS = (process.env.BENCH_TABS ?? '2,8,16').split(',').map(Number);
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 20);
const TTL_SECONDS = Number(process.env.BENCH_TTL ?? 3);
const MODES = (process.env.BENCH_MODES ?? 'tabauth,naive,oidc-client-ts').split(',') as PageMode[];
/** tabauth (and naive) refresh at half-life. */
const RATIO = 0.5;
const PERIOD_MS = TTL_SECONDS * 1000 * (1 - RATIO);
/** oidc-client-ts counts in whole seconds: its renew fires `notify` seconds before expiry (1 s resolution). */
const OIDC_NOTIFY_SECONDS = Math.max(1, Math.ceil(TTL_SECONDS * RATIO));
const API_INTERVAL_MS = 500;
const NEW_TAB_SAMPLES = 3;
const TAKEOVER_SAMPLES = 3;

interface Row {
  mode: PageMode;
  tabs: number;
  rotations: number;
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
  /** Last tab to hold a new pair, after the tab that refreshed received it (ms); pairs every live tab held. */
  propagation: { samples: number; p50: number | null; p99: number | null; max: number | null };
  /** Pairs received by a tab that not every live tab ever held (overwritten or revoked first). */
  pairsNotPropagated: number;
  takeoverCloseMs: number[] | null;
  takeoverCrashMs: number[] | null;
  /** Refresh requests sent during the takeover phase beyond the rotations that were due (tabauth). */
  takeoverExtraRefreshes: number | null;
  newTabUsableMs: number[];
  newTabRefreshRequests: number;
  /** New-tab samples that found no session (lost to a race) and were retried after a login. */
  newTabRetries: number;
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (values: number[]) => percentile(values, 50);
const round = (value: number | null, digits = 1) => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);

function propagation(recs: TabRecords[]): { lags: number[]; notPropagated: number } {
  const lags: number[] = [];
  let notPropagated = 0;
  for (const source of recs) {
    for (const received of source.received) {
      const others = recs.filter((r) => r !== source);
      const heldAt = others.map((r) => r.held.find((h) => h.jti === received.jti)?.at);
      if (heldAt.some((at) => at === undefined)) {
        notPropagated++;
        continue;
      }
      lags.push(Math.max(received.at, ...(heldAt as number[])) - received.at);
    }
  }
  return { lags, notPropagated };
}

async function obtainAndSignIn(server: OidcServer, tab: Tab): Promise<void> {
  const tokens = await server.obtainInitialTokens();
  await tab.page.evaluate((body) => window.tabauthTest!.signIn(body), tokens as unknown as Record<string, unknown>);
}

async function runRow(browser: Browser, server: OidcServer, mode: PageMode, tabCount: number): Promise<Row> {
  const context = await browser.newContext();
  const namespace = `bench-${mode}-${tabCount}`;
  const config = pageConfig(server, { mode, namespace, leewayMs: 0, ratio: RATIO, oidcNotifySeconds: OIDC_NOTIFY_SECONDS });
  const url = pageUrl(server, config);
  const tabs: Tab[] = [];
  try {
    for (let i = 0; i < tabCount; i++) tabs.push(await openTab(context, url, `${mode}-${i}`, 60_000));
    server.resetCounters();

    // ---- rotations: a fixed window of ROTATIONS refresh periods from the sign-in ----
    await obtainAndSignIn(server, tabs[0]!);
    const signedInAt = Date.now();
    await Promise.all(tabs.map((tab) => waitForTab(tab, (s) => s.status === 'authenticated', 'signed in', 30_000)));
    // Every tab reads its session once, as a page does on load (oidc-client-ts arms its renew timer here).
    await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.tabauthTest!.getAccessToken().catch(() => ''))));
    await Promise.all(tabs.map((tab) => tab.page.evaluate((ms) => window.tabauthTest!.startApiLoop(ms), API_INTERVAL_MS)));
    const windowMs = ROTATIONS * PERIOD_MS + PERIOD_MS / 2;
    const windowEnd = signedInAt + windowMs;
    let relogins = 0;
    while (Date.now() < windowEnd) {
      await delay(250);
      const states = await snapshots(tabs);
      if (states.every((s) => s.status === 'signed-out') && Date.now() < windowEnd - 500) {
        relogins++;
        await obtainAndSignIn(server, tabs[0]!);
      }
    }
    await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.tabauthTest!.stopApiLoop())));
    const counters = server.counters();
    const recs = await Promise.all(tabs.map(records));
    const { lags, notPropagated } = propagation(recs);
    const refreshRequests = counters.refreshSuccesses + counters.refreshErrors;
    const apiCalls = recs.flatMap((r) => r.apiCalls).filter((call) => call.jti !== null);

    // ---- a new tab's time to a usable token (ms from its navigation start) ----
    // Needs a live session: naive and oidc-client-ts may lose it at any rotation, so a sample that ends signed out
    // is retried after a fresh login (counted in newTabRetries, not in the row's figures).
    const newTabUsableMs: number[] = [];
    let newTabRefreshRequests = 0;
    let newTabRetries = 0;
    for (let i = 0; newTabUsableMs.length < NEW_TAB_SAMPLES && i < NEW_TAB_SAMPLES * 4; i++) {
      if ((await snapshot(alive(tabs)[0]!)).status !== 'authenticated') {
        await obtainAndSignIn(server, alive(tabs)[0]!);
        await waitForTab(alive(tabs)[0]!, (s) => s.status === 'authenticated', 'signed in', 30_000);
      }
      const tab = await openTab(context, url, `${mode}-new-${i}`, 60_000);
      const state = await waitForTab(tab, (s) => s.usableAfterMs !== null || s.status === 'signed-out', 'a usable token or signed out', 30_000);
      newTabRefreshRequests += tab.tokenRequests;
      if (state.usableAfterMs !== null) newTabUsableMs.push(round(state.usableAfterMs, 1)!);
      else newTabRetries++;
      await tab.page.close();
    }

    // ---- takeover (tabauth: leadership moves to another tab when the leader closes or crashes) ----
    let takeoverCloseMs: number[] | null = null;
    let takeoverCrashMs: number[] | null = null;
    let takeoverExtraRefreshes: number | null = null;
    if (mode === 'tabauth') {
      takeoverCloseMs = [];
      takeoverCrashMs = [];
      const before = server.counters();
      const versionBefore = Math.max(...(await snapshots(tabs)).map((s) => s.version));
      for (let i = 0; i < TAKEOVER_SAMPLES * 2; i++) {
        if (alive(tabs).length < 2) tabs.push(await openTab(context, url, `${mode}-extra-${i}`, 60_000));
        const leader = await waitForLeader(tabs);
        const t0 = Date.now();
        if (i % 2 === 0) await leader.page.close();
        else await crashTab(context, leader);
        const next = await waitForLeader(tabs);
        const gained = (await snapshot(next)).leadershipAt.at(-1)!;
        (i % 2 === 0 ? takeoverCloseMs : takeoverCrashMs).push(round(gained - t0, 1)!);
      }
      const states = await snapshots(tabs);
      const versionAfter = Math.max(...states.map((s) => s.version));
      const after = server.counters();
      takeoverExtraRefreshes = after.refreshSuccesses + after.refreshErrors - (before.refreshSuccesses + before.refreshErrors) - (versionAfter - versionBefore);
    }

    return {
      mode,
      tabs: tabCount,
      rotations: ROTATIONS,
      windowMs,
      refreshRequests,
      refreshRequestsPerRotation: round(refreshRequests / ROTATIONS, 2)!,
      refreshSuccesses: counters.refreshSuccesses,
      invalidGrant: counters.invalidGrant,
      reuseDetected: counters.reuseDetected,
      grantsRevoked: counters.grantsRevoked,
      forcedSignOuts: recs.reduce((sum, r) => sum + r.snapshot.forcedSignOuts, 0),
      relogins,
      apiCalls: apiCalls.length,
      api401: apiCalls.filter((call) => call.status === 401).length,
      apiStale: apiCalls.filter((call) => call.status === 200 && call.newest === false).length,
      propagation: { samples: lags.length, p50: round(percentile(lags, 50)), p99: round(percentile(lags, 99)), max: round(lags.length ? Math.max(...lags) : null) },
      pairsNotPropagated: notPropagated,
      takeoverCloseMs,
      takeoverCrashMs,
      takeoverExtraRefreshes,
      newTabUsableMs,
      newTabRefreshRequests,
      newTabRetries,
    };
  } finally {
    await context.close().catch(() => {});
  }
}

const fmt = (value: number | null | undefined, unit = '') => (value === null || value === undefined ? 'n/a' : `${value}${unit}`);

function table(rows: Row[]): string {
  const header = [
    'library',
    'tabs',
    'refresh req. / rotation',
    'invalid_grant',
    'revoked grants',
    'forced sign-outs (re-logins)',
    'API 401s / calls',
    'last tab holds new pair p50 / p99',
    'takeover: close / crash (p50)',
    'new tab usable (p50)',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.mode,
        r.tabs,
        r.refreshRequestsPerRotation.toFixed(2),
        r.invalidGrant,
        r.grantsRevoked,
        `${r.forcedSignOuts} (${r.relogins})`,
        `${r.api401} / ${r.apiCalls}`,
        r.propagation.samples ? `${fmt(r.propagation.p50, ' ms')} / ${fmt(r.propagation.p99, ' ms')} (n=${r.propagation.samples})` : 'n/a',
        r.takeoverCloseMs ? `${fmt(median(r.takeoverCloseMs), ' ms')} / ${fmt(median(r.takeoverCrashMs ?? []), ' ms')}` : 'n/a (no leader)',
        `${fmt(median(r.newTabUsableMs), ' ms')}`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function chromiumVersion(): string {
  try {
    return execFileSync(chromiumPath(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function markdown(meta: Record<string, unknown>, tableText: string): string {
  const ttl = Number(meta.ttlSeconds ?? TTL_SECONDS);
  const rotations = Number(meta.rotations ?? ROTATIONS);
  const period = Number(meta.periodMs ?? PERIOD_MS);
  const notify = Number(meta.oidcNotifySeconds ?? OIDC_NOTIFY_SECONDS);
  const apiInterval = Number(meta.apiIntervalMs ?? API_INTERVAL_MS);
  return `# Real-browser benchmark: tabauth vs. naive vs. oidc-client-ts

\`\`\`sh
npm run bench        # tsx bench/browser.ts; BENCH_TABS=2,8,16 BENCH_ROTATIONS=${rotations} BENCH_TTL=${ttl}
\`\`\`

${tableText}

Measured ${meta.date} on ${meta.cpu} (${meta.cpus} cores), ${meta.chromium}, Node ${meta.node}; raw figures in
\`bench/results.json\`.

## Setup
- **Server**: oidc-provider 9.13 (test/e2e/support/oidcServer.ts) on 127.0.0.1: refresh tokens rotate on every
  use, a reused refresh token revokes the whole grant, POST /token is serialised so a reuse is always caught,
  JWT access tokens living **${ttl} s**. The provider's own events are the counters.
- **Browser**: one headless Chromium, one browser context, N tabs of the same page (test/e2e/page, built with
  Vite), each tab calling the protected API every ${apiInterval} ms with the token it holds.
- **Window**: each row runs ${rotations} refresh periods (${period} ms each: tabauth and naive refresh at half-life) from
  the sign-in, i.e. ${(rotations * period + period / 2) / 1000} s. When every tab of a row has lost its session,
  the harness logs the user in again (real code + PKCE flow) and counts a re-login.
- **tabauth**: \`createAuthClient\` + \`oauth2RefreshGrant\` (IndexedDB, Web Locks leader election).
- **naive**: each tab refreshes on its own at half-life over localStorage, with the usual good practices (re-read
  storage right before refreshing, one refresh in flight per tab, adopt other tabs' pairs from \`storage\` events,
  adopt a newer stored pair after invalid_grant) and no lock: test/e2e/page/modes/naive.ts.
- **oidc-client-ts** ${meta.oidcClientTs}: \`UserManager\` with \`automaticSilentRenew\` (renews with the refresh token),
  \`WebStorageStateStore\` on localStorage shared by the tabs, \`accessTokenExpiringNotificationTimeInSeconds: ${notify}\`
  (its timers have whole-second resolution), seeded with the same code-flow tokens as a \`User\`; the app calls
  \`getUser()\` before each API call and \`removeUser()\` on a silent-renew invalid_grant:
  test/e2e/page/modes/oidcClientTs.ts.

## Columns
- **refresh req. / rotation**: refresh_token requests the provider received ÷ ${rotations} (the rotations due in the window).
  1.00 is the minimum; more means duplicate refreshes, which rotation turns into invalid_grant and revoked grants.
- **invalid_grant / revoked grants**: provider events (grant.error, grant.revoked).
- **forced sign-outs (re-logins)**: tabs that lost the session without the user asking, summed over tabs; in
  brackets how often every tab had lost it and the user had to log in again.
- **API 401s / calls**: protected API calls answered 401 (expired or revoked token) out of all calls made with a token.
- **last tab holds new pair**: for each new pair, time from the moment the tab that refreshed received the token
  response to the moment the last other tab held the pair (tabauth: adopted it; naive and oidc-client-ts: the
  \`storage\` event for it arrived). Clocks: \`performance.timeOrigin + performance.now()\` in each tab, one machine.
  Only pairs every live tab held; p99 of n samples is close to the maximum when n is small.
- **takeover**: time from closing (\`page.close()\`) or crashing (CDP \`Page.crash\`) the leader tab to another tab's
  \`leadership-gained\`, median of ${TAKEOVER_SAMPLES} each. The other libraries have no leader.
- **new tab usable**: a tab opened while signed in, from its navigation start to its first usable access token
  (median of ${NEW_TAB_SAMPLES}); includes loading the page's bundle from the local server.

## Notes
${meta.notes}
`;
}

async function main() {
  const started = Date.now();
  const dir = await buildTestPage();
  const server = await startOidcServer({ accessTokenTtlSeconds: TTL_SECONDS });
  server.serveStatic(dir);
  const browser = await launchChromium();
  const rows: Row[] = [];
  try {
    for (const tabCount of TAB_COUNTS) {
      for (const mode of MODES) {
        const t0 = Date.now();
        const row = await runRow(browser, server, mode, tabCount);
        rows.push(row);
        console.log(
          `${mode} x${tabCount}: ${row.refreshRequestsPerRotation} req/rotation, invalid_grant ${row.invalidGrant}, revoked ${row.grantsRevoked}, ` +
            `forced sign-outs ${row.forcedSignOuts} (${row.relogins} re-logins), propagation p50 ${row.propagation.p50} ms (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    }
  } finally {
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }

  const pkg = (name: string) => {
    try {
      return (JSON.parse(execFileSync('node', ['-p', `JSON.stringify(require('${name}/package.json'))`], { cwd: root, encoding: 'utf8' })) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cpus: cpus().length,
    chromium: chromiumVersion(),
    node: process.version,
    oidcProvider: pkg('oidc-provider'),
    oidcClientTs: pkg('oidc-client-ts'),
    ttlSeconds: TTL_SECONDS,
    periodMs: PERIOD_MS,
    rotations: ROTATIONS,
    apiIntervalMs: API_INTERVAL_MS,
    oidcNotifySeconds: OIDC_NOTIFY_SECONDS,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
  writeOutputs(rows, meta);
}

type Meta = Record<string, unknown> & { durationSeconds: number };

function notesFor(rows: Row[]): string {
  const tabauthRows = rows.filter((r) => r.mode === 'tabauth');
  return [
    `- tabauth sent ${tabauthRows.map((r) => `${r.refreshRequests}`).join(' / ')} refresh requests for ${ROTATIONS} rotations at ${tabauthRows.map((r) => r.tabs).join(' / ')} tabs, ` +
      `with ${tabauthRows.reduce((s, r) => s + r.invalidGrant, 0)} invalid_grant, ${tabauthRows.reduce((s, r) => s + (r.takeoverExtraRefreshes ?? 0), 0)} extra refreshes during the takeovers ` +
      `and ${tabauthRows.reduce((s, r) => s + r.newTabRefreshRequests, 0)} refreshes by new tabs.`,
    '- A duplicate refresh is not harmless against a server with reuse detection: the second request carries a refresh token that was just used, so the server answers invalid_grant and revokes the whole grant, and every tab loses the session.',
    '- oidc-client-ts has no cross-tab coordination: each tab arms its own renew timer from the shared user record and renews on its own. Renewals that follow each other succeed (each reads the newest refresh token from localStorage) but multiply the requests; renewals that overlap race. A tab can count several forced sign-outs per re-login: a tab that lost a race removes the user while the winner stores its (already revoked) pair again.',
    '- New tab usable: tabauth opens IndexedDB and reads the stored state before handing out the first token; the other two read localStorage.',
    '- Figures vary from run to run (races depend on scheduling); the shape does not: only tabauth stays at one request per rotation with no invalid_grant.',
  ].join('\n');
}

function writeOutputs(rows: Row[], meta: Meta): void {
  const tableText = table(rows);
  console.log(`\n${tableText}\n`);
  console.log(`(${meta.durationSeconds} s)`);
  writeFileSync(resolve(root, 'bench/results.json'), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  mkdirSync(resolve(root, 'docs'), { recursive: true });
  writeFileSync(resolve(root, 'docs/bench-browser.md'), markdown({ ...meta, notes: notesFor(rows) }, tableText));
  console.log('wrote bench/results.json and docs/bench-browser.md');
}

/** `tsx bench/browser.ts --render`: rewrite docs/bench-browser.md from bench/results.json without running. */
function render(): void {
  const { meta, rows } = JSON.parse(readFileSync(resolve(root, 'bench/results.json'), 'utf8')) as { meta: Meta; rows: Row[] };
  delete meta.notes;
  writeOutputs(rows, meta);
}

(process.argv.includes('--render') ? Promise.resolve().then(render) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
