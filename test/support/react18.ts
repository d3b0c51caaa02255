/**
 * Setup file of the `react18` vitest project (vite.config.ts): React 18.3 instead of the installed React 19.
 *
 * The project's `resolve.alias` sends every `react` / `react-dom` import that Vite resolves (tabauth's source, the
 * tests, the inlined @testing-library/react and TanStack Query) to the npm aliases `react18` / `react-dom18`. The
 * CommonJS builds of react-dom and react's own entry points are loaded by Node, not Vite, and react-dom 18 calls
 * `require('react')`, which Node would resolve to React 19 (react-dom 18 then fails at load). This sends those
 * requires to the same aliases, so the whole test process holds exactly one React, 18.3.
 */
import Module from 'node:module';

type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolve = loader._resolveFilename;
const ALIASES: Record<string, string> = { react: 'react18', 'react-dom': 'react-dom18' };

loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
  const match = /^(react|react-dom)(\/.*)?$/.exec(request);
  return resolve.call(this, match ? `${ALIASES[match[1]!]}${match[2] ?? ''}` : request, ...rest);
};
