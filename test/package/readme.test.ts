/**
 * Every ```ts and ```tsx snippet of README.md compiles against the built package, installed from the packed tarball
 * (test/package/support/globalSetup.ts) and resolved as `tabauth`, `tabauth/react`, ... like in an app.
 *
 * Two kinds of snippet:
 * - **App files**: a snippet whose first line names a file (`// main.tsx: wrap the app`). The app files of one README
 *   section are compiled together as a small app, so `import { authClient } from './auth'` finds the `// auth.ts`
 *   snippet. They must compile as pasted: every import written out. Only the app's own parts (`App` pages,
 *   `Spinner`, `fetchTodos`...) may be missing; test/package/readme/placeholders.d.ts declares those.
 * - **Fragments**: every other snippet (an API signature, three lines of usage). Names of tabauth, React and TanStack
 *   Query that a fragment uses without importing are imported for it; anything else must be a placeholder.
 *
 * To add snippets: write them in README.md; if one uses a new placeholder (a component or value of the reader's
 * app), declare it in placeholders.d.ts. Never put placeholder definitions into the README.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { describe, expect, inject, it } from 'vitest';

const { root, consumerDir } = inject('packedPackage');
const readmeDir = join(consumerDir, 'readme');
const placeholders = join(__dirname, 'readme/placeholders.d.ts');

/** Modules whose exports a fragment may use without importing them, first match wins. */
const IMPLICIT_MODULES = ['tabauth', 'tabauth/react', 'tabauth/query', 'tabauth/testing', 'react', '@tanstack/react-query'];

interface Snippet {
  /** 1-based line of the first code line in README.md. */
  line: number;
  lang: 'ts' | 'tsx';
  code: string;
  /** The README section (## heading) it belongs to. */
  section: string;
  /** For app files: the file name from the first line. */
  fileName: string | null;
}

function extractSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = markdown.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.*)/.exec(lines[i]!);
    if (heading) section = heading[1]!;
    const fence = /^```(ts|tsx)\s*$/.exec(lines[i]!);
    if (!fence) {
      if (/^```/.test(lines[i]!)) while (++i < lines.length && !/^```\s*$/.test(lines[i]!)); // skip other languages
      continue;
    }
    const start = i + 1;
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!));
    const code = lines.slice(start, i).join('\n');
    const named = /^\/\/ ([\w.-]+\.tsx?)(:|$)/.exec(code);
    snippets.push({ line: start + 1, lang: fence[1] as 'ts' | 'tsx', code, section, fileName: named ? named[1]! : null });
  }
  return snippets;
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/**
 * Packages the snippets import besides tabauth and its peers (oidc-client-ts in a recipe, fake-indexeddb in the
 * testing example): linked into the consumer's node_modules from this repository's, where they are devDependencies.
 */
function linkImportedPackages(snippets: Snippet[]): void {
  for (const snippet of snippets) {
    for (const match of snippet.code.matchAll(/from '((?:@[\w.-]+\/)?[\w.-]+)[^']*'/g)) {
      const name = match[1]!;
      const link = join(consumerDir, 'node_modules', name);
      if (name.startsWith('.') || existsSync(link) || !existsSync(join(root, 'node_modules', name))) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), link, 'dir');
    }
  }
}

/** Signatures as the README writes them (`function useAuth(): AuthState;`) become ambient declarations. */
function declareBodilessFunctions(code: string, lang: 'ts' | 'tsx'): string {
  const source = ts.createSourceFile(`x.${lang}`, code, ts.ScriptTarget.ES2022, true, lang === 'tsx' ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const starts = source.statements.filter((statement) => ts.isFunctionDeclaration(statement) && !statement.body).map((statement) => statement.getStart(source));
  return starts.reduceRight((text, at) => `${text.slice(0, at)}declare ${text.slice(at)}`, code);
}

interface CompiledFile {
  path: string;
  snippet: Snippet;
  /** Lines added above the snippet's code (imports for fragments). */
  offset: number;
  text: string;
}

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  jsx: ts.JsxEmit.ReactJSX,
  strict: true,
  noEmit: true,
  skipLibCheck: true, // the package's own declarations are checked by consumerTypes.test.ts
  types: [],
  allowImportingTsExtensions: false,
};

function compile(files: CompiledFile[]): readonly ts.Diagnostic[] {
  for (const file of files) writeFileSync(file.path, file.text);
  const program = ts.createProgram([join(readmeDir, 'placeholders.d.ts'), join(readmeDir, 'modules.d.ts'), ...files.map((file) => file.path)], options);
  return ts.getPreEmitDiagnostics(program);
}

/** Export names of each implicit module, as the installed packages declare them. */
function implicitExports(): Map<string, string> {
  const probe = join(readmeDir, 'exports-probe.ts');
  writeFileSync(probe, IMPLICIT_MODULES.map((module, index) => `import * as m${index} from '${module}';`).join('\n') + '\nexport {};\n');
  const program = ts.createProgram([probe], options);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(probe)!;
  const owner = new Map<string, string>();
  source.statements.forEach((statement, index) => {
    if (!ts.isImportDeclaration(statement)) return;
    const symbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
    if (!symbol) throw new Error(`${IMPLICIT_MODULES[index]} does not resolve from the consumer directory`);
    for (const exported of checker.getExportsOfModule(symbol)) if (!owner.has(exported.name)) owner.set(exported.name, IMPLICIT_MODULES[index]!);
  });
  return owner;
}

function readmeLocation(files: CompiledFile[], diagnostic: ts.Diagnostic): string {
  const file = files.find((candidate) => candidate.path === diagnostic.file?.fileName);
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!file || diagnostic.start === undefined) return `${diagnostic.file?.fileName ?? ''} ${message}`;
  const { line, character } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
  const readmeLine = file.snippet.line + line - file.offset;
  const where = line < file.offset ? `(import added for the snippet at README.md:${file.snippet.line})` : `README.md:${readmeLine}:${character + 1}`;
  return `${where} [${file.snippet.section}${file.snippet.fileName ? `, ${file.snippet.fileName}` : ''}] ${message}`;
}

describe('README.md', () => {
  const snippets = extractSnippets(readFileSync(join(root, 'README.md'), 'utf8'));

  it('has TypeScript snippets, and app files only where a section names them', () => {
    expect(snippets.length).toBeGreaterThan(15);
    const quickStart = snippets.filter((snippet) => snippet.section.startsWith('Quick start (React'));
    expect(quickStart.map((snippet) => snippet.fileName)).toEqual(expect.arrayContaining(['auth.ts', 'main.tsx', 'App.tsx']));
  });

  it('every ts/tsx snippet compiles against the packed package', () => {
    mkdirSync(readmeDir, { recursive: true });
    copyFileSync(placeholders, join(readmeDir, 'placeholders.d.ts'));
    copyFileSync(join(__dirname, 'readme/modules.d.ts'), join(readmeDir, 'modules.d.ts'));
    linkImportedPackages(snippets);

    const files: CompiledFile[] = snippets.map((snippet, index) => {
      if (snippet.fileName) {
        const dir = join(readmeDir, `app-${slug(snippet.section)}`);
        mkdirSync(dir, { recursive: true });
        return { path: join(dir, snippet.fileName), snippet, offset: 0, text: `${snippet.code}\nexport {};\n` };
      }
      const text = `${declareBodilessFunctions(snippet.code, snippet.lang)}\nexport {};\n`;
      return { path: join(readmeDir, `fragment-${String(index).padStart(2, '0')}.${snippet.lang}`), snippet, offset: 0, text };
    });
    const byPath = new Map(files.map((file) => [file.path, file]));

    // Pass 1 finds the names fragments use without importing; pass 2 compiles them with those imports added.
    const owners = implicitExports();
    const missing = new Map<CompiledFile, Set<string>>();
    for (const diagnostic of compile(files)) {
      const file = byPath.get(diagnostic.file?.fileName ?? '');
      const name = /^Cannot find name '(\w+)'/.exec(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))?.[1];
      if (!file || file.snippet.fileName || !name || !owners.has(name)) continue;
      if (!missing.has(file)) missing.set(file, new Set());
      missing.get(file)!.add(name);
    }
    for (const [file, names] of missing) {
      const imports = new Map<string, string[]>();
      for (const name of [...names].sort()) imports.set(owners.get(name)!, [...(imports.get(owners.get(name)!) ?? []), name]);
      const lines = [...imports].map(([module, imported]) => `import { ${imported.join(', ')} } from '${module}';`);
      file.offset = lines.length;
      file.text = `${lines.join('\n')}\n${file.text}`;
    }

    const errors = compile(files).map((diagnostic) => readmeLocation(files, diagnostic));
    expect(errors, `README snippets that do not compile (placeholders go in test/package/readme/placeholders.d.ts):\n${errors.join('\n')}`).toEqual([]);
  }, 180_000);
});
