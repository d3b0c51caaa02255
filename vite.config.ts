import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * The public entries: `dist/<name>.js` and `dist/<name>.d.ts` are built from each (scripts/buildTypes.ts reads this
 * list too). A new entry is one line here plus its block in package.json `exports`; test/package/build.test.ts checks
 * that the two agree.
 */
export const entries = {
  index: resolve(root, 'src/core/index.ts'),
  react: resolve(root, 'src/react/index.ts'),
  query: resolve(root, 'src/query/index.ts'),
  testing: resolve(root, 'src/testing/index.ts'),
  devtools: resolve(root, 'src/devtools/index.ts'),
  'devtools-production': resolve(root, 'src/devtools/production.ts'),
  'devtools-core': resolve(root, 'src/devtools/core/index.ts'),
  oidc: resolve(root, 'src/oidc/index.ts'),
  dpop: resolve(root, 'src/dpop/index.ts'),
  worker: resolve(root, 'src/worker/index.ts'),
};

/**
 * Built files that are not import entries: the prebuilt SharedWorker (dist/tabauth-worker.js), next to the
 * tabauth/worker chunk so that `new URL('./tabauth-worker.js', import.meta.url)` finds it (exported as `tabauth/tabauth-worker.js`).
 */
export const scriptEntries = {
  'tabauth-worker': resolve(root, 'src/worker/tabauth-worker.js'),
};

/**
 * tabauth/worker's `new SharedWorker(new URL('./tabauth-worker.js', import.meta.url), ...)` is for the app's bundler (it
 * emits the worker and rewrites the URL). tabauth's own library build must leave it as written, so the literal is
 * hidden from Vite's worker plugin before it runs and put back in the output.
 */
function keepWorkerUrlLiteral(): Plugin {
  const literal = /new SharedWorker\(new URL\((['"])\.\/tabauth-worker\.js\1, import\.meta\.url\)/g;
  const hidden = /new __TABAUTH_SW\(new URL\((['"])\.\/tabauth-worker\.js\1, __TABAUTH_IMU__\)/g;
  const swap = (code: string, from: RegExp, to: string): { code: string; map: null } | null => {
    const out = code.replace(from, to);
    // Same length (`__TABAUTH_SW`, `__TABAUTH_IMU__` are as long as `SharedWorker`, `import.meta.url`): no code moves, so the source map stays exact.
    return out === code ? null : { code: out, map: null };
  };
  return {
    name: 'tabauth:keep-worker-url-literal',
    enforce: 'pre',
    apply: 'build',
    // Vite's asset plugin would also inline `new URL('./…', import.meta.url)` as a data URL: hide both names.
    transform: (code) => swap(code, literal, "new __TABAUTH_SW(new URL('./tabauth-worker.js', __TABAUTH_IMU__)"),
    renderChunk: (code) => swap(code, hidden, "new SharedWorker(new URL('./tabauth-worker.js', import.meta.url)"),
  };
}

// Library build: one ESM file per public entry; every dependency and peer stays external
// so apps dedupe React, TanStack Query and broadcast-channel with their own copies. 'tabauth' itself is external too:
// the other entries import the core as 'tabauth' (never by relative path), so there is one copy of it in an app.
export default defineConfig({
  plugins: [react(), keepWorkerUrlLiteral()],
  resolve: {
    alias: {
      'tabauth/react': entries.react,
      'tabauth/query': entries.query,
      'tabauth/testing': entries.testing,
      // The longer names first: an alias also matches its sub-paths ('tabauth/devtools' would catch '.../core').
      'tabauth/devtools/production': entries['devtools-production'],
      'tabauth/devtools/core': entries['devtools-core'],
      'tabauth/devtools': entries.devtools,
      'tabauth/oidc': entries.oidc,
      'tabauth/dpop': entries.dpop,
      'tabauth/worker': entries.worker,
      tabauth: entries.index,
    },
  },
  build: {
    lib: { entry: { ...entries, ...scriptEntries }, formats: ['es'] },
    sourcemap: true,
    minify: false,
    rollupOptions: {
      external: [
        /^tabauth($|\/)/,
        /^react($|\/)/,
        /^react-dom($|\/)/,
        /^@tanstack\//,
        /^broadcast-channel($|\/)/,
        /^idb-keyval($|\/)/,
        /^jwt-decode($|\/)/,
        /^oauth4webapi($|\/)/,
        /^fake-indexeddb($|\/)/,
        /^dpop($|\/)/,
        /^jose($|\/)/,
        /^node:/,
      ],
    },
  },
  test: {
    globals: true,
    environment: 'node',
    reporters: ['default', './test/support/plainSummaryReporter.ts'],
    setupFiles: ['./test/support/failOnListenerLeaks.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // Everything but the package checks, on the React 19 the repository installs.
      {
        extends: true,
        test: { name: 'tabauth', include: ['test/**/*.test.{ts,tsx}'], exclude: ['test/package/**'], env: { TABAUTH_TEST_REACT: '19' } },
      },
      // The published package: built, packed and installed into a consumer directory once (globalSetup, which runs
      // only when one of these files is selected), then linted, type-checked as an app would, and compared with the
      // API reports; lint and the README snippets too.
      { extends: true, test: { name: 'package', include: ['test/package/**/*.test.{ts,tsx}'], globalSetup: ['./test/package/support/globalSetup.ts'] } },
      // The React and Query suites once more on React 18.3 (the npm aliases react18 / react-dom18), the oldest React
      // the peer range allows. The type tests (test/types) are not repeated: they are checked by tsc, not run.
      {
        extends: true,
        resolve: { alias: { react: 'react18', 'react-dom': 'react-dom18' } },
        test: {
          name: 'react18',
          include: ['test/react/**/*.test.{ts,tsx}'],
          env: { TABAUTH_TEST_REACT: '18' },
          setupFiles: ['./test/support/react18.ts'],
          // Inlined so that their own imports of react and react-dom go through the aliases above.
          server: { deps: { inline: ['@testing-library/react', '@tanstack/react-query'] } },
        },
      },
    ],
  },
});
