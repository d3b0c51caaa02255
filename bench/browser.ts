/**
 * Real-browser benchmark (`npm run bench`): N Chromium tabs of one browser context against oidc-provider
 * (refresh-token rotation + reuse detection), side by side for
 *   - tabauth        the library (core entry), one leader tab refreshes;
 *   - naive          every tab refreshes on its own over localStorage (test/e2e/page/modes/naive.ts);
 *   - oidc-client-ts UserManager, automaticSilentRenew with refresh tokens, user store on localStorage;
 * and every timed figure next to its bare-platform floor measured in the same run: BroadcastChannel fan-out,
 * IndexedDB open + read in a fresh tab, Web Lock handoff. Then a back/forward cache trial per library.
 *
 * The parts live in bench/browser/: harness (world, settings), rotations, newTab, takeover, bfcache, row, report,
 * stats. Another section (e.g. DPoP rows) starts its own world with startBenchWorld and reuses stats and report.
 *
 * Writes bench/results.json and docs/bench-browser.md, and prints the tables. `--render` rewrites the markdown from
 * bench/results.json without running. `--rotations-only` runs the rotation window of each row alone (refreshes and
 * propagation next to its floor: no new tabs, takeovers or back/forward cache) and only prints, writing no file.
 * Environment: BENCH_TABS=2,8,16,32  BENCH_ROTATIONS=24  BENCH_TTL=3 (seconds)  BENCH_SAMPLES=20 (at least 20)
 *              BENCH_MODES=tabauth,naive,oidc-client-ts  BENCH_BFCACHE_TRIALS=3
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumPath } from '../test/e2e/support/chromium';
import { runBfcache } from './browser/bfcache';
import { settingsFromEnv, startBenchWorld } from './browser/harness';
import { writeOutputs, type BenchResults } from './browser/report';
import { runRow, type Row } from './browser/row';
import { formatRatio, formatSummary, ratio } from './browser/stats';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

function chromiumVersion(): string {
  try {
    return execFileSync(chromiumPath(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(resolve(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(rotationsOnly: boolean) {
  const started = Date.now();
  const settings = settingsFromEnv();
  const world = await startBenchWorld(settings);
  const rows: Row[] = [];
  let bfcache: BenchResults['bfcache'];
  try {
    for (const tabCount of settings.tabCounts) {
      for (const mode of settings.modes) {
        const t0 = Date.now();
        const row = await runRow(world, mode, tabCount, rotationsOnly);
        rows.push(row);
        console.log(
          `${mode} x${tabCount}: ${row.refreshRequestsPerRotation} req/rotation, invalid_grant ${row.invalidGrant}, ` +
            `propagation ${formatSummary(row.propagation)} (floor ${formatSummary(row.channelFloor)}, ${formatRatio(ratio(row.propagation, row.channelFloor))}), ` +
            `new tab ${formatSummary(row.newTab.library.total)} (floor ${formatSummary(row.newTab.floor.total)})` +
            (row.takeover ? `, takeover close ${formatSummary(row.takeover.close)} (floor ${formatSummary(row.takeover.closeFloor)})` : '') +
            ` (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    }
    if (rotationsOnly) return;
    bfcache = await runBfcache(world, settings.modes);
  } finally {
    await world.close();
  }
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString().slice(0, 10),
      cpu: cpus()[0]?.model ?? 'unknown CPU',
      cpus: cpus().length,
      chromium: chromiumVersion(),
      node: process.version,
      oidcProvider: packageVersion('oidc-provider'),
      oidcClientTs: packageVersion('oidc-client-ts'),
      settings,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    },
    rows,
    bfcache,
  };
  writeOutputs(root, results);
}

function render(): void {
  writeOutputs(root, JSON.parse(readFileSync(resolve(root, 'bench/results.json'), 'utf8')) as BenchResults);
}

(process.argv.includes('--render') ? Promise.resolve().then(render) : main(process.argv.includes('--rotations-only'))).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
