import { describe, expect, it, vi } from 'vitest';
import { createAuthClient, createMemoryStorage, type AuthStorage, type CoordinationFactory } from '../../src/core';
import { createSimulatedClock } from '../../src/testing/simulatedClock';
import { createSimulatedEnvironment } from '../../src/testing/simulatedEnvironment';
import { createSimulatedNetwork } from '../../src/testing/simulatedNetwork';

/** A shared memory storage that logs every call (what it was asked, in order). */
function countingStorage(backing = new Map<string, unknown>()) {
  const base = createMemoryStorage(backing);
  const calls: string[] = [];
  const storage: AuthStorage = {
    kind: base.kind,
    get: (key) => (calls.push(`get ${key}`), base.get(key)),
    getMany: (keys) => (calls.push(`getMany ${keys.join(',')}`), base.getMany!(keys)),
    update: (key, updater) => (calls.push(`update ${key}`), base.update(key, updater)),
    delete: (key) => (calls.push(`delete ${key}`), base.delete(key)),
  };
  return { storage, calls, backing };
}

// The simulated clock starts at 2030-01-01: a pair valid for an hour from then.
const stored = {
  schema: 1,
  version: 4,
  tokens: {
    accessToken: 'access-4',
    refreshToken: 'refresh-4',
    idToken: null,
    tokenType: 'Bearer',
    scope: null,
    expiresAt: Date.UTC(2030, 0, 1) + 3_600_000,
    receivedAt: Date.UTC(2030, 0, 1),
    serverVersion: null,
  },
  signedOutReason: null,
  updatedAt: 0,
};

function client(storage: AuthStorage, coordination?: CoordinationFactory, clock = createSimulatedClock()) {
  const made = createAuthClient({
    refresh: async () => ({ access_token: 'unused' }),
    clock,
    environment: createSimulatedEnvironment(),
    coordination: coordination ?? createSimulatedNetwork({ clock }).coordination('solo'),
    storage,
  });
  return { client: made, clock };
}

describe('session load', () => {
  it('starts at creation with one read of the record and the device id, and opens no channel before mount', async () => {
    const { storage, calls, backing } = countingStorage(new Map<string, unknown>([['tabauth:device-id', 'device-a']]));
    backing.set('tabauth:default:state', stored);
    const coordination = vi.fn<CoordinationFactory>();
    const { client: created } = client(storage, coordination);
    expect(calls).toEqual(['getMany tabauth:default:state,tabauth:device-id']);
    await Promise.resolve();
    expect(coordination).not.toHaveBeenCalled();
    expect(created.getSnapshot().status).toBe('loading');
    await created.dispose();
  });

  it('getAccessToken() after mount resolves from that read: no second read, no device-id write when one is stored', async () => {
    const { storage, calls, backing } = countingStorage(new Map<string, unknown>([['tabauth:device-id', 'device-a']]));
    backing.set('tabauth:default:state', stored);
    const { client: created, clock } = client(storage);
    const unmount = created.mount();
    const token = created.getAccessToken();
    await clock.advance(10);
    await expect(token).resolves.toBe('access-4');
    expect(calls.filter((call) => call.startsWith('getMany'))).toHaveLength(1);
    expect(calls.filter((call) => call.includes('device-id') && !call.startsWith('getMany'))).toEqual([]);
    unmount();
    await created.dispose();
  });

  it('writes the device id once, on the first visit only', async () => {
    const { storage, calls, backing } = countingStorage();
    const first = client(storage);
    const stopFirst = first.client.mount();
    await first.clock.advance(10);
    const id = backing.get('tabauth:device-id');
    expect(typeof id).toBe('string');
    expect(calls.filter((call) => call === 'update tabauth:device-id')).toHaveLength(1);
    stopFirst();
    await first.client.dispose();

    const second = client(storage);
    const stopSecond = second.client.mount();
    await second.clock.advance(10);
    expect(calls.filter((call) => call === 'update tabauth:device-id')).toHaveLength(1);
    expect(backing.get('tabauth:device-id')).toBe(id);
    stopSecond();
    await second.client.dispose();
  });

  it('a read that finished before a late mount is followed by a catch-up read (a record written meanwhile is adopted)', async () => {
    const { storage, calls, backing } = countingStorage(new Map<string, unknown>([['tabauth:device-id', 'device-a']]));
    backing.set('tabauth:default:state', stored);
    const clock = createSimulatedClock();
    const network = createSimulatedNetwork({ clock });
    const leader = client(createMemoryStorage(backing), network.coordination('leader'), clock);
    const stopLeader = leader.client.mount();
    await clock.advance(10);
    const late = client(storage, network.coordination('late'), clock);
    await clock.advance(10); // the early read is done; a sign-out lands in storage before this tab mounts, unannounced
    backing.set('tabauth:default:state', { schema: 1, version: 5, tokens: null, signedOutReason: 'user', updatedAt: 0 });
    const unmount = late.client.mount();
    await clock.advance(10);
    expect(late.client.getSnapshot().isLeader).toBe(false);
    expect(calls.filter((call) => call.startsWith('get'))).toEqual(['getMany tabauth:default:state,tabauth:device-id', 'get tabauth:default:state']);
    expect(late.client.getSnapshot()).toMatchObject({ status: 'signed-out', version: 5 });
    unmount();
    stopLeader();
    await Promise.all([late.client.dispose(), leader.client.dispose()]);
  });
});
