/**
 * Builds the static Storybook (storybook-static/) unless an existing build is newer than every source it is made of.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const SOURCES = ['stories', '.storybook', 'src', 'package.json', 'vite.config.ts'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Returns the output folder; builds first when it is missing or older than the sources. */
export function ensureStorybookBuilt(root: string, outDir = 'storybook-static'): { dir: string; built: boolean } {
  const dir = resolve(root, outDir);
  const marker = join(dir, 'iframe.html');
  const sourcesAt = Math.max(...SOURCES.map((source) => newestMtime(resolve(root, source))));
  if (existsSync(marker) && existsSync(join(dir, 'index.json')) && statSync(marker).mtimeMs > sourcesAt) return { dir, built: false };

  const require = createRequire(join(root, 'package.json'));
  const packageJson = require.resolve('storybook/package.json');
  const bin = join(dirname(packageJson), (require('storybook/package.json') as { bin: string }).bin);
  const result = spawnSync(process.execPath, [bin, 'build', '-o', outDir, '--quiet', '--disable-telemetry'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, STORYBOOK_DISABLE_TELEMETRY: '1', CI: 'true' },
    timeout: 170_000,
  });
  if (result.status !== 0) {
    throw new Error(`storybook build failed (exit ${result.status ?? result.signal}):\n${(result.stderr || result.stdout || '').slice(-4000)}`);
  }
  return { dir, built: true };
}
