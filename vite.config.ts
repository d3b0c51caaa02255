import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

const entries = {
  index: resolve(root, 'src/core/index.ts'),
  react: resolve(root, 'src/react/index.ts'),
  query: resolve(root, 'src/query/index.ts'),
  testing: resolve(root, 'src/testing/index.ts'),
  dpop: resolve(root, 'src/dpop/index.ts'),
};

// Library build: one ESM file per public entry; every dependency and peer stays external
// so apps dedupe React, TanStack Query and broadcast-channel with their own copies.
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: {
      'tabauth/react': entries.react,
      'tabauth/query': entries.query,
      'tabauth/testing': entries.testing,
      'tabauth/dpop': entries.dpop,
      tabauth: entries.index,
    },
  },
  build: {
    lib: { entry: entries, formats: ['es'] },
    sourcemap: true,
    minify: false,
    rollupOptions: {
      external: [
        /^react($|\/)/,
        /^react-dom($|\/)/,
        /^@tanstack\//,
        /^broadcast-channel($|\/)/,
        /^idb-keyval($|\/)/,
        /^jwt-decode($|\/)/,
        /^fake-indexeddb($|\/)/,
        /^dpop($|\/)/,
        /^jose($|\/)/,
        /^node:/,
      ],
    },
  },
  test: {
    globals: true,
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
    reporters: ['default', './test/support/plainSummaryReporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
