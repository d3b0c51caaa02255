/**
 * The public surface of every entry, as API Extractor sees the built declarations, must match the committed report
 * under etc/ (one <entry>.api.md per entry). A changed export, signature or type is then always a visible diff in a
 * review; `npm run api:update` rewrites the reports. Every export also needs its TSDoc (ae-undocumented is an error).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicEntries, reportDir, runApiExtractor } from '../../scripts/declarations';

describe('API reports (etc/*.api.md)', () => {
  // Runs on the declarations test/package/support/globalSetup.ts built, in API Extractor's non-local (CI) mode.
  const results = runApiExtractor('api:check');

  it('there is one report per entry of vite.config.ts', () => {
    expect(results.map((result) => result.entry.specifier)).toEqual(publicEntries().map((entry) => entry.specifier));
    for (const { entry } of results) expect(readFileSync(join(reportDir, `${entry.reportName}.api.md`), 'utf8')).toContain('API Report File');
  });

  it.each(results.map((result) => [result.entry.specifier, result] as const))(
    '%s: the report is up to date and every export is documented',
    (specifier, result) => {
      const hint = result.apiReportChanged
        ? `The public API of ${specifier} changed. If that is intended, run \`npm run api:update\` and commit etc/${result.entry.reportName}.api.md.`
        : `Fix these, then run \`npm run api:update\` if the API changed.`;
      expect(result.problems, `${hint}\n${result.problems.join('\n')}`).toEqual([]);
      expect(result.apiReportChanged, hint).toBe(false);
      expect(result.succeeded).toBe(true);
    },
  );
});
