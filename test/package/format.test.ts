/**
 * `npm run format:check` inside `npm test`: every source file is as prettier (.prettierrc) writes it, so a diff shows
 * only what changed, never reflowed lines. Markdown is left out (.prettierignore): the docs are wrapped by hand.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');

describe('format', () => {
  it('prettier would change no file that git tracks', async () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    // One config for the whole project (.prettierrc at the root).
    const config = await prettier.resolveConfig(join(root, 'package.json'));
    const unformatted: string[] = [];
    const checked: string[] = [];
    for (const file of files) {
      const path = join(root, file);
      const info = await prettier.getFileInfo(path, { ignorePath: join(root, '.prettierignore') });
      if (info.ignored || !info.inferredParser) continue;
      let source: string;
      try {
        source = readFileSync(path, 'utf8');
      } catch {
        continue; // deleted in the working tree but still in the index
      }
      checked.push(file);
      if (!(await prettier.check(source, { ...config, filepath: path }))) unformatted.push(file);
    }
    // The check really covers the project (a broken ignore file would check nothing and pass).
    for (const expected of [
      'src/core/authClient.ts',
      'src/react/AuthProvider.tsx',
      'test/package/format.test.ts',
      'stories/support/DemoLab.tsx',
      'package.json',
    ]) {
      expect(checked).toContain(expected);
    }
    expect(unformatted, `${unformatted.length} file(s) not formatted; run \`npm run format\`:\n${unformatted.join('\n')}`).toEqual([]);
  }, 120_000);
});
