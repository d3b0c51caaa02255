// @vitest-environment node
/**
 * What the OIDC login does to the tabs after the callback: refreshes through the discovered token endpoint with the
 * core's classification, logout everywhere with RP-initiated logout, and two logins that race.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, OAuthError } from '../../src/core';
import { createOidcLogin, type OidcLogin } from '../../src/oidc';
import { CLIENT_ID, createFakeProvider, fakePage, ISSUER, openTabs, REDIRECT_URI, until, type FakePage, type FakeProvider } from './support';

let provider: FakeProvider;
let world: ReturnType<typeof openTabs> | undefined;

const loginFor = (page: FakePage, extra: Partial<Parameters<typeof createOidcLogin>[0]> = {}): OidcLogin =>
  createOidcLogin({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: 'openid offline_access',
    postLogoutRedirectUri: 'https://app.example.test/',
    fetch: provider.fetch,
    browser: page,
    ...extra,
  });

async function logIn(oidc: OidcLogin, page: FakePage, client = world!.tabs[0]!.client, sub = 'user-1') {
  await oidc.login();
  page.url = provider.authorize(page.navigations.at(-1)!, { sub });
  return oidc.handleCallback(client);
}

beforeEach(async () => {
  provider = await createFakeProvider();
});
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});

describe('after the login', () => {
  it('refresh: one request through the discovered token endpoint rotates the pair for every tab', async () => {
    const page = fakePage();
    const oidc = loginFor(page);
    world = openTabs(3, oidc);
    await world.ready();
    await logIn(oidc, page);
    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().version === 1), 'signed in everywhere');
    const before = world.tabs[1]!.client.getSnapshot().tokens!;
    const results = await Promise.all(world.tabs.map((tab) => tab.client.refresh({ rejectedVersion: 1 })));
    expect(results.map((r) => r.version)).toEqual([2, 2, 2]);
    expect(provider.count('/token', 'refresh_token')).toBe(1);
    expect(results[0]!.tokens.refreshToken).not.toBe(before.refreshToken);
    expect(provider.loginOf.get(results[0]!.tokens.accessToken)).toBe(provider.loginOf.get(before.accessToken));
  });

  it('refresh: an invalid_grant (description echoing the token) is terminal, redacted, and signs every tab out', async () => {
    const page = fakePage();
    const oidc = loginFor(page);
    world = openTabs(2, oidc);
    await world.ready();
    await logIn(oidc, page);
    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().version === 1), 'signed in everywhere');
    const refreshToken = world.tabs[0]!.client.getSnapshot().tokens!.refreshToken!;
    provider.token = ({ params }) =>
      Response.json({ error: 'invalid_grant', error_description: `token ${params.get('refresh_token')} revoked` }, { status: 400 });
    const error = await world.tabs[0]!.client.refresh().catch((caught: unknown) => caught);
    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().status === 'signed-out'), 'signed out everywhere');
    const failure = world.tabs.flatMap((tab) => tab.events).find((event) => event.type === 'refresh-failed');
    expect(failure).toMatchObject({ reason: 'terminal', oauthError: 'invalid_grant' });
    expect(world.tabs.map((tab) => tab.client.getSnapshot().signedOutReason)).toEqual(['refresh-rejected', 'refresh-rejected']);
    expect(error).toBeInstanceOf(AuthError); // OAuthError in the leader, SignedOutError in a follower
    expect((error as Error).message).not.toContain(refreshToken);
    // The grant itself (what the refresher classified): the core's OAuthError, redacted.
    const context = { refreshToken, scope: null, deviceId: 'd', version: 1, serverVersion: null, signal: new AbortController().signal };
    const direct = await oidc.refresh(context).catch((caught: unknown) => caught);
    expect(direct).toBeInstanceOf(OAuthError);
    expect((direct as OAuthError).terminal).toBe(true);
    expect((direct as OAuthError).errorDescription).toBe('token [redacted] revoked');
    expect(world.tabs.flatMap((tab) => tab.events).filter((event) => JSON.stringify(event).includes(refreshToken))).toEqual([]);
  });

  it('logout: every tab signed out, the refresh token revoked, then end_session with id_token_hint', async () => {
    const page = fakePage();
    const oidc = loginFor(page);
    world = openTabs(3, oidc);
    await world.ready();
    await logIn(oidc, page);
    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().version === 1), 'signed in everywhere');
    const { idToken, refreshToken } = world.tabs[2]!.client.getSnapshot().tokens!;

    await oidc.logout(world.tabs[2]!.client, { revoke: true, state: 'bye' });

    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().status === 'signed-out'), 'signed out everywhere');
    expect(world.tabs.map((tab) => tab.client.getSnapshot().signedOutReason)).toEqual(['user', 'user', 'user']);
    expect(world.stored()).toMatchObject({ version: 2, tokens: null });
    const revocations = provider.requests.filter((r) => r.url.endsWith('/revoke'));
    expect(revocations.map((r) => new URLSearchParams(r.body!).get('token'))).toEqual([refreshToken]);
    const endSession = new URL(page.navigations.at(-1)!);
    expect(endSession.origin + endSession.pathname).toBe(`${ISSUER}/session/end`);
    expect(Object.fromEntries(endSession.searchParams)).toEqual({
      client_id: CLIENT_ID,
      id_token_hint: idToken,
      post_logout_redirect_uri: 'https://app.example.test/',
      state: 'bye',
    });
  });

  it('logout({ endSession: false }) and servers without end_session_endpoint: signed out, no redirect', async () => {
    const page = fakePage();
    const oidc = loginFor(page);
    world = openTabs(2, oidc);
    await world.ready();
    await logIn(oidc, page);
    const navigations = page.navigations.length;
    await oidc.logout(world.tabs[0]!.client, { endSession: false });
    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().status === 'signed-out'), 'signed out everywhere');
    expect(page.navigations).toHaveLength(navigations);
    expect(provider.requests.filter((r) => r.url.endsWith('/revoke'))).toEqual([]);

    const bare = await createFakeProvider({ endSession: false });
    provider = bare;
    const other = fakePage();
    const plain = loginFor(other, { fetch: bare.fetch });
    await plain.logout(world.tabs[0]!.client);
    expect(other.navigations).toEqual([]);
  });
});

describe('two tabs that log in at once', () => {
  it.each([
    ['tab A finishes last', ['A', 'B'] as const],
    ['tab B finishes last', ['B', 'A'] as const],
  ])('%s: every tab ends on the login that finished last, with a pair from one login', async (_name, order) => {
    const pages = { A: fakePage(), B: fakePage() };
    const logins = { A: loginFor(pages.A), B: loginFor(pages.B) };
    world = openTabs(3, logins.A);
    await world.ready();
    const clients = { A: world.tabs[0]!.client, B: world.tabs[1]!.client };
    // Both start before either finishes: each has its own attempt in its own sessionStorage.
    await Promise.all([logins.A.login(), logins.B.login()]);
    pages.A.url = provider.authorize(pages.A.navigations[0]!, { sub: 'ada' });
    pages.B.url = provider.authorize(pages.B.navigations[0]!, { sub: 'bob' });
    await logins[order[0]].handleCallback(clients[order[0]]);
    await logins[order[1]].handleCallback(clients[order[1]]);
    const winner = order[1] === 'A' ? 'ada' : 'bob';

    await until(() => world!.tabs.every((tab) => tab.client.getSnapshot().version === 2), 'the second login everywhere');
    for (const tab of world.tabs) {
      const tokens = tab.client.getSnapshot().tokens!;
      expect(provider.loginOf.get(tokens.accessToken)!.split('#')[0]).toBe(winner);
      expect(provider.loginOf.get(tokens.refreshToken!)).toBe(provider.loginOf.get(tokens.accessToken));
    }
    // The stored pair refreshes as the winner: its refresh token belongs to the same login as its access token.
    const refreshed = await world.tabs[2]!.client.refresh();
    expect(provider.loginOf.get(refreshed.tokens.accessToken)!.split('#')[0]).toBe(winner);
  });
});
