/**
 * Builds the e2e / benchmark page (test/e2e/page), or another page directory (the OIDC page), with Vite's
 * programmatic `build()`, aliasing the public entry names 'tabauth', 'tabauth/react', 'tabauth/query',
 * 'tabauth/oidc' to src/ exactly like vite.config.ts does.
 *
 * The output goes to a directory under the OS temp dir named after a hash of every input file (page + src +
 * lockfile), so test files running in parallel and the benchmark reuse one build, and any source change rebuilds.
 * Writes go to a private directory first and are renamed into place, so a half-written build is never served.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const pageDir = resolve(repoRoot, 'test/e2e/page');
/** The OIDC login page (tabauth/oidc + tabauth/react), see test/e2e/oidcPage/main.tsx. */
export const oidcPageDir = resolve(repoRoot, 'test/e2e/oidcPage');

const entries = {
  core: resolve(repoRoot, 'src/core/index.ts'),
  react: resolve(repoRoot, 'src/react/index.ts'),
  query: resolve(repoRoot, 'src/query/index.ts'),
  devtoolsProduction: resolve(repoRoot, 'src/devtools/production.ts'),
  oidc: resolve(repoRoot, 'src/oidc/index.ts'),
  dpop: resolve(repoRoot, 'src/dpop/index.ts'),
  worker: resolve(repoRoot, 'src/worker/index.ts'),
};

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out.sort();
}

function inputHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(dir), ...filesUnder(resolve(repoRoot, 'src')), resolve(repoRoot, 'package-lock.json')]) {
    if (!existsSync(file)) continue;
    hash.update(relative(repoRoot, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  hash.update(process.version);
  return hash.digest('hex').slice(0, 16);
}

const building = new Map<string, Promise<string>>();

/** Returns the directory holding the built page (index.html + assets/), building it if needed. */
export function buildTestPage(dir: string = pageDir): Promise<string> {
  let pending = building.get(dir);
  if (!pending) {
    pending = doBuild(dir).catch((error: unknown) => {
      building.delete(dir);
      throw error;
    });
    building.set(dir, pending);
  }
  return pending;
}

async function doBuild(root: string): Promise<string> {
  const outDir = join(tmpdir(), `tabauth-e2e-${root === pageDir ? 'page' : basename(root)}-${inputHash(root)}`);
  if (existsSync(join(outDir, 'index.html'))) return outDir;
  const staging = `${outDir}.staging-${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  try {
    const [{ build }, { default: react }] = await Promise.all([import('vite'), import('@vitejs/plugin-react')]);
    await build({
      configFile: false,
      root,
      base: '/',
      mode: 'production',
      logLevel: 'error',
      plugins: [react()],
      resolve: {
        alias: [
          { find: /^tabauth\/react$/, replacement: entries.react },
          { find: /^tabauth\/query$/, replacement: entries.query },
          { find: /^tabauth\/devtools\/production$/, replacement: entries.devtoolsProduction },
          { find: /^tabauth\/oidc$/, replacement: entries.oidc },
          { find: /^tabauth\/dpop$/, replacement: entries.dpop },
          { find: /^tabauth\/worker$/, replacement: entries.worker },
          { find: /^tabauth$/, replacement: entries.core },
        ],
      },
      build: {
        outDir: staging,
        emptyOutDir: true,
        target: 'es2022',
        sourcemap: false,
        minify: true,
        reportCompressedSize: false,
        chunkSizeWarningLimit: 10_000,
      },
    });
    try {
      renameSync(staging, outDir);
    } catch (error) {
      // Another process finished the same build first: use theirs.
      if (!existsSync(join(outDir, 'index.html'))) throw error;
    }
  } finally {
    if (existsSync(staging)) rmSync(staging, { recursive: true, force: true });
  }
  return outDir;
}
