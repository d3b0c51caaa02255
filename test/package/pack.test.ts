/**
 * The tarball `npm pack` produces (test/package/support/globalSetup.ts), checked by the two tools the ecosystem uses:
 * publint (package.json fields against the files that are really published) and Are the Types Wrong (every entry's
 * types resolve, under node16/nodenext and bundler, to declarations that match the JavaScript). ESM-only profile:
 * tabauth ships no CommonJS build, so `require()` resolution is out of scope.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, inject, it } from 'vitest';

const packed = inject('packedPackage');
const pkg = JSON.parse(readFileSync(join(packed.root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };

describe('the packed tarball', () => {
  it('holds dist, package.json, README and LICENSE, and nothing else (no sources, no build/ intermediates)', () => {
    expect(packed.files.filter((file) => !file.startsWith('dist/'))).toEqual(['LICENSE', 'README.md', 'package.json']);
    expect(packed.files.filter((file) => !/^dist\/[\w-]+\.(js|js\.map|d\.ts)$/.test(file))).toEqual(['LICENSE', 'README.md', 'package.json']);
    for (const target of Object.values(pkg.exports)) {
      if (typeof target !== 'object' || target === null) continue;
      for (const file of Object.values(target as Record<string, string>)) expect(packed.files).toContain(file.replace(/^\.\//, ''));
    }
  });

  it('publint: no error, warning or suggestion', async () => {
    const tarball = readFileSync(packed.tarball);
    const { messages, pkg: linted } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'suggestion',
      strict: true,
    });
    const formatted = messages.map((message) => `${message.type}: ${formatMessage(message, linted, { color: false }) ?? message.code}`);
    expect(formatted, formatted.join('\n')).toEqual([]);
  });

  it('Are the Types Wrong (ESM-only profile): every entry resolves under node16, nodenext and bundler', async () => {
    const cli = join(packed.root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    // --no-definitely-typed: never ask the registry for @types packages; tabauth ships its own types.
    const args = [cli, packed.tarball, '--profile', 'esm-only', '--format', 'json', '--no-definitely-typed'];
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: packed.root, maxBuffer: 32 * 1024 * 1024 }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
    );
    const report = JSON.parse(stdout) as {
      analysis: { entrypoints: Record<string, unknown>; problems?: Array<{ kind: string; entrypoint?: string; resolutionKind?: string }> };
    };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(Object.keys(pkg.exports).sort());
    const problems = (report.analysis.problems ?? [])
      // The ESM-only profile ignores how CommonJS `require()` resolves (the CLI applies the same filter for its exit code).
      .filter((problem) => problem.resolutionKind !== 'node10' && problem.resolutionKind !== 'node16-cjs')
      .map((problem) => `${problem.entrypoint ?? ''} (${problem.resolutionKind ?? 'any resolution'}): ${problem.kind}`);
    expect(problems, problems.join('\n')).toEqual([]);
  }, 120_000);
});
