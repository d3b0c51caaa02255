/**
 * sharedWorkerCoordination: when a tab falls back to the leader-tab election (and says why), and the coordination
 * with the real `startAuthWorker` in the same process: Node's MessageChannel as the worker's port, Node's
 * BroadcastChannel as the tab channel, simulated Web Locks (a "worker" that dies is one whose locks the browser
 * releases), one memory storage shared by tabs and worker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAuthClient,
  createMemoryStorage,
  oauth2RefreshGrant,
  type AuthClient,
  type AuthEvent,
  type CoordinationContext,
  type RefreshFunction,
  type TokenResponse,
} from '../../src/core';
import { sharedWorkerCoordination, startAuthWorker, WORKER_PROTOCOL, type AuthWorker, type AuthWorkerScope, type SharedWorkerLike } from '../../src/worker';
import { createSimulatedClock, createSimulatedWebLocks } from '../../src/testing';

let counter = 0;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const grant = oauth2RefreshGrant({ tokenEndpoint: 'https://id.example.com/token', clientId: 'spa' });

function contextFor(refresh: RefreshFunction = grant, clock = createSimulatedClock()) {
  const reports: Array<{ type: string; reason?: string }> = [];
  const context: CoordinationContext = {
    refresh,
    clock,
    settings: { namespace: 'n', clientType: 'web', refreshLeewayMs: 0, refreshLifetimeRatio: 0.5, requestTimeoutMs: 10_000, followerRetryMs: 5_000 },
    report: (event) => reports.push(event),
  };
  return { context, reports, clock };
}

/** A SharedWorker stand-in whose far end the test drives by hand. */
function manualWorker() {
  const channel = new MessageChannel();
  const errors: Array<() => void> = [];
  const received: unknown[] = [];
  channel.port2.onmessage = (event) => received.push(event.data);
  cleanups.push(() => {
    channel.port1.close();
    channel.port2.close();
  });
  const worker: SharedWorkerLike = {
    port: channel.port1 as unknown as SharedWorkerLike['port'],
    addEventListener: (_type, listener) => errors.push(listener),
  };
  return { worker, received, fail: () => errors.forEach((listener) => listener()), answer: (message: unknown) => channel.port2.postMessage(message) };
}

async function eventually(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never true: ${what}`);
}

function start(options: Parameters<typeof sharedWorkerCoordination>[0], context: CoordinationContext) {
  const locks = createSimulatedWebLocks();
  const coordination = sharedWorkerCoordination({ locks: locks.forTab('tab'), page: null, ...options })(`tabauth:fallback-${++counter}`, context);
  cleanups.push(() => Promise.all([coordination.election.close(), coordination.channel.close()]));
  const changes: boolean[] = [];
  coordination.election.start((leading) => changes.push(leading));
  return { coordination, changes };
}

describe('sharedWorkerCoordination: the fallback decision', () => {
  it('no SharedWorker in this browser: falls back at once with reason "unsupported" and campaigns', async () => {
    const { context, reports } = contextFor();
    const { changes } = start({ SharedWorker: null }, context);
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'unsupported' }]);
    await eventually(() => changes.length === 1);
    expect(changes).toEqual([true]);
  });

  it('the constructor throws (CSP, sandbox): reason "blocked"', async () => {
    const { context, reports } = contextFor();
    const { changes } = start(
      {
        worker: () => {
          throw new Error('Refused to create a worker (CSP)');
        },
      },
      context,
    );
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'blocked' }]);
    await eventually(() => changes.length === 1);
  });

  it('the worker fires error before its hello: reason "worker-error", and nothing once it has answered', async () => {
    const { context, reports } = contextFor();
    const manual = manualWorker();
    start({ worker: () => manual.worker }, context);
    manual.fail();
    manual.fail();
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'worker-error' }]);
  });

  it('no hello within helloTimeoutMs: reason "no-hello", only once the bound has passed', async () => {
    const { context, reports, clock } = contextFor();
    const manual = manualWorker();
    const { changes } = start({ worker: () => manual.worker, helloTimeoutMs: 1_000 }, context);
    await clock.advance(999);
    expect(reports).toEqual([]);
    expect(changes).toEqual([]);
    await clock.advance(1);
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'no-hello' }]);
    await eventually(() => changes.length === 1);
    // The connect message carried the plain grant and settings, never a token.
    expect(manual.received).toEqual([
      {
        type: 'tabauth-worker:connect',
        protocol: WORKER_PROTOCOL,
        settings: context.settings,
        grant: { tokenEndpoint: 'https://id.example.com/token', clientId: 'spa' },
      },
    ]);
  });

  it('a custom refresh function with the prebuilt worker: reason "not-transferable", no worker started', () => {
    let constructed = 0;
    const { context, reports } = contextFor(async () => ({ access_token: 'a' }));
    const Constructor = class {
      constructor() {
        constructed++;
      }
    } as unknown as NonNullable<Parameters<typeof sharedWorkerCoordination>[0]>['SharedWorker'];
    start({ SharedWorker: Constructor }, context);
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'not-transferable' }]);
    expect(constructed).toBe(0);
  });

  it('an oauth2RefreshGrant with a fetch of its own is not transferable either', () => {
    const withFetch = oauth2RefreshGrant({ tokenEndpoint: 'https://id.example.com/token', clientId: 'spa', fetch: globalThis.fetch });
    const { context, reports } = contextFor(withFetch);
    start({ SharedWorker: class {} as never }, context);
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'not-transferable' }]);
  });

  it('the worker refuses the connection (another protocol): reason "rejected"', async () => {
    const { context, reports } = contextFor();
    const manual = manualWorker();
    start({ worker: () => manual.worker }, context);
    manual.answer({ type: 'tabauth-worker:hello', protocol: 99, ok: false, reason: 'protocol' });
    await eventually(() => reports.length === 1);
    expect(reports).toEqual([{ type: 'coordination-fallback', reason: 'rejected' }]);
  });

  it('a hello: "coordination-worker", no campaign while the worker holds its lock, "worker-lost" and a campaign when it goes', async () => {
    const { context, reports } = contextFor();
    const manual = manualWorker();
    const locks = createSimulatedWebLocks();
    const name = `tabauth:fallback-${++counter}`;
    // The worker's side of the liveness lock, held until the "worker" dies.
    void locks.forTab('worker').request(`${name}:worker`, {}, () => new Promise(() => {}));
    const coordination = sharedWorkerCoordination({ locks: locks.forTab('tab'), page: null, worker: () => manual.worker })(name, context);
    cleanups.push(() => Promise.all([coordination.election.close(), coordination.channel.close()]));
    const changes: boolean[] = [];
    coordination.election.start((leading) => changes.push(leading));
    manual.answer({ type: 'tabauth-worker:hello', protocol: WORKER_PROTOCOL, ok: true });
    await eventually(() => reports.length === 1);
    expect(reports).toEqual([{ type: 'coordination-worker' }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes).toEqual([]);
    expect(coordination.election.isLeader).toBe(false);
    locks.releaseTab('worker');
    await eventually(() => changes.length === 1);
    expect(reports).toEqual([{ type: 'coordination-worker' }, { type: 'coordination-fallback', reason: 'worker-lost' }]);
    expect(changes).toEqual([true]);
  });
});

describe('sharedWorkerCoordination with the real startAuthWorker (simulated locks, shared memory storage)', () => {
  function world() {
    const locks = createSimulatedWebLocks();
    const storage = createMemoryStorage();
    const namespace = `sw-sim-${++counter}`;
    let serial = 0;
    const calls: Array<{ by: string; refreshToken: string }> = [];
    const refreshAs =
      (by: string): RefreshFunction =>
      async ({ refreshToken }) => {
        calls.push({ by, refreshToken });
        serial++;
        return { access_token: `access-${serial}`, refresh_token: `refresh-${serial}`, expires_in: 3600 } satisfies TokenResponse;
      };
    const connects: Array<(event: MessageEvent) => void> = [];
    const scope: AuthWorkerScope = {
      addEventListener: (_type, listener) => connects.push(listener),
      removeEventListener: (_type, listener) => connects.splice(connects.indexOf(listener), 1),
    };
    const worker: AuthWorker = startAuthWorker({ refresh: refreshAs('worker'), locks: locks.forTab('worker'), storage: () => storage, scope });
    const ports: MessagePort[] = [];
    const sharedWorker = (): SharedWorkerLike => {
      const channel = new MessageChannel();
      ports.push(channel.port1, channel.port2);
      for (const listener of connects) listener({ ports: [channel.port2] } as unknown as MessageEvent);
      return { port: channel.port1 as unknown as SharedWorkerLike['port'], addEventListener: () => {} };
    };
    const clients: AuthClient[] = [];
    const tab = (name: string) => {
      const events: AuthEvent[] = [];
      const client = createAuthClient({
        namespace,
        refresh: refreshAs(name),
        storage,
        refreshLeewayMs: 0,
        followerRetryMs: 60_000,
        coordination: sharedWorkerCoordination({ worker: sharedWorker, locks: locks.forTab(name), page: null }),
        onEvent: (event) => events.push(event),
      });
      clients.push(client);
      client.mount();
      return { client, events };
    };
    cleanups.push(async () => {
      await Promise.all(clients.map((client) => client.dispose()));
      await worker.close();
      ports.forEach((port) => port.close());
    });
    return { tab, worker, calls, locks, namespace };
  }

  it('tabs follow the worker: a tab’s refresh is made by the worker, once, and every tab holds the new pair', async () => {
    const w = world();
    const a = w.tab('a');
    const b = w.tab('b');
    await eventually(() => [a, b].every((t) => t.events.some((e) => e.type === 'coordination-worker')), 'both tabs follow the worker');
    const workerClient = w.worker.client(w.namespace)!;
    await eventually(() => workerClient.getSnapshot().isLeader, 'the worker leads');
    await a.client.signIn({ access_token: 'access-0', refresh_token: 'refresh-0', expires_in: 3600 });
    await eventually(() => b.client.getSnapshot().version === a.client.getSnapshot().version);

    const refreshed = await a.client.refresh();
    await eventually(() => b.client.getSnapshot().version === refreshed.version);
    expect(w.calls).toEqual([{ by: 'worker', refreshToken: 'refresh-0' }]);
    expect([a, b].map((t) => t.client.getSnapshot().isLeader)).toEqual([false, false]);
    expect(b.client.getSnapshot().tokens?.refreshToken).toBe('refresh-1');
  });

  it('the worker dies: the tabs fall back, one leads, and the next refresh uses the stored, rotated token', async () => {
    const w = world();
    const a = w.tab('a');
    const b = w.tab('b');
    await eventually(() => [a, b].every((t) => t.events.some((e) => e.type === 'coordination-worker')));
    await a.client.signIn({ access_token: 'access-0', refresh_token: 'refresh-0', expires_in: 3600 });
    await a.client.refresh();
    // What the browser does when the worker's process goes: its locks are released, its code stops.
    await w.worker.client(w.namespace)!.dispose();
    w.locks.releaseTab('worker');
    await eventually(() => [a, b].every((t) => t.events.some((e) => e.type === 'coordination-fallback')), 'both tabs fall back');
    await eventually(() => [a, b].filter((t) => t.client.getSnapshot().isLeader).length === 1, 'one tab leads');
    await b.client.refresh();
    const leader = a.client.getSnapshot().isLeader ? 'a' : 'b';
    expect(w.calls).toEqual([
      { by: 'worker', refreshToken: 'refresh-0' },
      { by: leader, refreshToken: 'refresh-1' },
    ]);
    for (const t of [a, b])
      expect(t.events.filter((e) => e.type === 'coordination-fallback')).toEqual([{ type: 'coordination-fallback', reason: 'worker-lost' }]);
  });
});
