/**
 * What an app's production bundle gets from tabauth/devtools: a component that renders null and none of the panel,
 * its styles or its channel code (esbuild with NODE_ENV defined, as every app bundler does). And the core entry never
 * contains devtools code at all.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(__dirname, '../..');

async function bundle(contents: string, nodeEnv: string): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'tsx', sourcefile: 'app.tsx' },
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': JSON.stringify(nodeEnv) },
    external: ['react', 'react-dom', 'react/*', '@tanstack/*'],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const APP = `import { TabauthDevtools } from './src/devtools/index.ts'; export const devtools = TabauthDevtools;`;
const PANEL_MARKERS = ['tabauth-devtools:', 'BroadcastChannel', 'tdt-panel', 'Force refresh'];

describe('tabauth/devtools in an app bundle', () => {
  it('production: the panel, its styles and its channel are tree-shaken away', async () => {
    const code = await bundle(APP, 'production');
    for (const marker of PANEL_MARKERS) expect(code).not.toContain(marker);
    expect(code.length).toBeLessThan(300);
  });

  it('development: the panel is there', async () => {
    const code = await bundle(APP, 'development');
    for (const marker of PANEL_MARKERS) expect(code).toContain(marker);
  });

  it('tabauth/devtools/production keeps the panel in a production build', async () => {
    const code = await bundle(`export { TabauthDevtools } from './src/devtools/production.ts';`, 'production');
    for (const marker of PANEL_MARKERS) expect(code).toContain(marker);
  });

  it('the core entry contains no devtools code', async () => {
    const code = await bundle(`export * from './src/core/index.ts';`, 'development');
    expect(code).not.toContain('tabauth-devtools');
    expect(code).not.toContain('tdt-');
  });
});
