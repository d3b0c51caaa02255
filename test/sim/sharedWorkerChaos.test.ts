/**
 * A small chaos run for sharedWorkerCoordination: tabs open, close and ask for refreshes while the worker dies,
 * restarts (a new worker instance, as a new tab would start one) or is unavailable to some tabs (its constructor
 * throws there), seeded and reproducible. Simulated Web Locks (a dead worker's locks are released as the browser
 * does), Node's BroadcastChannel, one memory storage, a strict server: a refresh token presented twice is a reuse.
 *
 * The worker is killed between requests here (a dead worker's requests never reach the server): a kill after the
 * server rotated is a lost response, which no client can repair (the e2e tests measure that case in Chromium).
 * Invariants: no refresh token is ever presented twice; nobody is signed out; every live tab ends on the newest pair.
 * Not yet part of the main chaos engine (test/chaos), whose simulated tabs use the broadcast-channel transport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthClient, createMemoryStorage, type AuthClient, type RefreshFunction } from '../../src/core';
import { createSimulatedWebLocks } from '../../src/testing';
import { sharedWorkerCoordination, startAuthWorker, type AuthWorker, type AuthWorkerScope, type SharedWorkerLike } from '../../src/worker';
import { seededRandom } from './helpers';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const pause = (ms = 2) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await pause(5);
  }
  throw new Error(`never true: ${what}`);
}

let run = 0;

function chaosWorld(seed: number) {
  const random = seededRandom(seed);
  const locks = createSimulatedWebLocks();
  const storage = createMemoryStorage();
  const namespace = `sw-chaos-${seed}-${++run}`;
  const server = { current: 'refresh-0', serial: 0, reuses: 0, requests: 0 };
  const send =
    (dead: () => boolean): RefreshFunction =>
    async ({ refreshToken }) => {
      // A dead participant's request never reaches the server.
      if (dead()) throw new TypeError('Failed to fetch');
      server.requests++;
      if (refreshToken !== server.current) {
        server.reuses++;
        return Promise.reject(Object.assign(new Error('invalid_grant'), { error: 'invalid_grant' }));
      }
      await pause(1 + Math.floor(random() * 3));
      server.serial++;
      server.current = `refresh-${server.serial}`;
      return { access_token: `access-${server.serial}`, refresh_token: server.current, expires_in: 3600 };
    };

  let worker: { instance: AuthWorker; connects: Array<(event: MessageEvent) => void>; id: string; dead: boolean } | null = null;
  let workers = 0;
  const ports: MessagePort[] = [];
  const startWorker = () => {
    const id = `worker-${++workers}`;
    const connects: Array<(event: MessageEvent) => void> = [];
    const scope: AuthWorkerScope = {
      addEventListener: (_type, listener) => connects.push(listener),
      removeEventListener: () => {},
    };
    const entry = { instance: null as unknown as AuthWorker, connects, id, dead: false };
    entry.instance = startAuthWorker({ refresh: send(() => entry.dead), locks: locks.forTab(id), storage: () => storage, scope });
    worker = entry;
    cleanups.push(() => entry.instance.close());
    return entry;
  };
  const killWorker = () => {
    if (!worker || worker.dead) return;
    worker.dead = true;
    locks.releaseTab(worker.id);
    void worker.instance.client(namespace)?.dispose();
  };
  /** What `new SharedWorker()` does: connects to the live worker, or starts one. */
  const sharedWorker = (): SharedWorkerLike => {
    const target = worker && !worker.dead ? worker : startWorker();
    const channel = new MessageChannel();
    ports.push(channel.port1, channel.port2);
    for (const listener of target.connects) listener({ ports: [channel.port2] } as unknown as MessageEvent);
    return { port: channel.port1 as unknown as SharedWorkerLike['port'], addEventListener: () => {} };
  };

  const tabs: Array<{ name: string; client: AuthClient; forcedSignOuts: number; closed: boolean }> = [];
  let tabCount = 0;
  const openTab = (unavailable: boolean) => {
    const name = `tab-${++tabCount}`;
    const entry = { name, client: null as unknown as AuthClient, forcedSignOuts: 0, closed: false };
    entry.client = createAuthClient({
      namespace,
      refresh: send(() => entry.closed),
      storage,
      refreshLeewayMs: 0,
      followerRetryMs: 150,
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      coordination: sharedWorkerCoordination({
        worker: unavailable
          ? () => {
              throw new Error('blocked');
            }
          : sharedWorker,
        locks: locks.forTab(name),
        page: null,
      }),
      onEvent: (event) => {
        if (event.type === 'signed-out' && event.reason !== 'user') entry.forcedSignOuts++;
      },
    });
    entry.client.mount();
    tabs.push(entry);
    return entry;
  };
  const closeTab = (entry: (typeof tabs)[number]) => {
    entry.closed = true;
    locks.releaseTab(entry.name);
    void entry.client.dispose();
  };
  cleanups.push(async () => {
    await Promise.all(tabs.map((tab) => tab.client.dispose()));
    ports.forEach((port) => port.close());
  });
  return { random, server, openTab, closeTab, killWorker, tabs, live: () => tabs.filter((tab) => !tab.closed), restart: startWorker };
}

describe('sharedWorkerCoordination under chaos: the worker dies, restarts, is unavailable', () => {
  it.each(Array.from({ length: Number(process.env.SW_CHAOS_SEEDS ?? 8) }, (_, i) => i + 1))(
    'seed %i: no refresh token presented twice, nobody signed out, every tab on the newest pair',
    async (seed) => {
      const w = chaosWorld(seed);
      const first = w.openTab(false);
      await first.client.ready();
      await first.client.signIn({ access_token: 'access-0', refresh_token: 'refresh-0', expires_in: 3600 });
      const steps: string[] = [];
      for (let step = 0; step < 30; step++) {
        const roll = w.random();
        const live = w.live();
        if (roll < 0.2 || live.length === 0) {
          steps.push('open');
          await w.openTab(w.random() < 0.2).client.ready();
        } else if (roll < 0.3 && live.length > 1) {
          steps.push('close');
          w.closeTab(live[Math.floor(w.random() * live.length)]!);
        } else if (roll < 0.4) {
          steps.push('kill-worker');
          w.killWorker();
        } else if (roll < 0.45) {
          steps.push('restart-worker');
          w.killWorker();
          w.restart();
        } else {
          steps.push('refresh');
          const asker = live[Math.floor(w.random() * live.length)]!;
          await asker.client.refresh().catch(() => {});
        }
        await pause();
      }
      const live = w.live();
      await Promise.all(live.map((tab) => tab.client.refresh()));
      await eventually(() => live.every((tab) => tab.client.getSnapshot().tokens?.refreshToken === w.server.current), 'every tab on the newest pair');
      expect(w.server.reuses, `steps: ${steps.join(' ')}`).toBe(0);
      expect(
        w.tabs.reduce((sum, tab) => sum + tab.forcedSignOuts, 0),
        `steps: ${steps.join(' ')}`,
      ).toBe(0);
      expect(w.server.serial).toBeGreaterThan(0);
      if (process.env.SW_CHAOS_LOG) console.info(`seed ${seed}: ${w.server.serial} rotations, ${w.server.requests} requests, steps ${steps.join(' ')}`);
    },
    60_000,
  );
});
