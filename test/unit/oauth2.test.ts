import { describe, it, expect, vi, afterEach } from 'vitest';
import { oauth2RefreshGrant, oauth2Revoke, type OAuth2RefreshOptions } from '../../src/core/refresh/oauth2';
import { createMockTokenServer } from '../../src/testing/mockTokenServer';
import { createSimulatedClock } from '../../src/testing/simulatedClock';
import { AuthError, DisposedError, MalformedTokenResponseError, OAuthError, RefreshTimeoutError, TransientRefreshError } from '../../src/core/errors';
import type { RefreshContext, TokenResponse } from '../../src/core/types';

const ENDPOINT = 'https://auth.example.test/oauth/token';
const REVOKE = 'https://auth.example.test/oauth/revoke';
// Long enough for redactSecrets to recognise it, like a real refresh token.
const RT = 'rt_SECRET_8f3k2l9d0s8a7f6g5h4j3k2l1z0x9c8v';
const AT = 'at_SECRET_1q2w3e4r5t6y7u8i9o0p1a2s3d4f5g6h';

function context(overrides: Partial<RefreshContext> = {}): RefreshContext {
  return {
    refreshToken: RT,
    scope: 'openid offline_access',
    deviceId: 'device-123',
    version: 3,
    serverVersion: null,
    signal: new AbortController().signal,
    ...overrides,
  };
}

interface Call {
  url: string;
  init: RequestInit;
  form: URLSearchParams;
  headers: Headers;
}

/** A hand-written fetch that records calls and answers with `respond`. */
function stubFetch(respond: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const call = { url: String(input), init, form: new URLSearchParams(String(init.body)), headers: new Headers(init.headers) };
    calls.push(call);
    return respond(call);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const okBody = { access_token: AT, token_type: 'Bearer', expires_in: 300, refresh_token: RT + 'next', version: 7, custom: 'kept' };

function grant(fetch: typeof globalThis.fetch, options: Partial<OAuth2RefreshOptions> = {}) {
  return oauth2RefreshGrant({ tokenEndpoint: ENDPOINT, clientId: 'spa', fetch, ...options });
}

/** Runs the refresh and returns what it threw (fails the test if it resolved). */
async function failure(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return error as AuthError;
  }
  throw new Error('expected the refresh to fail');
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('oauth2RefreshGrant request', () => {
  it('POSTs the refresh grant as a form with the caller signal', async () => {
    const { fetch, calls } = stubFetch(() => json(200, okBody));
    const ctx = context();
    await grant(fetch)(ctx);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe(ENDPOINT);
    expect(call.init.method).toBe('POST');
    expect(call.init.signal).toBe(ctx.signal);
    expect(call.init.credentials).toBe('omit');
    expect(call.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(call.headers.get('Accept')).toBe('application/json');
    expect(call.init.body).toBe(`grant_type=refresh_token&refresh_token=${RT}&client_id=spa`);
  });

  it('sends scope, device id and extra params only when configured, never overriding its own fields', async () => {
    const { fetch, calls } = stubFetch(() => json(200, okBody));
    await grant(fetch)(context());
    expect([...calls[0]!.form.keys()]).toEqual(['grant_type', 'refresh_token', 'client_id']);

    const seen: RefreshContext[] = [];
    await grant(fetch, {
      scope: 'openid api',
      deviceIdParam: 'device_id',
      extraParams: (ctx) => {
        seen.push(ctx);
        return { resource: 'https://api.test', refresh_token: 'evil', client_id: 'evil', version: String(ctx.version) };
      },
      headers: { Authorization: 'Basic abc', 'content-type': 'text/plain', accept: 'application/jwt' },
      credentials: 'include',
    })(context());
    const call = calls[1]!;
    expect(Object.fromEntries(call.form)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: RT,
      client_id: 'spa',
      scope: 'openid api',
      device_id: 'device-123',
      resource: 'https://api.test',
      version: '3',
    });
    expect(seen[0]?.deviceId).toBe('device-123');
    expect(call.headers.get('Authorization')).toBe('Basic abc');
    expect(call.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(call.headers.get('Accept')).toBe('application/jwt');
    expect(call.init.credentials).toBe('include');

    await grant(fetch, { extraParams: { audience: 'api' } })(context());
    expect(calls[2]!.form.get('audience')).toBe('api');
  });

  it('reads globalThis.fetch at call time', async () => {
    const refresh = oauth2RefreshGrant({ tokenEndpoint: ENDPOINT, clientId: 'spa' });
    const { fetch, calls } = stubFetch(() => json(200, okBody));
    vi.stubGlobal('fetch', fetch);
    await refresh(context());
    expect(calls).toHaveLength(1);
  });

  it('rejects invalid configuration at setup', () => {
    expect(() => oauth2RefreshGrant({ tokenEndpoint: '/token', clientId: 'spa' })).toThrow(TypeError);
    expect(() => oauth2RefreshGrant({ tokenEndpoint: ENDPOINT, clientId: '' })).toThrow(TypeError);
    expect(() => oauth2Revoke({ revocationEndpoint: 'revoke', clientId: 'spa' })).toThrow(TypeError);
  });

  it('returns the raw body on success, extra fields included', async () => {
    const { fetch } = stubFetch(() => json(200, okBody));
    expect(await grant(fetch)(context())).toEqual(okBody);
  });
});

describe('oauth2RefreshGrant error mapping', () => {
  it('network failure → TransientRefreshError network', async () => {
    const { fetch } = stubFetch(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await failure(grant(fetch)(context()));
    expect(error).toBeInstanceOf(TransientRefreshError);
    expect(error).toMatchObject({ kind: 'network', status: null });
  });

  it('abort with an AuthError reason rethrows that reason', async () => {
    const controller = new AbortController();
    const reason = new RefreshTimeoutError('Refresh request timed out after 10000 ms');
    const { fetch } = stubFetch(({ init }) => {
      controller.abort(reason);
      throw init.signal!.reason;
    });
    expect(await failure(grant(fetch)(context({ signal: controller.signal })))).toBe(reason);

    const disposed = new AbortController();
    disposed.abort(new DisposedError());
    const { fetch: rejectAborted } = stubFetch(() => {
      throw new DOMException('aborted', 'AbortError');
    });
    expect(await failure(grant(rejectAborted)(context({ signal: disposed.signal })))).toBeInstanceOf(DisposedError);
  });

  it('abort with another reason, or an AbortError of the fetch itself → TransientRefreshError timeout', async () => {
    const controller = new AbortController();
    controller.abort();
    const { fetch } = stubFetch(() => {
      throw new DOMException('This operation was aborted', 'AbortError');
    });
    expect(await failure(grant(fetch)(context({ signal: controller.signal })))).toMatchObject({ name: 'TransientRefreshError', kind: 'timeout' });
    // Signal not aborted, but a wrapper timed out by itself.
    const { fetch: selfTimeout } = stubFetch(() => {
      throw new DOMException('timed out', 'TimeoutError');
    });
    expect(await failure(grant(selfTimeout)(context()))).toMatchObject({ kind: 'timeout' });
  });

  it('429 → rate-limited with Retry-After in seconds, as an HTTP date, or absent', async () => {
    const seconds = await failure(grant(stubFetch(() => json(429, {}, { 'Retry-After': '2' })).fetch)(context()));
    expect(seconds).toBeInstanceOf(TransientRefreshError);
    expect(seconds).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterMs: 2000 });

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 0, 0));
    const date = new Date(Date.UTC(2030, 0, 1, 12, 1, 30)).toUTCString();
    const dated = await failure(grant(stubFetch(() => new Response('', { status: 429, headers: { 'Retry-After': date } })).fetch)(context()));
    expect(dated).toMatchObject({ kind: 'rate-limited', retryAfterMs: 90_000 });
    const past = new Date(Date.UTC(2029, 0, 1)).toUTCString();
    expect(await failure(grant(stubFetch(() => new Response('', { status: 429, headers: { 'Retry-After': past } })).fetch)(context()))).toMatchObject({
      retryAfterMs: 0,
    });
    vi.useRealTimers();

    const none = await failure(grant(stubFetch(() => new Response('slow down', { status: 429 })).fetch)(context()));
    expect(none).toMatchObject({ kind: 'rate-limited', retryAfterMs: null });
    const garbage = await failure(grant(stubFetch(() => new Response('', { status: 429, headers: { 'Retry-After': 'soon' } })).fetch)(context()));
    expect(garbage).toMatchObject({ retryAfterMs: null });
  });

  it('5xx → server, even with an HTML or OAuth JSON body', async () => {
    const html = await failure(
      grant(stubFetch(() => new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } })).fetch)(context()),
    );
    expect(html).toBeInstanceOf(TransientRefreshError);
    expect(html).toMatchObject({ kind: 'server', status: 502, retryAfterMs: null });
    const oauth = await failure(grant(stubFetch(() => json(503, { error: 'temporarily_unavailable' }, { 'Retry-After': '5' })).fetch)(context()));
    expect(oauth).toMatchObject({ kind: 'server', status: 503, retryAfterMs: 5000 });
  });

  it('408 → timeout', async () => {
    const error = await failure(grant(stubFetch(() => new Response('', { status: 408 })).fetch)(context()));
    expect(error).toBeInstanceOf(TransientRefreshError);
    expect(error).toMatchObject({ kind: 'timeout', status: 408 });
  });

  it('4xx with an OAuth error body → OAuthError with status and description', async () => {
    const invalidGrant = await failure(
      grant(stubFetch(() => json(400, { error: 'invalid_grant', error_description: 'grant request is invalid' })).fetch)(context()),
    );
    expect(invalidGrant).toBeInstanceOf(OAuthError);
    expect(invalidGrant).toMatchObject({ error: 'invalid_grant', status: 400, errorDescription: 'grant request is invalid', terminal: true });
    const client = await failure(grant(stubFetch(() => json(401, { error: 'invalid_client' })).fetch)(context()));
    expect(client).toMatchObject({ error: 'invalid_client', status: 401, errorDescription: null, terminal: true });
    const nonTerminal = await failure(grant(stubFetch(() => json(400, { error: 'slow_down', error_description: 42 })).fetch)(context()));
    expect(nonTerminal).toMatchObject({ error: 'slow_down', errorDescription: null, terminal: false });
  });

  it('4xx without an OAuth error body → MalformedTokenResponseError with the status', async () => {
    for (const response of [
      () => new Response('<html>Forbidden</html>', { status: 403, headers: { 'Content-Type': 'text/html' } }),
      () => json(400, { message: 'nope' }),
      () => json(400, { error: '' }),
      () => json(401, ['invalid_grant']),
      () => new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'Basic' } }),
    ]) {
      const error = await failure(grant(stubFetch(response).fetch)(context()));
      expect(error).toBeInstanceOf(MalformedTokenResponseError);
      expect((error as MalformedTokenResponseError).status).toBeGreaterThanOrEqual(400);
    }
  });

  it('2xx that is not a valid token response → MalformedTokenResponseError with the status', async () => {
    const cases: Array<[() => Response, RegExp]> = [
      [
        () => new Response('<!doctype html><html></html>', { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
        /not JSON \(content-type text\/html\)/,
      ],
      [() => new Response('{"access_token":', { status: 200 }), /not JSON/],
      [() => json(200, { token_type: 'Bearer' }), /access_token/],
      [() => json(201, [okBody]), /access_token/],
      [() => json(200, null), /access_token/],
    ];
    for (const [response, message] of cases) {
      const error = await failure(grant(stubFetch(response).fetch)(context()));
      expect(error).toBeInstanceOf(MalformedTokenResponseError);
      expect((error as MalformedTokenResponseError).status).toBeGreaterThanOrEqual(200);
      expect(error.message).toMatch(message);
    }
  });

  it('a 2xx with a new refresh token is handed to the client even when optional fields are mistyped (it keeps the rotation)', async () => {
    const body = { access_token: AT, refresh_token: 'rotated-refresh', expires_in: 'soon', scope: ['openid'] };
    await expect(grant(stubFetch(() => json(200, body)).fetch)(context())).resolves.toEqual(body);
  });

  it('2xx with an OAuth error body (GitHub style) → OAuthError', async () => {
    const error = await failure(grant(stubFetch(() => json(200, { error: 'invalid_grant' })).fetch)(context()));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: 'invalid_grant', status: 200, terminal: true });
  });

  it('a 2xx body that cannot be read → MalformedTokenResponseError (the server already rotated)', async () => {
    const broken = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.error(new TypeError('terminated'));
          },
        }),
        { status: 200 },
      );
    const error = await failure(grant(stubFetch(broken).fetch)(context()));
    expect(error).toBeInstanceOf(MalformedTokenResponseError);
    expect(error).toMatchObject({ status: 200 });

    const controller = new AbortController();
    const reason = new RefreshTimeoutError('timed out');
    const abortedRead = stubFetch(() => {
      controller.abort(reason);
      return broken();
    });
    expect(await failure(grant(abortedRead.fetch)(context({ signal: controller.signal })))).toBe(reason);
  });

  it('unexpected statuses (opaque 0, 3xx) → MalformedTokenResponseError', async () => {
    expect(await failure(grant(stubFetch(() => Response.error()).fetch)(context()))).toMatchObject({ name: 'MalformedTokenResponseError', status: 0 });
    expect(await failure(grant(stubFetch(() => new Response(null, { status: 304 })).fetch)(context()))).toMatchObject({
      name: 'MalformedTokenResponseError',
      status: 304,
    });
  });

  it('never puts a token or the response body in an error message or cause', async () => {
    const echo = `${RT} ${AT}`;
    const responders: Array<() => Response> = [
      () => {
        throw new TypeError(`request with refresh_token=${RT} failed`);
      },
      () => json(400, { error: 'invalid_grant', error_description: `refresh token ${RT} was already used` }),
      () => json(400, { error: RT }),
      () => new Response(`<html>${echo}</html>`, { status: 200, headers: { 'Content-Type': 'text/html' } }),
      () => new Response(`<html>${echo}</html>`, { status: 400, headers: { 'Content-Type': `text/html; x=${RT}` } }),
      () => new Response(`<html>${echo}</html>`, { status: 500 }),
      () => json(200, { access_token: 42, refresh_token: 42, token_type: RT }),
      () => json(200, { id_token: RT, scope: AT }),
      () => json(429, { error: echo }),
    ];
    for (const respond of responders) {
      const error = await failure(grant(stubFetch(respond).fetch)(context()));
      const visible = [error.message, String(error), JSON.stringify(error), String((error.cause as Error | undefined)?.message ?? '')].join('\n');
      expect(visible).not.toContain(RT);
      expect(visible).not.toContain(AT);
      expect(visible).not.toContain('<html>');
    }
  });
});

describe('oauth2RefreshGrant against the mock token server', () => {
  it('refreshes, and the response passes through tabauth parsing', async () => {
    const server = createMockTokenServer({ clock: createSimulatedClock() });
    const t0 = server.issueTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    const t1 = await refresh(context({ refreshToken: t0.refresh_token! }));
    expect(server.validateAccessToken(t1.access_token)).toMatchObject({ valid: true, newest: true });
    const t2 = await refresh(context({ refreshToken: t1.refresh_token! }));
    expect(t2.refresh_token).not.toBe(t1.refresh_token);
    expect(server.counters.successes).toBe(2);
  });

  it('maps the race to one success and a terminal invalid_grant, and later reuse of the winner too', async () => {
    const server = createMockTokenServer({ clock: createSimulatedClock() });
    const t0 = server.issueTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    const [a, b] = await Promise.allSettled([refresh(context({ refreshToken: t0.refresh_token! })), refresh(context({ refreshToken: t0.refresh_token! }))]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const reason = (b as PromiseRejectedResult).reason as OAuthError;
    expect(reason).toBeInstanceOf(OAuthError);
    expect(reason).toMatchObject({ error: 'invalid_grant', status: 400, terminal: true });
    const winner = (a as PromiseFulfilledResult<TokenResponse>).value;
    expect(await failure(refresh(context({ refreshToken: winner.refresh_token! })))).toMatchObject({ error: 'invalid_grant' });
    expect(server.counters.reuseDetections).toBe(1);
  });

  it('maps a wrong client to a terminal invalid_client', async () => {
    const server = createMockTokenServer({ clock: createSimulatedClock() });
    const t0 = server.issueTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'someone-else', fetch: server.fetch });
    expect(await failure(refresh(context({ refreshToken: t0.refresh_token! })))).toMatchObject({
      name: 'OAuthError',
      error: 'invalid_client',
      status: 401,
      terminal: true,
    });
  });

  it('maps every injected failure kind', async () => {
    const server = createMockTokenServer({ clock: createSimulatedClock() });
    const t0 = server.issueTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    server.injectFailures({ kind: 'server-error' }, { kind: 'rate-limited' }, { kind: 'html' }, { kind: 'malformed' }, { kind: 'network' });
    const run = () => failure(refresh(context({ refreshToken: t0.refresh_token! })));
    expect(await run()).toMatchObject({ name: 'TransientRefreshError', kind: 'server', status: 503 });
    expect(await run()).toMatchObject({ name: 'TransientRefreshError', kind: 'rate-limited', status: 429, retryAfterMs: 1000 });
    expect(await run()).toMatchObject({ name: 'TransientRefreshError', kind: 'server', status: 502 });
    expect(await run()).toMatchObject({ name: 'MalformedTokenResponseError', status: 200 });
    expect(await run()).toMatchObject({ name: 'TransientRefreshError', kind: 'network' });
    // None of those rotated, so the token still works.
    await expect(refresh(context({ refreshToken: t0.refresh_token! }))).resolves.toHaveProperty('access_token');
  });

  it('maps an injected timeout to the abort reason of the caller, in simulated time', async () => {
    const clock = createSimulatedClock();
    const server = createMockTokenServer({ clock, latencyMs: 20 });
    const t0 = server.issueTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    server.injectFailures({ kind: 'timeout', rotate: true }, { kind: 'timeout' });

    const controller = new AbortController();
    const reason = new RefreshTimeoutError('Refresh request timed out after 10000 ms');
    clock.setTimeout(() => controller.abort(reason), 10_000);
    let settled: unknown = 'pending';
    const first = refresh(context({ refreshToken: t0.refresh_token!, signal: controller.signal })).catch((error: unknown) => (settled = error));
    await clock.advance(9_999);
    expect(settled).toBe('pending');
    await clock.advance(1);
    await first;
    expect(settled).toBe(reason);
    expect(server.counters.successes).toBe(1); // rotated before hanging: the response was lost

    const plain = new AbortController();
    clock.setTimeout(() => plain.abort(), 5_000);
    const second = failure(refresh(context({ refreshToken: 'whatever', signal: plain.signal })));
    await clock.advance(5_000);
    expect(await second).toMatchObject({ name: 'TransientRefreshError', kind: 'timeout' });
  });

  it('waits for the simulated latency before resolving', async () => {
    const clock = createSimulatedClock();
    const server = createMockTokenServer({ clock, latencyMs: 300 });
    const t0 = server.issueTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    let result: TokenResponse | null = null;
    const pending = refresh(context({ refreshToken: t0.refresh_token! })).then((r) => (result = r));
    await clock.advance(299);
    expect(result).toBeNull();
    await clock.advance(1);
    await pending;
    expect(result).toHaveProperty('access_token');
  });
});

describe('oauth2Revoke', () => {
  it('POSTs token, hint and client_id, and resolves on 200', async () => {
    const { fetch, calls } = stubFetch(() => new Response(null, { status: 200 }));
    const signal = new AbortController().signal;
    await oauth2Revoke({ revocationEndpoint: REVOKE, clientId: 'spa', fetch, headers: { 'X-Test': '1' } })({
      token: RT,
      tokenTypeHint: 'refresh_token',
      signal,
    });
    const call = calls[0]!;
    expect(call.url).toBe(REVOKE);
    expect(call.init.method).toBe('POST');
    expect(call.init.signal).toBe(signal);
    expect(call.init.body).toBe(`token=${RT}&token_type_hint=refresh_token&client_id=spa`);
    expect(call.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(call.headers.get('X-Test')).toBe('1');
  });

  it('throws typed errors for failures', async () => {
    const revoke = (respond: () => Response) =>
      failure(
        oauth2Revoke({ revocationEndpoint: REVOKE, clientId: 'spa', fetch: stubFetch(respond).fetch })({
          token: RT,
          tokenTypeHint: 'access_token',
          signal: new AbortController().signal,
        }),
      );
    expect(await revoke(() => new Response('down', { status: 503 }))).toMatchObject({ name: 'TransientRefreshError', kind: 'server', status: 503 });
    expect(await revoke(() => json(400, { error: 'unsupported_token_type' }))).toMatchObject({
      name: 'OAuthError',
      error: 'unsupported_token_type',
      status: 400,
    });
    expect(
      await revoke(() => {
        throw new TypeError('Failed to fetch');
      }),
    ).toMatchObject({ name: 'TransientRefreshError', kind: 'network' });
  });

  it('revokes the family at the mock server', async () => {
    const server = createMockTokenServer({ clock: createSimulatedClock() });
    const t0 = server.issueTokens();
    const familyId = server.validateAccessToken(t0.access_token).familyId!;
    const revoke = oauth2Revoke({ revocationEndpoint: server.revocationEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    await revoke({ token: t0.refresh_token!, tokenTypeHint: 'refresh_token', signal: new AbortController().signal });
    expect(server.isFamilyValid(familyId)).toBe(false);
    expect(server.counters.revocations).toBe(1);
  });
});
