// @vitest-environment node
/**
 * Every TypeScript snippet of the README's "Quick start (React and TanStack Query)" and "tabauth/oidc" sections
 * compiles, with the project's compiler options, as the files of one small app: a snippet whose first line names a
 * file (`// auth.ts: ...`) is that file, so `import { oidc } from './auth'` in a later snippet resolves to it.
 *
 * Three router packages are not installed here; their few functions the snippets call are declared below with the
 * signatures those packages publish (react-router 7, @tanstack/react-router 1, next 15), narrowed to what is used.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const SECTIONS = ['## Quick start (React and TanStack Query)', '## `tabauth/oidc`'];

const ROUTER_DECLARATIONS = `
declare module 'react-router' {
  import type { ReactNode } from 'react';
  export interface RouteObject { path?: string; element?: ReactNode; loader?: (args: { request: Request; params: Record<string, string | undefined> }) => unknown; children?: RouteObject[] }
  export function createBrowserRouter(routes: RouteObject[]): { navigate(to: string): Promise<void> };
  export function redirect(url: string, init?: number | ResponseInit): Response;
}
declare module '@tanstack/react-router' {
  export interface AnyRoute { readonly id: string }
  export function createRootRoute(options?: { component?: () => unknown }): AnyRoute;
  export function createRoute(options: { getParentRoute: () => AnyRoute; path: string; beforeLoad?: () => unknown; component?: () => unknown }): AnyRoute;
  export function redirect(options: { to?: string; href?: string; replace?: boolean }): { readonly isRedirect: true };
}
declare module 'next/navigation' {
  export function useRouter(): { push(href: string): void; replace(href: string): void; back(): void };
}
`;

/** A directory that exists only in the compiler host. */
const dir = join(root, '.readme-snippets');

function snippets(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const files = new Map<string, string>();
  let index = 0;
  for (const heading of SECTIONS) {
    const start = readme.indexOf(`${heading}\n`);
    if (start === -1) throw new Error(`README has no section "${heading}"`);
    const end = readme.indexOf('\n## ', start + heading.length);
    const section = readme.slice(start, end === -1 ? undefined : end);
    for (const match of section.matchAll(/```(ts|tsx)\n([\s\S]*?)```/g)) {
      const code = match[2]!;
      const named = /^\/\/ ([\w./-]+\.tsx?)(?::|$)/m.exec(code.split('\n')[0]!)?.[1];
      const name = named ?? `snippet-${++index}.${match[1]}`;
      files.set(join(dir, name.replace(/\//g, '_')), code);
    }
  }
  files.set(join(dir, 'routers.d.ts'), ROUTER_DECLARATIONS);
  return files;
}

describe('README snippets (quick start and tabauth/oidc)', () => {
  it('all compile', () => {
    const files = snippets();
    expect(files.size).toBeGreaterThan(8);
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const options = { ...parsed.options, noEmit: true };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.fileExists = (path) => files.has(path) || ts.sys.fileExists(path);
    host.readFile = (path) => files.get(path) ?? ts.sys.readFile(path);
    host.directoryExists = (path) => path === dir || ts.sys.directoryExists(path);
    host.getSourceFile = (path, language, onError, create) =>
      files.has(path) ? ts.createSourceFile(path, files.get(path)!, language, true) : getSourceFile(path, language, onError, create);
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file ? `${diagnostic.file.fileName.replace(`${root}/`, '')}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);
});
