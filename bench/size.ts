/**
 * `npm run size`: minified + gzipped size of each tabauth entry, next to oidc-client-ts and @auth0/auth0-spa-js,
 * all measured the same way in the same run (bench/sizeMeasure.ts):
 *
 *   esbuild, bundle of `export * from '<entry>'` (everything the entry exports, as bundle-size sites measure), code
 *   splitting on, format esm, platform browser, target es2022, minify, NODE_ENV=production; gzip level 9.
 *
 * Two figures per entry:
 *   - own code: every package dependency external (only the entry's own source is counted);
 *   - with deps: dependencies bundled in; the peers react, react-dom and @tanstack/react-query always external.
 * Each split into what a page loads up front and what only a dynamic import loads (broadcast-channel, fetched only
 * by browsers without BroadcastChannel or Web Locks). The budget test (test/package/sizeBudget.test.ts) checks the
 * same figures.
 *
 * Prints the table and writes docs/size.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { dependenciesOf, kB, measureSubject, root, tabauthDependencies, tabauthSubjects, versionOf, type Subject } from './sizeMeasure';

const subjects: Subject[] = [
  ...tabauthSubjects,
  {
    label: 'tabauth/devtools (production build)',
    entry: './src/devtools/index.ts',
    dependencies: tabauthDependencies,
    note: 'what `<TabauthDevtools>` from tabauth/devtools leaves in a production bundle: a component that renders null (the panel is tree-shaken away)',
  },
  {
    label: 'tabauth/devtools/production',
    entry: './src/devtools/production.ts',
    dependencies: tabauthDependencies,
    note: 'the panel itself (what tabauth/devtools costs in development, or when opted in): React component, styles and the devtools core, plus the core code it uses',
  },
  {
    label: 'tabauth/devtools/core',
    entry: './src/devtools/core/index.ts',
    dependencies: tabauthDependencies,
    note: 'the framework-free devtools bridge, plus the core code it uses',
  },
  {
    label: 'tabauth/oidc',
    entry: './src/oidc/index.ts',
    dependencies: tabauthDependencies,
    note: 'includes the core code it uses (refresh grant, revocation, errors); "with dependencies" adds oauth4webapi',
  },
  {
    label: 'tabauth + react + query + oidc',
    entry: ['./src/core/index.ts', './src/react/index.ts', './src/query/index.ts', './src/oidc/index.ts'].join('\n'),
    dependencies: tabauthDependencies,
    note: 'a complete app: login, refresh, React, Query',
  },
  {
    label: `oidc-client-ts ${versionOf('oidc-client-ts')}`,
    entry: 'oidc-client-ts',
    dependencies: dependenciesOf(resolve(root, 'node_modules/oidc-client-ts/package.json')),
  },
  {
    label: `@auth0/auth0-spa-js ${versionOf('@auth0/auth0-spa-js')}`,
    entry: '@auth0/auth0-spa-js',
    dependencies: dependenciesOf(resolve(root, 'node_modules/@auth0/auth0-spa-js/package.json')),
    note: 'its published ESM file already inlines its dependencies, so both figures are the same',
  },
];

async function main() {
  const rows: Array<{ subject: Subject } & Awaited<ReturnType<typeof measureSubject>>> = [];
  for (const subject of subjects) rows.push({ subject, ...(await measureSubject(subject)) });
  const header = '| entry | own code: min / gzip | with dependencies: min / gzip | with dependencies: brotli | loaded on demand (with dependencies): gzip |';
  const lines = [header, '|---|---:|---:|---:|---:|'];
  for (const { subject, own, withDeps } of rows) {
    lines.push(
      `| ${subject.label} | ${kB(own.initial.minified)} / **${kB(own.initial.gzip)}** | ${kB(withDeps.initial.minified)} / **${kB(withDeps.initial.gzip)}** | ${kB(withDeps.initial.brotli)} | ${withDeps.lazy.gzip ? kB(withDeps.lazy.gzip) : '-'} |`,
    );
  }
  const tableText = lines.join('\n');
  console.log(tableText);

  const esbuildVersion = versionOf('esbuild');
  const deps = tabauthDependencies.map((name) => `${name} ${versionOf(name)}`).join(', ');
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
- Code splitting is on, as in an app's bundler: the figures are what a page loads up front (the entry chunk and
  its static imports). **loaded on demand** is what only a dynamic import fetches: broadcast-channel, which tabauth
  loads only in browsers without BroadcastChannel or Web Locks (every current browser has both).
- esbuild: \`bundle\`, \`minify\`, \`format: 'esm'\`, \`platform: 'browser'\`, \`target: 'es2022'\`,
  \`process.env.NODE_ENV = "production"\`; sizes are bytes of the output, then gzip (level 9) of it.
- **own code**: every package dependency is external, so only the entry's own source is counted.
- **with dependencies**: dependencies bundled in; the peers \`react\`, \`react-dom\` and \`@tanstack/react-query\` are
  always external (an app has them anyway).
- tabauth's dependencies: ${deps}.
- Checked in \`npm test\` against the budgets in test/package/sizeBudget.test.ts.

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
