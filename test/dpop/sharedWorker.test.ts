// @vitest-environment node
/**
 * DPoP and sharedWorkerCoordination together: tabs with `createDpop()` whose refreshes run in the real
 * `startAuthWorker` (same process: Node's MessageChannel as the worker's port, Node's BroadcastChannel as the tab and
 * DPoP channels, simulated Web Locks, one memory storage shared by tabs and worker, which holds the CryptoKeyPair by
 * reference as IndexedDB holds it by structured clone), against tabauth/testing's mock server with DPoP required:
 * proofs verified with jose, tokens bound to the proof's key, nonces required, a bound refresh token presented
 * without its key answered with an error.
 */
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthClient, createMemoryStorage, oauth2RefreshGrant, type AuthClient, type AuthEvent } from '../../src/core';
import { createDpop, dpopKeyStorageKey, type Dpop } from '../../src/dpop';
import { createMockTokenServer, createSimulatedWebLocks } from '../../src/testing';
import { sharedWorkerCoordination, startAuthWorker, type AuthWorkerOptions, type AuthWorkerScope, type SharedWorkerLike } from '../../src/worker';

let counter = 0;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never true: ${what}`);
}

/** Tabs and one worker of one origin; `workerOptions` decides what the worker can do. */
function world(
  workerOptions: (parts: { storage: ReturnType<typeof createMemoryStorage>; locks: ReturnType<typeof createSimulatedWebLocks> }) => Partial<AuthWorkerOptions>,
) {
  const server = createMockTokenServer({ accessTokenTtlSeconds: 3600, dpop: {} });
  const locks = createSimulatedWebLocks();
  const storage = createMemoryStorage();
  const namespace = `sw-dpop-${++counter}`;
  const connects: Array<(event: MessageEvent) => void> = [];
  const scope: AuthWorkerScope = {
    addEventListener: (_type, listener) => connects.push(listener),
    removeEventListener: (_type, listener) => connects.splice(connects.indexOf(listener), 1),
  };
  const workerEvents: AuthEvent[] = [];
  const worker = startAuthWorker({
    oauth2: { tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch },
    locks: locks.forTab('worker'),
    storage: () => storage,
    scope,
    onEvent: (event) => workerEvents.push(event),
    ...workerOptions({ storage, locks }),
  });
  const ports: MessagePort[] = [];
  /** Everything the tabs sent over the worker's port. */
  const sent: unknown[] = [];
  const sharedWorker = (): SharedWorkerLike => {
    const channel = new MessageChannel();
    ports.push(channel.port1, channel.port2);
    for (const listener of connects) listener({ ports: [channel.port2] } as unknown as MessageEvent);
    const port = channel.port1 as unknown as SharedWorkerLike['port'];
    const post = port.postMessage.bind(port);
    port.postMessage = (message: unknown) => {
      sent.push(message);
      post(message);
    };
    return { port, addEventListener: () => {} };
  };
  const clients: AuthClient[] = [];
  const handles: Dpop[] = [];
  const tab = (name: string, withDpop = true) => {
    const events: AuthEvent[] = [];
    const dpop = withDpop ? createDpop({ namespace, storage, locks: locks.forTab(name) }) : undefined;
    if (dpop) handles.push(dpop);
    const client = createAuthClient({
      namespace,
      // In the tabs this grant runs only on the fallback path.
      refresh: oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch }),
      storage,
      ...(dpop ? { dpop } : {}),
      refreshLeewayMs: 0,
      followerRetryMs: 60_000,
      coordination: sharedWorkerCoordination({ worker: sharedWorker, locks: locks.forTab(name), page: null }),
      onEvent: (event) => events.push(event),
    });
    clients.push(client);
    client.mount();
    return { client, events, dpop: dpop! };
  };
  cleanups.push(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await worker.close();
    handles.forEach((handle) => handle.close());
    ports.forEach((port) => port.close());
  });
  return { tab, worker, server, storage, namespace, workerEvents, sent };
}

const signedOut = (events: AuthEvent[]) => events.filter((event) => event.type === 'signed-out' && event.reason !== 'user');

describe('DPoP with sharedWorkerCoordination', () => {
  it('the worker refreshes with a proof signed by the tabs’ key: one request, a DPoP-bound pair in every tab, nobody signed out', async () => {
    const w = world(({ storage, locks }) => ({ dpop: (settings) => createDpop({ ...settings, storage, locks: locks.forTab('worker') }) }));
    const a = w.tab('a');
    const b = w.tab('b');
    await eventually(() => [a, b].every((t) => t.events.some((e) => e.type === 'coordination-worker')), 'both tabs follow the worker');
    await eventually(() => w.worker.client(w.namespace)?.getSnapshot().isLeader === true, 'the worker leads');
    const jkt = await a.dpop.thumbprint();
    await a.client.signIn(w.server.issueTokens({ subject: 'user-1', scope: 'openid offline_access', jkt }));
    await eventually(() => b.client.getSnapshot().version === a.client.getSnapshot().version, 'b has the login');

    const refreshed = await a.client.refresh();
    await eventually(() => b.client.getSnapshot().version === refreshed.version, 'b has the new pair');
    const { counters, dpopCounters } = w.server;
    // One rotation, sent by the worker (the tabs stay followers), after the one nonce challenge of the run.
    expect(counters.successes).toBe(1);
    expect(counters.refreshRequests).toBe(2);
    expect(dpopCounters.nonceChallenges).toBe(1);
    expect(dpopCounters.proofsAccepted).toBe(1);
    expect(counters.invalidGrant).toBe(0);
    expect(dpopCounters.bindingMismatches).toBe(0);
    expect(dpopCounters.invalidProofs).toBe(0);
    expect(w.workerEvents.filter((e) => e.type === 'refresh-succeeded')).toHaveLength(1);
    expect([a, b].map((t) => t.client.getSnapshot().isLeader)).toEqual([false, false]);
    for (const t of [a, b]) {
      const tokens = t.client.getSnapshot().tokens!;
      expect(tokens.tokenType).toBe('DPoP');
      expect((decodeJwt(tokens.accessToken).cnf as { jkt: string }).jkt).toBe(jkt);
      expect(signedOut(t.events)).toEqual([]);
    }
    // The worker signed with the stored key: it created none, and one key is stored.
    expect(w.workerEvents.filter((e) => e.type === 'dpop-key-created')).toEqual([]);
    expect(((await w.storage.get(dpopKeyStorageKey(w.namespace))) as { thumbprint: string }).thumbprint).toBe(jkt);
    // The tabs told the worker the algorithm, nothing else about DPoP: no key, no proof, no token crossed the port.
    expect(w.sent.map((message) => (message as { settings: { dpop?: unknown } }).settings.dpop)).toEqual([{ algorithm: 'ES256' }, { algorithm: 'ES256' }]);
    const wire = JSON.stringify(w.sent);
    for (const secret of [jkt, a.client.getSnapshot().tokens!.accessToken, a.client.getSnapshot().tokens!.refreshToken!]) expect(wire).not.toContain(secret);
    expect(wire).not.toMatch(/keyPair|privateKey|"d"/);
  });

  it('a worker whose client was started by a tab without DPoP: a DPoP tab makes it retire, a client that signs takes its place', async () => {
    const w = world(({ storage, locks }) => ({ dpop: (settings) => createDpop({ ...settings, storage, locks: locks.forTab('worker') }) }));
    const plain = w.tab('plain', false);
    await eventually(() => plain.events.some((e) => e.type === 'coordination-worker'), 'the tab without DPoP follows the worker');
    const first = w.worker.client(w.namespace)!;
    expect(first.dpop).toBeNull();
    const signer = w.tab('signer');
    await eventually(() => signer.events.some((e) => e.type === 'coordination-worker'), 'the DPoP tab follows the new client');
    const second = w.worker.client(w.namespace)!;
    expect(second).not.toBe(first);
    expect(second.dpop).not.toBeNull();
    await eventually(() => second.getSnapshot().isLeader, 'the signing client leads');
    const jkt = await signer.dpop.thumbprint();
    await signer.client.signIn(w.server.issueTokens({ subject: 'user-1', scope: 'openid offline_access', jkt }));
    await eventually(() => second.getSnapshot().version === signer.client.getSnapshot().version, 'the worker has the login');
    // Asked by the tab without DPoP (it follows whoever leads): refreshed by the signing client, with a proof.
    const refreshed = await plain.client.refresh();
    await eventually(() => signer.client.getSnapshot().version === refreshed.version, 'the signer has the new pair');
    expect(w.server.counters.successes).toBe(1);
    expect(w.server.counters.invalidGrant).toBe(0);
    expect(w.server.dpopCounters.invalidProofs).toBe(0);
    expect(signer.client.getSnapshot().tokens!.tokenType).toBe('DPoP');
    expect([plain, signer].flatMap((t) => signedOut(t.events))).toEqual([]);
    // The liveness lock went from the retired client to the new one: the first tab never stopped following the worker.
    expect(plain.events.filter((e) => e.type.startsWith('coordination-'))).toEqual([{ type: 'coordination-worker' }]);
    expect([plain, signer].map((t) => t.client.getSnapshot().isLeader)).toEqual([false, false]);
  });

  it('the same in a custom worker without DPoP: the client retires and the DPoP tab runs the election ("dpop-mismatch")', async () => {
    const w = world(() => ({}));
    const plain = w.tab('plain', false);
    await eventually(() => plain.events.some((e) => e.type === 'coordination-worker'), 'the tab without DPoP follows the worker');
    const signer = w.tab('signer');
    await eventually(() => signer.events.some((e) => e.type === 'coordination-fallback'), 'the DPoP tab falls back');
    await eventually(() => plain.events.some((e) => e.type === 'coordination-fallback'), 'the tab of the retired client falls back');
    expect(signer.events.filter((e) => e.type.startsWith('coordination-'))).toEqual([{ type: 'coordination-fallback', reason: 'dpop-mismatch' }]);
    expect(plain.events.filter((e) => e.type.startsWith('coordination-'))).toEqual([
      { type: 'coordination-worker' },
      { type: 'coordination-fallback', reason: 'worker-lost' },
    ]);
    expect(w.worker.client(w.namespace)).toBeUndefined();
    await eventually(() => [plain, signer].filter((t) => t.client.getSnapshot().isLeader).length === 1, 'one tab leads');
  });

  it('a custom worker without DPoP: the tabs fall back ("dpop-mismatch"), one tab leads and refreshes with its proof', async () => {
    const w = world(() => ({}));
    const a = w.tab('a');
    const b = w.tab('b');
    await eventually(() => [a, b].every((t) => t.events.some((e) => e.type === 'coordination-fallback')), 'both tabs fall back');
    for (const t of [a, b])
      expect(t.events.filter((e) => e.type.startsWith('coordination-'))).toEqual([{ type: 'coordination-fallback', reason: 'dpop-mismatch' }]);
    // The worker started no client for the namespace: nothing there can refresh without a proof.
    expect(w.worker.client(w.namespace)).toBeUndefined();
    await eventually(() => [a, b].filter((t) => t.client.getSnapshot().isLeader).length === 1, 'one tab leads');
    const jkt = await a.dpop.thumbprint();
    await a.client.signIn(w.server.issueTokens({ subject: 'user-1', scope: 'openid offline_access', jkt }));
    await eventually(() => b.client.getSnapshot().version === a.client.getSnapshot().version, 'b has the login');
    const refreshed = await b.client.refresh();
    await eventually(() => a.client.getSnapshot().version === refreshed.version, 'a has the new pair');
    expect(w.server.counters.successes).toBe(1);
    expect(w.server.counters.invalidGrant).toBe(0);
    expect(w.server.dpopCounters.invalidProofs).toBe(0);
    expect(w.workerEvents).toEqual([]);
    for (const t of [a, b]) {
      expect(t.client.getSnapshot().tokens!.tokenType).toBe('DPoP');
      expect(signedOut(t.events)).toEqual([]);
    }
  });
});
