/**
 * Seeded chaos engine for tabauth: from a seed, a schedule of steps over simulated time (tabs opening, closing and
 * dying, frozen tabs, network loss, server failures, message faults, clock skew, duplicate leaders, storage faults,
 * and token calls from random tabs), run against many simulated tabs and a strict reuse-detecting token server,
 * with invariants checked after every step and a quiet tail in which every fault is lifted.
 *
 * Free of vitest so that `npm run chaos` (bench/chaos.ts) can run it with tsx. A failing schedule can be shrunk with
 * `minimize()` and printed with `formatReproduction()` as a test to paste into test/chaos/regressions.test.ts.
 *
 * Profiles:
 * - 'recoverable' (the invariant runs): every fault a client can survive on its own.
 *   - No lost responses: a tab is never killed or closed while it is the only durable holder of a rotation the server
 *     already performed (its refresh in flight, or its new pair neither in storage nor held by another live tab that
 *     can write storage); injected failures never rotate; answers are never slower than the request timeout. In each
 *     of those the server rotated and no client can know the new refresh token. (A pair held only in the memory of
 *     tabs whose writes fail survives only if the next leader hears of it; with lost messages it does not.)
 *   - Realistic lock/election pairs: with Web Locks the election is a lock too, so there are never two leaders; without
 *     them (the storage lease) the message election can produce duplicate leaders, and the lease itself lives in
 *     storage. A seed of the lease configuration gets either forced duplicate leaders or storage write failures, not
 *     both: a tab that cannot write storage cannot take the lease, runs its refresh under leadership alone (a
 *     deliberate liveness choice of the core), and a second leader can then race it.
 *   - Clock skew between tabs stays below 4 s in the lease configuration. The lease compares an expiry written with
 *     the holder's clock against the reader's clock; a skew larger than the lease's margin (ttl = request timeout
 *     + 10 s, minus one attempt of at most the request timeout) lets a second leader take a live lease. Tabs of one
 *     browser share one clock, so this skew is artificial; a wall-clock jump of that size during a refresh has the
 *     same effect (documented in docs/chaos.md). Web Locks involve no clock: skew up to 60 s there.
 *   - Storage faults are writes that throw (quota, aborted transactions). Reads that throw or come back empty make the
 *     re-read inside the lock blind; they belong to the degraded-browser tests and the 'everything' profile.
 * - 'everything': all of the above without the restrictions: kills in flight, failures with `rotate: true`, read
 *   faults, duplicate leaders together with storage faults, a server grace period. Reuse is expected there (that is
 *   what docs/chaos.md measures); the safety invariants that remain are checked: no token string leaks, versions never
 *   go backwards, no crash, no unexpected error type, no leaked timers or listeners.
 */
import { IDBFactory } from 'fake-indexeddb';
import { AuthError, oauth2RefreshGrant, oauth2Revoke, type StoredAuthState, type TokenResponse } from '../../src/core';
import { createMockTokenServer, createTabSimulation, type MockFailureKind, type MockTokenServer, type SimTab, type TabSimulation } from '../../src/testing';
import { createSimulatedClock } from '../../src/testing/simulatedClock';
import { seededRandom } from '../sim/helpers';

// ---------------------------------------------------------------------------------------------------------------
// Schedule

export type ServerFailureKind = MockFailureKind;

/** One step of a schedule. `at` is simulated milliseconds from the start of the run. */
export type ChaosStep =
  | { at: number; do: 'open'; tab: string }
  | { at: number; do: 'close'; tab: string }
  | { at: number; do: 'kill'; tab: string }
  | { at: number; do: 'freeze'; tab: string }
  | { at: number; do: 'resume'; tab: string }
  | { at: number; do: 'offline'; tab: string }
  | { at: number; do: 'online'; tab: string }
  | { at: number; do: 'global-offline' }
  | { at: number; do: 'global-online' }
  | { at: number; do: 'server-failures'; kind: ServerFailureKind; count: number; rotate?: boolean }
  | { at: number; do: 'server-latency'; ms: number }
  | { at: number; do: 'message-faults'; drop: number; duplicate: number; delayMs: number }
  | { at: number; do: 'skew'; tab: string; ms: number }
  | { at: number; do: 'force-leader'; tab: string }
  | { at: number; do: 'storage-faults'; tab: string; writes?: 'throw'; reads?: 'throw' | 'empty' }
  | { at: number; do: 'get-token'; tab: string }
  | { at: number; do: 'refresh-401'; tab: string }
  | { at: number; do: 'sign-in'; tab: string }
  | { at: number; do: 'sign-out'; tab: string; revoke: boolean }
  /** 'everything' profile only: kills the tab whose refresh request the server processes next, before it sees the answer. */
  | { at: number; do: 'kill-in-flight' }
  /** 'everything' profile only: like kill-in-flight, but the tab closes cleanly (unmount + dispose) instead. */
  | { at: number; do: 'close-in-flight' };

export type ChaosProfile = 'recoverable' | 'everything';

export interface ChaosConfig {
  seed: number;
  profile: ChaosProfile;
  /** 'indexeddb': one fake-indexeddb shared by the tabs (slower, real IndexedDB semantics); 'memory': a shared Map. */
  storage: 'memory' | 'indexeddb';
  /** 'web-locks': simulated Web Locks (released when a tab dies); 'lease': the storage lease of browsers without them. */
  locks: 'web-locks' | 'lease';
  ttlSeconds: number;
  /** Normal server latency (ms). */
  latencyMs: number;
  /** Server grace period for a used refresh token (ms); 0 in the invariant runs. */
  gracePeriodMs: number;
  deliveryDelayMs: number;
  /** Election failover delay after a leader dies (0 = Web Locks election, >0 = message election). */
  failoverDelayMs: number;
  /** Steps may force duplicate leaders (message election only). */
  duplicateLeaders: boolean;
  /** Steps may make a tab's storage writes throw. */
  storageWriteFaults: boolean;
  /** Steps may make a tab's storage reads throw or come back empty ('everything' profile only). */
  storageReadFaults: boolean;
  /** Largest clock skew between tabs (see the profile notes on the lease). */
  maxSkewMs: number;
  followerRetryMs: number;
  requestTimeoutMs: number;
  /** Length of the faulty part; the quiet tail follows. */
  durationMs: number;
}

const TAIL_EXTRA_MS = 120_000;

/** The simulated time after the faults stop within which every live tab must hold the newest pair. */
export function convergenceBoundMs(config: ChaosConfig): number {
  // A follower that missed every message still holds its old (valid) access token and asks for the new pair when
  // that token is due: one token lifetime. On top: a hanging request timing out, the longest backoff wait, and a
  // dead holder's lease expiring.
  return config.ttlSeconds * 1000 + TAIL_EXTRA_MS;
}

export function generateConfig(seed: number, profile: ChaosProfile = 'recoverable'): ChaosConfig {
  const random = seededRandom(seed * 7919 + 17);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const locks = random() < 0.5 ? 'web-locks' : 'lease';
  const everything = profile === 'everything';
  // Lease configuration (no Web Locks): duplicate leaders or storage write failures, see the profile notes above.
  const duplicates = locks === 'lease' && random() < 0.5;
  return {
    seed,
    profile,
    storage: random() < 0.2 ? 'indexeddb' : 'memory',
    locks,
    ttlSeconds: pick([10, 30, 60, 120] as const),
    latencyMs: pick([5, 20, 50, 200] as const),
    gracePeriodMs: everything ? pick([0, 0, 10_000, 30_000] as const) : 0,
    deliveryDelayMs: pick([1, 1, 5, 20] as const),
    failoverDelayMs: locks === 'web-locks' ? 0 : pick([0, 1_000, 4_000] as const),
    duplicateLeaders: everything ? locks === 'lease' || random() < 0.3 : duplicates,
    storageWriteFaults: everything || !duplicates,
    storageReadFaults: everything,
    maxSkewMs: locks === 'lease' && !everything ? 4_000 : 60_000,
    followerRetryMs: pick([1_000, 5_000] as const),
    requestTimeoutMs: 10_000,
    durationMs: pick([120_000, 300_000, 600_000] as const),
  };
}

const FAILURE_KINDS: readonly ServerFailureKind[] = ['server-error', 'rate-limited', 'timeout', 'network', 'malformed', 'html'];
const MAX_TABS = 8;

/** Generates the schedule of a seed. Fault starts come with their own end steps, so shrinking may drop either. */
export function generateSchedule(config: ChaosConfig): ChaosStep[] {
  const random = seededRandom(config.seed * 104729 + 3);
  const between = (low: number, high: number) => Math.floor(low + random() * (high - low));
  const chance = (p: number) => random() < p;
  const steps: ChaosStep[] = [];
  const alive: string[] = [];
  let opened = 0;
  const openTab = (at: number) => {
    const tab = `tab-${++opened}`;
    alive.push(tab);
    steps.push({ at, do: 'open', tab });
  };
  const someTab = () => (alive.length > 0 ? alive[Math.floor(random() * alive.length)]! : 'tab-1');
  const initial = between(1, 6);
  for (let i = 0; i < initial; i++) openTab(0);
  steps.push({ at: 20, do: 'sign-in', tab: 'tab-1' });

  const weights: Array<[string, number]> = [
    ['get-token', 30],
    ['refresh-401', 8],
    ['open', 5],
    ['close', 3],
    ['kill', 3],
    ['freeze', 3],
    ['offline', 3],
    ['global-offline', 1.5],
    ['server-failures', 4],
    ['slow-server', 3],
    ['message-faults', 4],
    ['skew', 2],
    ['sign-out', 0.7],
  ];
  if (config.duplicateLeaders) weights.push(['force-leader', 2]);
  if (config.storageWriteFaults || config.storageReadFaults) weights.push(['storage-faults', 4]);
  if (config.profile === 'everything') weights.push(['kill-in-flight', 1.5], ['close-in-flight', 0.5], ['rotating-failures', 3]);
  const totalWeight = weights.reduce((sum, [, weight]) => sum + weight, 0);
  const choose = () => {
    let roll = random() * totalWeight;
    for (const [name, weight] of weights) if ((roll -= weight) < 0) return name;
    return weights[0]![0];
  };

  for (let at = between(500, 3_000); at < config.durationMs; at += between(200, 6_000)) {
    const action = choose();
    const tab = someTab();
    switch (action) {
      case 'get-token':
      case 'refresh-401':
        steps.push({ at, do: action, tab });
        break;
      case 'open':
        if (alive.length < MAX_TABS) openTab(at);
        break;
      case 'close':
      case 'kill':
        if (alive.length > 0) {
          alive.splice(alive.indexOf(tab), 1);
          steps.push({ at, do: action, tab });
        }
        if (alive.length === 0 || chance(0.5)) openTab(at + between(100, 5_000));
        break;
      case 'freeze':
        // Mostly under a minute (a throttled background tab), sometimes for minutes (a sleeping laptop).
        steps.push({ at, do: 'freeze', tab }, { at: at + (chance(0.7) ? between(2_000, 60_000) : between(60_000, 300_000)), do: 'resume', tab });
        break;
      case 'offline':
        steps.push({ at, do: 'offline', tab }, { at: at + between(2_000, 120_000), do: 'online', tab });
        break;
      case 'global-offline':
        steps.push({ at, do: 'global-offline' }, { at: at + between(2_000, 120_000), do: 'global-online' });
        break;
      case 'server-failures':
        steps.push({ at, do: 'server-failures', kind: FAILURE_KINDS[Math.floor(random() * FAILURE_KINDS.length)]!, count: between(1, 6) });
        break;
      case 'rotating-failures':
        steps.push({ at, do: 'server-failures', kind: FAILURE_KINDS[Math.floor(random() * FAILURE_KINDS.length)]!, count: between(1, 3), rotate: true });
        break;
      case 'slow-server':
        // Slower than usual, but inside the request timeout: an answer the client gives up on is a lost response.
        steps.push({ at, do: 'server-latency', ms: between(1_000, config.requestTimeoutMs - 1_000) }, { at: at + between(5_000, 120_000), do: 'server-latency', ms: config.latencyMs });
        break;
      case 'message-faults': {
        const lossy = chance(0.3);
        steps.push(
          { at, do: 'message-faults', drop: lossy ? 1 : Math.round(random() * 50) / 100, duplicate: Math.round(random() * 50) / 100, delayMs: between(0, 3_000) },
          { at: at + between(2_000, 120_000), do: 'message-faults', drop: 0, duplicate: 0, delayMs: 0 },
        );
        break;
      }
      case 'skew':
        steps.push({ at, do: 'skew', tab, ms: (chance(0.5) ? -1 : 1) * between(100, config.maxSkewMs) }, { at: at + between(5_000, 300_000), do: 'skew', tab, ms: 0 });
        break;
      case 'force-leader':
        steps.push({ at, do: 'force-leader', tab });
        break;
      case 'storage-faults': {
        const modes: Array<{ writes?: 'throw'; reads?: 'throw' | 'empty' }> = [];
        if (config.storageWriteFaults) modes.push({ writes: 'throw' });
        if (config.storageReadFaults) modes.push({ reads: 'empty' }, { reads: 'throw', writes: 'throw' });
        const mode = modes[Math.floor(random() * modes.length)]!;
        steps.push({ at, do: 'storage-faults', tab, ...mode }, { at: at + between(500, 60_000), do: 'storage-faults', tab });
        break;
      }
      case 'sign-out':
        steps.push({ at, do: 'sign-out', tab, revoke: chance(0.5) }, { at: at + between(1_000, 30_000), do: 'sign-in', tab: someTab() });
        break;
      case 'kill-in-flight':
      case 'close-in-flight':
        steps.push({ at, do: action });
        if (chance(0.7)) openTab(at + between(100, 5_000));
        break;
    }
  }
  return steps.sort((a, b) => a.at - b.at);
}

// ---------------------------------------------------------------------------------------------------------------
// Results

export type InvariantName =
  | 'refresh-token-reused'
  | 'family-revoked'
  | 'signed-out-while-valid'
  | 'version-went-backwards'
  | 'unexpected-error'
  | 'no-convergence'
  | 'leaked-timers-or-listeners'
  | 'secret-leaked'
  | 'crash';

export interface Violation {
  invariant: InvariantName;
  /** Simulated ms from the start of the run. */
  at: number;
  /** Index of the last step applied when it was detected (-1: setup; steps.length: the quiet tail). */
  step: number;
  detail: string;
}

export interface ChaosResult {
  config: ChaosConfig;
  schedule: ChaosStep[];
  violations: Violation[];
  /** Steps that did something (steps naming a tab that is gone, or kills refused in the recoverable profile, did not). */
  stepsApplied: number;
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  /** Kills and closes refused because the tab held the only copy of a rotation (recoverable profile). */
  refusedLosingKills: number;
  server: MockTokenServer['counters'];
  /** Everything the server saw, with simulated times relative to the start of the run. */
  serverEvents: Array<{ at: number; type: string; familyId?: string; generation?: number }>;
  messages: { posted: number; delivered: number; dropped: number; duplicated: number };
  tokenCalls: { ok: number; failed: Record<string, number> };
  /** Simulated ms from the start of the quiet tail until every live tab held the newest pair (null: never). */
  convergenceMs: number | null;
  /** Tabs that were signed out at the end although no user signed out ('everything' profile: expected after reuse). */
  signedOutTabs: number;
  simulatedMs: number;
}

export interface RunOptions {
  /** Stop at the first violation (used while shrinking). Default false. */
  stopAtFirstViolation?: boolean;
  /** Capture console.* during the run and check it for token strings. Default true. */
  captureConsole?: boolean;
  /** Receives one line per step with every tab's state afterwards (for debugging a reproduction). */
  trace?: (line: string) => void;
  /** Receives every tab event and server event as it happens (for debugging a reproduction). */
  log?: (line: string) => void;
  /** Called with every tab the run opens (tests attach app-like listeners here). */
  onTab?: (tab: SimTab) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Runner

/** Errors a token call may end with under faults; anything else (invalid_grant above all) is a violation. */
const EXPECTED_ERRORS = new Set(['transient_refresh_failure', 'refresh_timeout', 'malformed_token_response', 'disposed', 'signed_out']);

const STATE_KEY = 'tabauth:default:state';

interface TabRecord {
  tab: SimTab;
  lastVersion: number;
  inFlight: number;
  lastResponse: string | null;
  /** Revocations in flight (sign-out with revoke). */
  revoking: number;
  /** Family of the last pair this tab held. */
  family: string | null;
}

export async function runChaos(config: ChaosConfig, schedule: ChaosStep[], options: RunOptions = {}): Promise<ChaosResult> {
  const violations: Violation[] = [];
  const faults: Record<string, number> = {};
  const tokenCalls = { ok: 0, failed: {} as Record<string, number> };
  /** Every token string the server handed to a tab, with its kind. */
  const secrets = new Map<string, string>();
  const thrown: unknown[] = [];
  const consoleLines: string[] = [];
  let stepIndex = -1;
  let stepsApplied = 0;
  let refusedLosingKills = 0;

  const random = seededRandom(config.seed);
  const faultRandom = seededRandom(config.seed ^ 0x5bd1e995);
  const clock = createSimulatedClock();
  let latency = config.latencyMs;
  const server = createMockTokenServer({ clock, random, accessTokenTtlSeconds: config.ttlSeconds, latencyMs: () => latency, gracePeriodMs: config.gracePeriodMs });
  const sim: TabSimulation = createTabSimulation({
    clock,
    server,
    random,
    indexedDB: config.storage === 'indexeddb' ? new IDBFactory() : undefined,
    deliveryDelayMs: config.deliveryDelayMs,
    failoverDelayMs: config.failoverDelayMs,
    locks: config.locks === 'web-locks' ? 'web-locks' : undefined,
    client: { followerRetryMs: config.followerRetryMs, requestTimeoutMs: config.requestTimeoutMs },
  });
  const start = clock.now();
  const elapsed = () => clock.now() - start;
  const records = new Map<string, TabRecord>();
  const globalOffline = { on: false };
  const tabOffline = new Set<string>();
  /** Tabs whose storage writes currently throw. */
  const writeFaulted = new Set<string>();
  let userSignOuts = 0;
  let killInFlightArmed: 'kill' | 'close' | null = null;

  const violate = (invariant: InvariantName, detail: string) => {
    violations.push({ invariant, at: elapsed(), step: stepIndex, detail });
  };
  const count = (kind: string) => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const collectSecrets = (body: TokenResponse | null | undefined) => {
    const kinds: Array<[unknown, string]> = [
      [body?.access_token, 'access'],
      [body?.refresh_token, 'refresh'],
      [body?.id_token, 'id'],
    ];
    for (const [value, kind] of kinds) if (typeof value === 'string' && value.length > 0) secrets.set(value, kind);
  };

  const restoreConsole = options.captureConsole === false ? () => {} : captureConsole(consoleLines);

  // Message faults decided by the run's own seeded stream.
  let messageFaults = { drop: 0, duplicate: 0, delayMs: 0 };
  const applyMessageFaults = () => {
    const { drop, duplicate, delayMs } = messageFaults;
    if (drop === 0 && duplicate === 0 && delayMs === 0) {
      sim.network.setFaults(null);
      return;
    }
    sim.network.setFaults({
      drop: () => drop > 0 && faultRandom() < drop,
      duplicate: () => duplicate > 0 && faultRandom() < duplicate,
      extraDelayMs: () => (delayMs > 0 ? Math.floor(faultRandom() * delayMs) : 0),
    });
  };

  /** The family of an access token (null when unknown to the server). */
  const familyOf = (accessToken: string | null | undefined): string | null =>
    accessToken ? (server.validateAccessToken(accessToken).familyId ?? null) : null;
  /**
   * Is this pair the newest the server minted for its family, and is that family alive? Two sign-ins can race (one
   * of them unwritten), so the family the tabs settle on is not necessarily the last one issued.
   */
  const isNewest = (state: { tokens: StoredAuthState['tokens'] } | null | undefined): boolean => {
    if (!state?.tokens) return false;
    const validation = server.validateAccessToken(state.tokens.accessToken);
    return validation.newest === true && validation.familyId !== undefined && server.isFamilyValid(validation.familyId);
  };
  /** Families revoked through the revocation endpoint (a user's sign-out with revoke). */
  const revokedByUser = new Set<string>();
  const readStored = async (): Promise<StoredAuthState | null> => {
    const raw = (await sim.storage.get(STATE_KEY)) as StoredAuthState | null | undefined;
    return raw && typeof raw === 'object' && 'version' in raw ? raw : null;
  };

  const watchTab = (record: TabRecord) => {
    const { tab } = record;
    tab.client.subscribe(() => {
      const snapshot = tab.client.getSnapshot();
      if (snapshot.version < record.lastVersion) violate('version-went-backwards', `${tab.name}: ${record.lastVersion} -> ${snapshot.version}`);
      record.lastVersion = Math.max(record.lastVersion, snapshot.version);
      if (snapshot.tokens) record.family = familyOf(snapshot.tokens.accessToken);
    });
    tab.client.on((event) => {
      options.log?.(`${String(elapsed()).padStart(7)} ${tab.name} ${JSON.stringify(event)}`);
      if (event.type === 'signed-out' && event.source === 'this-tab' && (event.reason !== 'user' || userSignOuts === 0)) {
        // Legitimate only when the family the tab held is gone: revoked by a user's sign-out (or, in the
        // 'everything' profile, by reuse detection, which is its own violation in the recoverable profile). Checked
        // where the sign-out is decided; tabs that adopt it from another tab or from storage follow that decision.
        const family = record.family;
        const valid = family !== null && server.isFamilyValid(family);
        if (valid || (config.profile === 'recoverable' && (family === null || !revokedByUser.has(family)))) {
          violate('signed-out-while-valid', `${tab.name}: reason ${event.reason}, family ${valid ? 'valid' : 'revoked'}`);
        }
      }
    });
  };

  const openTab = (name: string) => {
    const record: TabRecord = { tab: undefined as unknown as SimTab, lastVersion: 0, inFlight: 0, lastResponse: null, revoking: 0, family: null };
    const tabFetch: typeof fetch = (input, init) => {
      const tab = record.tab;
      if (!tab.alive) return new Promise<Response>(() => {});
      if (!tab.environment.isOnline()) return Promise.reject(new TypeError('Failed to fetch'));
      const before = server.counters.successes;
      const response = server.fetch(input, init);
      if (killInFlightArmed && server.counters.successes > before) {
        // 'everything' profile: the server rotated; the tab dies (or closes) before it sees the answer.
        count(`${killInFlightArmed}-in-flight`);
        if (killInFlightArmed === 'kill') tab.kill();
        else void tab.close();
        killInFlightArmed = null;
      }
      // Like the harness: a dead tab never sees the result of anything it started.
      return response.then(
        (value) => (tab.alive ? value : new Promise<Response>(() => {})),
        (error) => (tab.alive ? Promise.reject(error) : new Promise<Response>(() => {})),
      );
    };
    const grant = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: tabFetch });
    const revoke = oauth2Revoke({ revocationEndpoint: server.revocationEndpoint, clientId: 'tabauth-demo', fetch: tabFetch });
    record.tab = sim.openTab({
      name,
      client: {
        revoke: async (request) => {
          record.revoking++;
          try {
            await revoke(request);
          } finally {
            record.revoking--;
          }
        },
        refresh: async (context) => {
          record.inFlight++;
          try {
            const body = await grant(context);
            collectSecrets(body);
            record.lastResponse = body.access_token;
            return body;
          } finally {
            record.inFlight--;
          }
        },
      },
    });
    if (globalOffline.on) record.tab.environment.setOnline(false);
    records.set(name, record);
    watchTab(record);
    options.onTab?.(record.tab);
  };

  const live = (name: string): TabRecord | undefined => {
    const record = records.get(name);
    return record && record.tab.alive ? record : undefined;
  };
  const setOnline = (record: TabRecord) => record.tab.environment.setOnline(!globalOffline.on && !tabOffline.has(record.tab.name));

  /**
   * Recoverable profile: would losing this tab lose a rotation the server already performed? That is when the tab
   * has a refresh in flight, or holds (or just received) the newest pair of its family, and that pair is neither in
   * storage nor held by another live tab that can write it there. (A pair kept only in the memory of tabs whose
   * storage writes fail is not durable: if the next leader misses the message, it starts from the older record.)
   */
  const losesRotation = async (record: TabRecord): Promise<boolean> => {
    if (config.profile !== 'recoverable') return false;
    const own = record.tab.client.getSnapshot().tokens?.accessToken;
    const families = new Set<string>();
    if (record.inFlight > 0 && familyOf(own)) families.add(familyOf(own)!);
    if (own && isNewest({ tokens: record.tab.client.getSnapshot().tokens })) families.add(familyOf(own)!);
    if (record.lastResponse && server.validateAccessToken(record.lastResponse).newest) families.add(familyOf(record.lastResponse)!);
    if (families.size === 0) return false;
    const holders = [
      await readStored(),
      ...[...records.values()]
        .filter((other) => other !== record && other.tab.alive && !writeFaulted.has(other.tab.name))
        .map((other) => other.tab.client.getSnapshot()),
    ];
    for (const family of families) {
      const held = holders.some((holder) => holder?.tokens && familyOf(holder.tokens.accessToken) === family && isNewest(holder));
      if (!held && server.isFamilyValid(family)) return true;
    }
    return false;
  };

  const callToken = (record: TabRecord, kind: 'get-token' | 'refresh-401') => {
    const { client } = record.tab;
    const call = kind === 'get-token' ? client.getAccessToken() : client.refresh({ rejectedVersion: client.getSnapshot().version });
    call.then(
      () => {
        tokenCalls.ok++;
      },
      (error: unknown) => {
        thrown.push(error);
        const code = error instanceof AuthError ? error.code : 'non-tabauth-error';
        tokenCalls.failed[code] = (tokenCalls.failed[code] ?? 0) + 1;
        // A rejected token surfaces as an OAuthError: expected for a family the user revoked, and beyond the
        // recoverable envelope (after reuse); nothing else may.
        const revokedFamily = record.family !== null && revokedByUser.has(record.family);
        if (!EXPECTED_ERRORS.has(code) && !(code === 'oauth_error' && (config.profile === 'everything' || revokedFamily))) {
          violate('unexpected-error', `${record.tab.name} ${kind}: ${code}${error instanceof Error ? ` (${error.name}: ${error.message})` : ''}`);
        }
        if (code === 'signed_out' && userSignOuts === 0 && config.profile === 'recoverable') {
          violate('signed-out-while-valid', `${record.tab.name} ${kind}: SignedOutError without a user sign-out`);
        }
      },
    );
  };

  const checkClosedTab = async (record: TabRecord) => {
    await sim.settle();
    // A revocation in flight is allowed to finish after dispose (best effort, bounded by its request timeout): its
    // timeout timer is the only one a closed tab may still have.
    const timers = record.tab.pendingTimers() - record.revoking;
    const listeners = record.tab.environment.listenerCount();
    if (timers > 0 || listeners > 0) violate('leaked-timers-or-listeners', `${record.tab.name} after close: ${timers} timers, ${listeners} listeners`);
  };

  const apply = async (step: ChaosStep): Promise<boolean> => {
    switch (step.do) {
      case 'open':
        if (records.has(step.tab)) return false;
        openTab(step.tab);
        count('tab-open');
        return true;
      case 'close':
      case 'kill': {
        const record = live(step.tab);
        if (!record) return false;
        if (await losesRotation(record)) {
          refusedLosingKills++;
          return false;
        }
        if (step.do === 'kill') {
          record.tab.kill();
          count('tab-kill');
        } else {
          await record.tab.close();
          count('tab-close');
          await checkClosedTab(record);
        }
        return true;
      }
      case 'freeze': {
        const record = live(step.tab);
        if (!record || record.tab.frozen) return false;
        record.tab.freeze();
        count('tab-freeze');
        return true;
      }
      case 'resume': {
        const record = live(step.tab);
        if (!record || !record.tab.frozen) return false;
        record.tab.resume();
        return true;
      }
      case 'offline':
      case 'online': {
        const record = live(step.tab);
        if (!record) return false;
        if (step.do === 'offline') {
          tabOffline.add(step.tab);
          count('tab-offline');
        } else tabOffline.delete(step.tab);
        setOnline(record);
        return true;
      }
      case 'global-offline':
      case 'global-online':
        globalOffline.on = step.do === 'global-offline';
        if (globalOffline.on) count('global-offline');
        for (const record of records.values()) if (record.tab.alive) setOnline(record);
        return true;
      case 'server-failures':
        if (step.rotate && config.profile === 'recoverable') return false;
        server.injectFailures({ kind: step.kind, count: step.count, rotate: step.rotate === true });
        count(step.rotate ? `server-${step.kind}-rotated` : `server-${step.kind}`);
        return true;
      case 'server-latency':
        if (config.profile === 'recoverable' && step.ms >= config.requestTimeoutMs) return false;
        if (step.ms !== config.latencyMs) count('slow-server');
        latency = step.ms;
        return true;
      case 'message-faults':
        messageFaults = { drop: step.drop, duplicate: step.duplicate, delayMs: step.delayMs };
        if (step.drop > 0) count('messages-lost');
        if (step.duplicate > 0) count('messages-duplicated');
        if (step.delayMs > 0) count('messages-delayed');
        applyMessageFaults();
        return true;
      case 'skew': {
        const record = live(step.tab);
        if (!record || Math.abs(step.ms) > config.maxSkewMs) return false;
        record.tab.setSkewMs(step.ms);
        if (step.ms !== 0) count('clock-skew');
        return true;
      }
      case 'force-leader': {
        const record = live(step.tab);
        if (!record || sim.network.leaders().includes(step.tab) || !config.duplicateLeaders) return false;
        sim.network.forceLeader(step.tab);
        count('duplicate-leader');
        return true;
      }
      case 'storage-faults': {
        const record = live(step.tab);
        if (!record) return false;
        if ((step.writes && !config.storageWriteFaults) || (step.reads && !config.storageReadFaults)) return false;
        const faultsOn = step.writes !== undefined || step.reads !== undefined;
        record.tab.setStorageFaults(faultsOn ? { writes: step.writes, reads: step.reads } : null);
        if (step.writes) writeFaulted.add(step.tab);
        else writeFaulted.delete(step.tab);
        if (step.writes) count('storage-writes-throw');
        if (step.reads) count(`storage-reads-${step.reads}`);
        return true;
      }
      case 'get-token':
      case 'refresh-401': {
        // A frozen page runs no code at all: its app cannot ask for a token until it is resumed.
        const record = live(step.tab);
        if (!record || record.tab.frozen) return false;
        callToken(record, step.do);
        return true;
      }
      case 'sign-in': {
        // The user signs in again in whichever tab is open (the named one may have gone since the schedule was made).
        const record = live(step.tab) ?? [...records.values()].find((candidate) => candidate.tab.alive && !candidate.tab.frozen);
        if (!record || record.tab.frozen) return false;
        // The mock server issues no id token; a login response usually carries one, so the run adds one to check it too.
        const issued = { ...server.issueTokens({ subject: 'user-1', scope: 'openid offline_access' }), id_token: fakeIdToken(random) };
        collectSecrets(issued);
        record.tab.client.signIn(issued).catch((error: unknown) => {
          thrown.push(error);
          if (!(error instanceof AuthError && error.code === 'disposed')) violate('crash', `${step.tab} signIn rejected: ${describe(error)}`);
        });
        return true;
      }
      case 'sign-out': {
        const record = live(step.tab);
        if (!record || record.tab.frozen) return false;
        userSignOuts++;
        count('sign-out');
        record.tab.client.signOut({ revoke: step.revoke }).catch((error: unknown) => {
          thrown.push(error);
          if (!(error instanceof AuthError && error.code === 'disposed')) violate('crash', `${step.tab} signOut rejected: ${describe(error)}`);
        });
        return true;
      }
      case 'kill-in-flight':
      case 'close-in-flight':
        if (config.profile === 'recoverable') return false;
        killInFlightArmed = step.do === 'kill-in-flight' ? 'kill' : 'close';
        return true;
    }
  };

  // The server reports reuse the moment it happens (the step that caused it is the one being applied).
  let previousServerEvent = '';
  server.on((event) => {
    options.log?.(`${String(elapsed()).padStart(7)} server ${JSON.stringify(event)}`);
    if (event.type === 'revoked' && previousServerEvent === 'revocation' && event.familyId) revokedByUser.add(event.familyId);
    if (config.profile === 'recoverable') {
      if (event.type === 'reuse') violate('refresh-token-reused', `the server received a used refresh token (family ${event.familyId}, generation ${event.generation})`);
      // A family revoked by the revocation endpoint (a sign-out with revoke) is expected; by reuse detection it is not.
      if (event.type === 'revoked' && previousServerEvent !== 'revocation') violate('family-revoked', `family ${event.familyId} revoked after ${previousServerEvent}`);
    }
    previousServerEvent = event.type;
  });

  let convergenceMs: number | null = null;
  const tailStart = { at: 0 };
  try {
    await sim.settle();
    const sorted = [...schedule].sort((a, b) => a.at - b.at);
    for (let i = 0; i < sorted.length; i++) {
      const step = sorted[i]!;
      const wait = step.at - elapsed();
      if (wait > 0) await sim.advance(wait);
      stepIndex = i;
      try {
        if (await apply(step)) stepsApplied++;
      } catch (error) {
        violate('crash', `step ${JSON.stringify(step)} threw: ${describe(error)}`);
      }
      await sim.settle();
      options.trace?.(`${String(elapsed()).padStart(7)} ${JSON.stringify(step)} -> ${stateLine()}`);
      if (options.stopAtFirstViolation && violations.length > 0) break;
    }
    if (!(options.stopAtFirstViolation && violations.length > 0)) {
      const end = Math.max(config.durationMs, sorted.at(-1)?.at ?? 0);
      if (end > elapsed()) await sim.advance(end - elapsed());
      stepIndex = sorted.length;

      // The quiet tail: every fault lifted, frozen tabs resumed, network back.
      tailStart.at = elapsed();
      server.clearFailures();
      latency = config.latencyMs;
      messageFaults = { drop: 0, duplicate: 0, delayMs: 0 };
      applyMessageFaults();
      globalOffline.on = false;
      tabOffline.clear();
      killInFlightArmed = null;
      writeFaulted.clear();
      for (const record of records.values()) {
        if (!record.tab.alive) continue;
        record.tab.setStorageFaults(null);
        record.tab.setSkewMs(0);
        setOnline(record);
        if (record.tab.frozen) record.tab.resume();
      }
      // A tab opened now must find the newest pair in storage (a reload after the faults).
      openTab('tail-probe');
      await sim.settle();
      const bound = convergenceBoundMs(config);
      for (let waited = 0; waited <= bound; waited += 1_000) {
        if (waited % 5_000 === 0) for (const record of records.values()) if (record.tab.alive) callToken(record, 'get-token');
        await sim.advance(1_000);
        if (waited % 5_000 === 0) options.trace?.(`${String(elapsed()).padStart(7)} tail -> ${stateLine()}`);
        if (await converged()) {
          convergenceMs = elapsed() - tailStart.at;
          break;
        }
      }
      if (convergenceMs === null && config.profile === 'recoverable') {
        violate('no-convergence', await describeDivergence());
      }

      // Clean shutdown: every timer and listener of every tab must go. Followers first: closing a leader hands
      // leadership to a tab that may refresh at once, and closing that one mid-refresh would lose the response.
      const closing = [...records.values()].filter((record) => record.tab.alive);
      closing.sort((a, b) => Number(a.tab.client.getSnapshot().isLeader) - Number(b.tab.client.getSnapshot().isLeader));
      for (const record of closing) {
        await record.tab.close();
        await checkClosedTab(record);
      }
      if (sim.network.openChannels() !== 0) violate('leaked-timers-or-listeners', `${sim.network.openChannels()} channels open after every tab closed`);
      await sim.advance(15 * 60_000); // dead tabs' one-shot timers run out
      if (clock.pendingTimers() !== 0) violate('leaked-timers-or-listeners', `${clock.pendingTimers()} timers still pending 15 min after every tab closed`);
    }
  } catch (error) {
    violate('crash', `runner: ${describe(error)}`);
  } finally {
    restoreConsole();
  }

  // Secrets: no token string in any event, counter, console line, thrown error or server event.
  const sources: Array<[string, string]> = [];
  for (const record of records.values()) {
    sources.push([`${record.tab.name} events`, JSON.stringify(record.tab.events)], [`${record.tab.name} counters`, JSON.stringify(record.tab.client.metrics())]);
    const error = record.tab.client.getSnapshot().error;
    if (error) sources.push([`${record.tab.name} snapshot error`, errorTexts(error).join('\n')]);
  }
  sources.push(['errors thrown to callers', thrown.flatMap((error) => errorTexts(error)).join('\n')]);
  sources.push(['console output', consoleLines.join('\n')], ['server events and counters', JSON.stringify([server.events, server.counters])]);
  for (const [where, text] of sources) {
    const kinds = [...secrets.entries()].filter(([secret]) => text.includes(secret)).map(([, kind]) => kind);
    if (kinds.length > 0) violate('secret-leaked', `${[...new Set(kinds)].join(' and ')} token string(s) found in ${where}`);
  }

  const signedOutTabs = [...records.values()].filter(
    (record) => record.tab.client.getSnapshot().status === 'signed-out' && record.tab.client.getSnapshot().signedOutReason !== 'user',
  ).length;

  return {
    config,
    schedule,
    violations,
    stepsApplied,
    faults,
    refusedLosingKills,
    server: server.counters,
    serverEvents: server.events.map((event) => ({ ...event, at: event.at - start })),
    messages: { ...sim.network.stats },
    tokenCalls,
    convergenceMs,
    signedOutTabs,
    simulatedMs: elapsed(),
  };

  function stateLine(): string {
    const tabs = [...records.values()]
      .filter((record) => record.tab.alive)
      .map((record) => {
        const snapshot = record.tab.client.getSnapshot();
        const flags = `${snapshot.isLeader ? 'L' : ''}${record.tab.frozen ? 'F' : ''}${record.tab.environment.isOnline() ? '' : 'O'}`;
        return `${record.tab.name}:v${snapshot.version}${snapshot.status === 'authenticated' ? '' : `(${snapshot.status})`}${flags ? `[${flags}]` : ''}`;
      });
    const counters = server.counters;
    return `${tabs.join(' ')} | server req ${counters.refreshRequests} rot ${counters.successes} reuse ${counters.reuseDetections}`;
  }

  /** Null when every live tab and storage agree on the newest state; otherwise the class of the divergence. */
  async function divergence(): Promise<string | null> {
    const tabs = [...records.values()].filter((record) => record.tab.alive).map((record) => record.tab.client.getSnapshot());
    const stored = await readStored();
    if (!stored?.tokens) {
      // Signed out: there is no pair to hold. A signed-out tab whose version lags (it missed a tombstone while it
      // was signed out already) is harmless: every write goes above the stored version.
      return tabs.every((snapshot) => snapshot.status === 'signed-out') ? null : 'tab-holds-pair-after-sign-out';
    }
    if (config.profile === 'recoverable' && !isNewest(stored)) return 'storage-not-newest';
    for (const snapshot of tabs) {
      if (snapshot.version !== stored.version) return snapshot.version < stored.version ? 'tab-behind-storage' : 'tab-ahead-of-storage';
      if (snapshot.status !== 'authenticated') return 'tab-signed-out-storage-signed-in';
      if (snapshot.tokens?.refreshToken !== stored.tokens.refreshToken) return 'tab-differs-from-storage';
      if (!server.validateAccessToken(snapshot.tokens.accessToken).valid) return 'access-token-invalid';
    }
    return null;
  }
  async function converged(): Promise<boolean> {
    return (await divergence()) === null;
  }

  async function describeDivergence(): Promise<string> {
    const stored = await readStored();
    const tabs = [...records.values()]
      .filter((record) => record.tab.alive)
      .map((record) => {
        const snapshot = record.tab.client.getSnapshot();
        const validation = snapshot.tokens ? server.validateAccessToken(snapshot.tokens.accessToken) : null;
        return `${record.tab.name}: v${snapshot.version} ${snapshot.status}${validation ? ` newest=${validation.newest} valid=${validation.valid}${validation.reason ? `(${validation.reason})` : ''}` : ''}${snapshot.isLeader ? ' leader' : ''}${snapshot.error ? ` error=${snapshot.error.code}` : ''}`;
      });
    return `${await divergence()}: not converged ${convergenceBoundMs(config) / 1000} s after the faults stopped; stored v${stored?.version ?? 0}${stored ? (stored.tokens ? ` newest=${isNewest(stored)}` : ' signed-out') : ''}; ${tabs.join('; ')}`;
  }
}

function fakeIdToken(random: () => number): string {
  const part = (length: number) => Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[Math.floor(random() * 64)]).join('');
  return `eyJhbGciOiJSUzI1NiJ9.${part(60)}.${part(43)}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Everything an app could log about an error: message, string form, JSON, stack, and the same for every cause. */
export function errorTexts(error: unknown, depth = 0): string[] {
  if (depth > 5 || error === null || error === undefined) return [];
  const texts: string[] = [String(error)];
  try {
    texts.push(JSON.stringify(error, Object.getOwnPropertyNames(error as object)));
  } catch {
    // not serialisable: String() above is what a logger would print
  }
  if (error instanceof Error) {
    texts.push(error.message, error.stack ?? '');
    texts.push(...errorTexts((error as { cause?: unknown }).cause, depth + 1));
  }
  return texts;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Replaces console methods with recorders for the duration of a run; returns the restore function. */
export function captureConsole(lines: string[]): () => void {
  const originals = CONSOLE_METHODS.map((name) => [name, console[name]] as const);
  for (const name of CONSOLE_METHODS) {
    console[name] = (...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === 'string' ? arg : errorTexts(arg).join(' ') || safeJson(arg))).join(' '));
    };
  }
  return () => {
    for (const [name, original] of originals) console[name] = original;
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Shrinking and reproduction

const PRIORITY: InvariantName[] = [
  'crash',
  'refresh-token-reused',
  'family-revoked',
  'version-went-backwards',
  'secret-leaked',
  'signed-out-while-valid',
  'unexpected-error',
  'leaked-timers-or-listeners',
  'no-convergence',
];

/** The violation to shrink for: the most fundamental one (a reuse explains the sign-outs that follow it). */
export function primaryViolation(result: ChaosResult): Violation | undefined {
  return [...result.violations].sort((a, b) => PRIORITY.indexOf(a.invariant) - PRIORITY.indexOf(b.invariant) || a.at - b.at)[0];
}

/**
 * Greedy delta debugging: removes chunks of steps (halves, quarters, ... single steps) while the run still violates
 * the same invariant. Returns the shortest schedule found within `maxRuns` runs.
 */
export async function minimize(
  config: ChaosConfig,
  schedule: ChaosStep[],
  target: Violation | InvariantName,
  maxRuns = 300,
): Promise<{ schedule: ChaosStep[]; runs: number }> {
  let runs = 0;
  const wanted = signature(target);
  const fails = async (candidate: ChaosStep[]) => {
    runs++;
    const result = await runChaos(config, candidate, { stopAtFirstViolation: false });
    return result.violations.some((violation) => signature(violation) === wanted);
  };
  let current = schedule;
  let chunks = 2;
  while (current.length >= 1 && runs < maxRuns) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let i = 0; i < chunks && runs < maxRuns; i++) {
      const candidate = [...current.slice(0, i * size), ...current.slice((i + 1) * size)];
      if (candidate.length === current.length) continue;
      if (await fails(candidate)) {
        current = candidate;
        chunks = Math.max(2, chunks - 1);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size <= 1) break;
      chunks = Math.min(current.length, chunks * 2);
    }
  }
  return { schedule: current, runs };
}

/** What shrinking must preserve: the invariant, and for a divergence its class (the detail's first word). */
function signature(violation: Violation | InvariantName): string {
  if (typeof violation === 'string') return violation;
  return violation.invariant === 'no-convergence' ? `${violation.invariant}:${violation.detail.split(':')[0]}` : violation.invariant;
}

/** A test to paste into test/chaos/regressions.test.ts. */
export function formatReproduction(result: ChaosResult, shrunk: ChaosStep[], originalLength: number): string {
  const first = primaryViolation(result);
  const title = `seed ${result.config.seed}: ${first?.invariant ?? 'no violation'} (shrunk from ${originalLength} to ${shrunk.length} steps)`;
  const lines = [
    `// ${first ? `${first.invariant} at ${first.at} ms: ${first.detail}` : ''}`,
    `it(${JSON.stringify(title)}, async () => {`,
    `  const config: ChaosConfig = ${JSON.stringify(result.config)};`,
    `  const schedule: ChaosStep[] = [`,
    ...shrunk.map((step) => `    ${JSON.stringify(step)},`),
    `  ];`,
    `  const result = await runChaos(config, schedule);`,
    `  expect(result.violations).toEqual([]);`,
    `});`,
  ];
  return lines.join('\n');
}
