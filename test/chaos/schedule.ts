/**
 * What a chaos run does, generated from its seed: the configuration (storage, locks, timings, which faults may occur)
 * and the schedule of steps over simulated time.
 *
 * Profiles:
 * - 'recoverable' (the invariant runs): every fault a client can survive on its own.
 *   - No lost responses: a tab is never killed or closed while it is the only durable holder of a rotation the server
 *     already performed (its refresh in flight, or its new pair neither in storage nor held by another live tab that
 *     can write storage); injected failures never
 *     rotate (a 'mistyped' answer does rotate: it carries the new pair); answers are never slower than the request
 *     timeout. In each of those the server rotated and no client can know the new refresh token. (A pair held only
 *     in the memory of tabs whose writes fail survives only if the next leader hears of it; with lost messages it
 *     does not.) The same holds for a user's sign-in or sign-out that only the dying tab holds.
 *   - A client disposed (the page staying open until `dispose()` resolves) or unmounted while its refresh request is
 *     at the server is recoverable (issue #9: a sent request is never abandoned, `dispose()` resolves once its
 *     rotation is stored), unless the tab cannot write storage: then the pair would live only in its memory and its
 *     last message. A closed page cannot wait for the answer: closing one mid-refresh is a lost response. Without Web
 *     Locks, such an unmount hands leadership on while the request is still out, so a lease seed's tab is not
 *     unmounted (or disposed) mid-refresh while another tab's writes fail (that tab could lead without the lease).
 *   - Realistic lock/election pairs: with Web Locks the election is a lock too, so there are never two leaders; without
 *     them (the storage lease) the message election can produce duplicate leaders, and the lease itself lives in
 *     storage. A seed of the lease configuration gets either forced duplicate leaders or storage write failures, not
 *     both: a tab that cannot write storage cannot take the lease, runs its refresh under leadership alone (a
 *     deliberate liveness choice of the core), and a second leader can then race it.
 *   - Clock skew between tabs stays below 4 s in the lease configuration. The lease compares an expiry written with
 *     the holder's clock against the reader's clock; a skew larger than the lease's margin (ttl = request timeout
 *     + 10 s, minus one attempt of at most the request timeout) lets a second leader take a live lease. Tabs of one
 *     browser share one clock, so this skew is artificial; a wall-clock jump of that size during a refresh has the
 *     same effect (documented in docs/chaos.md). Web Locks involve no clock: skew up to 60 s there, and leaders
 *     skewed by hours. Wall-clock jumps of every tab (hours back or forward) happen in both configurations; with the
 *     lease, never while a lease record is in storage (that is, never during a refresh).
 *   - Storage faults are writes that throw (quota, aborted transactions). Reads that throw or come back empty make the
 *     re-read inside the lock blind; they belong to the degraded-browser tests and the 'everything' profile.
 * - 'everything': all of the above without the restrictions: kills in flight, failures with `rotate: true`, read
 *   faults, duplicate leaders together with storage faults, a server grace period. Reuse is expected there (that is
 *   what docs/chaos.md measures); the safety invariants that remain are checked: no token string leaks, versions never
 *   go backwards, no crash, no unexpected error type, no leaked timers or listeners.
 */
import { MISTYPED_FIELDS, type MistypedField, type MockFailureKind } from '../../src/testing';
import { seededRandom } from '../sim/helpers';

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
  /** `field`: for kind 'mistyped' (a rotated 200 with one mistyped optional field), which field. */
  | { at: number; do: 'server-failures'; kind: ServerFailureKind; count: number; rotate?: boolean; field?: MistypedField }
  | { at: number; do: 'server-latency'; ms: number }
  | { at: number; do: 'message-faults'; drop: number; duplicate: number; delayMs: number }
  | { at: number; do: 'skew'; tab: string; ms: number }
  /** Every tab's wall clock (and that of any tab opened meanwhile) jumps to `ms` off the true time; 0 ends it. */
  | { at: number; do: 'clock-jump'; ms: number }
  /** The current leader's wall clock alone is `ms` off (hours); 0 puts that tab's clock back. */
  | { at: number; do: 'skew-leader'; ms: number }
  /**
   * A state with a version near Number.MAX_SAFE_INTEGER (or 2^53) appears: posted on the channel by a sender that is
   * no tab, or written to storage as a corrupted record. 'pair': a copy of the stored pair; 'signed-out': a tombstone.
   * Over storage, recoverable profile: only while every live tab holds the stored record (else it is data loss).
   */
  | { at: number; do: 'forge-version'; via: 'channel' | 'storage'; version: number; content: 'pair' | 'signed-out' }
  /**
   * A user's sign-out (or sign-in as another user) in `tab` under write faults, racing a refresh of another tab: when
   * the next refresh request reaches the server, `tab`'s storage writes start throwing, the action is taken 1 ms
   * before the answer reaches the refreshing tab, and writes work again `faultMs` later.
   */
  | { at: number; do: 'sign-racing-refresh'; tab: string; action: 'sign-out' | 'sign-in'; revoke: boolean; faultMs: number }
  | { at: number; do: 'force-leader'; tab: string }
  | { at: number; do: 'storage-faults'; tab: string; writes?: 'throw'; reads?: 'throw' | 'empty' }
  | { at: number; do: 'get-token'; tab: string }
  | { at: number; do: 'refresh-401'; tab: string }
  | { at: number; do: 'sign-in'; tab: string }
  | { at: number; do: 'sign-out'; tab: string; revoke: boolean }
  /** 'everything' profile only: kills the tab whose refresh request the server processes next, before it sees the answer. */
  | { at: number; do: 'kill-in-flight' }
  /** 'everything' profile only: like kill-in-flight, but the page closes cleanly (unmount + dispose) instead. */
  | { at: number; do: 'close-in-flight' }
  /**
   * Like close-in-flight, but the app disposes the client and the page stays open until `dispose()` resolves (the
   * `options` form of AuthProvider unmounting, `<Activity>` hidden): recoverable since issue #9.
   */
  | { at: number; do: 'dispose-in-flight' }
  /**
   * The client of the tab whose refresh request the server processes next unmounts (mount count 0) before it sees
   * the answer, and mounts again `afterMs` later (0: in the same task, as a new `key` on the AuthProvider does).
   */
  | { at: number; do: 'remount-in-flight'; afterMs: number }
  /**
   * The tab whose refresh the server rotates next dies after it announced the new pair and before its write lands
   * (its writes stall from the announcement on). Recoverable profile: only once another live tab that can write holds
   * the pair (the announcement arrived); if none does within 10 s, the write goes ahead and nobody dies.
   */
  | { at: number; do: 'kill-after-announce' };

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
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Wall-clock jumps of every tab: an NTP correction, a VM resumed, a user fixing the time zone by hand. */
const CLOCK_JUMPS = [-2 * HOUR, -HOUR, -10 * MINUTE, -61_000, 61_000, 10 * MINUTE, 55 * MINUTE, 2 * HOUR] as const;
/** Forged versions: the largest safe integer and its neighbours (where +1 loses precision), and 2^53 itself. */
const FORGED_VERSIONS = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER - 2, 2 ** 53, 2 ** 53 + 2] as const;

/** Generates the schedule of a seed. Fault starts come with their own end steps, so shrinking may drop either. */
export function generateSchedule(config: ChaosConfig): ChaosStep[] {
  const builder = new ScheduleBuilder(seededRandom(config.seed * 104729 + 3));
  const initial = builder.between(1, 6);
  for (let i = 0; i < initial; i++) builder.openTab(0);
  builder.steps.push({ at: 20, do: 'sign-in', tab: 'tab-1' });
  const choose = actionChooser(config, builder.random);
  for (let at = builder.between(500, 3_000); at < config.durationMs; at += builder.between(200, 6_000)) {
    const action = choose();
    addAction(config, builder, action, at, builder.someTab());
  }
  return builder.steps.sort((a, b) => a.at - b.at);
}

/** The generator's seeded stream, the steps so far and the tabs the schedule keeps open. */
class ScheduleBuilder {
  readonly random: () => number;
  readonly steps: ChaosStep[] = [];
  readonly alive: string[] = [];
  private opened = 0;

  constructor(random: () => number) {
    this.random = random;
  }

  between(low: number, high: number): number {
    return Math.floor(low + this.random() * (high - low));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)]!;
  }

  openTab(at: number): void {
    const tab = `tab-${++this.opened}`;
    this.alive.push(tab);
    this.steps.push({ at, do: 'open', tab });
  }

  someTab(): string {
    return this.alive.length > 0 ? this.alive[Math.floor(this.random() * this.alive.length)]! : 'tab-1';
  }
}

/** Picks the next action by weight; the weights depend on the faults the configuration allows. */
function actionChooser(config: ChaosConfig, random: () => number): () => string {
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
    ['kill-after-announce', 1.5],
  ];
  if (config.duplicateLeaders) weights.push(['force-leader', 2]);
  if (config.storageWriteFaults || config.storageReadFaults) weights.push(['storage-faults', 4]);
  // Issue #9: lifecycle, clocks and odd input.
  weights.push(['remount-in-flight', 1.5], ['dispose-in-flight', 1], ['mistyped-answers', 2], ['clock-jump', 1.5], ['forge-version', 1]);
  if (config.locks === 'web-locks' || config.profile === 'everything') weights.push(['skew-leader', 1]);
  if (config.storageWriteFaults) weights.push(['sign-racing-refresh', 1.2]);
  if (config.profile === 'everything') weights.push(['kill-in-flight', 1.5], ['close-in-flight', 0.5], ['rotating-failures', 3]);
  const totalWeight = weights.reduce((sum, [, weight]) => sum + weight, 0);
  return () => {
    let roll = random() * totalWeight;
    for (const [name, weight] of weights) if ((roll -= weight) < 0) return name;
    return weights[0]![0];
  };
}

/** Adds the steps of one action at `at` (with the step that ends it, for a fault). */
function addAction(config: ChaosConfig, builder: ScheduleBuilder, action: string, at: number, tab: string): void {
  const { steps, alive } = builder;
  switch (action) {
    case 'get-token':
    case 'refresh-401':
      steps.push({ at, do: action, tab });
      break;
    case 'open':
      if (alive.length < MAX_TABS) builder.openTab(at);
      break;
    case 'close':
    case 'kill':
      if (alive.length > 0) {
        alive.splice(alive.indexOf(tab), 1);
        steps.push({ at, do: action, tab });
      }
      if (alive.length === 0 || builder.chance(0.5)) builder.openTab(at + builder.between(100, 5_000));
      break;
    case 'freeze':
      // Mostly under a minute (a throttled background tab), sometimes for minutes (a sleeping laptop).
      steps.push(
        { at, do: 'freeze', tab },
        { at: at + (builder.chance(0.7) ? builder.between(2_000, 60_000) : builder.between(60_000, 300_000)), do: 'resume', tab },
      );
      break;
    case 'offline':
      steps.push({ at, do: 'offline', tab }, { at: at + builder.between(2_000, 120_000), do: 'online', tab });
      break;
    case 'global-offline':
      steps.push({ at, do: 'global-offline' }, { at: at + builder.between(2_000, 120_000), do: 'global-online' });
      break;
    case 'server-failures':
      steps.push({ at, do: 'server-failures', kind: builder.pick(FAILURE_KINDS), count: builder.between(1, 6) });
      break;
    case 'rotating-failures':
      steps.push({ at, do: 'server-failures', kind: builder.pick(FAILURE_KINDS), count: builder.between(1, 3), rotate: true });
      break;
    case 'mistyped-answers':
      steps.push({ at, do: 'server-failures', kind: 'mistyped', count: builder.between(1, 4), field: builder.pick(MISTYPED_FIELDS) });
      break;
    case 'clock-jump':
      steps.push({ at, do: 'clock-jump', ms: builder.pick(CLOCK_JUMPS) }, { at: at + builder.between(5_000, 300_000), do: 'clock-jump', ms: 0 });
      break;
    case 'skew-leader':
      steps.push(
        { at, do: 'skew-leader', ms: (builder.chance(0.5) ? -1 : 1) * builder.between(HOUR, 3 * HOUR) },
        { at: at + builder.between(5_000, 300_000), do: 'skew-leader', ms: 0 },
      );
      break;
    case 'forge-version':
      steps.push({
        at,
        do: 'forge-version',
        via: builder.chance(0.5) ? 'channel' : 'storage',
        version: builder.pick(FORGED_VERSIONS),
        content: builder.chance(0.7) ? 'pair' : 'signed-out',
      });
      break;
    case 'sign-racing-refresh': {
      const action = builder.chance(0.6) ? 'sign-out' : 'sign-in';
      steps.push({ at, do: 'sign-racing-refresh', tab, action, revoke: builder.chance(0.5), faultMs: builder.between(500, 30_000) });
      // After a sign-out the user signs in again, as after a plain sign-out.
      if (action === 'sign-out') steps.push({ at: at + builder.between(35_000, 60_000), do: 'sign-in', tab: builder.someTab() });
      break;
    }
    case 'remount-in-flight':
      // Mostly in the same task (a new key, HMR), sometimes later (a route change that mounts the provider again).
      steps.push({ at, do: 'remount-in-flight', afterMs: builder.chance(0.6) ? 0 : builder.between(1, 20_000) });
      break;
    case 'slow-server':
      // Slower than usual, but inside the request timeout: an answer the client gives up on is a lost response.
      steps.push(
        { at, do: 'server-latency', ms: builder.between(1_000, config.requestTimeoutMs - 1_000) },
        { at: at + builder.between(5_000, 120_000), do: 'server-latency', ms: config.latencyMs },
      );
      break;
    case 'message-faults':
      addMessageFaults(builder, at);
      break;
    case 'skew':
      steps.push(
        { at, do: 'skew', tab, ms: (builder.chance(0.5) ? -1 : 1) * builder.between(100, config.maxSkewMs) },
        { at: at + builder.between(5_000, 300_000), do: 'skew', tab, ms: 0 },
      );
      break;
    case 'force-leader':
      steps.push({ at, do: 'force-leader', tab });
      break;
    case 'storage-faults':
      addStorageFaults(config, builder, at, tab);
      break;
    case 'sign-out':
      steps.push({ at, do: 'sign-out', tab, revoke: builder.chance(0.5) }, { at: at + builder.between(1_000, 30_000), do: 'sign-in', tab: builder.someTab() });
      break;
    case 'kill-in-flight':
    case 'close-in-flight':
    case 'kill-after-announce':
    case 'dispose-in-flight':
      steps.push({ at, do: action });
      if (builder.chance(0.7)) builder.openTab(at + builder.between(100, 5_000));
      break;
  }
}

function addMessageFaults(builder: ScheduleBuilder, at: number): void {
  const lossy = builder.chance(0.3);
  builder.steps.push(
    {
      at,
      do: 'message-faults',
      drop: lossy ? 1 : Math.round(builder.random() * 50) / 100,
      duplicate: Math.round(builder.random() * 50) / 100,
      delayMs: builder.between(0, 3_000),
    },
    { at: at + builder.between(2_000, 120_000), do: 'message-faults', drop: 0, duplicate: 0, delayMs: 0 },
  );
}

function addStorageFaults(config: ChaosConfig, builder: ScheduleBuilder, at: number, tab: string): void {
  const modes: Array<{ writes?: 'throw'; reads?: 'throw' | 'empty' }> = [];
  if (config.storageWriteFaults) modes.push({ writes: 'throw' });
  if (config.storageReadFaults) modes.push({ reads: 'empty' }, { reads: 'throw', writes: 'throw' });
  const mode = builder.pick(modes);
  builder.steps.push({ at, do: 'storage-faults', tab, ...mode }, { at: at + builder.between(500, 60_000), do: 'storage-faults', tab });
}
