/**
 * The state of one chaos run: the simulated clock, the strict token server and the tabs, the faults in force, and
 * what the run has recorded so far. The steps (steps.ts), the invariant checks (invariants.ts) and the driver
 * (run.ts) all work on it.
 */
import { IDBFactory } from 'fake-indexeddb';
import type { StoredAuthState, TokenResponse } from '../../src/core';
import { createMockTokenServer, createTabSimulation, type MockTokenServer, type SimTab, type TabSimulation } from '../../src/testing';
import { createSimulatedClock, type SimulatedClock } from '../../src/testing/simulatedClock';
import { seededRandom } from '../sim/helpers';
import type { InvariantName, Violation } from './invariants';
import type { RunOptions } from './run';
import type { ChaosConfig } from './schedule';

const STATE_KEY = 'tabauth:default:state';

export interface TabRecord {
  tab: SimTab;
  lastVersion: number;
  inFlight: number;
  lastResponse: string | null;
  /** Revocations in flight (sign-out with revoke). */
  revoking: number;
  /** Family of the last pair this tab held. */
  family: string | null;
  /** Armed kill-after-announce: the access token of the rotation this tab dies announcing. */
  killAfterAnnounce: string | null;
  /** Its writes stall (between its announcement and the kill). */
  stalled: boolean;
}

export interface MessageFaults {
  drop: number;
  duplicate: number;
  delayMs: number;
}

export class ChaosWorld {
  readonly config: ChaosConfig;
  readonly options: RunOptions;
  readonly violations: Violation[] = [];
  /** Faults injected, by kind. */
  readonly faults: Record<string, number> = {};
  readonly tokenCalls = { ok: 0, failed: {} as Record<string, number> };
  /** Every token string the server handed to a tab, with its kind. */
  readonly secrets = new Map<string, string>();
  /** Everything token calls, sign-ins and sign-outs rejected with. */
  readonly thrown: unknown[] = [];
  readonly consoleLines: string[] = [];
  /** Index of the step being applied (-1: setup; the schedule's length: the quiet tail). */
  stepIndex = -1;
  stepsApplied = 0;
  refusedLosingKills = 0;
  convergenceMs: number | null = null;

  readonly random: () => number;
  /** Message faults are decided by the run's own seeded stream. */
  readonly faultRandom: () => number;
  readonly clock: SimulatedClock;
  readonly server: MockTokenServer;
  readonly sim: TabSimulation;
  readonly start: number;
  readonly records = new Map<string, TabRecord>();

  latency: number;
  globalOffline = false;
  readonly tabOffline = new Set<string>();
  /** Tabs whose storage writes currently throw. */
  readonly writeFaulted = new Set<string>();
  messageFaults: MessageFaults = { drop: 0, duplicate: 0, delayMs: 0 };
  killInFlightArmed: 'kill' | 'close' | null = null;
  /** A kill-after-announce step is waiting for the next rotation. */
  killAfterAnnounceArmed = false;
  userSignOuts = 0;
  /** Families revoked through the revocation endpoint (a user's sign-out with revoke). */
  readonly revokedByUser = new Set<string>();

  constructor(config: ChaosConfig, options: RunOptions) {
    this.config = config;
    this.options = options;
    this.random = seededRandom(config.seed);
    this.faultRandom = seededRandom(config.seed ^ 0x5bd1e995);
    this.clock = createSimulatedClock();
    this.latency = config.latencyMs;
    this.server = createMockTokenServer({
      clock: this.clock,
      random: this.random,
      accessTokenTtlSeconds: config.ttlSeconds,
      latencyMs: () => this.latency,
      gracePeriodMs: config.gracePeriodMs,
    });
    this.sim = createTabSimulation({
      clock: this.clock,
      server: this.server,
      random: this.random,
      indexedDB: config.storage === 'indexeddb' ? new IDBFactory() : undefined,
      deliveryDelayMs: config.deliveryDelayMs,
      failoverDelayMs: config.failoverDelayMs,
      locks: config.locks === 'web-locks' ? 'web-locks' : undefined,
      client: { followerRetryMs: config.followerRetryMs, requestTimeoutMs: config.requestTimeoutMs },
    });
    this.start = this.clock.now();
  }

  elapsed(): number {
    return this.clock.now() - this.start;
  }

  violate(invariant: InvariantName, detail: string): void {
    this.violations.push({ invariant, at: this.elapsed(), step: this.stepIndex, detail });
  }

  count(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  collectSecrets(body: TokenResponse | null | undefined): void {
    const kinds: Array<[unknown, string]> = [
      [body?.access_token, 'access'],
      [body?.refresh_token, 'refresh'],
      [body?.id_token, 'id'],
    ];
    for (const [value, kind] of kinds) if (typeof value === 'string' && value.length > 0) this.secrets.set(value, kind);
  }

  applyMessageFaults(): void {
    const { drop, duplicate, delayMs } = this.messageFaults;
    if (drop === 0 && duplicate === 0 && delayMs === 0) {
      this.sim.network.setFaults(null);
      return;
    }
    this.sim.network.setFaults({
      drop: () => drop > 0 && this.faultRandom() < drop,
      duplicate: () => duplicate > 0 && this.faultRandom() < duplicate,
      extraDelayMs: () => (delayMs > 0 ? Math.floor(this.faultRandom() * delayMs) : 0),
    });
  }

  /** The family of an access token (null when unknown to the server). */
  familyOf(accessToken: string | null | undefined): string | null {
    return accessToken ? (this.server.validateAccessToken(accessToken).familyId ?? null) : null;
  }

  /**
   * Is this pair the newest the server minted for its family, and is that family alive? Two sign-ins can race (one
   * of them unwritten), so the family the tabs settle on is not necessarily the last one issued.
   */
  isNewest(state: { tokens: StoredAuthState['tokens'] } | null | undefined): boolean {
    if (!state?.tokens) return false;
    const validation = this.server.validateAccessToken(state.tokens.accessToken);
    return validation.newest === true && validation.familyId !== undefined && this.server.isFamilyValid(validation.familyId);
  }

  async readStored(): Promise<StoredAuthState | null> {
    const raw = (await this.sim.storage.get(STATE_KEY)) as StoredAuthState | null | undefined;
    return raw && typeof raw === 'object' && 'version' in raw ? raw : null;
  }

  live(name: string): TabRecord | undefined {
    const record = this.records.get(name);
    return record && record.tab.alive ? record : undefined;
  }

  /** The records of live tabs, checked one by one as the iteration reaches them. */
  *liveRecords(): Generator<TabRecord> {
    for (const record of this.records.values()) if (record.tab.alive) yield record;
  }

  setOnline(record: TabRecord): void {
    record.tab.environment.setOnline(!this.globalOffline && !this.tabOffline.has(record.tab.name));
  }
}
