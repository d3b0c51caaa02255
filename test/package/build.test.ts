import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; import: string } | string>;
  sideEffects: boolean;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe('the published package', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('is side-effect free, ESM, with react, react-dom and TanStack Query as peers (and jose, optional, for the mock server\'s DPoP)', () => {
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@tanstack/react-query', 'jose', 'react', 'react-dom']);
    expect(Object.values(pkg.peerDependenciesMeta).every((meta) => meta.optional)).toBe(true);
  });

  it.each(['.', './react', './query', './testing', './dpop'])('entry %s has its JavaScript and its declarations', async (entry) => {
    const target = pkg.exports[entry];
    expect(typeof target).toBe('object');
    const { types, import: file } = target as { types: string; import: string };
    expect(existsSync(join(root, types))).toBe(true);
    expect(existsSync(join(root, file))).toBe(true);
    const module = (await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>;
    expect(Object.keys(module).length).toBeGreaterThan(0);
  });

  it('the core entry exports the documented API', async () => {
    const core = (await import(pathToFileURL(join(root, 'dist/index.js')).href)) as Record<string, unknown>;
    for (const name of ['createAuthClient', 'oauth2RefreshGrant', 'oauth2Revoke', 'OAuthError', 'TransientRefreshError', 'createIndexedDbStorage', 'createMemoryStorage', 'broadcastChannelCoordination']) {
      expect(typeof core[name]).toBe('function');
    }
  });

  it('the built core does not import DPoP code (tabauth/dpop and the dpop package stay out of apps that do not use them)', () => {
    const files = ['dist/index.js', ...readFileSync(join(root, 'dist/index.js'), 'utf8').matchAll(/from "\.\/([^"]+)"/g)].map((m) => (typeof m === 'string' ? m : `dist/${m[1]}`));
    for (const file of files) expect(readFileSync(join(root, file), 'utf8')).not.toMatch(/from "dpop"|from "jose"|generateProof/);
  });

  it('the built testing entry loads jose only on demand (import() inside the DPoP verifier)', () => {
    const testing = readFileSync(join(root, 'dist/testing.js'), 'utf8');
    expect(testing).not.toMatch(/from "jose"/);
  });

  it('the built core does not import React', () => {
    const files = ['dist/index.js', ...readFileSync(join(root, 'dist/index.js'), 'utf8').matchAll(/from "\.\/([^"]+)"/g)].map((m) => (typeof m === 'string' ? m : `dist/${m[1]}`));
    for (const file of files) expect(readFileSync(join(root, file), 'utf8')).not.toMatch(/from "react|from "@tanstack/);
  });
});
