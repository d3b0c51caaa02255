// @vitest-environment node
/**
 * Proves the e2e authorization server behaves like the servers described in PROBLEM.md:
 * refresh tokens rotate, a reused refresh token revokes the whole family, two concurrent refreshes
 * with one token give exactly one 200 and one invalid_grant, access tokens are short-lived JWTs.
 * No assertion depends on timing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOidcServer, type OidcServer, type TokenResponseBody } from './support/oidcServer';

interface TokenError {
  error: string;
  error_description?: string;
}

async function refresh(server: OidcServer, refreshToken: string) {
  const response = await fetch(server.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: server.clientId }),
  });
  return { status: response.status, body: (await response.json()) as TokenResponseBody & Partial<TokenError> };
}

async function callApi(server: OidcServer, accessToken?: string) {
  const response = await fetch(server.apiUrl, {
    headers: accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` },
  });
  return {
    status: response.status,
    body: (await response.json()) as { sub: string; jti: string; newest: boolean } & Partial<TokenError>,
  };
}

async function revoke(server: OidcServer, token: string) {
  const response = await fetch(server.revocationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token', client_id: server.clientId }),
  });
  await response.arrayBuffer();
  return response.status;
}

function decodeJwt(jwt: string) {
  const [header, payload] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

describe('e2e OIDC server (oidc-provider, rotation + reuse detection)', () => {
  let server: OidcServer;

  beforeAll(async () => {
    // A long lifetime keeps every access token valid for the whole file: no test depends on timing.
    server = await startOidcServer({ accessTokenTtlSeconds: 300 });
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    server.resetCounters();
  });

  it('binds to loopback and exposes its endpoints', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.issuer).toBe(server.origin);
    expect(server.tokenEndpoint).toBe(`${server.origin}/token`);
    expect(server.revocationEndpoint).toBe(`${server.origin}/token/revocation`);
    expect(server.apiUrl).toBe(`${server.origin}/api/me`);
    expect(server.clientId).toBe('tabauth-e2e');
  });

  it('issues initial tokens through the authorization code + PKCE flow', async () => {
    const tokens = await server.obtainInitialTokens();
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.expires_in).toBe(300);
    expect(typeof tokens.refresh_token).toBe('string');
    expect(tokens.refresh_token.length).toBeGreaterThan(20);
    expect(decodeJwt(tokens.id_token ?? '').payload.sub).toBe('user-1');
    expect(decodeJwt(tokens.access_token).payload.sub).toBe('user-1');
    expect(server.counters()).toMatchObject({ tokenRequests: 1, refreshSuccesses: 0, invalidGrant: 0 });
    expect(server.events()).toEqual([expect.objectContaining({ type: 'token', grantType: 'authorization_code', ok: true })]);

    const other = await server.obtainInitialTokens({ sub: 'user-2' });
    expect(decodeJwt(other.access_token).payload.sub).toBe('user-2');
    expect(other.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('requires PKCE from the public client', async () => {
    const url = new URL(`${server.origin}/auth`);
    url.search = new URLSearchParams({
      client_id: server.clientId,
      response_type: 'code',
      scope: 'openid offline_access',
      redirect_uri: server.redirectUri,
      state: 'no-pkce',
      prompt: 'consent',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    await response.arrayBuffer();
    expect(response.status).toBeGreaterThanOrEqual(300);
    expect(response.status).toBeLessThan(400);
    const location = new URL(response.headers.get('location') ?? '', server.origin);
    expect(location.origin + location.pathname).toBe(server.redirectUri);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('rotates the refresh token; reusing the old one revokes the whole family', async () => {
    const initial = await server.obtainInitialTokens();
    server.resetCounters();

    const first = await refresh(server, initial.refresh_token);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(first.body.refresh_token).not.toBe(initial.refresh_token);
    expect(first.body.access_token).not.toBe(initial.access_token);
    expect(first.body.token_type).toBe('Bearer');
    expect(first.body.expires_in).toBe(300);
    expect((await callApi(server, first.body.access_token)).body.newest).toBe(true);

    // The old refresh token is consumed: presenting it again is reuse.
    const reuse = await refresh(server, initial.refresh_token);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');

    // ...and the server revoked the family: the new refresh token and access token are dead too.
    const afterRevoke = await refresh(server, first.body.refresh_token);
    expect(afterRevoke.status).toBe(400);
    expect(afterRevoke.body.error).toBe('invalid_grant');
    const api = await callApi(server, first.body.access_token);
    expect(api.status).toBe(401);
    expect(api.body.error_description).toBe('grant revoked');

    expect(server.counters()).toEqual({
      tokenRequests: 3,
      refreshSuccesses: 1,
      refreshErrors: 2,
      invalidGrant: 2,
      grantsRevoked: 1,
      reuseDetected: 1,
      revocations: 0,
      apiCalls: 2,
      apiUnauthorized: 1,
      apiStale: 0,
      codeExchanges: 0,
      endSessions: 0,
    });
    const tokenEvents = server.events().filter((e) => e.type === 'token');
    expect(tokenEvents.map((e) => (e.ok ? 'ok' : e.detail))).toEqual(['ok', 'refresh token already used', 'refresh token not found']);
  });

  it('holdNextRefresh: the provider rotates, the answer leaves only on release; the log fingerprints which token each refresh carried', async () => {
    const initial = await server.obtainInitialTokens();
    server.resetCounters();
    const hold = server.holdNextRefresh();
    let settled = false;
    const pending = refresh(server, initial.refresh_token).finally(() => (settled = true));
    const { status, issued } = await hold.processed;
    expect(status).toBe(200);
    expect(server.counters()).toMatchObject({ refreshSuccesses: 1 }); // rotated already
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    hold.release();
    const first = await pending;
    expect(first.status).toBe(200);
    expect(hold.clientAborted).toBe(false);

    const second = await refresh(server, first.body.refresh_token);
    expect(second.status).toBe(200);
    const [held, next] = server.events().filter((e) => e.type === 'token');
    expect(held).toMatchObject({ ok: true, issued });
    expect(next).toMatchObject({ ok: true, presented: issued });
    expect(issued).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(server.events())).not.toContain(first.body.refresh_token);
  });

  it('holdNextRefresh: a client that aborts while its answer is held has lost the rotation (the next refresh is reuse)', async () => {
    const initial = await server.obtainInitialTokens();
    server.resetCounters();
    const hold = server.holdNextRefresh();
    const controller = new AbortController();
    const pending = fetch(server.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: initial.refresh_token, client_id: server.clientId }),
      signal: controller.signal,
    });
    await hold.processed;
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    while (!hold.clientAborted) await new Promise((resolve) => setTimeout(resolve, 10));
    hold.release();
    const again = await refresh(server, initial.refresh_token);
    expect(again.body.error).toBe('invalid_grant');
    expect(server.counters()).toMatchObject({ refreshSuccesses: 1, reuseDetected: 1, grantsRevoked: 1 });
  });

  it('a chain of rotations keeps working when every refresh uses the newest token', async () => {
    let tokens: TokenResponseBody = await server.obtainInitialTokens();
    server.resetCounters();
    const seen = new Set([tokens.refresh_token]);
    for (let i = 0; i < 10; i++) {
      const next = await refresh(server, tokens.refresh_token);
      expect(next.status).toBe(200);
      expect(seen.has(next.body.refresh_token)).toBe(false);
      seen.add(next.body.refresh_token);
      tokens = next.body;
    }
    expect(server.counters()).toMatchObject({ tokenRequests: 10, refreshSuccesses: 10, refreshErrors: 0, grantsRevoked: 0 });
  });

  it('two concurrent refreshes with the same token: exactly one 200, one invalid_grant, then the family is gone', async () => {
    const trials = 10;
    for (let trial = 0; trial < trials; trial++) {
      const initial = await server.obtainInitialTokens();
      server.resetCounters();

      const results = await Promise.all([refresh(server, initial.refresh_token), refresh(server, initial.refresh_token)]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 400]);
      const winner = results.find((r) => r.status === 200)!;
      const loser = results.find((r) => r.status === 400)!;
      expect(loser.body.error).toBe('invalid_grant');

      // The winner's brand-new refresh token was revoked with the family.
      const winnerNext = await refresh(server, winner.body.refresh_token);
      expect(winnerNext.status).toBe(400);
      expect(winnerNext.body.error).toBe('invalid_grant');
      expect((await callApi(server, winner.body.access_token)).status).toBe(401);

      expect(server.counters()).toMatchObject({
        tokenRequests: 3,
        refreshSuccesses: 1,
        refreshErrors: 2,
        invalidGrant: 2,
        reuseDetected: 1,
        grantsRevoked: 1,
      });
    }
  });

  it('many concurrent refreshes with the same token: exactly one succeeds', async () => {
    const initial = await server.obtainInitialTokens();
    server.resetCounters();
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(server, initial.refresh_token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(7);
    expect(server.counters()).toMatchObject({ refreshSuccesses: 1, refreshErrors: 7, reuseDetected: 1, grantsRevoked: 1 });
  });

  it('access tokens are JWTs for the API resource with exp - iat == ttl', async () => {
    const initial = await server.obtainInitialTokens();
    const refreshed = await refresh(server, initial.refresh_token);
    expect(refreshed.status).toBe(200);
    for (const token of [initial.access_token, refreshed.body.access_token]) {
      const { header, payload } = decodeJwt(token);
      expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
      expect(payload).toMatchObject({ iss: server.issuer, aud: server.resource, sub: 'user-1', client_id: server.clientId });
      expect(Number.isInteger(payload.iat)).toBe(true);
      expect((payload.exp as number) - (payload.iat as number)).toBe(300);
      expect(payload.jti).toEqual(expect.any(String));
    }
  });

  it('/api/me: 200 newest:true for the newest token, newest:false for an older still-valid one, 401 otherwise', async () => {
    const initial = await server.obtainInitialTokens();
    const refreshed = await refresh(server, initial.refresh_token);
    expect(refreshed.status).toBe(200);
    server.resetCounters();

    const newest = await callApi(server, refreshed.body.access_token);
    expect(newest).toEqual({
      status: 200,
      body: { sub: 'user-1', jti: decodeJwt(refreshed.body.access_token).payload.jti, newest: true },
    });

    const older = await callApi(server, initial.access_token);
    expect(older).toEqual({
      status: 200,
      body: { sub: 'user-1', jti: decodeJwt(initial.access_token).payload.jti, newest: false },
    });

    expect((await callApi(server)).status).toBe(401);
    expect((await callApi(server, 'not-a-jwt')).status).toBe(401);
    const [h, p, s] = refreshed.body.access_token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(refreshed.body.access_token).payload, sub: 'someone-else' })).toString('base64url');
    const forged = await callApi(server, `${h}.${forgedPayload}.${s}`);
    expect(forged.status).toBe(401);
    expect(forged.body.error_description).toBe('bad signature');
    expect((await callApi(server, `${h}.${p}.${s}`)).status).toBe(200);

    expect(server.counters()).toMatchObject({ apiCalls: 6, apiUnauthorized: 3, apiStale: 1 });
  });

  it('/api/me validates with jose: an ID token, or a token of another server instance, is refused', async () => {
    const tokens = await server.obtainInitialTokens();
    const asIdToken = await callApi(server, tokens.id_token);
    expect(asIdToken.status).toBe(401);
    expect(asIdToken.body.error_description).toBe('unexpected JWT header'); // typ is not at+jwt
    const other = await startOidcServer({ accessTokenTtlSeconds: 300 });
    try {
      const foreign = await other.obtainInitialTokens();
      const fromOther = await callApi(server, foreign.access_token);
      expect(fromOther.status).toBe(401);
      expect(fromOther.body.error_description).toBe('wrong issuer');
    } finally {
      await other.close();
    }
  });

  it('profile scope puts the name claim into the ID token; end_session is discoverable', async () => {
    const tokens = await server.obtainInitialTokens({ sub: 'ada-lovelace', scope: 'openid offline_access profile' });
    expect(decodeJwt(tokens.id_token!).payload).toMatchObject({ sub: 'ada-lovelace', name: 'Ada lovelace', aud: server.clientId });
    const metadata = (await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.end_session_endpoint).toBe(server.endSessionEndpoint);
    expect(server.counters().codeExchanges).toBe(1);
  });

  it('another grant does not make a token stale', async () => {
    const a = await server.obtainInitialTokens();
    const b = await server.obtainInitialTokens();
    expect((await callApi(server, a.access_token)).body.newest).toBe(true);
    expect((await callApi(server, b.access_token)).body.newest).toBe(true);
  });

  it('the revocation endpoint revokes the refresh token and its grant', async () => {
    const initial = await server.obtainInitialTokens();
    const refreshed = await refresh(server, initial.refresh_token);
    expect(refreshed.status).toBe(200);
    server.resetCounters();

    expect(await revoke(server, refreshed.body.refresh_token)).toBe(200);
    const after = await refresh(server, refreshed.body.refresh_token);
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
    expect((await callApi(server, refreshed.body.access_token)).status).toBe(401);
    // Revoking an unknown or already revoked token is still 200 (RFC 7009).
    expect(await revoke(server, refreshed.body.refresh_token)).toBe(200);

    expect(server.counters()).toMatchObject({
      revocations: 2,
      grantsRevoked: 1,
      reuseDetected: 0,
      refreshErrors: 1,
      invalidGrant: 1,
      apiUnauthorized: 1,
    });
  });

  it('allows CORS on the token endpoint and the API for other loopback origins', async () => {
    const preflight = await fetch(server.tokenEndpoint, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    await preflight.arrayBuffer();
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');

    const tokens = await server.obtainInitialTokens();
    const response = await fetch(server.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:5173' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: server.clientId }),
    });
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');

    const apiPreflight = await fetch(server.apiUrl, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    await apiPreflight.arrayBuffer();
    expect(apiPreflight.status).toBe(204);
    expect(apiPreflight.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('serves a static directory at / without shadowing the provider', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabauth-static-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      writeFileSync(join(dir, 'app.js'), 'export const x = 1;');
      server.serveStatic(dir);

      const index = await fetch(`${server.origin}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toContain('text/html');
      expect(await index.text()).toContain('<title>t</title>');

      const script = await fetch(`${server.origin}/app.js`);
      expect(script.headers.get('content-type')).toContain('text/javascript');
      expect(await script.text()).toBe('export const x = 1;');

      const traversal = await fetch(`${server.origin}/%2e%2e/%2e%2e/etc/passwd`);
      expect(traversal.status).toBe(404);
      await traversal.arrayBuffer();

      const discovery = await fetch(`${server.origin}/.well-known/openid-configuration`);
      const metadata = (await discovery.json()) as Record<string, unknown>;
      expect(metadata.token_endpoint).toBe(server.tokenEndpoint);
      expect(metadata.revocation_endpoint).toBe(server.revocationEndpoint);

      // Single-page app routes answer index.html, the redirect URI included; other paths still reach the provider.
      const callbackBefore = await (await fetch(`${server.redirectUri}?code=x`)).text();
      expect(callbackBefore).toContain('authorization response received');
      server.serveStatic(dir, { routes: ['/callback', '/protected'] });
      for (const route of ['/callback?code=x&state=y', '/protected']) {
        expect(await (await fetch(`${server.origin}${route}`)).text()).toContain('<title>t</title>');
      }
      expect((await fetch(`${server.origin}/jwks`)).headers.get('content-type')).toContain('json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('e2e OIDC server options', () => {
  it('defaults to 5 s access tokens', async () => {
    const server = await startOidcServer();
    try {
      expect(server.accessTokenTtlSeconds).toBe(5);
      const tokens = await server.obtainInitialTokens();
      expect(tokens.expires_in).toBe(5);
      const { payload } = decodeJwt(tokens.access_token);
      expect((payload.exp as number) - (payload.iat as number)).toBe(5);
      const refreshed = await refresh(server, tokens.refresh_token);
      expect(refreshed.status).toBe(200);
      const next = decodeJwt(refreshed.body.access_token).payload;
      expect((next.exp as number) - (next.iat as number)).toBe(5);
    } finally {
      await server.close();
    }
  });

  it('rejects an expired access token at /api/me', async () => {
    const server = await startOidcServer({ accessTokenTtlSeconds: 1 });
    try {
      const tokens = await server.obtainInitialTokens();
      const exp = decodeJwt(tokens.access_token).payload.exp as number;
      // Wait until the token's exp (whole seconds) has passed on this clock; no timing is asserted.
      while (Date.now() < exp * 1000 + 20) await new Promise((r) => setTimeout(r, 50));
      const api = await callApi(server, tokens.access_token);
      expect(api.status).toBe(401);
      expect(api.body.error_description).toBe('expired');
      // The refresh token is unaffected by the access token's expiry.
      expect((await refresh(server, tokens.refresh_token)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('revocation: false disables the revocation endpoint', async () => {
    const server = await startOidcServer({ revocation: false });
    try {
      const tokens = await server.obtainInitialTokens();
      expect(await revoke(server, tokens.refresh_token)).toBe(404);
      expect((await refresh(server, tokens.refresh_token)).status).toBe(200);
      const metadata = (await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(metadata.revocation_endpoint).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('binds a requested port', async () => {
    const probe = await startOidcServer();
    const { port } = new URL(probe.origin);
    await probe.close();
    const server = await startOidcServer({ port: Number(port) });
    try {
      expect(server.origin).toBe(`http://127.0.0.1:${port}`);
      expect((await server.obtainInitialTokens()).refresh_token).toEqual(expect.any(String));
    } finally {
      await server.close();
    }
  });
});
