/**
 * The state of one chaos run: the simulated clock, the strict token server and the tabs, the faults in force, and
 * what the run has recorded so far. The steps (steps.ts), the invariant checks (invariants.ts) and the driver
 * (run.ts) all work on it.
 */
import { IDBFactory } from 'fake-indexeddb';
import type { StoredAuthState, TokenResponse } from '../../src/core';
import { validateStoredState } from '../../src/core/storedRecord';
import { createMockTokenServer, createTabSimulation, type MockTokenServer, type SimTab, type StorageFaults, type TabSimulation } from '../../src/testing';
import { createSimulatedClock, type SimulatedClock } from '../../src/testing/simulatedClock';
import { seededRandom } from '../sim/helpers';
import type { InvariantName, Violation } from './invariants';
import type { RunOptions } from './run';
import type { ChaosConfig, ChaosStep } from './schedule';

export const STATE_KEY = 'tabauth:default:state';
export const LEASE_KEY = 'tabauth:default:refresh-lease';

export interface TabRecord {
  tab: SimTab;
  lastVersion: number;
  inFlight: number;
  lastResponse: string | null;
  /** Revocations in flight (sign-out with revoke). */
  revoking: number;
  /** Family of the last pair this tab held. */
  family: string | null;
  /** Non-finite timer delays of this tab already reported. */
  nonFiniteTimers: number;
  /** An expired token this tab handed out was reported already. */
  expiredTokenReported: boolean;
  /** The tab is closing (its close or dispose is under way): it is going away, steps no longer pick it. */
  closing: boolean;
  /** The tab has held a pair at some point. */
  everAuthenticated: boolean;
  /** Armed kill-after-announce: the access token of the rotation this tab dies announcing. */
  killAfterAnnounce: string | null;
  /** Its writes stall (between its announcement and the kill). */
  stalled: boolean;
  /** How this tab came by the pair it holds: the version, source and time (true ms) of its last `state-adopted` event. */
  adopted: { version: number; source: string; at: number } | null;
  /** When its last freeze began and ended (true ms; null: never resumed from one): see checkRefreshAge. */
  lastFreeze: { from: number; to: number | null } | null;
  /** When it last woke (resumed, or came back online: the client's wake), true ms; see checkRefreshAge. */
  lastWakeAt: number | null;
}

/** A family's newest pair: when it was minted (true time), by which tab, with what wall clock, and its predecessor's replacement. */
export interface FamilyHead {
  mintedAt: number;
  /** The age at which the pair before it was replaced, if early (younger than a quarter of its lifetime). */
  earlyAge: number | null;
  /** That early replacement was one the clocks explain (see checkRefreshAge). */
  earlyClockExplained: boolean;
  /** The tab whose refresh or sign-in minted it, and how far that tab's wall clock was off the true time when it stamped the pair (ChaosWorld.skewOf). */
  maker: string | null;
  makerClockMs: number;
}

/** What the next refresh request to reach the server sets off in the tab that sent it. */
export type InFlightFault = { kind: 'kill' } | { kind: 'close' } | { kind: 'dispose' } | { kind: 'remount'; afterMs: number };

/**
 * A user's sign-in or sign-out, in call order. The last one that resolved is what every tab and storage must end on
 * (a refresh that started before it never wins over it).
 */
export interface UserAction {
  kind: 'sign-in' | 'sign-out';
  tab: string;
  /** Simulated ms from the start of the run. */
  at: number;
  /** The family a sign-in started. */
  family: string | null;
  /** The tab's storage writes were throwing when the user acted (the call may then reject: it could not take effect). */
  writesFailing: boolean;
  outcome: 'pending' | 'resolved' | 'rejected';
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
  /** Storage faults set by 'storage-faults' steps, per tab. */
  readonly stepStorageFaults = new Map<string, StorageFaults>();
  /** Tabs whose writes throw for a sign-in or sign-out racing a refresh. */
  readonly signingFaulted = new Set<string>();
  messageFaults: MessageFaults = { drop: 0, duplicate: 0, delayMs: 0 };
  inFlightArmed: InFlightFault | null = null;
  signingArmed: Extract<ChaosStep, { do: 'sign-racing-refresh' }> | null = null;
  /** Wall-clock jump of every tab (ms off the true time). */
  clockJumpMs = 0;
  /** Per-tab skew from 'skew' steps. */
  readonly tabSkewMs = new Map<string, number>();
  /** The leader whose clock a 'skew-leader' step moved, and by how much. */
  leaderSkew: { tab: string; ms: number } | null = null;
  /** The smallest forged version injected so far (null: none). */
  forgedVersion: number | null = null;
  readonly userActions: UserAction[] = [];
  /** Per family: its newest pair (see FamilyHead). */
  readonly families = new Map<string, FamilyHead>();
  /** The tab whose request the server is processing (its fetch call is synchronous up to the rotation). */
  requestingTab: string | null = null;
  /** The family head the server's last rotation made (its maker's clock is taken again when the answer arrives). */
  lastMinted: FamilyHead | null = null;
  /** Each tab's last refresh request over the channel (its version, true ms), and the pairs tabs got without an age. */
  readonly refreshRequests = new Map<string, { version: number; at: number }>();
  readonly agelessStates = new Set<string>();
  /**
   * Early rotations the clocks explain (see checkRefreshAge), and the seeds' would-be storms among them: counted apart
   * from refresh-storm, printed by the run and kept in the JSON report.
   */
  clockExplained = { early: 0, inARow: [] as string[] };
  /** Per family: the last time the app reported a 401 (a `refresh({ rejectedVersion })` call). */
  readonly appRejections = new Map<string, number>();
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
    this.applyMessageFaults();
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

  /** Sets the network's faults; its hooks also note what checkRefreshAge needs of the messages delivered (see `observe`). */
  applyMessageFaults(): void {
    const { drop, duplicate, delayMs } = this.messageFaults;
    this.sim.network.setFaults({
      drop: (from, to, message) => {
        const dropped = drop > 0 && this.faultRandom() < drop;
        if (!dropped) this.observe(from, to, message);
        return dropped;
      },
      duplicate: () => duplicate > 0 && this.faultRandom() < duplicate,
      extraDelayMs: () => (delayMs > 0 ? Math.floor(this.faultRandom() * delayMs) : 0),
    });
  }

  /** A message that will reach `to`: a follower's refresh request, or a pair sent without an age (an estimate resent). */
  private observe(from: string, to: string, message: unknown): void {
    const sent = message as { type?: unknown; version?: unknown; state?: { version?: unknown }; ageMs?: unknown };
    if (sent.type === 'refresh-request' && typeof sent.version === 'number') this.refreshRequests.set(from, { version: sent.version, at: this.elapsed() });
    if (sent.type === 'state' && sent.ageMs === undefined && typeof sent.state?.version === 'number') this.agelessStates.add(`${to}:${sent.state.version}`);
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

  /** The stored record as a reload would read it: null for nothing stored and for a record the core calls corrupted. */
  async readStored(): Promise<StoredAuthState | null> {
    try {
      return validateStoredState(await this.sim.storage.get(STATE_KEY));
    } catch {
      return null;
    }
  }

  /** The named tab if it is alive and not on its way out (a close or dispose under way). */
  live(name: string): TabRecord | undefined {
    const record = this.records.get(name);
    return record && record.tab.alive && !record.closing ? record : undefined;
  }

  /**
   * Without Web Locks: some tab's refresh request is out while that tab no longer leads (it was unmounted, mounted
   * again as a follower, or is closing). The next leader must be able to take the storage lease then (see
   * handsOnToUnleasedLeader in tabs.ts).
   */
  orphanedRequestOut(): boolean {
    return (
      this.config.locks === 'lease' &&
      [...this.records.values()].some(
        (record) => record.inFlight > 0 && record.tab.alive && (!record.tab.mounted || record.closing || !record.tab.client.getSnapshot().isLeader),
      )
    );
  }

  /** The records of live tabs, checked one by one as the iteration reaches them. */
  *liveRecords(): Generator<TabRecord> {
    for (const record of this.records.values()) if (record.tab.alive) yield record;
  }

  setOnline(record: TabRecord): void {
    const online = !this.globalOffline && !this.tabOffline.has(record.tab.name);
    if (online && !record.tab.environment.isOnline()) record.lastWakeAt = this.elapsed();
    record.tab.environment.setOnline(online);
  }

  /** How far the tab's wall clock is off the true time: the jump every tab shares, its own skew, a leader's skew. */
  skewOf(name: string): number {
    const leader = this.leaderSkew?.tab === name ? this.leaderSkew.ms : 0;
    return this.clockJumpMs + (this.tabSkewMs.get(name) ?? 0) + leader;
  }

  /** Freezes the page, noting when (checkRefreshAge tells a message that waited through the freeze by it). */
  freeze(record: TabRecord): void {
    record.tab.freeze();
    record.lastFreeze = { from: this.elapsed(), to: null };
  }

  /** Noted first: the tab may start its refresh on the spot. */
  resume(record: TabRecord): void {
    if (record.lastFreeze) record.lastFreeze.to = this.elapsed();
    record.lastWakeAt = this.elapsed();
    record.tab.resume();
  }

  applySkew(record: TabRecord): void {
    record.tab.setSkewMs(this.skewOf(record.tab.name));
  }

  /** The tab's storage faults: a 'storage-faults' step's, plus throwing writes while it signs in or out racing a refresh. */
  applyStorageFaults(record: TabRecord): void {
    const name = record.tab.name;
    const faults: StorageFaults = { ...this.stepStorageFaults.get(name) };
    if (this.signingFaulted.has(name)) faults.writes = 'throw';
    if (faults.writes) this.writeFaulted.add(name);
    else this.writeFaulted.delete(name);
    // A kill-after-announce holds the tab's writes back from its announcement until it dies (or the stall is lifted);
    // not a write fault for the steps that look for a tab that can write (it is about to die).
    if (record.stalled) faults.writes = 'stall';
    record.tab.setStorageFaults(faults.writes || faults.reads ? faults : null);
  }

  /** Whether a storage lease (browsers without Web Locks) is held right now: some tab is inside a refresh. */
  async leaseHeld(): Promise<boolean> {
    return this.config.locks === 'lease' && (await this.sim.storage.get(LEASE_KEY)) !== undefined;
  }
}
