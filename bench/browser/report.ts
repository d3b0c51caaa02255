/**
 * Tables and files of the browser bench: bench/results.json (raw figures) and docs/bench-browser.md (tables, setup,
 * column definitions). Each timed figure is printed as p50 / p99 (n) next to its floor from the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BfcacheRow } from './bfcache';
import type { BenchSettings } from './harness';
import type { Row } from './row';
import { formatRatio, formatSummary, ratio } from './stats';

export interface BenchResults {
  meta: Record<string, unknown> & { settings: BenchSettings; durationSeconds: number };
  rows: Row[];
  bfcache: BfcacheRow[];
}

function table(header: string[], rows: Array<Array<string | number>>, leftColumns = 2): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < leftColumns ? '---' : '---:')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

export function correctnessTable(rows: Row[]): string {
  return table(
    ['library', 'tabs', 'refresh req. / rotation', 'invalid_grant', 'revoked grants', 'forced sign-outs (re-logins)', 'API 401s / calls'],
    rows.map((r) => [
      r.mode,
      r.tabs,
      r.refreshRequestsPerRotation.toFixed(2),
      r.invalidGrant,
      r.grantsRevoked,
      `${r.forcedSignOuts} (${r.relogins})`,
      `${r.api401} / ${r.apiCalls}`,
    ]),
  );
}

export function propagationTable(rows: Row[]): string {
  return table(
    ['library', 'tabs', 'last tab holds the new pair: p50 / p99', 'floor: BroadcastChannel fan-out p50 / p99', '÷ floor (p50)'],
    rows.map((r) => [r.mode, r.tabs, formatSummary(r.propagation), formatSummary(r.channelFloor), formatRatio(ratio(r.propagation, r.channelFloor))]),
  );
}

export function newTabTable(rows: Row[]): string {
  return table(
    [
      'library',
      'tabs',
      'new tab usable: p50 / p99',
      'floor: IndexedDB open + read p50 / p99',
      '÷ floor (p50)',
      'own code: p50 / p99',
      'floor own: p50 / p99',
      'loading p50: library / floor',
    ],
    rows.map((r) => {
      const { library, floor } = r.newTab;
      return [
        r.mode,
        r.tabs,
        formatSummary(library.total),
        formatSummary(floor.total),
        formatRatio(ratio(library.total, floor.total)),
        formatSummary(library.own),
        formatSummary(floor.own),
        `${library.loading.p50 ?? 'n/a'} / ${floor.loading.p50 ?? 'n/a'} ms`,
      ];
    }),
  );
}

export function takeoverTable(rows: Row[]): string {
  const tabauth = rows.filter((r) => r.takeover);
  return table(
    [
      'tabs',
      'leader closed: p50 / p99',
      'floor: bare Web Lock let go on pagehide',
      'bare Web Lock held to the end',
      'leader crashed: p50 / p99',
      'floor: bare Web Lock after crash',
    ],
    tabauth.map((r) => {
      const t = r.takeover!;
      return [r.tabs, formatSummary(t.close), formatSummary(t.closeFloor), formatSummary(t.closeHeldLock), formatSummary(t.crash), formatSummary(t.crashFloor)];
    }),
    1,
  );
}

export function bfcacheTable(rows: BfcacheRow[]): string {
  return table(
    [
      'library',
      'restored from the back/forward cache',
      'newest pair after coming back',
      'invalid_grant / forced sign-outs',
      "Chromium's reasons when not restored",
    ],
    rows.map((r) => [
      r.library === 'idb-floor' ? 'bare page with IndexedDB (control)' : r.library,
      `${r.restored} / ${r.trials}`,
      r.newestPairAfterRestore === null ? 'n/a' : `${r.newestPairAfterRestore} / ${r.trials}`,
      r.newestPairAfterRestore === null ? 'n/a' : `${r.invalidGrant} / ${r.forcedSignOuts}`,
      r.reasons.length ? r.reasons.join(', ') : '-',
    ]),
    1,
  );
}

export function allTables(results: BenchResults): string {
  const { rows, bfcache } = results;
  return [
    '**Refreshes and sessions**',
    correctnessTable(rows),
    '**Propagation**: the tab that refreshed received the pair → the last other tab holds it',
    propagationTable(rows),
    '**New tab**: navigation start → first usable access token',
    newTabTable(rows),
    '**Takeover** (tabauth): the leader tab goes away → the next tab leads',
    takeoverTable(rows),
    '**Back/forward cache**: navigate away, another tab rotates the pair, navigate back',
    bfcacheTable(bfcache),
  ].join('\n\n');
}

function markdown(results: BenchResults, notes: string): string {
  const { meta } = results;
  const s = meta.settings;
  return `# Real-browser benchmark: tabauth vs. naive vs. oidc-client-ts, next to the platform's floors

\`\`\`sh
npm run bench        # tsx bench/browser.ts; BENCH_TABS=${s.tabCounts.join(',')} BENCH_ROTATIONS=${s.rotations} BENCH_TTL=${s.ttlSeconds} BENCH_SAMPLES=${s.samples}
npm run bench -- --render   # rewrite this file from bench/results.json
\`\`\`

${allTables(results)}

Measured ${meta.date} on ${meta.cpu} (${meta.cpus} cores), ${meta.chromium}, Node ${meta.node}, in ${Math.round(meta.durationSeconds / 60)} min;
raw figures in \`bench/results.json\`.

## Setup
- **Server**: oidc-provider ${meta.oidcProvider} (test/e2e/support/oidcServer.ts) on 127.0.0.1: refresh tokens rotate on every
  use, a reused refresh token revokes the whole grant, POST /token is serialised so a reuse is always caught,
  JWT access tokens living **${s.ttlSeconds} s**. The provider's own events are the counters.
- **Browser**: one headless Chromium with its back/forward cache on, one browser context per row, N tabs of the
  same page (test/e2e/page, built with Vite: a main chunk, then one chunk per mode), served \`Cache-Control: no-cache\`
  without validators (every load fetches every file), each tab calling the protected API every ${s.apiIntervalMs} ms.
- **Window**: each row runs ${s.rotations} refresh periods (${s.periodMs} ms each: tabauth and naive refresh at half-life)
  from the sign-in. When every tab of a row has lost its session, the harness logs the user in again (real code +
  PKCE flow) and counts a re-login.
- **tabauth**: \`createAuthClient\` + \`oauth2RefreshGrant\` with the default coordination (native BroadcastChannel and
  a Web Locks election in Chromium) and IndexedDB storage.
- **naive**: each tab refreshes on its own at half-life over localStorage, with the usual good practices (re-read
  storage right before refreshing, one refresh in flight per tab, adopt other tabs' pairs from \`storage\` events,
  adopt a newer stored pair after invalid_grant) and no lock: test/e2e/page/modes/naive.ts.
- **oidc-client-ts** ${meta.oidcClientTs}: \`UserManager\` with \`automaticSilentRenew\` (renews with the refresh token),
  \`WebStorageStateStore\` on localStorage shared by the tabs, \`accessTokenExpiringNotificationTimeInSeconds: ${s.oidcNotifySeconds}\`,
  seeded with the same code-flow tokens as a \`User\`: test/e2e/page/modes/oidcClientTs.ts.

## Floors (the bare platform doing the same job, measured in the same run)
- **BroadcastChannel fan-out**: during each row's rotation window, every ${s.channelFloorIntervalMs} ms (jittered) one tab (in turn) posts a
  ${s.channelFloorPaddingChars}-character message (about a tabauth state message with a JWT pair) on a plain \`BroadcastChannel\` that every tab
  listens to; the figure is the time until the last other tab received it. Same tabs, same API load, same moment.
- **IndexedDB open + read**: the same page in mode \`idb-floor\` (test/e2e/page/modes/idbFloor.ts): open a database,
  read one record holding a real token response, done. One floor tab is opened before each library tab, in the
  same context, with the row's N tabs open, so both see the same machine load.
- **Web Lock handoff**: N bare pages (mode \`idb-floor\`, no library) in a context of their own, each requesting two
  bare exclusive Web Locks; the holder is closed or crashed exactly as tabauth's leader is, and the figure is the
  next page's grant, measured the same way. The floor lets go of its lock on \`pagehide\`, as tabauth's election
  does; the other lock is held until the browser releases it with the page (the handoff a holder without a pagehide
  handler gets; after a crash no pagehide runs, so there both are the browser's release).

## Columns
- **refresh req. / rotation**: refresh_token requests the provider received ÷ ${s.rotations}. 1.00 is the minimum.
- **invalid_grant / revoked grants**: provider events (grant.error, grant.revoked).
- **forced sign-outs (re-logins)**: tabs that lost the session without the user asking, summed over tabs; in
  brackets how often every tab had lost it and the user had to log in again.
- **last tab holds the new pair**: for each new pair, from the moment the tab that refreshed received the token
  response to the moment the last other tab held the pair (tabauth: adopted it; naive and oidc-client-ts: the
  \`storage\` event for it arrived). Clocks: \`performance.timeOrigin + performance.now()\` in each tab, one machine.
- **new tab usable**: a tab opened while signed in, from its navigation start to its first usable access token, ${s.samples}
  samples; **loading** = navigation start → the mode's code starts (HTML, main chunk, mode chunk); **own code** =
  the mode's code starts → token (what the library itself costs). The library's chunk includes the library.
- **takeover**: from \`page.close()\` / CDP \`Page.crash\` of the leader (Node's clock) to another tab's
  \`leadership-gained\` (that tab's clock); ${s.samples} of each.
- **back/forward cache**: ${s.bfcacheTrials} trials per library; "newest pair" = the tab that came back holds the same access token as
  the tab that stayed, within 10 s.
- p99 is the nearest-rank percentile: with up to 100 samples it is the largest sample, so read it as "the worst of n".

## Notes
${notes}
`;
}

export function notesFor(results: BenchResults): string {
  const tabauthRows = results.rows.filter((r) => r.mode === 'tabauth');
  return [
    `- tabauth sent ${tabauthRows.map((r) => r.refreshRequests).join(' / ')} refresh requests for ${results.meta.settings.rotations} rotations at ${tabauthRows.map((r) => r.tabs).join(' / ')} tabs, ` +
      `with ${tabauthRows.reduce((s, r) => s + r.invalidGrant, 0)} invalid_grant, ${tabauthRows.reduce((s, r) => s + (r.takeover?.extraRefreshes ?? 0), 0)} extra refreshes during the takeovers ` +
      `and ${tabauthRows.reduce((s, r) => s + r.newTab.refreshRequests, 0)} refreshes by new tabs.`,
    '- A duplicate refresh is not harmless against a server with reuse detection: the second request carries a refresh token that was just used, so the server answers invalid_grant and revokes the whole grant, and every tab loses the session.',
    '- Figures vary from run to run (races depend on scheduling; the machine is shared); the floors move with them, which is why each figure is read against the floor of its own row.',
  ].join('\n');
}

export function writeOutputs(root: string, results: BenchResults): void {
  const tables = allTables(results);
  console.log(`\n${tables}\n`);
  writeFileSync(resolve(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  mkdirSync(resolve(root, 'docs'), { recursive: true });
  writeFileSync(resolve(root, 'docs/bench-browser.md'), markdown(results, notesFor(results)));
  console.log('wrote bench/results.json and docs/bench-browser.md');
}
