// @vitest-environment node
/**
 * authedFetch with DPoP: `Authorization: DPoP` + a proof with `ath` per request, the resource server's nonce retry,
 * and the 401 -> one refresh -> one retry rule, against the mock server's resource-server check (jose).
 */
import { IDBFactory } from 'fake-indexeddb';
import { calculateJwkThumbprint, decodeJwt, EmbeddedJWK, jwtVerify } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthClient } from '../../src/core';
import { authedFetch } from '../../src/query';
import { createMockTokenServer, createSimulatedClock, createTabSimulation, type MockTokenServer, type SimTab, type TabSimulation } from '../../src/testing';
import { seededRandom } from '../sim/helpers';

const API = 'https://api.example';
let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

function world(seed: number, ttlSeconds = 3600) {
  const random = seededRandom(seed);
  const clock = createSimulatedClock();
  const server = createMockTokenServer({ clock, random, accessTokenTtlSeconds: ttlSeconds, latencyMs: 20, dpop: {} });
  sim = createTabSimulation({ clock, server, random, indexedDB: new IDBFactory(), dpop: true, locks: 'web-locks', client: { refreshLeewayMs: 100 } });
  return sim;
}

/** A resource server on the mock: every request checked by `verifyResourceRequest`; what it saw is recorded. */
function resourceServer(server: MockTokenServer) {
  const seen: Array<{ authorization: string | null; proof: string | null; status: number; error: string | null; body: string | null }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const check = await server.verifyResourceRequest({ method: request.method, url: request.url, headers: request.headers });
    const body = request.body ? await request.text() : null;
    seen.push({
      authorization: request.headers.get('Authorization'),
      proof: request.headers.get('DPoP'),
      status: check.status,
      error: check.ok ? null : check.error,
      body,
    });
    return Response.json(check.ok ? { ok: true } : { error: check.error }, { status: check.status, headers: check.headers });
  };
  return { fetch, seen };
}

async function signedIn(seed: number, tabs = 1, ttlSeconds = 3600): Promise<{ s: TabSimulation; tabs: SimTab[] }> {
  const s = world(seed, ttlSeconds);
  const opened = Array.from({ length: tabs }, () => s.openTab());
  await s.settle();
  await s.signIn(opened[0]);
  await s.advance(10);
  return { s, tabs: opened };
}

async function run<T>(s: TabSimulation, work: Promise<T>): Promise<T> {
  const settled = work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await s.advance(1_000);
  const outcome = await settled;
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

function spied(client: AuthClient) {
  const refresh = vi.fn((options?: { rejectedVersion?: number }) => client.refresh(options));
  return { client: { ...client, refresh }, refresh };
}

describe('authedFetch with DPoP', () => {
  it('sends Authorization: DPoP and a fresh proof per request (htm, htu without query, ath of the token, the public key only)', async () => {
    const { s, tabs } = await signedIn(501);
    const rs = resourceServer(s.server);
    const api = authedFetch(tabs[0]!.client, { origins: [API], fetch: rs.fetch });
    await run(s, api(`${API}/todos?page=2#top`, { method: 'post', body: '{}' }));
    await run(s, api(`${API}/todos?page=2`, { method: 'post', body: '{}' }));
    const token = tabs[0]!.client.getSnapshot().tokens!.accessToken;
    const accepted = rs.seen.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(2);
    for (const request of accepted) {
      expect(request.authorization).toBe(`DPoP ${token}`);
      const { payload, protectedHeader } = await jwtVerify(request.proof!, EmbeddedJWK, { typ: 'dpop+jwt' });
      expect(payload.htm).toBe('POST');
      expect(payload.htu).toBe(`${API}/todos`);
      const ath = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))).toString('base64url');
      expect(payload.ath).toBe(ath);
      expect(protectedHeader.jwk).not.toHaveProperty('d');
      expect(await calculateJwkThumbprint(protectedHeader.jwk!)).toBe((decodeJwt(token).cnf as { jkt: string }).jkt);
    }
    expect(decodeJwt(accepted[0]!.proof!).jti).not.toBe(decodeJwt(accepted[1]!.proof!).jti);
  });

  it('a use_dpop_nonce 401 is sent again at once with the nonce, without a refresh; another tab then needs no retry', async () => {
    const { s, tabs } = await signedIn(502, 2);
    const rs = resourceServer(s.server);
    const [a, b] = tabs.map((tab) => spied(tab.client));
    const response = await run(s, authedFetch(a!.client, { origins: [API], fetch: rs.fetch })(`${API}/me`));
    expect(response.status).toBe(200);
    expect(rs.seen.map((r) => r.error)).toEqual(['use_dpop_nonce', null]);
    expect(a!.refresh).not.toHaveBeenCalled();
    expect(decodeJwt(rs.seen[0]!.proof!).nonce).toBeUndefined();
    expect(typeof decodeJwt(rs.seen[1]!.proof!).nonce).toBe('string');
    // b heard of the nonce over the channel: its first request carries it.
    const second = await run(s, authedFetch(b!.client, { origins: [API], fetch: rs.fetch })(`${API}/me`));
    expect(second.status).toBe(200);
    expect(rs.seen.map((r) => r.error)).toEqual(['use_dpop_nonce', null, null]);
    expect(s.server.dpopCounters.resourceNonceChallenges).toBe(1);
    const retries = tabs.flatMap((tab) => tab.client.metrics()).filter((c) => c.name === 'dpop_nonce_retries' && c.labels.server === 'resource');
    expect(retries.reduce((sum, c) => sum + c.value, 0)).toBe(1);
    expect(tabs[0]!.events.filter((e) => e.type === 'dpop-nonce-retry')).toEqual([{ type: 'dpop-nonce-retry', server: 'resource', origin: API }]);
  });

  it('nonce, then invalid_token, then nonce again: one refresh, four sends, each with its own proof; the body arrives every time', async () => {
    const { s, tabs } = await signedIn(503);
    const { client, refresh } = spied(tabs[0]!.client);
    const script: ResponseInit[] = [
      { status: 401, headers: { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"', 'DPoP-Nonce': 'n-1' } },
      { status: 401, headers: { 'WWW-Authenticate': 'DPoP error="invalid_token"' } },
      { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce"', 'DPoP-Nonce': 'n-2' } },
      { status: 200, headers: {} },
    ];
    const sent: Array<{ authorization: string | null; proof: string; body: string }> = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      sent.push({ authorization: request.headers.get('Authorization'), proof: request.headers.get('DPoP')!, body: await request.text() });
      const next = script[sent.length - 1]!;
      return new Response('{}', next);
    };
    const before = client.getSnapshot().tokens!.accessToken;
    const request = new Request(`${API}/items`, { method: 'PUT', body: 'payload' });
    const response = await run(s, authedFetch(client, { origins: [API], fetch })(request));
    expect(response.status).toBe(200);
    expect(sent).toHaveLength(4);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(sent.map((r) => r.body)).toEqual(['payload', 'payload', 'payload', 'payload']);
    expect(new Set(sent.map((r) => decodeJwt(r.proof).jti)).size).toBe(4);
    expect(sent.map((r) => decodeJwt(r.proof).nonce ?? null)).toEqual([null, 'n-1', 'n-1', 'n-2']);
    const after = client.getSnapshot().tokens!.accessToken;
    expect(after).not.toBe(before);
    expect(sent.map((r) => r.authorization)).toEqual([`DPoP ${before}`, `DPoP ${before}`, `DPoP ${after}`, `DPoP ${after}`]);
  });

  it('two nonce challenges in a row for one token end there: the second is returned, no refresh', async () => {
    const { s, tabs } = await signedIn(504);
    const { client, refresh } = spied(tabs[0]!.client);
    let n = 0;
    const fetch: typeof globalThis.fetch = async () =>
      new Response('{}', { status: 401, headers: { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"', 'DPoP-Nonce': `n-${++n}` } });
    const response = await run(s, authedFetch(client, { origins: [API], fetch })(`${API}/x`));
    expect(response.status).toBe(401);
    expect(n).toBe(2);
    expect(refresh).not.toHaveBeenCalled();
  });

  it('a 401 storm across 3 tabs (token revoked, resource nonce changed): nonce retries and one refresh in all', async () => {
    const { s, tabs } = await signedIn(505, 3);
    const rs = resourceServer(s.server);
    const revoked = tabs[0]!.client.getSnapshot().tokens!.accessToken;
    await run(s, s.server.fetch(s.server.revocationEndpoint, { method: 'POST', body: new URLSearchParams({ token: revoked, client_id: 'tabauth-demo' }) }));
    const rejectedBefore = s.server.counters.successes;
    const calls = tabs.flatMap((tab) => Array.from({ length: 10 }, () => authedFetch(tab.client, { origins: [API], fetch: rs.fetch })(`${API}/me`)));
    const responses = await run(s, Promise.all(calls));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(s.server.counters.successes - rejectedBefore).toBe(1);
    expect(rs.seen.filter((r) => r.error === 'invalid_token').length).toBe(30);
    expect(s.server.dpopCounters.resourceNonceChallenges).toBeGreaterThan(0);
    expect(s.server.counters.invalidGrant).toBe(0);
    expect(s.server.dpopCounters.bindingMismatches).toBe(0);
  });

  it('a Bearer token (a login without DPoP) is sent as Bearer even with DPoP on, without a proof', async () => {
    const { s, tabs } = await signedIn(506);
    await tabs[0]!.client.signIn(s.server.issueTokens({ subject: 'user-2' })); // an unbound family
    const rs = resourceServer(s.server);
    const response = await run(s, authedFetch(tabs[0]!.client, { origins: [API], fetch: rs.fetch })(`${API}/me`));
    expect(response.status).toBe(200);
    expect(rs.seen[0]!.authorization).toMatch(/^Bearer /);
    expect(rs.seen[0]!.proof).toBeNull();
  });

  it('a relative URL without a page location is refused with a clear error before anything is sent', async () => {
    const { s, tabs } = await signedIn(507);
    const fetch = vi.fn(async () => new Response('{}'));
    await expect(run(s, authedFetch(tabs[0]!.client, { fetch })('/api/me'))).rejects.toThrow(/baseUrl/);
    expect(fetch).not.toHaveBeenCalled();
  });
});
