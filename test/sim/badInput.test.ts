import { afterEach, describe, expect, it } from 'vitest';
import { createAuthClient, createMemoryStorage, type AuthClient, type AuthClientOptions, type AuthEvent, type AuthStorage } from '../../src/core';
import { StorageError } from '../../src/core/errors';
import { VERSION_EPOCH } from '../../src/core/sharedRecord';
import { PROTOCOL as TAB_PROTOCOL } from '../../src/core/coordination/tabMessages';
import type { TabSimulation } from '../../src/testing';
import { createSimulatedClock, type SimulatedClock } from '../../src/testing/simulatedClock';
import { createSimulatedEnvironment } from '../../src/testing/simulatedEnvironment';
import { createSimulatedNetwork } from '../../src/testing/simulatedNetwork';
import { strictSimulation } from './helpers';

/** One tab alone on a simulated clock, for storage and lifecycle cases that need their own storage. */
function soloTab(options: Partial<AuthClientOptions> & { clock?: SimulatedClock } = {}) {
  const clock = options.clock ?? createSimulatedClock();
  const environment = createSimulatedEnvironment();
  const events: AuthEvent[] = [];
  const client = createAuthClient({
    refresh: async () => ({ access_token: 'unused' }),
    clock,
    environment,
    coordination: createSimulatedNetwork({ clock }).coordination('solo'),
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { client, clock, environment, events };
}

/** Mounts and lets the initial storage load finish; returns a function that unmounts and disposes. */
async function mounted(client: AuthClient, clock: SimulatedClock) {
  const unmount = client.mount();
  await clock.advance(10);
  return async () => {
    unmount();
    await client.dispose();
  };
}

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

describe('strange channel messages', () => {
  it('drops and counts malformed, oversized and foreign messages; nothing changes, nothing crashes', async () => {
    sim = strictSimulation({ seed: 31, ttlSeconds: 3600 });
    const tab = sim.openTab();
    await sim.settle();
    await sim.signIn();
    const before = tab.client.getSnapshot();
    const rogue = sim.network.coordination('rogue')('tabauth:default').channel;
    const envelope = { protocol: TAB_PROTOCOL, namespace: 'default', from: 'rogue' };
    const garbage: unknown[] = [
      null,
      42,
      'hello',
      [1, 2],
      { type: 'state' },
      { ...envelope, type: 'unknown-type' },
      { ...envelope, type: 'state', state: { schema: 1, version: 999, tokens: { accessToken: 7 }, signedOutReason: null, updatedAt: 0 } },
      { ...envelope, type: 'state', state: { schema: 2, version: 999, tokens: null, signedOutReason: null, updatedAt: 0 } },
      { ...envelope, type: 'refresh-request', version: -1 },
      { ...envelope, type: 'refresh-request', version: 'latest' },
      { ...envelope, type: 'refresh-failed', version: 1 },
      { ...envelope, from: '', type: 'leader-hello' },
      { ...envelope, type: 'leader-hello', padding: 'x'.repeat(300_000) },
      { ...envelope, namespace: 'another-app', type: 'state', state: { schema: 1, version: 999, tokens: null, signedOutReason: 'user', updatedAt: 0 } },
    ];
    for (const message of garbage) await rogue.post(message);
    await sim.advance(10);
    const dropped = tab.events.filter((event): event is Extract<AuthEvent, { type: 'message-dropped' }> => event.type === 'message-dropped');
    expect(dropped).toHaveLength(garbage.length);
    expect(new Set(dropped.map((event) => event.reason))).toEqual(new Set(['foreign', 'malformed', 'oversized', 'other-namespace']));
    expect(tab.client.getSnapshot()).toBe(before);
    const counter = tab.client.metrics().filter((metric) => metric.name === 'tab_messages_dropped');
    expect(counter.reduce((sum, metric) => sum + metric.value, 0)).toBe(garbage.length);
    expect(sim.server.counters.refreshRequests).toBe(0);
  });

  it('a stale message cannot revive a signed-out tab or roll a tab back', async () => {
    sim = strictSimulation({ seed: 32, ttlSeconds: 3600 });
    const [a, b] = [sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn();
    const oldState = { schema: 1, version: a.client.getSnapshot().version, tokens: a.client.getSnapshot().tokens, signedOutReason: null, updatedAt: 0 };
    await a.client.signOut();
    await sim.advance(10);
    expect(b.client.getSnapshot().status).toBe('signed-out');
    const rogue = sim.network.coordination('rogue')('tabauth:default').channel;
    await rogue.post({ protocol: TAB_PROTOCOL, namespace: 'default', from: 'rogue', type: 'state', state: oldState });
    await sim.advance(10);
    expect(a.client.getSnapshot().status).toBe('signed-out');
    expect(b.client.getSnapshot().status).toBe('signed-out');
  });
});

describe('storage', () => {
  it('a corrupted stored record is ignored (not destroyed), the tab starts signed out, and sign-in repairs it', async () => {
    const backing = new Map<string, unknown>([['tabauth:default:state', { schema: 1, version: 'seven', tokens: 'nope' }]]);
    const { client, clock, events } = soloTab({ storage: createMemoryStorage(backing) });
    const stop = await mounted(client, clock);
    expect(client.getSnapshot().status).toBe('signed-out');
    expect(events).toContainEqual({ type: 'storage-error', operation: 'read', errorCode: 'storage_failure' });
    expect(backing.get('tabauth:default:state')).toEqual({ schema: 1, version: 'seven', tokens: 'nope' });
    await client.signIn({ access_token: 'a-new-token', refresh_token: 'r', expires_in: 3600 });
    expect(client.getSnapshot().status).toBe('authenticated');
    // One epoch above what this tab knew: the corrupted record hid the version other tabs may hold (chaos seed 7212).
    expect(backing.get('tabauth:default:state')).toMatchObject({ schema: 1, version: VERSION_EPOCH, since: VERSION_EPOCH });
    await stop();
  });

  it('storage that throws on every call: falls back to memory with an event, keeps working, never crashes', async () => {
    const failing: AuthStorage = {
      kind: 'persistent',
      get: async () => {
        throw new StorageError('quota exceeded');
      },
      update: async () => {
        throw new StorageError('quota exceeded');
      },
      delete: async () => {
        throw new StorageError('quota exceeded');
      },
    };
    let issued = 0;
    const { client, clock, events } = soloTab({
      refresh: async () => ({ access_token: `access-${++issued}`, refresh_token: `refresh-${issued}`, expires_in: 60 }),
      storage: failing,
    });
    const stop = await mounted(client, clock);
    expect(events).toContainEqual({ type: 'storage-fallback', errorCode: 'storage_failure' });
    expect(client.getSnapshot().storage).toBe('memory');
    await client.signIn({ access_token: 'first', refresh_token: 'r0', expires_in: 60 });
    const refreshed = client.refresh();
    await clock.advance(10);
    expect((await refreshed).tokens.accessToken).toBe('access-1');
    expect(client.getSnapshot().status).toBe('authenticated');
    await stop();
  });

  it('without any IndexedDB (Node, private modes) the default storage falls back to memory', async () => {
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined');
    const { client, clock, events } = soloTab(); // no storage option: the default IndexedDB storage
    const stop = await mounted(client, clock);
    expect(events.map((event) => event.type)).toContain('storage-fallback');
    expect(client.getSnapshot()).toMatchObject({ status: 'signed-out', storage: 'memory' });
    await stop();
  });

  it('a storage read that comes back empty (WebKit during page hide) is never treated as a sign-out', async () => {
    const memory = createMemoryStorage();
    let readsComeBackEmpty = false;
    const flaky: AuthStorage = { ...memory, get: async (key) => (readsComeBackEmpty ? undefined : memory.get(key)) };
    const { client, clock, environment } = soloTab({ storage: flaky });
    const stop = await mounted(client, clock);
    await client.signIn({ access_token: 'token', refresh_token: 'r', expires_in: 3600 });
    const version = client.getSnapshot().version;
    readsComeBackEmpty = true;
    environment.wake();
    await clock.advance(10);
    expect(client.getSnapshot()).toMatchObject({ status: 'authenticated', version });
    await stop();
  });
});

describe('lifecycle', () => {
  it('dispose() removes every timer and listener of the tab', async () => {
    sim = strictSimulation({ seed: 35, ttlSeconds: 3600 });
    const tabs = [sim.openTab(), sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn();
    expect(sim.clock.pendingTimers()).toBeGreaterThan(0);
    for (const tab of tabs) expect(tab.environment.listenerCount()).toBeGreaterThan(0);
    for (const tab of tabs) await tab.close();
    await sim.settle();
    expect(sim.clock.pendingTimers()).toBe(0);
    for (const tab of tabs) expect(tab.environment.listenerCount()).toBe(0);
    expect(sim.network.openChannels()).toBe(0);
  });

  it('two namespaces on one origin never exchange tokens', async () => {
    sim = strictSimulation({ seed: 36, ttlSeconds: 3600 });
    const app = sim.openTab({ client: { namespace: 'app' } });
    const admin = sim.openTab({ client: { namespace: 'admin' } });
    await sim.settle();
    await sim.signIn(app);
    expect(app.client.getSnapshot().status).toBe('authenticated');
    expect(admin.client.getSnapshot().status).toBe('signed-out');
    const adminLate = sim.openTab({ client: { namespace: 'admin' } });
    await sim.advance(10); // a new tab with nothing stored asks the open tabs first (peerQueryMs)
    expect(adminLate.client.getSnapshot().status).toBe('signed-out');
  });

  it('sign-out clears the stored tokens in every tab, revokes the refresh token, and keeps the device id', async () => {
    sim = strictSimulation({ seed: 37, storage: 'memory', ttlSeconds: 3600 });
    const [a, b] = [sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn();
    const signingOut = b.client.signOut({ revoke: true });
    await sim.advance(100);
    await signingOut;
    expect(a.client.getSnapshot()).toMatchObject({ status: 'signed-out', tokens: null, signedOutReason: 'user' });
    expect(b.client.getSnapshot()).toMatchObject({ status: 'signed-out', tokens: null, signedOutReason: 'user' });
    expect(sim.server.counters.revocations).toBe(1);
    const late = sim.openTab();
    await sim.settle();
    expect(late.client.getSnapshot().status).toBe('signed-out');
  });

  it('what sign-out leaves in storage: a version and a reason, no token string; the device id stays', async () => {
    const backing = new Map<string, unknown>();
    const { client, clock } = soloTab({ storage: createMemoryStorage(backing) });
    const stop = await mounted(client, clock);
    await client.signIn({ access_token: 'secret-access', refresh_token: 'secret-refresh', id_token: 'secret-id', expires_in: 3600 });
    const deviceId = backing.get('tabauth:device-id');
    expect(typeof deviceId).toBe('string');
    await client.signOut();
    const stored = JSON.stringify([...backing.entries()]);
    expect(stored).not.toContain('secret-');
    expect(backing.get('tabauth:default:state')).toMatchObject({ tokens: null, signedOutReason: 'user', version: 2 });
    expect(backing.get('tabauth:device-id')).toBe(deviceId);
    await stop();
  });
});

describe('a client nobody mounted', () => {
  it('rejects token calls with NotMountedError instead of waiting forever', async () => {
    const { NotMountedError } = await import('../../src/core');
    const client = createAuthClient({ refresh: async () => ({ access_token: 'x' }), storage: createMemoryStorage() });
    await expect(client.getAccessToken()).rejects.toBeInstanceOf(NotMountedError);
    await expect(client.refresh()).rejects.toBeInstanceOf(NotMountedError);
  });

  it('a call made just before mount() in the same task (a child effect before the provider effect) waits for it', async () => {
    const backing = new Map<string, unknown>();
    const seed = soloTab({ storage: createMemoryStorage(backing) });
    const stopSeed = await mounted(seed.client, seed.clock);
    await seed.client.signIn({ access_token: 'stored-token', refresh_token: 'r', expires_in: 3600 });
    await stopSeed();
    const { client, clock } = soloTab({ storage: createMemoryStorage(backing), clock: seed.clock });
    const call = client.getAccessToken();
    const unmount = client.mount();
    await clock.advance(1);
    expect(await call).toBe('stored-token');
    unmount();
    await client.dispose();
  });
});
