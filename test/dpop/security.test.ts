// @vitest-environment node
/** No key material, proof, nonce or token in any event, counter or error of a DPoP run. */
import { IDBFactory } from 'fake-indexeddb';
import { decodeProtectedHeader } from 'jose';
import { afterEach, expect, it } from 'vitest';
import { authedFetch } from '../../src/query';
import { createMockTokenServer, createSimulatedClock, createTabSimulation, type TabSimulation } from '../../src/testing';
import { seededRandom } from '../sim/helpers';

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

it('a DPoP run with rotations, nonce retries and API calls leaks no proof, nonce, token, key or thumbprint', async () => {
  const random = seededRandom(601);
  const clock = createSimulatedClock();
  const server = createMockTokenServer({ clock, random, accessTokenTtlSeconds: 1, latencyMs: 20, dpop: { nonceRotationMs: 700 } });
  const secrets = new Set<string>();
  const noteHeaders = (headers: Headers) => {
    for (const name of ['DPoP', 'DPoP-Nonce']) {
      const value = headers.get(name);
      if (value) secrets.add(value);
    }
    const proof = headers.get('DPoP');
    if (proof) {
      const jwk = decodeProtectedHeader(proof).jwk as { x: string; y: string };
      secrets.add(jwk.x);
      secrets.add(jwk.y);
    }
  };
  const serverFetch = server.fetch;
  const observed: typeof fetch = async (input, init) => {
    noteHeaders(new Headers(init?.headers));
    const response = await serverFetch(input, init);
    noteHeaders(response.headers);
    return response;
  };
  const api: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    noteHeaders(request.headers);
    const check = await server.verifyResourceRequest({ method: request.method, url: request.url, headers: request.headers });
    noteHeaders(new Headers(check.headers));
    return Response.json({ error: check.ok ? null : check.error }, { status: check.status, headers: check.headers });
  };
  (server as { fetch: typeof fetch }).fetch = observed;
  sim = createTabSimulation({ clock, server, random, indexedDB: new IDBFactory(), dpop: true, locks: 'web-locks', client: { refreshLeewayMs: 100 } });
  const tabs = [sim.openTab(), sim.openTab(), sim.openTab()];
  await sim.settle();
  await sim.signIn();
  const failures: unknown[] = [];
  for (let step = 0; step < 160; step++) {
    for (const tab of tabs) {
      if (random() < 0.3)
        authedFetch(tab.client, { origins: ['https://api.mock.test'], fetch: api })('https://api.mock.test/me').catch((e) => failures.push(e));
    }
    await sim.advance(50);
  }
  await sim.advance(500);
  for (const tab of tabs) {
    const tokens = tab.client.getSnapshot().tokens;
    if (tokens) [tokens.accessToken, tokens.refreshToken].forEach((t) => t && secrets.add(t));
    secrets.add(await tab.client.dpop!.thumbprint());
  }
  expect(server.counters.successes).toBeGreaterThan(5);
  expect(server.dpopCounters.nonceChallenges + server.dpopCounters.resourceNonceChallenges).toBeGreaterThan(0);
  expect(secrets.size).toBeGreaterThan(20);
  const observable = JSON.stringify({
    events: tabs.map((tab) => tab.events),
    metrics: tabs.map((tab) => tab.client.metrics()),
    failures: failures.map((error) => `${String(error)} ${(error as Error).stack ?? ''}`),
  });
  for (const secret of secrets) expect(observable.includes(secret), 'a secret appears in events, metrics or errors').toBe(false);
  expect(observable).toContain('dpop-nonce-retry');
  expect(observable).toContain('dpop-key-created');
});
