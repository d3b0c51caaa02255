// @vitest-environment node
/**
 * Discovery: one request per tab however many callers, typed errors for every broken document, failures not cached,
 * and a refresh that meets a failing discovery retries instead of signing anyone out.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientRefreshError } from '../../src/core';
import { createOidcLogin, DiscoveryError, type DiscoveryFailure, type OidcLogin } from '../../src/oidc';
import { CLIENT_ID, createFakeProvider, fakePage, ISSUER, openTabs, REDIRECT_URI, rejectionOf, type FakePage, type FakeProvider } from './support';

let provider: FakeProvider;
let page: FakePage;

const loginFor = (extra: Partial<Parameters<typeof createOidcLogin>[0]> = {}): OidcLogin =>
  createOidcLogin({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: 'openid offline_access',
    fetch: provider.fetch,
    browser: page,
    ...extra,
  });
const discoveries = () => provider.count('/.well-known/openid-configuration');

beforeEach(async () => {
  provider = await createFakeProvider();
  page = fakePage();
});

describe('discovery', () => {
  it('is requested once per tab: concurrent login, metadata() and refresh share one request', async () => {
    const oidc = loginFor();
    const [metadata] = await Promise.all([oidc.metadata(), oidc.metadata(), oidc.login()]);
    await oidc.metadata();
    expect(metadata.token_endpoint).toBe(`${ISSUER}/token`);
    expect(discoveries()).toBe(1);
  });

  it('skips the request when metadata is given, and rejects unusable metadata at setup', async () => {
    const oidc = loginFor({ issuer: undefined, metadata: { ...provider.metadata } as never });
    await oidc.login();
    expect(discoveries()).toBe(0);
    expect(page.navigations).toHaveLength(1);
    expect(() => loginFor({ issuer: undefined, metadata: { issuer: ISSUER, token_endpoint: `${ISSUER}/token` } })).toThrow(DiscoveryError);
    expect(() => loginFor({ metadata: { ...provider.metadata } as never })).toThrow(TypeError); // both issuer and metadata
  });

  const broken: Array<[string, DiscoveryFailure, () => Response, number | null]> = [
    ['a body that is not JSON', 'not-json', () => new Response('<html>sign in</html>', { headers: { 'content-type': 'text/html' } }), null],
    ['JSON with a broken body', 'not-json', () => new Response('{"issuer":', { headers: { 'content-type': 'application/json' } }), null],
    ['JSON that is not metadata', 'invalid-metadata', () => Response.json(['not', 'an', 'object']), null],
    ['no authorization_endpoint', 'missing-endpoint', () => Response.json({ ...provider.metadata, authorization_endpoint: undefined }), null],
    ['no token_endpoint', 'missing-endpoint', () => Response.json({ ...provider.metadata, token_endpoint: 'not a url' }), null],
    ['another issuer', 'issuer-mismatch', () => Response.json({ ...provider.metadata, issuer: 'https://evil.example' }), null],
    ['HTTP 500', 'http-status', () => new Response('oops', { status: 500 }), 500],
    ['HTTP 404', 'http-status', () => new Response('missing', { status: 404 }), 404],
  ];
  it.each(broken)('%s: DiscoveryError(%s), no navigation, and the next call asks again', async (_name, reason, answer, status) => {
    provider.discovery = answer;
    const oidc = loginFor();
    const error = await rejectionOf(oidc.login());
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as DiscoveryError).reason).toBe(reason);
    expect((error as DiscoveryError).status).toBe(status);
    expect(error.message).not.toContain('<html>');
    expect(page.navigations).toEqual([]);
    expect(page.storage.length).toBe(0); // no attempt stored
    provider.discovery = null;
    await oidc.login();
    expect(page.navigations).toHaveLength(1);
    expect(discoveries()).toBe(2);
  });

  it('a network failure is DiscoveryError(network)', async () => {
    const oidc = loginFor({ fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    const error = await rejectionOf(oidc.login());
    expect((error as DiscoveryError).reason).toBe('network');
  });

  it('plain http is refused for an issuer that is not on loopback, and allowed for 127.0.0.1', async () => {
    const insecure = await createFakeProvider({ issuer: 'http://id.example.test' });
    const refused = createOidcLogin({ issuer: 'http://id.example.test', clientId: CLIENT_ID, redirectUri: REDIRECT_URI, fetch: insecure.fetch, browser: page });
    expect(((await rejectionOf(refused.metadata())) as DiscoveryError).reason).toBe('insecure-url');
    expect(insecure.requests).toEqual([]);

    const loopback = await createFakeProvider({ issuer: 'http://127.0.0.1:9' });
    const allowed = createOidcLogin({ issuer: 'http://127.0.0.1:9', clientId: CLIENT_ID, redirectUri: REDIRECT_URI, fetch: loopback.fetch, browser: page });
    expect((await allowed.metadata()).issuer).toBe('http://127.0.0.1:9');
  });

  it('configuration mistakes throw TypeError at setup', () => {
    expect(() => createOidcLogin({ clientId: CLIENT_ID, redirectUri: REDIRECT_URI })).toThrow(/issuer/);
    expect(() => createOidcLogin({ issuer: ISSUER, clientId: '', redirectUri: REDIRECT_URI })).toThrow(/clientId/);
    expect(() => createOidcLogin({ issuer: ISSUER, clientId: CLIENT_ID, redirectUri: '/callback' })).toThrow(/redirectUri/);
    expect(() => createOidcLogin({ issuer: 'id.example.test', clientId: CLIENT_ID, redirectUri: REDIRECT_URI })).toThrow(/issuer/);
  });
});

describe('refresh through the discovered token endpoint', () => {
  let world: ReturnType<typeof openTabs> | undefined;
  afterEach(async () => {
    await world?.dispose();
    world = undefined;
  });

  it('a discovery failure during a refresh is transient: retried, nobody signed out', async () => {
    const oidc = loginFor();
    world = openTabs(1, oidc);
    await world.ready();
    await oidc.login();
    page.url = provider.authorize(page.navigations[0]!);
    await oidc.handleCallback(world.tabs[0]!.client);
    // A fresh tab (new page load) whose first discovery fails.
    const fresh = loginFor();
    provider.discovery = () => new Response('down', { status: 503 });
    const context = {
      refreshToken: world.tabs[0]!.client.getSnapshot().tokens!.refreshToken!,
      scope: null,
      deviceId: 'd',
      version: 1,
      serverVersion: null,
      signal: new AbortController().signal,
    };
    const error = await rejectionOf(fresh.refresh(context));
    expect(error).toBeInstanceOf(TransientRefreshError);
    expect((error as TransientRefreshError).kind).toBe('server');
    expect(error.cause).toBeInstanceOf(DiscoveryError);
    expect(provider.count('/token', 'refresh_token')).toBe(0);
    provider.discovery = null;
    const body = await fresh.refresh(context);
    expect(body.access_token).toEqual(expect.any(String));
    expect(provider.count('/token', 'refresh_token')).toBe(1);
  });
});
