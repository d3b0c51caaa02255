/**
 * The built package (built once by test/package/support/globalSetup.ts): every entry of vite.config.ts is an export
 * with its JavaScript and its bundled declarations, the core is framework-free, and the metadata an app and npm read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { entries, scriptEntries } from '../../vite.config';

const { root } = inject('packedPackage');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; import: string } | string>;
  types: string;
  sideEffects: boolean;
  peerDependencies: Record<string, string>;
  engines: Record<string, string>;
  license: string;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

const entryNames = Object.keys(entries);
const specifierOf = (name: string) => (name === 'index' ? '.' : `./${name.replaceAll('-', '/')}`);

describe('the published package', () => {
  it("is side-effect free, ESM, with react, react-dom and TanStack Query as peers (and jose, optional, for the mock server's DPoP)", () => {
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@tanstack/react-query', 'jose', 'react', 'react-dom']);
    expect(Object.values(pkg.peerDependenciesMeta).every((meta) => meta.optional)).toBe(true);
  });

  it('declares Node >= 20 and ships the MIT LICENSE it names', () => {
    expect(pkg.engines).toEqual({ node: '>=20' });
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 tabauth contributors\n/);
  });

  it('package.json exports and the entries of vite.config.ts agree (a new entry needs both)', () => {
    const scripts = Object.keys(scriptEntries).map((name) => `./${name}.js`);
    const exported = Object.keys(pkg.exports).filter((key) => key !== './package.json' && !scripts.includes(key));
    expect(exported.sort()).toEqual(entryNames.map(specifierOf).sort());
    // Scripts (the prebuilt SharedWorker) are exported under their file name, which is how bundlers reach them.
    for (const name of Object.keys(scriptEntries)) {
      expect(pkg.exports[`./${name}.js`]).toStrictEqual({ types: `./dist/${name}.d.ts`, import: `./dist/${name}.js` });
    }
    for (const name of entryNames) {
      // types first: TypeScript takes the first condition that matches.
      expect(pkg.exports[specifierOf(name)]).toStrictEqual({ types: `./dist/${name}.d.ts`, import: `./dist/${name}.js` });
    }
    expect(pkg.types).toBe('./dist/index.d.ts');
  });

  it.each(entryNames)('entry %s has its JavaScript and one bundled declaration file that imports only packages', async (name) => {
    const { types, import: file } = pkg.exports[specifierOf(name)] as { types: string; import: string };
    expect(existsSync(join(root, file))).toBe(true);
    const module = (await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>;
    expect(Object.keys(module).length).toBeGreaterThan(0);
    const declarations = readFileSync(join(root, types), 'utf8');
    // Relative imports are what broke node16/nodenext ('./authClient' has no extension); a bundle has none.
    expect([...declarations.matchAll(/from '(\.[^']*)'/g)].map((match) => match[1])).toEqual([]);
    // The other entries use the core through 'tabauth': one declaration of each core type in an app.
    if (name !== 'index') expect(declarations).not.toMatch(/declare interface AuthClient\b/);
  });

  it('the core entry exports the documented API', async () => {
    const core = (await import(pathToFileURL(join(root, 'dist/index.js')).href)) as Record<string, unknown>;
    for (const name of [
      'createAuthClient',
      'oauth2RefreshGrant',
      'oauth2Revoke',
      'OAuthError',
      'TransientRefreshError',
      'createIndexedDbStorage',
      'createMemoryStorage',
      'broadcastChannelCoordination',
    ]) {
      expect(typeof core[name]).toBe('function');
    }
  });

  it('the built core imports neither React nor TanStack Query, and the other entries import the core as "tabauth"', () => {
    const core = readFileSync(join(root, 'dist/index.js'), 'utf8');
    expect(core).not.toMatch(/from "react|from "@tanstack/);
    expect(core).not.toMatch(/from "\.\//); // one self-contained file: no chunk shared with the other entries
    // An entry may be a thin file over a chunk it shares with another entry (the devtools entries): read those too.
    const withChunks = (file: string, seen = new Set<string>()): string => {
      if (seen.has(file)) return '';
      seen.add(file);
      const code = readFileSync(join(root, 'dist', file), 'utf8');
      const chunks = [...code.matchAll(/from "\.\/([^"]+)"/g)].map((match) => withChunks(match[1]!, seen));
      return [code, ...chunks].join('\n');
    };
    for (const name of entryNames.filter((entry) => entry !== 'index')) {
      expect(withChunks(`${name}.js`)).toMatch(/from "tabauth"/);
    }
  });

  it('the built core does not import DPoP code (tabauth/dpop and the dpop package stay out of apps that do not use them)', () => {
    const files = ['dist/index.js', ...readFileSync(join(root, 'dist/index.js'), 'utf8').matchAll(/from "\.\/([^"]+)"/g)].map((m) =>
      typeof m === 'string' ? m : `dist/${m[1]}`,
    );
    for (const file of files) expect(readFileSync(join(root, file), 'utf8')).not.toMatch(/from "dpop"|from "jose"|generateProof/);
  });

  it('the built testing entry loads jose only on demand (import() inside the DPoP verifier)', () => {
    const testing = readFileSync(join(root, 'dist/testing.js'), 'utf8');
    expect(testing).not.toMatch(/from "jose"/);
  });
});
