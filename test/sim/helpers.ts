import { IDBFactory } from 'fake-indexeddb';
import { createTabSimulation, type TabSimulation, type TabSimulationOptions } from '../../src/testing';
import { createSimulatedClock } from '../../src/testing/simulatedClock';
import { createMockTokenServer } from '../../src/testing/mockTokenServer';

/** Deterministic PRNG (mulberry32) so every simulation is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function strictSimulation(
  options: {
    seed?: number;
    ttlSeconds?: number;
    latencyMs?: number;
    gracePeriodMs?: number;
    /** 'indexeddb' (default): one fake-indexeddb "browser" shared by all tabs; 'memory': a shared Map. */
    storage?: 'indexeddb' | 'memory';
  } & Omit<TabSimulationOptions, 'server' | 'clock' | 'random'> = {},
): TabSimulation {
  const random = seededRandom(options.seed ?? 1);
  const clock = createSimulatedClock();
  const server = createMockTokenServer({
    clock,
    random,
    accessTokenTtlSeconds: options.ttlSeconds ?? 1,
    latencyMs: options.latencyMs ?? 20,
    gracePeriodMs: options.gracePeriodMs ?? 0,
  });
  return createTabSimulation({
    ...options,
    indexedDB: options.indexedDB ?? (options.storage === 'memory' ? undefined : new IDBFactory()),
    clock,
    server,
    random,
    // A 5 ms peer query (the default is 100 ms): deliveries take 1 ms here, and tests can step 10 ms to a settled tab.
    client: { refreshLeewayMs: 100, followerRetryMs: 1_000, peerQueryMs: 5, ...options.client },
  });
}

/** Every tab's version, for "everyone holds the newest pair" assertions. */
export function versions(sim: TabSimulation): number[] {
  return sim.liveTabs().map((tab) => tab.client.getSnapshot().version);
}

export function signOutEvents(sim: TabSimulation): number {
  return sim.tabs.reduce((sum, tab) => sum + tab.events.filter((event) => event.type === 'signed-out').length, 0);
}
