/**
 * `npm run lint` inside `npm test`: ESLint (eslint.config.js: typescript-eslint and the React Compiler's rules of
 * eslint-plugin-react-hooks 7) over the whole project must report nothing. A compiler rule that fires means the
 * React Compiler would skip that component or hook, so it fails the run like any other error.
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');

describe('lint', () => {
  it('eslint reports no problem in src, test, stories, bench and the configs', async () => {
    const eslint = new ESLint({ cwd: root });
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((result) =>
      result.messages.map(
        (message) =>
          `${result.filePath.slice(root.length + 1)}:${message.line}:${message.column} ${message.ruleId ?? 'parse'}: ${message.message.split('\n')[0]}`,
      ),
    );
    // The checked set really covers the project (a broken config would lint nothing and pass).
    const linted = results.map((result) => result.filePath.slice(root.length + 1));
    for (const expected of [
      'src/react/AuthProvider.tsx',
      'src/core/authClient.ts',
      'test/package/lint.test.ts',
      'stories/support/DemoLab.tsx',
      'bench/sim.ts',
      'eslint.config.js',
    ]) {
      expect(linted).toContain(expected);
    }
    expect(problems, `eslint found ${problems.length} problem(s); run \`npm run lint\`:\n${problems.join('\n')}`).toEqual([]);
  }, 120_000);
});
