/**
 * npm run bench:sim — many simulated tabs in one Node process, real time, side by side:
 *   tabauth: createAuthClient per tab with the production coordination (broadcast-channel, 'simulate' method, its
 *            message-based leader election since Node has no Web Locks) and one shared IndexedDB (fake-indexeddb);
 *   naive:   each tab refreshes on its own over the same IndexedDB (bench/naiveSimClient.ts).
 * Both against the same strict mock server (rotation + reuse detection), 1-second access tokens.
 * Prints a markdown table and writes bench/out/sim.json.
 */
import { IDBFactory } from 'fake-indexeddb';
import { enforceOptions } from 'broadcast-channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { broadcastChannelCoordination, createAuthClient, createIndexedDbStorage, oauth2RefreshGrant, systemClock } from '../src/core';
import { createMockTokenServer } from '../src/testing/mockTokenServer';
import { createSimulatedEnvironment } from '../src/testing/simulatedEnvironment';
import { createNaiveTab } from './naiveSimClient';

const TAB_COUNTS = (process.env.BENCH_TABS ?? '2,10,50').split(',').map(Number);
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 20);
const TTL_SECONDS = 1;
const LATENCY_MS = 20;
const CALL_EVERY_MS = 100;

interface Row {
  client: 'tabauth' | 'naive';
  tabs: number;
  rotations: number;
  refreshRequests: number;
  requestsPerRotation: number;
  reuseDetections: number;
  familiesRevoked: number;
  signedOutTabs: number;
  propagationP50Ms: number | null;
  propagationP99Ms: number | null;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** For each version: when it was first written, and when the last tab came to hold it. */
class PropagationTracker {
  private readonly written = new Map<number, number>();
  private readonly held = new Map<number, Set<number>>();
  private readonly completed = new Map<number, number>();
  constructor(private readonly tabs: number) {}
  write(version: number) {
    if (!this.written.has(version)) this.written.set(version, performance.now());
    this.hold(-1, version);
  }
  hold(tab: number, version: number) {
    const set = this.held.get(version) ?? new Set<number>();
    this.held.set(version, set);
    if (tab >= 0) set.add(tab);
    if (set.size === this.tabs && !this.completed.has(version) && this.written.has(version)) {
      this.completed.set(version, performance.now() - this.written.get(version)!);
    }
  }
  latencies(): number[] {
    return [...this.completed.values()];
  }
}

async function runTabauth(tabs: number): Promise<Row> {
  const server = createMockTokenServer({ accessTokenTtlSeconds: TTL_SECONDS, latencyMs: LATENCY_MS });
  const indexedDB = new IDBFactory();
  const namespace = `bench-${tabs}-${Math.random().toString(36).slice(2)}`;
  const tracker = new PropagationTracker(tabs);
  const clients = Array.from({ length: tabs }, (_, index) =>
    createAuthClient({
      namespace,
      refresh: oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch }),
      storage: createIndexedDbStorage({ indexedDB }),
      coordination: broadcastChannelCoordination({ channelOptions: { type: 'simulate' } }),
      environment: createSimulatedEnvironment(),
      clock: systemClock,
      refreshLeewayMs: 300,
      onEvent: (event) => {
        if (event.type === 'refresh-succeeded') {
          tracker.write(event.version);
          tracker.hold(index, event.version);
        }
        if (event.type === 'state-adopted' || event.type === 'signed-in') tracker.hold(index, event.version);
      },
    }),
  );
  const unmounts = clients.map((client) => client.mount());
  await Promise.all(clients.map((client) => client.ready()));
  await clients[0]!.signIn(server.issueTokens());
  tracker.write(clients[0]!.getSnapshot().version);
  const started = performance.now();
  const deadline = started + ROTATIONS * TTL_SECONDS * 1000 * 2 + 10_000;
  while (server.counters.successes < ROTATIONS && performance.now() < deadline) {
    for (const client of clients) if (Math.random() < 0.3) client.getAccessToken().catch(() => {});
    await sleep(CALL_EVERY_MS);
  }
  await sleep(200);
  const signedOutTabs = clients.filter((client) => client.getSnapshot().status === 'signed-out').length;
  unmounts.forEach((unmount) => unmount());
  await Promise.all(clients.map((client) => client.dispose()));
  return row('tabauth', tabs, server, signedOutTabs, tracker, started);
}

async function runNaive(tabs: number): Promise<Row> {
  const server = createMockTokenServer({ accessTokenTtlSeconds: TTL_SECONDS, latencyMs: LATENCY_MS });
  const indexedDB = new IDBFactory();
  const key = 'naive:pair';
  const tracker = new PropagationTracker(tabs);
  const storages = Array.from({ length: tabs }, () => createIndexedDbStorage({ indexedDB }));
  const first = server.issueTokens();
  await storages[0]!.update(key, () => ({
    accessToken: first.access_token,
    refreshToken: first.refresh_token,
    expiresAt: Date.now() + TTL_SECONDS * 1000,
    version: 1,
  }));
  tracker.write(1);
  const naiveTabs = storages.map((storage, index) => {
    const tab = createNaiveTab({ storage, server, clock: systemClock, bufferMs: 300, key });
    tab.onAdopt = (version) => {
      tracker.write(version);
      tracker.hold(index, version);
    };
    return tab;
  });
  const started = performance.now();
  const deadline = started + ROTATIONS * TTL_SECONDS * 1000 * 2 + 10_000;
  while (server.counters.successes < ROTATIONS && performance.now() < deadline && naiveTabs.some((tab) => !tab.signedOut)) {
    for (const tab of naiveTabs) if (!tab.signedOut && Math.random() < 0.3) tab.getAccessToken().catch(() => {});
    await sleep(CALL_EVERY_MS);
  }
  await sleep(200);
  naiveTabs.forEach((tab) => tab.dispose());
  return row('naive', tabs, server, naiveTabs.filter((tab) => tab.signedOut).length, tracker, started);
}

function row(
  client: Row['client'],
  tabs: number,
  server: ReturnType<typeof createMockTokenServer>,
  signedOutTabs: number,
  tracker: PropagationTracker,
  started: number,
): Row {
  const { refreshRequests, successes, reuseDetections, familiesRevoked } = server.counters;
  const latencies = tracker.latencies();
  return {
    client,
    tabs,
    rotations: successes,
    refreshRequests,
    requestsPerRotation: successes === 0 ? refreshRequests : Number((refreshRequests / successes).toFixed(2)),
    reuseDetections,
    familiesRevoked,
    signedOutTabs,
    propagationP50Ms: round(percentile(latencies, 50)),
    propagationP99Ms: round(percentile(latencies, 99)),
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
}

const round = (value: number | null) => (value === null ? null : Number(value.toFixed(1)));

function table(rows: Row[]): string {
  const header =
    '| client | tabs | rotations | refresh requests | requests / rotation | reuse detections | families revoked | tabs signed out | write → last tab p50 (ms) | p99 (ms) |';
  const line = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.map(
    (r) =>
      `| ${r.client} | ${r.tabs} | ${r.rotations} | ${r.refreshRequests} | ${r.requestsPerRotation} | ${r.reuseDetections} | ${r.familiesRevoked} | ${r.signedOutTabs} | ${r.propagationP50Ms ?? '-'} | ${r.propagationP99Ms ?? '-'} |`,
  );
  return [header, line, ...body].join('\n');
}

async function main() {
  enforceOptions(null);
  const rows: Row[] = [];
  for (const tabs of TAB_COUNTS) {
    rows.push(await runTabauth(tabs));
    console.error(`tabauth ${tabs} tabs done`);
    rows.push(await runNaive(tabs));
    console.error(`naive ${tabs} tabs done`);
  }
  console.log(`\nbench:sim — ${ROTATIONS} rotations target, ${TTL_SECONDS}-s access tokens, ${LATENCY_MS} ms server latency, Node ${process.version}\n`);
  console.log(table(rows));
  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./out/sim.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
  // broadcast-channel keeps process handles in Node; the bench is done.
  process.exit(0);
}

void main();
