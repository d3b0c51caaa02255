import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createIndexedDbStorage } from '../../src/core/storage/indexedDbStorage';
import { createMemoryStorage } from '../../src/core/storage/memoryStorage';
import type { AuthStorage } from '../../src/core/storage/storage';
import { SharedRecord } from '../../src/core/sharedRecord';
import { TabState } from '../../src/core/tabState';
import { Telemetry } from '../../src/core/telemetry';
import { systemClock } from '../../src/core/clock';
import { StorageError } from '../../src/core/errors';
import type { StoredAuthState } from '../../src/core/types';

/** Two "tabs" of one browser: two storage instances over one backing store. */
const implementations: Array<[string, () => [AuthStorage, AuthStorage]]> = [
  [
    'memory',
    () => {
      const backing = new Map<string, unknown>();
      return [createMemoryStorage(backing), createMemoryStorage(backing)];
    },
  ],
  [
    'indexeddb (fake-indexeddb)',
    () => {
      const factory = new IDBFactory();
      return [createIndexedDbStorage({ indexedDB: factory }), createIndexedDbStorage({ indexedDB: factory })];
    },
  ],
];

const state = (version: number): StoredAuthState => ({
  schema: 1,
  version,
  tokens: {
    accessToken: `a${version}`,
    refreshToken: `r${version}`,
    idToken: null,
    tokenType: 'Bearer',
    scope: null,
    expiresAt: null,
    receivedAt: 0,
    serverVersion: null,
  },
  signedOutReason: null,
  updatedAt: 0,
});

/** The shared record of one tab over `storage` (its own state and telemetry, as in a real tab). */
const sharedRecord = (storage: AuthStorage, namespace = 'ns') =>
  new SharedRecord(storage, namespace, new TabState(storage.kind), systemClock, new Telemetry('web'), 'device');

describe.each(implementations)('storage contract: %s', (_name, create) => {
  it('reads what another tab wrote; values are copies', async () => {
    const [a, b] = create();
    await a.update('k', () => ({ n: 1 }));
    const read = (await b.get('k')) as { n: number };
    expect(read).toEqual({ n: 1 });
    read.n = 2;
    expect(await b.get('k')).toEqual({ n: 1 });
  });

  it('update is an atomic read-modify-write: 50 concurrent increments from two tabs all count', async () => {
    const [a, b] = create();
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).update('counter', (n) => ((n as number | undefined) ?? 0) + 1)));
    expect(await a.get('counter')).toBe(50);
  });

  it('compare-and-set: of two tabs writing over the same version, exactly one wins; older never overwrites newer', async () => {
    const [a, b] = create();
    const storeA = sharedRecord(a);
    const storeB = sharedRecord(b);
    await storeA.compareAndSet(0, state(1));
    const results = await Promise.all([storeA.compareAndSet(1, state(2)), storeB.compareAndSet(1, { ...state(2), updatedAt: 99 })]);
    // Both read version 1; the transaction that runs second sees version 2 and refuses.
    expect(results.filter((result) => result.written)).toHaveLength(1);
    const loser = results.find((result) => !result.written);
    expect(loser && !loser.written && loser.current.version).toBe(2);
    const late = await storeB.compareAndSet(0, state(1));
    expect(late.written).toBe(false);
    expect((await storeA.read()).state?.version).toBe(2);
  });

  it('namespaces are separate', async () => {
    const [a] = create();
    await sharedRecord(a, 'one').compareAndSet(0, state(5));
    expect((await sharedRecord(a, 'two').read()).state).toBeNull();
  });

  it('the device id is created once', async () => {
    const [a, b] = create();
    const [first, second] = [sharedRecord(a, 'x'), sharedRecord(b, 'y')];
    await first.load(() => 'device-1');
    await second.load(() => 'device-2');
    expect([first.deviceId, second.deviceId]).toEqual(['device-1', 'device-1']);
  });
});

describe('IndexedDB unavailable', () => {
  it('rejects with StorageError instead of throwing synchronously', async () => {
    const storage = createIndexedDbStorage();
    await expect(storage.get('k')).rejects.toBeInstanceOf(StorageError);
    const throwing = createIndexedDbStorage({
      indexedDB: {
        open: () => {
          throw new Error('SecurityError');
        },
      } as unknown as IDBFactory,
    });
    await expect(throwing.update('k', () => 1)).rejects.toBeInstanceOf(StorageError);
  });
});
