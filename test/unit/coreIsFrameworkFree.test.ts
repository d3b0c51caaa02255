import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

const importPattern = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('src/core', () => {
  const files = sourceFiles(join(__dirname, '../../src/core'));

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((file) => [file.split('/src/')[1]!, file]))('%s imports nothing from React, TanStack Query or the other layers', (_name, file) => {
    const specifiers = [...readFileSync(file, 'utf8').matchAll(importPattern)].map((match) => match[1] ?? match[2] ?? match[3]);
    for (const specifier of specifiers) {
      expect(specifier).not.toMatch(/^(react|react-dom|@tanstack\/)(\/|$)/);
      expect(specifier).not.toMatch(/(^|\/)(react|query|testing)(\/|$)/);
    }
  });

  it('the bundled core entry (dependencies included) pulls in no React or TanStack module', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [join(__dirname, '../../src/core/index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('node_modules/broadcast-channel/'))).toBe(true);
    expect(inputs.filter((path) => /node_modules\/(react|react-dom|@tanstack)\//.test(path))).toEqual([]);
  });
});
