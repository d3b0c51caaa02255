/**
 * The core's DPoP hooks, each where the centre puts it, with a scripted handle (no keys, no proofs): the Refresher
 * hands the handle to the refresh function, Lifecycle connects it for the mount period only, Telemetry counts its
 * events, and the facade deletes the key after a sign-out (after the revocation). tabauth/dpop itself is tested in
 * test/dpop.
 */
import { describe, expect, it } from 'vitest';
import { createAuthClient, createMemoryStorage, type DpopEvent, type DpopHandle, type RefreshContext } from '../../../src/core';
import { createSimulatedClock } from '../../../src/testing/simulatedClock';
import { parts, record } from './parts';

/** A handle that records what the core asked of it, and lets the test emit events as the real one does. */
function scriptedHandle(namespace = 'ns') {
  const calls: string[] = [];
  const listeners = new Set<(event: DpopEvent) => void>();
  const handle: DpopHandle = {
    namespace,
    algorithm: 'ES256',
    proof: async () => 'proof',
    thumbprint: async () => 'jkt',
    key: async () => {
      throw new Error('not used');
    },
    nonceFor: async () => undefined,
    rememberNonce: async () => {},
    fetchWithProof: (_request, send) => send({ DPoP: 'proof' }),
    newKeyForLogin: async () => {
      throw new Error('not used');
    },
    loginKey: async () => null,
    promoteLoginKey: async () => false,
    deleteKey: async () => void calls.push('deleteKey'),
    connect: () => {
      calls.push('connect');
      return () => calls.push('disconnect');
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { handle, calls, listeners, emit: (event: DpopEvent) => [...listeners].forEach((listener) => listener(event)) };
}

const answer = { access_token: 'access-2-xxxxxxxx', refresh_token: 'refresh-2-xxxxxxxx', expires_in: 60 };

describe('DPoP hooks of the centre', () => {
  it('Refresher: the refresh function gets the handle in its context; without DPoP the context has none', async () => {
    const { handle } = scriptedHandle();
    for (const dpop of [handle, undefined]) {
      const sent: RefreshContext[] = [];
      const p = parts({ dpop, refresh: async (context) => (sent.push(context), answer) });
      p.state.adopt(record(1, p.clock.now()), 'this-tab');
      await p.refresher.refresh({ version: 1, force: true, trigger: 'rejected-token' });
      expect(sent).toHaveLength(1);
      expect(sent[0]!.dpop).toBe(dpop);
      expect('dpop' in sent[0]!).toBe(dpop !== undefined);
    }
  });

  it('Lifecycle: connected once per mount period (StrictMode double mount included), disconnected when it ends', async () => {
    const { handle, calls } = scriptedHandle();
    const client = createAuthClient({
      namespace: 'ns',
      refresh: async () => answer,
      dpop: handle,
      storage: createMemoryStorage(),
      clock: createSimulatedClock(),
      coordination: () => {
        throw new Error('no channel');
      },
    });
    const first = client.mount();
    const second = client.mount();
    expect(calls).toEqual(['connect']);
    first();
    second();
    expect(calls).toEqual(['connect', 'disconnect']);
    client.mount();
    await client.dispose();
    expect(calls).toEqual(['connect', 'disconnect', 'connect', 'disconnect']);
  });

  it("Telemetry: the handle's events are client events, counted by reason and server; dispose stops listening", async () => {
    const { handle, emit, listeners } = scriptedHandle();
    const seen: string[] = [];
    const client = createAuthClient({
      namespace: 'ns',
      refresh: async () => answer,
      dpop: handle,
      storage: createMemoryStorage(),
      onEvent: (event) => seen.push(event.type),
    });
    emit({ type: 'dpop-key-created', reason: 'first-use', algorithm: 'ES256' });
    emit({ type: 'dpop-nonce-retry', server: 'authorization', origin: 'https://as.example' });
    emit({ type: 'dpop-nonce-retry', server: 'resource', origin: 'https://api.example' });
    emit({ type: 'dpop-nonce-updated', server: 'resource', origin: 'https://api.example', source: 'other-tab' });
    expect(seen).toEqual(['dpop-key-created', 'dpop-nonce-retry', 'dpop-nonce-retry', 'dpop-nonce-updated']);
    const counters = client.metrics().filter((counter) => counter.name.startsWith('dpop_'));
    expect(counters.map(({ name, labels, value }) => [name, labels.reason ?? labels.server, value])).toEqual([
      ['dpop_keys_created', 'first-use', 1],
      ['dpop_nonce_retries', 'authorization', 1],
      ['dpop_nonce_retries', 'resource', 1],
    ]);
    expect(client.dpop).toBe(handle);
    await client.dispose();
    expect(listeners.size).toBe(0);
  });

  it('signOut({ revoke }): the key is deleted after the revocation, which may still need it', async () => {
    const { handle, calls } = scriptedHandle();
    const client = createAuthClient({
      namespace: 'ns',
      refresh: async () => answer,
      revoke: async () => void calls.push('revoke'),
      dpop: handle,
      storage: createMemoryStorage(),
      coordination: () => {
        throw new Error('no channel');
      },
    });
    const unmount = client.mount();
    await client.ready();
    await client.signIn({ access_token: 'access-1-xxxxxxxx', refresh_token: 'refresh-1-xxxxxxxx', token_type: 'DPoP', expires_in: 60 });
    await client.signOut({ revoke: true });
    expect(calls.filter((call) => call !== 'connect')).toEqual(['revoke', 'deleteKey']);
    unmount();
    await client.dispose();
  });

  it('a sign-out overtaken by a later sign-in (its write waited behind a slow one) keeps the key that sign-in is bound to', async () => {
    const { handle, calls } = scriptedHandle();
    const backing = new Map<string, unknown>();
    const memory = createMemoryStorage(backing);
    let slowWrites = false;
    const client = createAuthClient({
      namespace: 'ns',
      refresh: async () => answer,
      dpop: handle,
      storage: {
        ...memory,
        update: async (key, updater) => {
          if (slowWrites && key === 'tabauth:ns:state') await new Promise((resolve) => setTimeout(resolve, 50));
          return memory.update(key, updater);
        },
      },
      coordination: () => {
        throw new Error('no channel');
      },
    });
    const unmount = client.mount();
    await client.ready();
    await client.signIn({ access_token: 'access-1-xxxxxxxx', refresh_token: 'refresh-1-xxxxxxxx', token_type: 'DPoP', expires_in: 60 });
    slowWrites = true;
    const signedOut = client.signOut();
    // Another tab's sign-in, clicked after this sign-out (later by both clocks), is stored first.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const stored = backing.get('tabauth:ns:state') as Record<string, unknown>;
    const { sawSince: _sawSince, sawBegan: _sawBegan, ...session } = stored;
    const version = (stored.version as number) + 1;
    const later = { ...session, version, since: version, began: Date.now() + 60_000, beganWall: Date.now() + 60_000 };
    backing.set('tabauth:ns:state', later);
    await signedOut;
    expect(client.getSnapshot().status).toBe('authenticated');
    expect(calls).not.toContain('deleteKey');
    unmount();
    await client.dispose();
  });

  it('a handle of another namespace is refused at creation; without DPoP the client exposes null', () => {
    expect(() => createAuthClient({ namespace: 'app', refresh: async () => answer, dpop: scriptedHandle('other').handle })).toThrow(TypeError);
    expect(createAuthClient({ refresh: async () => answer, storage: createMemoryStorage() }).dpop).toBeNull();
  });
});
