// @vitest-environment node
/**
 * The refresh grant with DPoP, against tabauth/testing's mock server with DPoP on (proofs verified with jose,
 * tokens bound to the proof's key, nonces required), across simulated tabs sharing one fake-indexeddb.
 */
import { IDBFactory } from 'fake-indexeddb';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { MalformedTokenResponseError, OAuthError, createMemoryStorage, oauth2RefreshGrant, type RefreshContext } from '../../src/core';
import { createDpop, type Dpop } from '../../src/dpop';
import { createMockTokenServer, createSimulatedClock, createTabSimulation, type MockDpopOptions, type TabSimulation } from '../../src/testing';
import { seededRandom, signOutEvents, versions } from '../sim/helpers';

let sim: TabSimulation | undefined;
const handles: Dpop[] = [];
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
  handles.splice(0).forEach((handle) => handle.close());
});

function dpopSimulation(seed: number, dpop: MockDpopOptions = {}, ttlSeconds = 1) {
  const random = seededRandom(seed);
  const clock = createSimulatedClock();
  const server = createMockTokenServer({ clock, random, accessTokenTtlSeconds: ttlSeconds, latencyMs: 20, dpop });
  sim = createTabSimulation({
    clock,
    server,
    random,
    indexedDB: new IDBFactory(),
    dpop: true,
    locks: 'web-locks',
    client: { refreshLeewayMs: 100, followerRetryMs: 1_000 },
  });
  return sim;
}

const eventsOf = (s: TabSimulation, type: string) => s.tabs.flatMap((tab) => tab.events.filter((event) => event.type === type));
const metric = (s: TabSimulation, name: string, labels: Record<string, string> = {}) =>
  s.tabs
    .flatMap((tab) => tab.client.metrics())
    .filter((c) => c.name === name && Object.entries(labels).every(([k, v]) => c.labels[k] === v))
    .reduce((sum, c) => sum + c.value, 0);

async function rotate(s: TabSimulation, rotations: number, seed: number) {
  const random = seededRandom(seed);
  const failures: unknown[] = [];
  const start = s.server.counters.successes;
  for (let step = 0; s.server.counters.successes - start < rotations && step < rotations * 100; step++) {
    for (const tab of s.liveTabs()) if (random() < 0.3) tab.client.getAccessToken().catch((error) => failures.push(error));
    await s.advance(50);
  }
  await s.advance(200);
  return failures;
}

describe('refresh with DPoP proofs across tabs', () => {
  it('5 tabs, 20 rotations: one successful request per rotation, one nonce challenge in all, retried at once, never through the backoff', async () => {
    const s = dpopSimulation(11);
    for (let i = 0; i < 5; i++) s.openTab();
    await s.settle();
    await s.signIn();
    const failures = await rotate(s, 20, 12);
    const { counters, dpopCounters } = s.server;
    expect(failures).toEqual([]);
    expect(counters.successes).toBeGreaterThanOrEqual(20);
    // The only request that did not rotate is the one the server answered use_dpop_nonce.
    expect(dpopCounters.nonceChallenges).toBe(1);
    expect(counters.refreshRequests).toBe(counters.successes + 1);
    expect(counters.invalidGrant).toBe(0);
    expect(counters.reuseDetections).toBe(0);
    expect(dpopCounters.bindingMismatches).toBe(0);
    expect(dpopCounters.invalidProofs).toBe(0);
    // A fresh proof per request: replay detection would have refused a reused jti.
    expect(dpopCounters.proofsAccepted).toBe(counters.successes);
    // The retry happened inside the attempt: no failure event, every refresh succeeded at its first attempt.
    expect(eventsOf(s, 'refresh-failed')).toEqual([]);
    expect(eventsOf(s, 'refresh-succeeded').every((e) => e.type === 'refresh-succeeded' && e.attempts === 1)).toBe(true);
    expect(metric(s, 'dpop_nonce_retries', { server: 'authorization' })).toBe(1);
    expect(metric(s, 'dpop_keys_created')).toBe(1);
    expect(signOutEvents(s)).toBe(0);
    expect(new Set(versions(s)).size).toBe(1);
    // Every token is DPoP-bound to the one key of the namespace.
    const jkt = await s.tabs[0]!.client.dpop!.thumbprint();
    for (const tab of s.tabs) {
      const tokens = tab.client.getSnapshot().tokens!;
      expect(tokens.tokenType).toBe('DPoP');
      expect((decodeJwt(tokens.accessToken).cnf as { jkt: string }).jkt).toBe(jkt);
    }
  });

  it('the nonce one leader learnt serves the next leaders and a tab opened later: they never pay the failed round trip', async () => {
    const s = dpopSimulation(21);
    const a = s.openTab();
    const b = s.openTab();
    await s.settle();
    await s.signIn(a);
    await rotate(s, 2, 22);
    expect(s.server.dpopCounters.nonceChallenges).toBe(1);
    expect(s.network.leaders()).toEqual([a.name]);
    await a.close(); // b leads now, with the nonce a posted
    await rotate(s, 2, 23);
    const c = s.openTab(); // c reads the nonce from storage
    await s.settle();
    await b.close();
    await rotate(s, 2, 24);
    expect(s.network.leaders()).toEqual([c.name]);
    expect(c.events.some((e) => e.type === 'dpop-nonce-updated' && e.source === 'storage')).toBe(true);
    expect(s.server.dpopCounters.nonceChallenges).toBe(1);
    expect(s.server.counters.invalidGrant).toBe(0);
    expect(eventsOf(s, 'refresh-failed')).toEqual([]);
  });

  it('a server that rotates its nonce: the next nonce arrives with successful answers, and a missed rotation costs one immediate retry', async () => {
    const s = dpopSimulation(31, { nonceRotationMs: 3_000 });
    for (let i = 0; i < 3; i++) s.openTab();
    await s.settle();
    await s.signIn();
    await rotate(s, 20, 32);
    // The server accepts its previous nonce once more and sends the new one with the answer: no challenge needed.
    expect(s.server.dpopCounters.nonceChallenges).toBe(1);
    const updates = eventsOf(s, 'dpop-nonce-updated').filter((e) => e.type === 'dpop-nonce-updated' && e.source === 'this-tab');
    expect(updates.length).toBeGreaterThan(1);
    // Two rotations between requests: the nonce the tabs hold is too old, one challenge, retried inside the attempt.
    s.server.rotateDpopNonce('authorization');
    s.server.rotateDpopNonce('authorization');
    await rotate(s, 3, 33);
    const { counters, dpopCounters } = s.server;
    expect(dpopCounters.nonceChallenges).toBe(2);
    expect(counters.refreshRequests).toBe(counters.successes + 2);
    expect(metric(s, 'dpop_nonce_retries')).toBe(2);
    expect(eventsOf(s, 'refresh-failed')).toEqual([]);
    expect(counters.invalidGrant).toBe(0);
  });

  it('a tab never refreshes with another key: the leader re-reads the stored key even when it missed the message that it changed', async () => {
    const s = dpopSimulation(41);
    const a = s.openTab();
    const b = s.openTab();
    await s.settle();
    const first = await a.client.dpop!.thumbprint(); // a caches key 1
    s.network.setFaults({ drop: () => true }); // a will not hear of the new key
    const login = await b.client.dpop!.newKeyForLogin(); // key 2, as a login in b would, promoted as it completes
    expect(login.thumbprint).not.toBe(first);
    expect(await b.client.dpop!.promoteLoginKey(login.thumbprint)).toBe(true);
    await s.advance(10);
    s.network.setFaults(null);
    await a.client.signIn(s.server.issueTokens({ jkt: login.thumbprint })); // a family bound to key 2
    await s.advance(10);
    expect(s.network.leaders()).toEqual([a.name]);
    await rotate(s, 3, 42);
    expect(s.server.dpopCounters.bindingMismatches).toBe(0);
    expect(s.server.counters.invalidGrant).toBe(0);
    expect(s.server.counters.successes).toBeGreaterThanOrEqual(3);
  });

  it('the server refuses a refresh token bound to key A when the proof is signed with key B (invalid_grant)', async () => {
    const clock = createSimulatedClock();
    const server = createMockTokenServer({ clock, dpop: { requireNonce: false } });
    const keyA = createDpop({ channel: null, locks: null, storage: createMemoryStorage() });
    const keyB = createDpop({ channel: null, locks: null, storage: createMemoryStorage() });
    handles.push(keyA, keyB);
    const issued = server.issueTokens({ jkt: await keyA.thumbprint() });
    const grant = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
    await expect(grant(context(issued.refresh_token!, keyB))).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(server.dpopCounters.bindingMismatches).toBe(1);
    const body = await grant(context(issued.refresh_token!, keyA)); // the token was neither consumed nor revoked
    expect(body.token_type).toBe('DPoP');
  });
});

describe('the grant alone (scripted token endpoint)', () => {
  const handle = () => {
    const dpop = createDpop({ channel: null, locks: null, storage: createMemoryStorage() });
    handles.push(dpop);
    return dpop;
  };

  it('refuses a Bearer answer to a proof, naming the type and never the token', async () => {
    const grant = oauth2RefreshGrant({
      tokenEndpoint: 'https://auth.example/token',
      clientId: 'spa',
      fetch: async () => Response.json({ access_token: 'secret-access-token-value-1234567890', token_type: 'Bearer', expires_in: 60 }),
    });
    const error = await grant(context('rt', handle())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedTokenResponseError);
    expect(String((error as Error).message)).toContain('"Bearer"');
    expect(String((error as Error).message)).not.toContain('secret-access-token');
  });

  it('a second use_dpop_nonce in one attempt is thrown as the OAuth error (the refresher then backs off); exactly two requests', async () => {
    const proofs: string[] = [];
    let serial = 0;
    const grant = oauth2RefreshGrant({
      tokenEndpoint: 'https://auth.example/token?ignored=1',
      clientId: 'spa',
      fetch: async (_input, init) => {
        proofs.push(new Headers(init?.headers).get('DPoP')!);
        return Response.json({ error: 'use_dpop_nonce' }, { status: 400, headers: { 'DPoP-Nonce': `nonce-${++serial}` } });
      },
    });
    const error = await grant(context('rt', handle())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).error).toBe('use_dpop_nonce');
    expect((error as OAuthError).terminal).toBe(false);
    expect(proofs).toHaveLength(2);
    const [first, second] = proofs.map((proof) => decodeJwt(proof));
    expect(first!.nonce).toBeUndefined();
    expect(second!.nonce).toBe('nonce-1');
    expect(first!.jti).not.toBe(second!.jti);
    expect(second!.htu).toBe('https://auth.example/token'); // no query in htu
    expect(second!.htm).toBe('POST');
    expect(decodeProtectedHeader(proofs[0]!).typ).toBe('dpop+jwt');
    expect(JSON.stringify(decodeProtectedHeader(proofs[0]!).jwk)).not.toContain('"d"'); // the public key only
  });

  it('a 400 that is not a nonce challenge is not retried, even with a DPoP-Nonce header', async () => {
    let calls = 0;
    const grant = oauth2RefreshGrant({
      tokenEndpoint: 'https://auth.example/token',
      clientId: 'spa',
      fetch: async () => (calls++, Response.json({ error: 'invalid_grant' }, { status: 400, headers: { 'DPoP-Nonce': 'n1' } })),
    });
    await expect(grant(context('rt', handle()))).rejects.toMatchObject({ error: 'invalid_grant', terminal: true });
    expect(calls).toBe(1);
  });
});

function context(refreshToken: string, dpop: Dpop): RefreshContext {
  return { refreshToken, scope: null, deviceId: 'd', version: 1, serverVersion: null, signal: new AbortController().signal, dpop };
}
