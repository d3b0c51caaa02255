/**
 * Declarations of the published package: one bundled `dist/<entry>.d.ts` per public entry (API Extractor's
 * dtsRollup), and the API reports under etc/ that make every change of the public surface a visible diff.
 *
 *   tsx scripts/declarations.ts build        tsc emits build/types/, then one rollup per entry (part of `npm run build`)
 *   tsx scripts/declarations.ts api:update   the same tsc step, then rewrites etc/<entry>.api.md (`npm run api:update`)
 *   tsx scripts/declarations.ts api:check    the same, but fails when etc/ differs from the code (what
 *                                            test/package/apiReport.test.ts checks after the build)
 *
 * Why bundles rather than tsc's own .d.ts tree: every import in a bundle is either a package name or nothing, so the
 * declarations resolve the same way under `moduleResolution` node16, nodenext and bundler (tsc's tree imports
 * './authClient' without an extension, which node16/nodenext cannot resolve). The entries other than the core import
 * it as 'tabauth', which stays an import in their bundles: one declaration of `AuthClient`, `AuthError` and friends.
 *
 * The entries come from vite.config.ts (`entries`), the same list the JavaScript build uses.
 */
import { Extractor, ExtractorConfig, ExtractorLogLevel, type ExtractorMessage, type IConfigFile } from '@microsoft/api-extractor';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries, scriptEntries } from '../vite.config';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** tsc's declaration output (tsconfig.build.json), input of API Extractor; not published. */
export const typesDir = join(root, 'build/types');
export const reportDir = join(root, 'etc');
const reportTempDir = join(root, 'build/api-report');

export interface Entry {
  /** `index`, `react`, ...: the name of `dist/<name>.js` and `dist/<name>.d.ts`. */
  name: string;
  /** The import specifier apps use: `tabauth`, `tabauth/react`, ... */
  specifier: string;
  /** The source file, e.g. src/react/index.ts. */
  source: string;
  /** tsc's declaration of the source file, under build/types. */
  declaration: string;
  /** The API report, e.g. etc/tabauth-react.api.md (without the .api.md extension API Extractor adds). */
  reportName: string;
}

/** The entries, the core first: the other entries' declarations import it, so its rollup must exist first. */
export function publicEntries(): Entry[] {
  const list = Object.entries(entries).sort(([a], [b]) => Number(b === 'index') - Number(a === 'index'));
  return list.map(([name, source]) => {
    const fromSrc = relative(join(root, 'src'), source).replace(/\.tsx?$/, '.d.ts');
    // 'devtools-production' is the entry `tabauth/devtools/production` (a file name cannot hold the slash).
    const specifier = name === 'index' ? 'tabauth' : `tabauth/${name.replaceAll('-', '/')}`;
    return { name, specifier, source, declaration: join(typesDir, fromSrc), reportName: specifier.replaceAll('/', '-') };
  });
}

type Mode = 'build' | 'api:update' | 'api:check';

export interface EntryResult {
  entry: Entry;
  succeeded: boolean;
  apiReportChanged: boolean;
  /** Errors and warnings, formatted `file:line:col (message-id) text`. */
  problems: string[];
}

/** Runs API Extractor for every entry: rollups (`build`) or API reports (`api:update`, `api:check`). */
export function runApiExtractor(mode: Mode): EntryResult[] {
  return publicEntries().map((entry) => {
    const problems: string[] = [];
    const config = ExtractorConfig.prepare({
      configObject: extractorConfig(entry, mode),
      configObjectFullPath: undefined,
      packageJsonFullPath: join(root, 'package.json'),
    });
    const result = Extractor.invoke(config, {
      localBuild: mode === 'api:update',
      messageCallback: (message: ExtractorMessage) => {
        if (message.logLevel === ExtractorLogLevel.Error || message.logLevel === ExtractorLogLevel.Warning) {
          const where = message.sourceFilePath ? `${relative(root, message.sourceFilePath)}:${message.sourceFileLine}:${message.sourceFileColumn} ` : '';
          problems.push(`${where}(${message.messageId}) ${message.text}`);
        }
        // Printed by the caller, once, with the entry's name; API Extractor's own output would repeat it.
        message.handled = true;
      },
    });
    return { entry, succeeded: result.succeeded, apiReportChanged: result.apiReportChanged, problems };
  });
}

function extractorConfig(entry: Entry, mode: Mode): IConfigFile {
  const reports = mode !== 'build';
  return {
    projectFolder: root,
    mainEntryPointFilePath: entry.declaration,
    bundledPackages: [],
    newlineKind: 'lf',
    compiler: {
      // 'tabauth' resolves through build/node_modules/tabauth (see linkSelf), so API Extractor sees a package and keeps
      // it an import in the other entries' rollups and reports, instead of copying the core's declarations into them.
      overrideTsconfig: {
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          jsx: 'react-jsx',
          strict: true,
          skipLibCheck: true,
          types: [],
          // Keeps the path through build/node_modules (TypeScript counts a module as external by its path).
          preserveSymlinks: true,
        },
        files: [entry.declaration],
      },
    },
    apiReport: {
      enabled: reports,
      reportFolder: reportDir,
      reportTempFolder: reportTempDir,
      reportFileName: entry.reportName,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: !reports, untrimmedFilePath: join(root, 'dist', `${entry.name}.d.ts`) },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Error },
        // Release tags (@public, @beta) are not used: everything an entry exports is public.
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        // Every export needs its TSDoc: an undocumented one fails the build.
        'ae-undocumented': { logLevel: ExtractorLogLevel.Error, addToApiReportFile: false },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
    },
  };
}

function buildDeclarations(): void {
  rmSync(typesDir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  linkSelf();
}

/**
 * build/node_modules/tabauth -> the repository: from build/types/react/*.d.ts, `import ... from 'tabauth'` then
 * resolves like an app's would (package.json `exports`, so `tabauth` is dist/index.d.ts, the core's rollup) and,
 * being found in a node_modules folder, counts as an external package for API Extractor (TypeScript keeps the path
 * through the link with `preserveSymlinks`).
 */
function linkSelf(): void {
  const link = join(root, 'build/node_modules/tabauth');
  mkdirSync(dirname(link), { recursive: true });
  // A package scope without a name: otherwise 'tabauth' is a self-reference of the repository's package.json, which
  // TypeScript resolves before any node_modules folder (to dist/index.d.ts, as a local file).
  writeFileSync(join(root, 'build/package.json'), '{ "private": true }\n');
  rmSync(link, { recursive: true, force: true });
  symlinkSync(relative(dirname(link), root), link, 'dir');
}

/**
 * Scripts (the prebuilt SharedWorker) export nothing; an empty module declaration lets their `exports` entry carry
 * `types` like the others, so type checkers that resolve it (Are the Types Wrong) find a typed module.
 */
function writeScriptDeclarations(): void {
  for (const name of Object.keys(scriptEntries)) {
    writeFileSync(join(root, 'dist', `${name}.d.ts`), '// A worker script: it runs startAuthWorker() and exports nothing.\nexport {};\n');
  }
}

function main(mode: string | undefined): number {
  if (mode !== 'build' && mode !== 'api:update' && mode !== 'api:check') {
    console.error('usage: tsx scripts/declarations.ts build | api:update | api:check');
    return 2;
  }
  buildDeclarations();
  let failed = false;
  for (const { entry, succeeded, apiReportChanged, problems } of runApiExtractor(mode)) {
    for (const problem of problems) console.error(`${entry.specifier}: ${problem}`);
    if (mode === 'api:check' && apiReportChanged) {
      console.error(`${entry.specifier}: the public API changed; run \`npm run api:update\` and commit etc/${entry.reportName}.api.md`);
    }
    if (!succeeded) failed = true;
    else if (mode !== 'build') console.log(`${entry.specifier}: etc/${entry.reportName}.api.md ${apiReportChanged ? 'updated' : 'up to date'}`);
  }
  if (mode === 'build') writeScriptDeclarations();
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv[2]);
