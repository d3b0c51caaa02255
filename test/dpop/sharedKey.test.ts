// @vitest-environment node
/**
 * One DPoP key per namespace, created once across tabs. Tabs here are separate `createDpop()` handles over one
 * storage (fake-indexeddb shared like a browser's IndexedDB, or a shared memory Map), with or without Web Locks.
 */
import { IDBFactory } from 'fake-indexeddb';
import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthClient, createIndexedDbStorage, createMemoryStorage, type AuthStorage, type DpopEvent, type WebLocksLike } from '../../src/core';
import { createDpop, dpopKeyStorageKey, isStoredDpopKey, type Dpop } from '../../src/dpop';
import { createTabSimulation, type TabSimulation } from '../../src/testing';

const handles: Dpop[] = [];
let sim: TabSimulation | undefined;
afterEach(async () => {
  handles.splice(0).forEach((handle) => handle.close());
  await sim?.dispose();
  sim = undefined;
});

/** A tab's handle: its own storage connection to the shared database, its own events. */
function tab(storage: () => AuthStorage, options: Parameters<typeof createDpop>[0] = {}) {
  const events: DpopEvent[] = [];
  const handle = createDpop({ namespace: 'app', locks: null, channel: null, storage: storage(), ...options });
  handle.subscribe((event) => events.push(event));
  handles.push(handle);
  return { handle, events };
}

const count = (tabs: Array<{ events: DpopEvent[] }>, predicate: (event: DpopEvent) => boolean) =>
  tabs.reduce((sum, t) => sum + t.events.filter(predicate).length, 0);

describe('the key in IndexedDB', () => {
  it('fake-indexeddb in Node 20 stores a non-extractable CryptoKeyPair by structured clone, and the read-back private key cannot be exported', async () => {
    const storage = createIndexedDbStorage({ indexedDB: new IDBFactory() });
    const { handle } = tab(() => storage);
    const key = await handle.key();
    const stored = await storage.get(dpopKeyStorageKey('app'));
    expect(isStoredDpopKey(stored)).toBe(true);
    const pair = (stored as { keyPair: CryptoKeyPair }).keyPair;
    expect(pair.privateKey).toBeInstanceOf(CryptoKey);
    expect(pair.privateKey.extractable).toBe(false);
    expect(pair.publicKey.extractable).toBe(true);
    await expect(crypto.subtle.exportKey('jwk', pair.privateKey)).rejects.toThrow();
    await expect(crypto.subtle.exportKey('pkcs8', key.keyPair.privateKey)).rejects.toThrow();
    // The stored copy signs: its public key verifies a proof made from it, and its thumbprint is the stored one.
    const proof = await handle.proof('GET', 'https://api.example/x');
    await expect(jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' })).resolves.toBeTruthy();
    expect(await calculateJwkThumbprint(decodeProtectedHeader(proof).jwk!)).toBe(key.thumbprint);
  });
});

describe.each([
  [
    'fake-indexeddb',
    () => {
      const factory = new IDBFactory();
      return () => createIndexedDbStorage({ indexedDB: factory });
    },
  ],
  [
    'a shared memory store',
    () => {
      const shared = new Map<string, unknown>();
      return () => createMemoryStorage(shared);
    },
  ],
] as const)('20 tabs that start at the same moment, without Web Locks (%s)', (_name, makeStorage) => {
  it('compare-and-set alone ends with one stored key that every tab uses', async () => {
    const storage = makeStorage();
    const tabs = Array.from({ length: 20 }, () => tab(storage));
    const thumbprints = await Promise.all(tabs.map((t) => t.handle.thumbprint()));
    expect(new Set(thumbprints).size).toBe(1);
    const stored = await storage().get(dpopKeyStorageKey('app'));
    expect((stored as { thumbprint: string }).thumbprint).toBe(thumbprints[0]);
    expect(count(tabs, (e) => e.type === 'dpop-key-created')).toBe(1);
    // The race really happened: tabs generated a key, lost the compare-and-set and took the stored one instead.
    const lost = count(tabs, (e) => e.type === 'dpop-key-adopted' && e.source === 'race');
    expect(lost).toBeGreaterThan(0);
    expect(1 + lost + count(tabs, (e) => e.type === 'dpop-key-adopted' && e.source === 'storage')).toBe(20);
  });
});

describe('with Web Locks (the tab simulation)', () => {
  it('20 tabs opened at once: one key is generated, every other tab waits in the lock and reads it', async () => {
    sim = createTabSimulation({ indexedDB: new IDBFactory(), dpop: true, locks: 'web-locks', client: { namespace: 'app' } });
    const tabs = Array.from({ length: 20 }, () => sim!.openTab());
    const thumbprints = await Promise.all(tabs.map((t) => t.client.dpop!.thumbprint()));
    expect(new Set(thumbprints).size).toBe(1);
    // The creator's "key changed" message reaches tabs whose load read that very key: they keep it, no reload.
    await sim.advance(10);
    expect(new Set(await Promise.all(tabs.map((t) => t.client.dpop!.thumbprint())))).toEqual(new Set(thumbprints));
    const events = tabs.flatMap((t) => t.events);
    expect(events.filter((e) => e.type === 'dpop-key-created')).toHaveLength(1);
    // Nobody generated a key only to throw it away: the lock made the others re-read instead.
    expect(events.filter((e) => e.type === 'dpop-key-adopted' && e.source === 'race')).toHaveLength(0);
    expect(events.filter((e) => e.type === 'dpop-key-adopted' && e.source === 'storage')).toHaveLength(19);
    const metrics = tabs.flatMap((t) => t.client.metrics()).filter((c) => c.name === 'dpop_keys_created');
    expect(metrics.reduce((sum, c) => sum + c.value, 0)).toBe(1);
  });

  it("the creator's message reaching tabs in the middle of their load: they keep the key they read, no second load", async () => {
    // Messages delivered at once (as BroadcastChannel does between real tabs) and a FIFO lock like Web Locks.
    const listeners = new Set<(message: unknown) => void>();
    const channel = () => {
      const mine = new Set<(message: unknown) => void>();
      return {
        post: async (message: unknown) => void [...listeners].filter((l) => !mine.has(l)).forEach((l) => queueMicrotask(() => l(structuredClone(message)))),
        subscribe: (listener: (message: unknown) => void) => (mine.add(listener), listeners.add(listener), () => listeners.delete(listener)),
        close: async () => mine.forEach((l) => listeners.delete(l)),
      };
    };
    let tail: Promise<unknown> = Promise.resolve();
    const locks: WebLocksLike = {
      request: <T>(_name: string, _options: object, work: (lock: unknown) => Promise<T>) => {
        const run = tail.then(work);
        tail = run.catch(() => {});
        return run;
      },
    };
    const shared = new Map<string, unknown>();
    const tabs = Array.from({ length: 5 }, () => tab(() => createMemoryStorage(shared), { locks, channel }));
    tabs.forEach((t) => t.handle.connect());
    const first = await Promise.all(tabs.map((t) => t.handle.thumbprint()));
    const again = await Promise.all(tabs.map((t) => t.handle.thumbprint()));
    expect(new Set([...first, ...again]).size).toBe(1);
    expect(count(tabs, (e) => e.type === 'dpop-key-created')).toBe(1);
    expect(count(tabs, (e) => e.type === 'dpop-key-adopted')).toBe(4);
  });

  it('a tab whose lock request is refused still ends with the stored key (compare-and-set)', async () => {
    const factory = new IDBFactory();
    const storage = () => createIndexedDbStorage({ indexedDB: factory });
    const refusing = { request: () => Promise.reject(new DOMException('locks are not allowed here', 'SecurityError')) };
    const tabs = Array.from({ length: 5 }, () => tab(storage, { locks: refusing }));
    expect(new Set(await Promise.all(tabs.map((t) => t.handle.thumbprint()))).size).toBe(1);
    expect(count(tabs, (e) => e.type === 'dpop-key-created')).toBe(1);
  });
});

describe('a new login, sign-out, bad records', () => {
  it('newKeyForLogin keeps every tab on the current key; promoteLoginKey switches them all: the others drop their copy on the message', async () => {
    sim = createTabSimulation({ indexedDB: new IDBFactory(), dpop: true, locks: 'web-locks' });
    const [a, b] = [sim.openTab(), sim.openTab()];
    const before = await b.client.dpop!.thumbprint();
    expect(await a.client.dpop!.thumbprint()).toBe(before);
    const fresh = await a.client.dpop!.newKeyForLogin();
    expect(fresh.thumbprint).not.toBe(before);
    await sim.advance(10);
    expect([await a.client.dpop!.thumbprint(), await b.client.dpop!.thumbprint()]).toEqual([before, before]);

    expect(await a.client.dpop!.promoteLoginKey(fresh.thumbprint)).toBe(true);
    await sim.advance(10); // the channel message reaches b
    expect(await b.client.dpop!.thumbprint()).toBe(fresh.thumbprint);
    const proof = await b.client.dpop!.proof('GET', 'https://api.example/x');
    expect(await calculateJwkThumbprint(decodeProtectedHeader(proof).jwk!)).toBe(fresh.thumbprint);
    const created = [...b.events, ...a.events].filter((e) => e.type === 'dpop-key-created');
    expect(created.map((e) => e.type === 'dpop-key-created' && e.reason)).toEqual(['first-use', 'login']);
  });

  it('signOut() deletes the key for every tab; the next login gets a different one', async () => {
    sim = createTabSimulation({ indexedDB: new IDBFactory(), dpop: true, locks: 'web-locks' });
    const [a, b] = [sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn(a);
    const bound = await b.client.dpop!.thumbprint();
    await a.client.signOut();
    await sim.advance(10);
    expect(await sim.storage.get(dpopKeyStorageKey('default'))).toBeUndefined();
    expect(b.events.some((e) => e.type === 'dpop-key-deleted' && e.source === 'other-tab')).toBe(true);
    const next = await b.client.dpop!.newKeyForLogin();
    expect(next.thumbprint).not.toBe(bound);
  });

  it('a corrupted or foreign record is replaced by a new key, nothing throws', async () => {
    const shared = new Map<string, unknown>([[dpopKeyStorageKey('app'), { schema: 1, id: 'x', keyPair: { privateKey: 'not a key' } }]]);
    const { handle, events } = tab(() => createMemoryStorage(shared));
    const thumbprint = await handle.thumbprint();
    expect(isStoredDpopKey(shared.get(dpopKeyStorageKey('app')))).toBe(true);
    expect((shared.get(dpopKeyStorageKey('app')) as { thumbprint: string }).thumbprint).toBe(thumbprint);
    expect(events.filter((e) => e.type === 'dpop-key-created')).toHaveLength(1);
  });

  it('an unusable IndexedDB falls back to a key in this tab only, reported once, and proofs still work', async () => {
    const broken = {
      open: () => {
        throw new DOMException('The user denied permission', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const { handle, events } = tab(() => createIndexedDbStorage({ indexedDB: broken }));
    const proof = await handle.proof('POST', 'https://auth.example/token');
    await expect(jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' })).resolves.toBeTruthy();
    await handle.proof('POST', 'https://auth.example/token');
    expect(events.filter((e) => e.type === 'dpop-storage-fallback')).toEqual([{ type: 'dpop-storage-fallback', errorCode: 'storage_failure' }]);
  });

  it('createAuthClient refuses a handle made for another namespace', () => {
    const handle = createDpop({ namespace: 'other', channel: null, locks: null, storage: createMemoryStorage() });
    expect(() => createAuthClient({ refresh: async () => ({ access_token: 'x' }), namespace: 'app', dpop: handle })).toThrow(TypeError);
  });

  it('createDpop refuses an unknown algorithm and an empty namespace', () => {
    expect(() => createDpop({ algorithm: 'HS256' as never })).toThrow(TypeError);
    expect(() => createDpop({ namespace: '' })).toThrow(TypeError);
  });
});
