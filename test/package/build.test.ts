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
};

describe('the published package', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('is side-effect free, ESM, with react, react-dom and TanStack Query as peers', () => {
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@tanstack/react-query', 'react', 'react-dom']);
  });

  it.each(['.', './react', './query', './testing', './oidc'])('entry %s has its JavaScript and its declarations', async (entry) => {
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

  it('the oidc entry exports createOidcLogin and its errors, and keeps oauth4webapi external', async () => {
    const oidc = (await import(pathToFileURL(join(root, 'dist/oidc.js')).href)) as Record<string, unknown>;
    for (const name of ['createOidcLogin', 'DiscoveryError', 'LoginCallbackError', 'AuthorizationError', 'IdTokenValidationError', 'PopupLoginError']) {
      expect(typeof oidc[name]).toBe('function');
    }
    expect(readFileSync(join(root, 'dist/oidc.js'), 'utf8')).toMatch(/from "oauth4webapi"/);
    const react = readFileSync(join(root, 'dist/react.js'), 'utf8');
    expect(react).not.toMatch(/oauth4webapi/); // the React bindings take a login, they do not bundle one
  });

  it('the built core does not import React', () => {
    const files = ['dist/index.js', ...readFileSync(join(root, 'dist/index.js'), 'utf8').matchAll(/from "\.\/([^"]+)"/g)].map((m) => (typeof m === 'string' ? m : `dist/${m[1]}`));
    for (const file of files) expect(readFileSync(join(root, file), 'utf8')).not.toMatch(/from "react|from "@tanstack/);
  });
});
