/**
 * `npm run size`: minified + gzipped size of each tabauth entry, next to oidc-client-ts and @auth0/auth0-spa-js,
 * all measured the same way in the same run:
 *
 *   esbuild, bundle of `export * from '<entry>'` (everything the entry exports, as bundle-size sites measure),
 *   format esm, platform browser, target es2022, minify, NODE_ENV=production; gzip level 9 of the output.
 *
 * Two figures per entry:
 *   - own code: every package dependency external (only the entry's own source is counted);
 *   - with deps: dependencies bundled in; the peers react, react-dom and @tanstack/react-query always external.
 *
 * Prints the table and writes docs/size.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const PEERS = ['react', 'react-dom', '@tanstack/react-query'];

interface Subject {
  label: string;
  /** What the measured module re-exports (a path into src, or a package name). */
  entry: string;
  /** Package dependencies, external for the "own code" figure. */
  dependencies: string[];
  note?: string;
}

function dependenciesOf(packageJsonPath: string): string[] {
  const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

function versionOf(name: string): string {
  return (JSON.parse(readFileSync(resolve(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

const tabauthDeps = dependenciesOf(resolve(root, 'package.json'));
const subjects: Subject[] = [
  { label: 'tabauth (core)', entry: './src/core/index.ts', dependencies: tabauthDeps },
  { label: 'tabauth/react', entry: './src/react/index.ts', dependencies: tabauthDeps, note: 'includes the core code it uses' },
  { label: 'tabauth/query', entry: './src/query/index.ts', dependencies: tabauthDeps, note: 'includes the core code it uses' },
  { label: 'tabauth/dpop', entry: './src/dpop/index.ts', dependencies: tabauthDeps, note: 'includes the core code it uses; with dependencies: the dpop package' },
  {
    label: 'tabauth + react + query',
    entry: ['./src/core/index.ts', './src/react/index.ts', './src/query/index.ts'].join('\n'),
    dependencies: tabauthDeps,
    note: 'all three entries in one app',
  },
  { label: `oidc-client-ts ${versionOf('oidc-client-ts')}`, entry: 'oidc-client-ts', dependencies: dependenciesOf(resolve(root, 'node_modules/oidc-client-ts/package.json')) },
  {
    label: `@auth0/auth0-spa-js ${versionOf('@auth0/auth0-spa-js')}`,
    entry: '@auth0/auth0-spa-js',
    dependencies: dependenciesOf(resolve(root, 'node_modules/@auth0/auth0-spa-js/package.json')),
    note: 'its published ESM file already inlines its dependencies, so both figures are the same',
  },
];

interface Measured {
  minified: number;
  gzip: number;
  brotli: number;
}

async function measure(entry: string, external: string[]): Promise<Measured> {
  const contents = entry
    .split('\n')
    .map((module) => `export * from ${JSON.stringify(module)};`)
    .join('\n');
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'size-entry.ts' },
    bundle: true,
    write: false,
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
  const code = result.outputFiles[0]!.contents;
  return {
    minified: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} kB`;

async function main() {
  const rows: Array<{ subject: Subject; own: Measured; withDeps: Measured }> = [];
  for (const subject of subjects) {
    const own = await measure(subject.entry, [...new Set([...subject.dependencies, ...PEERS])]);
    const withDeps = await measure(subject.entry, PEERS);
    rows.push({ subject, own, withDeps });
  }
  const header = '| entry | own code: min / gzip | with dependencies: min / gzip | with dependencies: brotli |';
  const lines = [header, '|---|---:|---:|---:|'];
  for (const { subject, own, withDeps } of rows) {
    lines.push(`| ${subject.label} | ${kb(own.minified)} / **${kb(own.gzip)}** | ${kb(withDeps.minified)} / **${kb(withDeps.gzip)}** | ${kb(withDeps.brotli)} |`);
  }
  const tableText = lines.join('\n');
  console.log(tableText);

  const esbuildVersion = versionOf('esbuild');
  const deps = tabauthDeps.map((name) => `${name} ${versionOf(name)}`).join(', ');
  const notes = rows
    .filter((row) => row.subject.note)
    .map((row) => `- **${row.subject.label}**: ${row.subject.note}.`)
    .join('\n');
  let commit = 'working tree';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  const doc = `# Bundle size

\`\`\`sh
npm run size        # tsx bench/size.ts
\`\`\`

${tableText}

Measured ${new Date().toISOString().slice(0, 10)} (HEAD ${commit} plus working tree), esbuild ${esbuildVersion}, gzip level 9, brotli quality 11.

## Method
- Each row bundles \`export * from '<entry>'\`: everything the entry exports is kept, as bundle-size sites measure a
  package. An app that imports a few names pays less after tree shaking.
- esbuild: \`bundle\`, \`minify\`, \`format: 'esm'\`, \`platform: 'browser'\`, \`target: 'es2022'\`,
  \`process.env.NODE_ENV = "production"\`; sizes are bytes of the output, then gzip (level 9) of it.
- **own code**: every package dependency is external, so only the entry's own source is counted.
- **with dependencies**: dependencies bundled in; the peers \`react\`, \`react-dom\` and \`@tanstack/react-query\` are
  always external (an app has them anyway).
- tabauth's dependencies: ${deps}.

## Notes
${notes}
`;
  mkdirSync(resolve(root, 'docs'), { recursive: true });
  writeFileSync(resolve(root, 'docs/size.md'), doc);
  console.log('\nwrote docs/size.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
