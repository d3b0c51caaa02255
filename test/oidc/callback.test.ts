// @vitest-environment node
/**
 * login() and handleCallback() against a fake provider (fetch injected through oauth4webapi's customFetch), with two
 * real auth clients as tabs. Every bad callback must end in a typed error, with nothing stored, no tab changed, no
 * code exchanged, and this tab's pending attempts (and their verifiers) deleted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuthError, MalformedTokenResponseError, OAuthError, UnsupportedEnvironmentError } from '../../src/core';
import { AuthorizationError, createOidcLogin, IdTokenValidationError, LoginCallbackError, PopupLoginError, type OidcLogin } from '../../src/oidc';
import { APP, CLIENT_ID, createFakeProvider, fakePage, ISSUER, openTabs, REDIRECT_URI, rejectionOf, until, type FakePage, type FakeProvider } from './support';

let provider: FakeProvider;
let page: FakePage;
let oidc: OidcLogin;
let world: ReturnType<typeof openTabs>;

function loginFor(target: FakePage, extra: Partial<Parameters<typeof createOidcLogin>[0]> = {}) {
  return createOidcLogin({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: 'openid offline_access',
    fetch: provider.fetch,
    browser: target,
    ...extra,
  });
}

/** Starts a login in `target` and answers it at the fake provider: the callback URL the browser would land on. */
async function callbackUrl(login: OidcLogin, target: FakePage, options: { sub?: string; omitIss?: boolean; returnTo?: string } = {}) {
  await login.login(options.returnTo === undefined ? {} : { returnTo: options.returnTo });
  return provider.authorize(target.navigations.at(-1)!, options);
}

const attemptsIn = (target: FakePage) => {
  const keys: string[] = [];
  for (let i = 0; i < target.storage.length; i++) if (target.storage.key(i)!.includes(':attempt:')) keys.push(target.storage.key(i)!);
  return keys;
};

beforeEach(async () => {
  provider = await createFakeProvider();
  page = fakePage();
  oidc = loginFor(page);
  world = openTabs(2, oidc);
  await world.ready();
});
afterEach(async () => {
  await world.dispose();
});

describe('login() and handleCallback()', () => {
  it('redirects with PKCE S256, state and nonce; the callback signs in every tab, cleans the URL and returns returnTo', async () => {
    await oidc.login({ prompt: 'login', loginHint: 'ada@example.com', extraParams: { ui_locales: 'de', state: 'mine' } });
    const authorization = new URL(page.navigations[0]!);
    const p = authorization.searchParams;
    expect(authorization.origin + authorization.pathname).toBe(`${ISSUER}/authorize`);
    expect(Object.fromEntries(p)).toMatchObject({
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid offline_access',
      code_challenge_method: 'S256',
      prompt: 'login',
      login_hint: 'ada@example.com',
      ui_locales: 'de',
    });
    expect(p.get('state')).not.toBe('mine'); // extraParams never replace tabauth's parameters
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(attemptsIn(page)).toHaveLength(1);

    page.url = provider.authorize(page.navigations[0]!);
    const returnTo = await oidc.handleCallback(world.tabs[0]!.client);

    expect(returnTo).toBe('/projects?tab=1#top');
    expect(page.url).toBe(REDIRECT_URI); // code, state and iss removed
    expect(attemptsIn(page)).toEqual([]);
    expect(provider.count('/token', 'authorization_code')).toBe(1);
    await until(() => world.tabs.every((tab) => tab.client.getSnapshot().status === 'authenticated'), 'both tabs signed in');
    const [a, b] = world.tabs.map((tab) => tab.client.getSnapshot());
    expect(a!.version).toBe(1);
    expect(b!.version).toBe(1);
    expect(b!.tokens!.accessToken).toBe(a!.tokens!.accessToken);
    expect(a!.tokens!.idToken).toEqual(expect.any(String));
    expect(world.tabs[1]!.events.filter((e) => e.type === 'signed-in')).toEqual([{ type: 'signed-in', version: 1, source: 'other-tab' }]);
  });

  it('a returnTo on another origin is refused before anything is stored', async () => {
    await expect(oidc.login({ returnTo: 'https://evil.example/steal' })).rejects.toThrow(TypeError);
    await expect(oidc.login({ returnTo: '//evil.example/steal' })).rejects.toThrow(TypeError);
    expect(attemptsIn(page)).toEqual([]);
    expect(page.navigations).toEqual([]);
    await oidc.login({ returnTo: `${APP}/settings?x=1` });
    page.url = provider.authorize(page.navigations[0]!);
    expect(await oidc.handleCallback(world.tabs[0]!.client)).toBe('/settings?x=1');
  });

  it('two handleCallback calls for one URL (React StrictMode) share one code exchange', async () => {
    page.url = await callbackUrl(oidc, page);
    const client = world.tabs[0]!.client;
    const [first, second] = await Promise.all([oidc.handleCallback(client), oidc.handleCallback(client)]);
    expect(first).toBe(second);
    expect(provider.count('/token', 'authorization_code')).toBe(1);
  });

  it('without sessionStorage, login() fails with UnsupportedEnvironmentError and does not navigate', async () => {
    const bare = { ...fakePage(), sessionStorage: () => null };
    const login = loginFor(bare);
    await expect(login.login()).rejects.toBeInstanceOf(UnsupportedEnvironmentError);
    expect(bare.navigations).toEqual([]);
  });

  it('loginWithPopup() without a popup (blocked by the browser) is a PopupLoginError and stores nothing', async () => {
    const error = await rejectionOf(oidc.loginWithPopup(world.tabs[0]!.client));
    expect(error).toBeInstanceOf(PopupLoginError);
    expect((error as PopupLoginError).reason).toBe('blocked');
    expect(attemptsIn(page)).toEqual([]);
  });
});

/**
 * Each case: the error's type and reason, and the invariants of a refused callback. A good login afterwards lands at
 * version 1 in both tabs: any write in between would have taken a version.
 */
describe('bad callbacks: a typed error, nothing stored, the other tabs untouched', () => {
  async function expectRefused(url: string, type: abstract new (...args: never[]) => AuthError, reason: string | null, exchanges = 0) {
    const storedBefore = structuredClone(world.stored() ?? null);
    const tabsBefore = world.tabs.map((tab) => ({ status: tab.client.getSnapshot().status, version: tab.client.getSnapshot().version }));
    const eventsBefore = world.tabs[1]!.events.length;
    page.url = url;
    const error = await rejectionOf(oidc.handleCallback(world.tabs[0]!.client));
    expect(error).toBeInstanceOf(type);
    if (reason !== null) expect((error as unknown as { reason: string }).reason).toBe(reason);
    expect(world.stored() ?? null).toEqual(storedBefore);
    expect(world.tabs.map((tab) => ({ status: tab.client.getSnapshot().status, version: tab.client.getSnapshot().version }))).toEqual(tabsBefore);
    expect(attemptsIn(page)).toEqual([]); // the verifier is gone
    expect(provider.count('/token', 'authorization_code')).toBe(exchanges);
    expect(new URL(page.url).searchParams.has('code')).toBe(false);
    for (const secret of [...provider.issued, ...codeAndStateOf(url)]) expect(`${error.message} ${String(error.cause ?? '')}`).not.toContain(secret);
    // Then a good login: the next version everywhere proves nothing was written before it.
    const next = (storedBefore?.version ?? 0) + 1;
    provider.idTokenClaims = null;
    provider.token = null;
    page.url = await callbackUrl(oidc, page);
    await oidc.handleCallback(world.tabs[0]!.client);
    await until(() => world.tabs.every((tab) => tab.client.getSnapshot().version === next), 'the good login in both tabs');
    const seen = world.tabs[1]!.events.slice(eventsBefore).filter((e) => e.type === 'state-adopted');
    expect(seen.map((e) => 'version' in e && e.version)).toEqual([next]);
    return error;
  }
  const codeAndStateOf = (url: string) => ['code', 'state'].flatMap((name) => new URL(url).searchParams.getAll(name)).filter((value) => value.length > 8);
  const withParams = (url: string, edit: (params: URLSearchParams) => void) => {
    const target = new URL(url);
    edit(target.searchParams);
    return target.href;
  };

  it('no state', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => p.delete('state'));
    await expectRefused(url, LoginCallbackError, 'missing-state');
  });

  it('no code (and no error)', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => p.delete('code'));
    await expectRefused(url, LoginCallbackError, 'missing-code');
  });

  it('both code and error', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => p.set('error', 'access_denied'));
    await expectRefused(url, LoginCallbackError, 'code-and-error');
  });

  it('an extra state parameter', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => p.append('state', 'attacker-state-value'));
    await expectRefused(url, LoginCallbackError, 'duplicate-parameter');
  });

  it('a tampered state', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => p.set('state', `${p.get('state')}x`));
    await expectRefused(url, LoginCallbackError, 'unknown-state');
  });

  it('a callback URL opened twice', async () => {
    page.url = await callbackUrl(oidc, page);
    const used = page.url;
    await oidc.handleCallback(world.tabs[0]!.client);
    await until(() => world.tabs.every((tab) => tab.client.getSnapshot().version === 1), 'first login everywhere');
    page.url = used;
    const error = await rejectionOf(oidc.handleCallback(world.tabs[0]!.client));
    expect(error).toBeInstanceOf(LoginCallbackError);
    expect((error as LoginCallbackError).reason).toBe('replayed');
    expect(provider.count('/token', 'authorization_code')).toBe(1);
    expect(world.stored()!.version).toBe(1);
    expect(world.tabs.map((tab) => tab.client.getSnapshot().version)).toEqual([1, 1]);
  });

  it('a callback opened in a tab that did not start the login (own sessionStorage)', async () => {
    const url = await callbackUrl(oidc, page);
    const other = fakePage(url);
    const otherLogin = loginFor(other);
    other.url = url;
    const error = await rejectionOf(otherLogin.handleCallback(world.tabs[1]!.client));
    expect((error as LoginCallbackError).reason).toBe('unknown-state');
    await expectRefused(
      withParams(url, (p) => p.set('state', 'gone')),
      LoginCallbackError,
      'unknown-state',
    );
  });

  it('error=access_denied with HTML in error_description', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => {
      p.delete('code');
      p.set('error', 'access_denied');
      p.set('error_description', '<img src=x onerror=alert(1)><b>User</b> said "no" & left');
    });
    const error = (await expectRefused(url, AuthorizationError, null)) as AuthorizationError;
    expect(error.error).toBe('access_denied');
    expect(error.errorDescription).toBe('User said no left');
    expect(error.message).toBe('The authorization server refused the login with "access_denied": User said no left');
  });

  it('an iss parameter naming another issuer (RFC 9207)', async () => {
    const url = withParams(await callbackUrl(oidc, page), (p) => p.set('iss', 'https://evil.example'));
    await expectRefused(url, LoginCallbackError, 'issuer-mismatch', 0);
  });

  it('a missing iss where the server announces it', async () => {
    await expectRefused(await callbackUrl(oidc, page, { omitIss: true }), LoginCallbackError, 'missing-issuer');
  });

  it("a callback at another path than the login's redirect_uri", async () => {
    const url = (await callbackUrl(oidc, page)).replace('/callback', '/elsewhere');
    await expectRefused(url, LoginCallbackError, 'redirect-mismatch');
  });

  it('an attempt older than attemptMaxAgeMs', async () => {
    let now = 1_000_000;
    oidc = loginFor(page, { now: () => now, attemptMaxAgeMs: 60_000 });
    const url = await callbackUrl(oidc, page);
    now += 60_001;
    await expectRefused(url, LoginCallbackError, 'expired-attempt');
  });

  it('an ID token whose nonce is not the one sent', async () => {
    provider.idTokenClaims = (claims) => ({ ...claims, nonce: 'nonce-of-another-login' });
    const error = await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'nonce-mismatch', 1);
    expect((error as IdTokenValidationError).claim).toBe('nonce');
    provider.idTokenClaims = null;
  });

  it('a token response without id_token although openid was asked', async () => {
    provider.token = async ({ respond }) => {
      const body = (await (await respond()).json()) as Record<string, unknown>;
      delete body.id_token;
      provider.token = null;
      return Response.json(body);
    };
    await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'missing', 1);
  });

  it('an expired ID token', async () => {
    provider.idTokenClaims = (claims) => ({ ...claims, iat: claims.iat! - 7200, exp: claims.iat! - 3600 });
    await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'expired', 1);
    provider.idTokenClaims = null;
  });

  it('an ID token issued in the future', async () => {
    provider.idTokenClaims = (claims) => ({ ...claims, iat: claims.iat! + 3600, exp: claims.exp! + 3600 });
    await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'issued-in-future', 1);
    provider.idTokenClaims = null;
  });

  it('an ID token for another audience, and several audiences without azp', async () => {
    provider.idTokenClaims = (claims) => ({ ...claims, aud: 'another-client' });
    await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'audience-mismatch', 1);
    provider.idTokenClaims = (claims) => ({ ...claims, aud: [CLIENT_ID, 'another-client'] });
    await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'azp-mismatch', 3);
    provider.idTokenClaims = null;
  });

  it('an ID token from another issuer', async () => {
    provider.idTokenClaims = (claims) => ({ ...claims, iss: 'https://evil.example' });
    await expectRefused(await callbackUrl(oidc, page), IdTokenValidationError, 'issuer-mismatch', 1);
    provider.idTokenClaims = null;
  });

  it('the token endpoint refuses the code (invalid_grant, description echoing the code)', async () => {
    provider.token = ({ params }) => {
      provider.token = null;
      return Response.json({ error: 'invalid_grant', error_description: `code ${params.get('code')} expired` }, { status: 400 });
    };
    const error = (await expectRefused(await callbackUrl(oidc, page), OAuthError, null, 1)) as OAuthError;
    expect(error.error).toBe('invalid_grant');
    expect(error.errorDescription).toBe('code [redacted] expired');
  });

  it('the token endpoint answers 200 with an HTML page', async () => {
    provider.token = () => {
      provider.token = null;
      return new Response('<html>maintenance</html>', { status: 200, headers: { 'content-type': 'text/html' } });
    };
    await expectRefused(await callbackUrl(oidc, page), MalformedTokenResponseError, null, 1);
  });
});
