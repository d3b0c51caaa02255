/**
 * A consumer app (test/package/consumer/app.tsx) compiled with the TypeScript compiler API against the package as npm
 * would install it (the packed tarball in node_modules/tabauth; test/package/support/globalSetup.ts), under the two
 * module resolutions apps use: NodeNext (Node, and the strictest: relative imports in declarations need extensions)
 * and Bundler (Vite, webpack, Next.js). skipLibCheck is off, so the package's declarations are checked too.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, inject, it } from 'vitest';

const { consumerDir } = inject('packedPackage');

const resolutions = {
  NodeNext: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
  Bundler: { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler },
} as const;

/** Type-checks `files` in `dir` and returns the diagnostics as `file:line:col message` lines. */
export function typeCheck(dir: string, files: string[], options: ts.CompilerOptions): string[] {
  const program = ts.createProgram(
    files.map((file) => join(dir, file)),
    {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      jsx: ts.JsxEmit.ReactJSX,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: [],
      ...options,
    },
  );
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName.replace(`${dir}/`, '')}:${line + 1}:${character + 1} ${message}`;
  });
}

describe('a consumer app compiled against the packed package', () => {
  it.each(Object.keys(resolutions) as Array<keyof typeof resolutions>)(
    '"moduleResolution": "%s": no errors',
    (name) => {
      const dir = join(consumerDir, `app-${name.toLowerCase()}`);
      mkdirSync(join(dir, 'src'), { recursive: true });
      // The app is an ES module package, as NodeNext requires for `import` of an ESM-only package.
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name.toLowerCase()}`, private: true, type: 'module' }));
      copyFileSync(join(__dirname, 'consumer/app.tsx'), join(dir, 'src/app.tsx'));
      // node_modules is found one level up, in the consumer directory, as in a workspace.
      const errors = typeCheck(dir, ['src/app.tsx'], resolutions[name]);
      expect(errors, errors.join('\n')).toEqual([]);
    },
    120_000,
  );
});
