import { describe, it, expect } from 'vitest';
import { jwtDecode } from 'jwt-decode';
import { createMockTokenServer, MISTYPED_FIELDS, type MockTokenServer, type MockTokenServerOptions } from '../../src/testing/mockTokenServer';
import { createSimulatedClock, type SimulatedClock } from '../../src/testing/simulatedClock';
import { parseTokenResponse } from '../../src/core/tokenResponse';
import type { TokenResponse } from '../../src/core/types';

const CLIENT = 'tabauth-demo';

function setup(options: MockTokenServerOptions = {}): { server: MockTokenServer; clock: SimulatedClock } {
  const clock = createSimulatedClock();
  return { server: createMockTokenServer({ clock, ...options }), clock };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function post(server: MockTokenServer, refreshToken: string, init: RequestInit = {}, extra: Record<string, string> = {}): Promise<Response> {
  return server.fetch(server.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT, ...extra }),
    ...init,
  });
}

/** Observes whether a promise has settled, without wall-clock waits. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** A small deterministic PRNG so seeded runs can be compared. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tokensOf(...responses: TokenResponse[]): string[] {
  return responses.flatMap((r) => [r.access_token, r.refresh_token ?? '']).filter(Boolean);
}

describe('issueTokens', () => {
  it('issues a JWT access token with the documented claims and whole-second exp', () => {
    const { server, clock } = setup({ accessTokenTtlSeconds: 120 });
    const tokens = server.issueTokens({ subject: 'alice', scope: 'openid api' });
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.expires_in).toBe(120);
    expect(tokens.scope).toBe('openid api');
    expect(typeof tokens.refresh_token).toBe('string');
    const claims = jwtDecode<Record<string, unknown>>(tokens.access_token);
    expect(claims).toMatchObject({ iss: 'https://auth.mock.test', sub: 'alice', aud: CLIENT, client_id: CLIENT, scope: 'openid api' });
    expect(claims.iat).toBe(Math.floor(clock.now() / 1000));
    expect(claims.exp).toBe((claims.iat as number) + 120);
    expect(Number.isInteger(claims.exp)).toBe(true);
    expect(typeof claims.jti).toBe('string');
    // tabauth itself accepts it.
    expect(parseTokenResponse(tokens, clock.now()).expiresAt).toBe(clock.now() + 120_000);
  });

  it('supports opaque tokens, omitting expires_in and a custom issuer/client', () => {
    const { server } = setup({ accessTokenFormat: 'opaque', includeExpiresIn: false, issuer: 'https://idp.example/realms/x/', clientId: 'other' });
    const tokens = server.issueTokens();
    expect(tokens.access_token).not.toContain('.');
    expect(tokens).not.toHaveProperty('expires_in');
    expect(server.tokenEndpoint).toBe('https://idp.example/realms/x/token');
    expect(server.revocationEndpoint).toBe('https://idp.example/realms/x/revoke');
    expect(server.validateAccessToken(tokens.access_token)).toMatchObject({ valid: true, newest: true });
  });

  it('starts independent families', () => {
    const { server } = setup();
    const a = server.issueTokens();
    const b = server.issueTokens();
    const fa = server.validateAccessToken(a.access_token).familyId!;
    const fb = server.validateAccessToken(b.access_token).familyId!;
    expect(fa).not.toBe(fb);
    expect(server.isFamilyValid(fa)).toBe(true);
    expect(server.isFamilyValid('nope')).toBe(false);
  });

  it('reproduces the same token strings with the same seeded random', () => {
    const one = createMockTokenServer({ clock: createSimulatedClock(), random: mulberry32(7) }).issueTokens();
    const two = createMockTokenServer({ clock: createSimulatedClock(), random: mulberry32(7) }).issueTokens();
    expect(two).toEqual(one);
  });

  it('keeps tokens unique even with a constant random', () => {
    const { server } = setup({ random: () => 0 });
    const a = server.issueTokens();
    const b = server.issueTokens();
    expect(new Set(tokensOf(a, b)).size).toBe(4);
  });
});

describe('refresh (rotation and reuse detection)', () => {
  it('rotates on every refresh and marks the presented token used', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const r1 = await server.refresh({ refreshToken: t0.refresh_token!, clientId: CLIENT });
    expect(r1.status).toBe(200);
    const t1 = r1.body as TokenResponse;
    expect(t1.refresh_token).not.toBe(t0.refresh_token);
    expect(t1.access_token).not.toBe(t0.access_token);
    expect(t1.expires_in).toBe(60);
    const familyId = server.validateAccessToken(t1.access_token).familyId;
    expect(server.events.at(-1)).toMatchObject({ type: 'refresh', familyId, generation: 1 });
    const t2 = (await server.refresh({ refreshToken: t1.refresh_token! })).body as TokenResponse;
    expect(server.events.at(-1)).toMatchObject({ type: 'refresh', generation: 2 });
    expect(server.counters).toMatchObject({ refreshRequests: 2, successes: 2, reuseDetections: 0 });
    // Old access tokens stay valid until they expire, like on real servers; only the newest is flagged newest.
    expect(server.validateAccessToken(t0.access_token)).toEqual({ valid: true, familyId, newest: false });
    expect(server.validateAccessToken(t2.access_token)).toEqual({ valid: true, familyId, newest: true });
  });

  it('reports superseded access tokens as invalid when revokeSupersededAccessTokens is set', async () => {
    const { server } = setup({ revokeSupersededAccessTokens: true });
    const t0 = server.issueTokens();
    await server.refresh({ refreshToken: t0.refresh_token! });
    expect(server.validateAccessToken(t0.access_token)).toMatchObject({ valid: false, reason: 'superseded', newest: false });
  });

  it('answers invalid_grant to an unknown token', async () => {
    const { server } = setup();
    const result = await server.refresh({ refreshToken: 'not-a-token' });
    expect(result).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: expect.any(String) } });
    expect(server.counters).toMatchObject({ invalidGrant: 1, reuseDetections: 0, familiesRevoked: 0 });
    expect(server.events.at(-1)?.type).toBe('invalid');
    expect(server.validateAccessToken('nope')).toEqual({ valid: false, reason: 'unknown' });
  });

  it('revokes the whole family when a used token is presented again', async () => {
    const { server } = setup();
    const other = server.issueTokens();
    const t0 = server.issueTokens();
    const familyId = server.validateAccessToken(t0.access_token).familyId!;
    const t1 = (await server.refresh({ refreshToken: t0.refresh_token! })).body as TokenResponse;

    const replay = await server.refresh({ refreshToken: t0.refresh_token! });
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(server.counters).toMatchObject({ reuseDetections: 1, familiesRevoked: 1, invalidGrant: 1, successes: 1 });
    expect(server.isFamilyValid(familyId)).toBe(false);
    expect(server.events.slice(-3).map((e) => e.type)).toEqual(['reuse', 'revoked', 'invalid']);
    expect(server.events.at(-2)).toMatchObject({ familyId, generation: 1 });

    // The current refresh token and every access token of the family are dead now.
    expect(await server.refresh({ refreshToken: t1.refresh_token! })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(server.validateAccessToken(t1.access_token)).toMatchObject({ valid: false, reason: 'revoked', familyId });
    expect(server.validateAccessToken(t0.access_token)).toMatchObject({ valid: false, reason: 'revoked' });
    // Presenting tokens of a revoked family is not another reuse detection.
    expect(server.counters).toMatchObject({ reuseDetections: 1, familiesRevoked: 1, invalidGrant: 2 });
    // Other families are untouched.
    expect(server.validateAccessToken(other.access_token).valid).toBe(true);
    expect((await server.refresh({ refreshToken: other.refresh_token! })).status).toBe(200);
  });

  it('rejects a wrong client_id with 401 invalid_client without consuming the token', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    expect(await server.refresh({ refreshToken: t0.refresh_token!, clientId: 'evil' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await server.refresh({ refreshToken: t0.refresh_token!, clientId: CLIENT })).status).toBe(200);
    expect(server.counters.invalidGrant).toBe(0);
  });

  it('reports expired access tokens using the injected clock', async () => {
    const { server, clock } = setup({ accessTokenTtlSeconds: 10 });
    const t0 = server.issueTokens();
    await clock.advance(9_999);
    expect(server.validateAccessToken(t0.access_token).valid).toBe(true);
    await clock.advance(1);
    expect(server.validateAccessToken(t0.access_token)).toMatchObject({ valid: false, reason: 'expired', newest: true });
  });
});

describe('grace period', () => {
  it('replays the same successor pair within the grace period and detects reuse after it', async () => {
    const { server, clock } = setup({ gracePeriodMs: 30_000, accessTokenTtlSeconds: 60 });
    const t0 = server.issueTokens();
    const t1 = (await server.refresh({ refreshToken: t0.refresh_token! })).body as TokenResponse;
    await clock.advance(10_000);
    const again = await server.refresh({ refreshToken: t0.refresh_token! });
    expect(again.status).toBe(200);
    const replay = again.body as TokenResponse;
    expect(replay.access_token).toBe(t1.access_token);
    expect(replay.refresh_token).toBe(t1.refresh_token);
    expect(replay.expires_in).toBe(50); // what is left of the lifetime
    expect(server.counters).toMatchObject({ graceReplays: 1, successes: 1, reuseDetections: 0 });
    expect(server.events.at(-1)).toMatchObject({ type: 'grace-replay', generation: 1 });
    // The successor is still usable.
    expect(server.validateAccessToken(t1.access_token).valid).toBe(true);

    await clock.advance(20_000); // exactly at the end of the grace period: outside it
    expect((await server.refresh({ refreshToken: t0.refresh_token! })).status).toBe(400);
    expect(server.counters).toMatchObject({ reuseDetections: 1, familiesRevoked: 1 });
  });

  it('detects reuse immediately with the default grace period of 0', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    await server.refresh({ refreshToken: t0.refresh_token! });
    expect((await server.refresh({ refreshToken: t0.refresh_token! })).status).toBe(400);
    expect(server.counters.reuseDetections).toBe(1);
  });
});

describe('fetch', () => {
  it('handles a form POST to the token endpoint', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const response = await post(server, t0.refresh_token!);
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toContain('application/json');
    const body = (await response.json()) as TokenResponse;
    expect(server.validateAccessToken(body.access_token)).toMatchObject({ valid: true, newest: true });
  });

  it('accepts URLSearchParams bodies, URL objects and Request objects', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const r1 = await server.fetch(new URL(server.tokenEndpoint), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t0.refresh_token!, client_id: CLIENT }),
    });
    const t1 = (await r1.json()) as TokenResponse;
    const r2 = await server.fetch(
      new Request(server.tokenEndpoint, { method: 'POST', body: form({ grant_type: 'refresh_token', refresh_token: t1.refresh_token!, client_id: CLIENT }) }),
    );
    expect(r2.status).toBe(200);
    expect(server.counters.successes).toBe(2);
  });

  it('validates client, grant type, parameters, method and URL', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const call = async (body: Record<string, string>, init: RequestInit = {}, url = server.tokenEndpoint) => {
      const response = await server.fetch(url, { method: 'POST', body: form(body), ...init });
      return { status: response.status, body: (await response.json()) as { error: string } };
    };
    expect(await call({ grant_type: 'refresh_token', refresh_token: t0.refresh_token! })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await call({ grant_type: 'refresh_token', refresh_token: t0.refresh_token!, client_id: 'x' })).toMatchObject({ status: 401 });
    expect(await call({ grant_type: 'password', client_id: CLIENT })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(await call({ grant_type: 'refresh_token', client_id: CLIENT })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await call({}, { method: 'GET', body: null })).toMatchObject({ status: 405 });
    expect(await call({}, {}, 'https://auth.mock.test/other')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await call({}, {}, 'https://elsewhere.test/token')).toMatchObject({ status: 404 });
    // None of that consumed the token.
    expect((await post(server, t0.refresh_token!)).status).toBe(200);
  });

  it('reproduces the race: two refreshes with the same token give [200, 400] and the winner is revoked too', async () => {
    const { server, clock } = setup({ latencyMs: 50 });
    const t0 = server.issueTokens();
    const a = track(post(server, t0.refresh_token!));
    const b = track(post(server, t0.refresh_token!));
    // Processed at arrival, in call order, before any latency elapsed.
    expect(server.counters).toMatchObject({ refreshRequests: 2, successes: 1, reuseDetections: 1, familiesRevoked: 1 });
    await clock.settle();
    expect(a.settled || b.settled).toBe(false);
    await clock.advance(50);
    expect([a.value?.status, b.value?.status]).toEqual([200, 400]);
    const winner = (await a.value!.json()) as TokenResponse;
    const late = track(post(server, winner.refresh_token!));
    await clock.advance(50);
    expect(await late.value!.json()).toMatchObject({ error: 'invalid_grant' });
    expect(server.validateAccessToken(winner.access_token)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('uses a latency function per request', async () => {
    const delays = [100, 10];
    const { server, clock } = setup({ latencyMs: () => delays.shift() ?? 0 });
    const t0 = server.issueTokens();
    const t1 = server.issueTokens();
    const slow = track(post(server, t0.refresh_token!));
    const fast = track(post(server, t1.refresh_token!));
    await clock.advance(10);
    expect([slow.settled, fast.settled]).toEqual([false, true]);
    await clock.advance(90);
    expect(slow.settled).toBe(true);
  });

  it('does not send a request whose signal is already aborted', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(post(server, t0.refresh_token!, { signal: controller.signal })).rejects.toBe(reason);
    expect(server.counters.refreshRequests).toBe(0);
  });

  it('honours an abort during the latency wait after processing the request (lost response)', async () => {
    const { server, clock } = setup({ latencyMs: 1_000 });
    const t0 = server.issueTokens();
    const controller = new AbortController();
    const pending = track(post(server, t0.refresh_token!, { signal: controller.signal }));
    await clock.advance(500);
    controller.abort();
    await clock.settle();
    expect(pending.error).toBeInstanceOf(DOMException);
    expect((pending.error as DOMException).name).toBe('AbortError');
    expect(server.counters.successes).toBe(1); // the server rotated; the client never saw the result
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('failure injection', () => {
  it('applies failures in order with counts, then behaves normally', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'server-error', count: 2 }, { kind: 'rate-limited' }, { kind: 'html' }, { kind: 'server-error', status: 500 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(server, t0.refresh_token!)).status);
    expect(statuses).toEqual([503, 503, 429, 502, 500]);
    const ok = await post(server, t0.refresh_token!);
    expect(ok.status).toBe(200);
    expect(server.counters).toMatchObject({ refreshRequests: 6, injectedFailures: 5, successes: 1, reuseDetections: 0 });
    expect(server.events.filter((e) => e.type === 'injected')).toHaveLength(5);
    expect(server.events[0]).toMatchObject({ type: 'injected', familyId: server.validateAccessToken(t0.access_token).familyId, generation: 0 });
  });

  it('produces the documented bodies and headers', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'server-error' }, { kind: 'rate-limited' }, { kind: 'html' }, { kind: 'malformed' });
    const serverError = await post(server, t0.refresh_token!);
    expect(await serverError.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const limited = await post(server, t0.refresh_token!);
    expect(limited.headers.get('Retry-After')).toBe('1');
    const html = await post(server, t0.refresh_token!);
    expect(html.headers.get('Content-Type')).toContain('text/html');
    expect(await html.text()).toContain('<html>');
    const malformed = await post(server, t0.refresh_token!);
    expect(malformed.status).toBe(200);
    await expect(malformed.json()).rejects.toThrow();
    // Without rotate the token was never processed.
    expect(server.counters.successes).toBe(0);
    expect((await post(server, t0.refresh_token!)).status).toBe(200);
  });

  it('rotate: true processes the refresh before failing, so the old token becomes a reused one', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'malformed', rotate: true });
    expect((await post(server, t0.refresh_token!)).status).toBe(200);
    expect(server.counters.successes).toBe(1);
    expect((await post(server, t0.refresh_token!)).status).toBe(400);
    expect(server.counters.reuseDetections).toBe(1);
  });

  it("'network' rejects with TypeError('Failed to fetch')", async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'network' });
    await expect(post(server, t0.refresh_token!)).rejects.toThrow(new TypeError('Failed to fetch'));
    expect(server.counters.successes).toBe(0);
  });

  it("'timeout' never resolves until the signal aborts, then rejects with the reason", async () => {
    const { server, clock } = setup();
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'timeout', rotate: true }, { kind: 'timeout' });
    const controller = new AbortController();
    const first = track(post(server, t0.refresh_token!, { signal: controller.signal }));
    await clock.advance(10 * 60_000);
    expect(first.settled).toBe(false);
    const reason = new Error('client timeout');
    controller.abort(reason);
    await clock.settle();
    expect(first.error).toBe(reason);
    expect(server.counters.successes).toBe(1); // rotate: true

    const second = new AbortController();
    const pending = post(server, 'whatever', { signal: second.signal });
    second.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.counters.injectedFailures).toBe(2);
  });

  it("'mistyped' rotates and answers 200 with the new pair, one optional field wrong", async () => {
    const { server } = setup();
    const expected: Record<(typeof MISTYPED_FIELDS)[number], [string, unknown]> = {
      'expires_in-negative': ['expires_in', -1],
      'expires_in-string': ['expires_in', '60s'],
      'expires_in-huge': ['expires_in', 1e306],
      'scope-array': ['scope', ['openid', 'offline_access']],
      'id_token-object': ['id_token', {}],
      'token_type-number': ['token_type', 5],
      'version-object': ['version', {}],
    };
    for (const field of MISTYPED_FIELDS) {
      const t0 = server.issueTokens();
      server.injectFailures({ kind: 'mistyped', field });
      const before = server.counters.successes;
      const response = await post(server, t0.refresh_token!);
      expect(response.status, field).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(server.counters.successes, field).toBe(before + 1);
      expect(server.validateAccessToken(body.access_token as string), field).toMatchObject({ valid: true, newest: true });
      expect(body[expected[field][0]], field).toEqual(expected[field][1]);
      // The new refresh token is the one the server now expects; the presented one is used up.
      expect((await post(server, body.refresh_token as string)).status, field).toBe(200);
      expect((await post(server, t0.refresh_token!)).status, field).toBe(400);
    }
    expect(server.counters.injectedFailures).toBe(MISTYPED_FIELDS.length);
  });

  it("'mistyped' answers a rejected refresh unchanged", async () => {
    const { server } = setup();
    server.injectFailures({ kind: 'mistyped', field: 'scope-array' });
    const response = await post(server, 'unknown-token');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('does not apply injected failures to refresh() or the revocation endpoint', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'server-error' });
    expect((await server.refresh({ refreshToken: t0.refresh_token! })).status).toBe(200);
    expect((await server.fetch(server.revocationEndpoint, { method: 'POST', body: form({ token: 'x' }) })).status).toBe(200);
    expect((await post(server, 'unknown')).status).toBe(503);
  });
});

describe('revocation endpoint', () => {
  it('revokes the family of a refresh token', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const t1 = (await server.refresh({ refreshToken: t0.refresh_token! })).body as TokenResponse;
    const familyId = server.validateAccessToken(t1.access_token).familyId!;
    const response = await server.fetch(server.revocationEndpoint, {
      method: 'POST',
      body: form({ token: t1.refresh_token!, token_type_hint: 'refresh_token', client_id: CLIENT }),
    });
    expect(response.status).toBe(200);
    expect(server.isFamilyValid(familyId)).toBe(false);
    expect(server.validateAccessToken(t1.access_token)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(server.counters).toMatchObject({ revocations: 1, familiesRevoked: 1, reuseDetections: 0 });
    expect(server.events.slice(-2)).toMatchObject([
      { type: 'revocation', familyId, generation: 1 },
      { type: 'revoked', familyId },
    ]);
    expect((await post(server, t1.refresh_token!)).status).toBe(400);
  });

  it('revokes a single access token, and answers 200 for unknown tokens', async () => {
    const { server } = setup();
    const t0 = server.issueTokens();
    const familyId = server.validateAccessToken(t0.access_token).familyId!;
    await server.fetch(server.revocationEndpoint, { method: 'POST', body: form({ token: t0.access_token, token_type_hint: 'access_token' }) });
    expect(server.validateAccessToken(t0.access_token)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(server.isFamilyValid(familyId)).toBe(true);
    const unknown = await server.fetch(server.revocationEndpoint, { method: 'POST', body: form({ token: 'nope' }) });
    expect(unknown.status).toBe(200);
    expect(server.counters).toMatchObject({ revocations: 2, familiesRevoked: 0 });
  });
});

describe('observability', () => {
  it('never puts token strings in events, and notifies listeners until unsubscribed', async () => {
    const { server } = setup({ gracePeriodMs: 1_000 });
    const seen: string[] = [];
    const off = server.on((event) => seen.push(event.type));
    const t0 = server.issueTokens();
    const t1 = (await server.refresh({ refreshToken: t0.refresh_token! })).body as TokenResponse;
    await server.refresh({ refreshToken: t0.refresh_token! });
    server.injectFailures({ kind: 'html' });
    await post(server, t1.refresh_token!);
    await server.fetch(server.revocationEndpoint, { method: 'POST', body: form({ token: t1.refresh_token! }) });
    await server.refresh({ refreshToken: t1.refresh_token! });
    expect(seen).toEqual(['refresh', 'grace-replay', 'injected', 'revocation', 'revoked', 'invalid']);
    off();
    await server.refresh({ refreshToken: 'x' });
    expect(seen).toHaveLength(6);
    const dump = JSON.stringify(server.events) + JSON.stringify(server.counters);
    for (const token of tokensOf(t0, t1)) expect(dump).not.toContain(token);
  });

  it('returns snapshot copies of counters and events', async () => {
    const { server } = setup();
    const before = server.counters;
    const events = server.events;
    await server.refresh({ refreshToken: server.issueTokens().refresh_token! });
    expect(before.successes).toBe(0);
    expect(events).toHaveLength(0);
    expect(server.counters.successes).toBe(1);
  });

  it('reset() forgets families, counters, events and queued failures', async () => {
    const { server } = setup();
    const seen: string[] = [];
    server.on((event) => seen.push(event.type));
    const t0 = server.issueTokens();
    server.injectFailures({ kind: 'server-error', count: 5 });
    await post(server, t0.refresh_token!);
    server.reset();
    expect(server.counters).toEqual({
      refreshRequests: 0,
      successes: 0,
      reuseDetections: 0,
      familiesRevoked: 0,
      invalidGrant: 0,
      injectedFailures: 0,
      revocations: 0,
      graceReplays: 0,
    });
    expect(server.events).toEqual([]);
    expect(server.validateAccessToken(t0.access_token).reason).toBe('unknown');
    const t1 = server.issueTokens();
    expect((await post(server, t1.refresh_token!)).status).toBe(200); // no leftover failures
    expect(seen).toEqual(['injected', 'refresh']); // listeners stay subscribed
  });
});
