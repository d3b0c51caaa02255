/**
 * How big each entry is, measured one way for the size table (bench/size.ts) and the size budget test
 * (test/package/sizeBudget.test.ts):
 *
 *   esbuild, bundle of `export * from '<entry>'` (everything the entry exports, as bundle-size sites measure),
 *   code splitting on (an app's bundler splits dynamic imports into chunks of their own), format esm, platform
 *   browser, target es2022, minify, NODE_ENV=production; gzip level 9 and brotli 11 of each output file.
 *
 * "initial" is what a page loads up front: the entry's chunk and the chunks it imports statically. "lazy" is what
 * only a dynamic import loads: broadcast-channel, which only browsers without BroadcastChannel or Web Locks fetch.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, type Metafile, type OutputFile } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..');

export const PEERS = ['react', 'react-dom', '@tanstack/react-query'];

export interface Subject {
  label: string;
  /** What the measured module re-exports (paths into src, or a package name), one per line. */
  entry: string;
  /** Package dependencies, external for the "own code" figure. */
  dependencies: string[];
  note?: string;
}

export interface Bytes {
  minified: number;
  gzip: number;
  brotli: number;
}

export interface Measured {
  /** The entry chunk and every chunk it imports statically. */
  initial: Bytes;
  /** Chunks reached only through dynamic imports (0 when there are none). */
  lazy: Bytes;
  /** Input files in the initial chunks (paths relative to the repository). */
  initialInputs: string[];
}

export function dependenciesOf(packageJsonPath: string): string[] {
  const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

export function versionOf(name: string): string {
  return (JSON.parse(readFileSync(resolve(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

export const tabauthDependencies = dependenciesOf(resolve(root, 'package.json'));

export const tabauthSubjects: Subject[] = [
  { label: 'tabauth (core)', entry: './src/core/index.ts', dependencies: tabauthDependencies },
  { label: 'tabauth/react', entry: './src/react/index.ts', dependencies: tabauthDependencies, note: 'includes the core code it uses' },
  { label: 'tabauth/query', entry: './src/query/index.ts', dependencies: tabauthDependencies, note: 'includes the core code it uses' },
  {
    label: 'tabauth/dpop',
    entry: './src/dpop/index.ts',
    dependencies: tabauthDependencies,
    note: 'DPoP (createDpop), plus the core code it uses (storage, errors); "with dependencies" adds the dpop package',
  },
  {
    label: 'tabauth + react + query',
    entry: ['./src/core/index.ts', './src/react/index.ts', './src/query/index.ts'].join('\n'),
    dependencies: tabauthDependencies,
    note: 'all three entries in one app',
  },
  {
    label: 'tabauth/worker',
    entry: './src/worker/index.ts',
    dependencies: tabauthDependencies,
    note: 'sharedWorkerCoordination (tabs) and startAuthWorker (the worker) with the core; the worker thread loads it, a tab only its coordination',
  },
];

const zero = (): Bytes => ({ minified: 0, gzip: 0, brotli: 0 });

function sizes(code: Uint8Array): Bytes {
  return {
    minified: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  };
}

function add(total: Bytes, part: Bytes): void {
  total.minified += part.minified;
  total.gzip += part.gzip;
  total.brotli += part.brotli;
}

/** Output paths (as the metafile names them) loaded up front: the entry and its static imports, transitively. */
function initialOutputs(metafile: Metafile): Set<string> {
  const outputs = metafile.outputs;
  const entry = Object.keys(outputs).find((path) => outputs[path]!.entryPoint !== undefined);
  if (!entry) throw new Error('size: no entry chunk in the build');
  const initial = new Set<string>();
  const visit = (path: string) => {
    if (initial.has(path)) return;
    initial.add(path);
    for (const imported of outputs[path]!.imports) if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
  };
  visit(entry);
  return initial;
}

export async function measure(entry: string, external: string[]): Promise<Measured> {
  const contents = entry
    .split('\n')
    .map((module) => `export * from ${JSON.stringify(module)};`)
    .join('\n');
  const result = await build({
    entryPoints: ['size-entry'],
    plugins: [
      {
        name: 'size-entry',
        setup(pluginBuild) {
          pluginBuild.onResolve({ filter: /^size-entry$/ }, () => ({ path: 'size-entry', namespace: 'size-entry' }));
          pluginBuild.onLoad({ filter: /.*/, namespace: 'size-entry' }, () => ({ contents, loader: 'ts', resolveDir: root }));
        },
      },
    ],
    bundle: true,
    splitting: true,
    outdir: resolve(root, 'node_modules/.cache/tabauth-size'),
    write: false,
    metafile: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    external: external.flatMap((name) => [name, `${name}/*`]),
    legalComments: 'none',
    logLevel: 'error',
  });
  const initial = initialOutputs(result.metafile);
  const relative = (path: string) => path.slice(root.length + 1);
  const measured: Measured = { initial: zero(), lazy: zero(), initialInputs: [] };
  for (const file of result.outputFiles as OutputFile[]) {
    const key = relative(file.path);
    const isInitial = initial.has(key);
    add(isInitial ? measured.initial : measured.lazy, sizes(file.contents));
    if (isInitial) measured.initialInputs.push(...Object.keys(result.metafile.outputs[key]!.inputs));
  }
  return measured;
}

/** Own code (every package dependency external) and with dependencies (only the peers external). */
export async function measureSubject(subject: Subject): Promise<{ own: Measured; withDeps: Measured }> {
  const own = await measure(subject.entry, [...new Set([...subject.dependencies, ...PEERS])]);
  const withDeps = await measure(subject.entry, PEERS);
  return { own, withDeps };
}

export const kB = (bytes: number) => `${(bytes / 1024).toFixed(2)} kB`;
