/**
 * The invariants a chaos run checks, each where it can be decided: a tab's state changes and sign-outs as they
 * happen, the server's reuse detection the moment it fires, failed token calls, closed tabs, and convergence after
 * the quiet tail. The token-leak search ('secret-leaked') is in leakCheck.ts.
 */
import { AuthError } from '../../src/core';
import { decodeJwtClaims } from '../../src/core/jwt';
import { validateStoredState } from '../../src/core/storedRecord';
import { convergenceBoundMs } from './schedule';
import { STATE_KEY, type ChaosWorld, type FamilyHead, type TabRecord, type UserAction } from './world';

export type InvariantName =
  | 'refresh-token-reused'
  | 'family-revoked'
  | 'signed-out-while-valid'
  | 'version-went-backwards'
  | 'unexpected-error'
  | 'no-convergence'
  | 'leaked-timers-or-listeners'
  | 'secret-leaked'
  | 'crash'
  /** A user's sign-in or sign-out resolved, yet the tabs ended on the state it replaced (a refresh won over it). */
  | 'user-action-lost'
  /** A tab adopted a forged version near Number.MAX_SAFE_INTEGER (it could never take a real pair again), or storage kept it. */
  | 'stuck-by-forged-version'
  /** A tab's client scheduled a timer with a NaN or infinite delay. */
  | 'timer-not-finite'
  /** getAccessToken() or refresh() resolved with an access token the server calls expired. */
  | 'expired-token-returned'
  /**
   * Two rotations in a row of one family, each of a pair younger than a quarter of its lifetime, with no 401 reported
   * by the app in between: a tab whose clock disagrees keeps asking for pairs it thinks are due.
   */
  | 'refresh-storm';

export interface Violation {
  invariant: InvariantName;
  /** Simulated ms from the start of the run. */
  at: number;
  /** Index of the last step applied when it was detected (-1: setup; steps.length: the quiet tail). */
  step: number;
  detail: string;
}

/** Errors a token call may end with under faults; anything else (invalid_grant above all) is a violation. */
const EXPECTED_ERRORS = new Set(['transient_refresh_failure', 'refresh_timeout', 'malformed_token_response', 'disposed', 'signed_out']);

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** version-went-backwards on every change of a tab's state; signed-out-while-valid where a tab decides a sign-out. */
export function watchTab(world: ChaosWorld, record: TabRecord): void {
  const { tab } = record;
  let forgedAdopted = false;
  tab.client.subscribe(() => {
    const snapshot = tab.client.getSnapshot();
    if (snapshot.version < record.lastVersion) world.violate('version-went-backwards', `${tab.name}: ${record.lastVersion} -> ${snapshot.version}`);
    // Every real version is far below a forged one: a tab that takes the forged version refuses every real pair after it.
    if (!forgedAdopted && world.forgedVersion !== null && snapshot.version >= world.forgedVersion) {
      forgedAdopted = true;
      world.violate('stuck-by-forged-version', `${tab.name} adopted forged version ${snapshot.version} (${snapshot.status})`);
    }
    record.lastVersion = Math.max(record.lastVersion, snapshot.version);
    if (snapshot.status === 'authenticated') record.everAuthenticated = true;
    if (snapshot.tokens) record.family = world.familyOf(snapshot.tokens.accessToken);
  });
  tab.client.on((event) => {
    world.options.log?.(`${String(world.elapsed()).padStart(7)} ${tab.name} ${JSON.stringify(event)}`);
    if (event.type === 'state-adopted') record.adopted = { version: event.version, source: event.source, at: world.elapsed() };
    if (event.type === 'signed-out' && event.source === 'this-tab' && (event.reason !== 'user' || world.userSignOuts === 0)) {
      // Legitimate only when the family the tab held is gone: revoked by a user's sign-out (or, in the
      // 'everything' profile, by reuse detection, which is its own violation in the recoverable profile). Checked
      // where the sign-out is decided; tabs that adopt it from another tab or from storage follow that decision.
      const family = record.family;
      const valid = family !== null && world.server.isFamilyValid(family);
      if (valid || (world.config.profile === 'recoverable' && (family === null || !world.revokedByUser.has(family)))) {
        world.violate('signed-out-while-valid', `${tab.name}: reason ${event.reason}, family ${valid ? 'valid' : 'revoked'}`);
      }
    }
  });
}

/**
 * refresh-token-reused and family-revoked (recoverable profile), reported the moment the server sees them: the step
 * that caused them is the one being applied. Also notes the families users revoked, which later checks allow for.
 */
export function watchServer(world: ChaosWorld): void {
  const { config, server } = world;
  let previousServerEvent = '';
  server.on((event) => {
    world.options.log?.(`${String(world.elapsed()).padStart(7)} server ${JSON.stringify(event)}`);
    if (event.type === 'revoked' && previousServerEvent === 'revocation' && event.familyId) world.revokedByUser.add(event.familyId);
    if (event.type === 'refresh' && event.familyId) checkRefreshAge(world, event.familyId, event.at);
    if (config.profile === 'recoverable') {
      if (event.type === 'reuse')
        world.violate('refresh-token-reused', `the server received a used refresh token (family ${event.familyId}, generation ${event.generation})`);
      // A family revoked by the revocation endpoint (a sign-out with revoke) is expected; by reuse detection it is not.
      if (event.type === 'revoked' && previousServerEvent !== 'revocation')
        world.violate('family-revoked', `family ${event.familyId} revoked after ${previousServerEvent}`);
    }
    previousServerEvent = event.type;
  });
}

/**
 * refresh-storm (recoverable profile): a rotation replaces a pair younger than a quarter of its lifetime, with no 401
 * reported by the app since that pair was minted, twice in a row. Proactive refreshes come at half the lifetime or
 * later; one early rotation is allowed for a tab that had not heard of the newest pair.
 *
 * Two in a row are not counted when the clocks explain each (see clocksExplain): the tab whose estimate set the
 * rotation off could only estimate the pair's age (read from storage, a message without an age, one that waited
 * through its freeze) or had woken since it took the pair, and the wall clocks, the maker's when it stamped the pair
 * and that tab's now, made the pair due (or, for the queued message, put it in the future, so the client counted the
 * whole freeze); that tab is the rotating one, or a follower the leader refreshed for while its own estimate could not
 * vouch for the pair. The offsets are each tab's own skew and the jumps of every clock. One early rotation without
 * that explanation next to one with it still counts (a leader that refreshed a pair it could have vouched for, then a
 * skewed tab: seed 7689).
 *
 * Why the client cannot do better there: the tabs of one browser read one system clock, and a wall clock that says a
 * pair is older than the page clock says is, in a real browser, also what a tab sees after system sleep (its
 * monotonic clock, hence its page clock, stopped; the wall clock is right and trusting the page clock would hand out
 * a token the server expired). A clock set forward, per-tab skew (the issue's own fault kind; its bar: a tab whose
 * clock disagrees causes at most one refresh per version) and sleep read the same, so the older reading is the one
 * kept (Freshness.storedAge, Freshness.clocksAge): one early refresh per version and clock event, under the lock. A
 * peer's measure corrects the estimate when one is there to give it (the age query and the leader's confirmation);
 * these rotations come when none is (the maker gone, the messages lost). They are counted in `world.clockExplained`
 * and printed apart.
 */
function checkRefreshAge(world: ChaosWorld, familyId: string, at: number): void {
  const family = world.families.get(familyId);
  if (!family) return;
  const age = at - family.mintedAt;
  const earlyBelowMs = (world.config.ttlSeconds * 1000) / 4;
  const reported = (world.appRejections.get(familyId) ?? -Infinity) >= family.mintedAt;
  const early = age < earlyBelowMs && !reported;
  const rotator = world.requestingTab;
  const clockExplained = early && rotator !== null && family.maker !== null && clocksExplain(world, rotator, family, age, earlyBelowMs);
  if (clockExplained) world.clockExplained.early++;
  if (clockExplained && family.earlyAge !== null && family.earlyClockExplained) {
    world.clockExplained.inARow.push(`family ${familyId} at ${Math.round(world.elapsed())} ms`);
  } else if (early && family.earlyAge !== null && world.config.profile === 'recoverable') {
    world.violate(
      'refresh-storm',
      `family ${familyId} rotated twice in a row at pair ages ${Math.round(family.earlyAge)} ms and ${Math.round(age)} ms (lifetime ${world.config.ttlSeconds} s), no 401 reported`,
    );
  }
  world.lastMinted = {
    mintedAt: at,
    earlyAge: early ? age : null,
    earlyClockExplained: clockExplained,
    maker: rotator,
    makerClockMs: rotator === null ? 0 : world.skewOf(rotator),
  };
  world.families.set(familyId, world.lastMinted);
}

/** Freshness's thaw window: a message adopted this soon after a resume may have waited through the freeze. */
const THAW_MS = 250;

/**
 * Whether the clocks explain a rotation (see checkRefreshAge): the rotating tab's own estimate made the pair due, or
 * it led and refreshed for a follower whose estimate did while its own estimate could not vouch for the pair (the
 * leader answers with the pair instead only when it measured its age or both its clocks date it: LeaderDuties.answer).
 */
function clocksExplain(world: ChaosWorld, rotator: string, family: FamilyHead, age: number, earlyBelowMs: number): boolean {
  if (estimateMadeDue(world, rotator, family, age, earlyBelowMs)) return true;
  const leader = world.records.get(rotator);
  if (!leader || estimateOf(world, leader) === null) return false;
  const leaderWallAge = wallAge(world, rotator, family, age);
  if (leaderWallAge >= 0 && leaderWallAge < earlyBelowMs) return false; // its wall clock dated the pair fresh
  const version = leader.tab.client.getSnapshot().version;
  for (const [name, request] of world.refreshRequests) {
    if (name === rotator || request.version !== version || request.at < family.mintedAt - world.start) continue;
    if (world.records.get(name)?.tab.client.getSnapshot().version === version && estimateMadeDue(world, name, family, age, earlyBelowMs)) return true;
  }
  return false;
}

/**
 * How `record`'s tab came by the pair it holds when that is an estimate of its age: 'stored' (read from storage, or
 * from a message without an age: a resent estimate), 'queued' (a message that waited through its freeze); else null.
 */
function estimateOf(world: ChaosWorld, record: TabRecord): 'stored' | 'queued' | null {
  const adopted = record.adopted;
  if (!adopted || adopted.version !== record.tab.client.getSnapshot().version) return null;
  if (adopted.source === 'storage' || (adopted.source === 'channel' && world.agelessStates.has(`${record.tab.name}:${adopted.version}`))) return 'stored';
  const freeze = record.lastFreeze;
  const queued = adopted.source === 'channel' && freeze?.to != null && adopted.at >= freeze.to && adopted.at - freeze.to <= THAW_MS;
  return queued ? 'queued' : null;
}

/** The pair's age by `name`'s wall clock now against its maker's when it stamped the pair (each off the true time). */
function wallAge(world: ChaosWorld, name: string, family: FamilyHead, age: number): number {
  return age + world.skewOf(name) - family.makerClockMs;
}

/** Whether `name`'s tab, by its estimate of the pair's age and the clocks it had, took the pair as due. */
function estimateMadeDue(world: ChaosWorld, name: string, family: FamilyHead, age: number, earlyBelowMs: number): boolean {
  const record = world.records.get(name);
  if (!record) return false;
  const byWall = wallAge(world, name, family, age);
  // A tab that woke since it took the pair (or made it) believes the wall clock if it says older (Freshness.rebase):
  // after system sleep its monotonic measure is short by the sleep. Its own pair too.
  const tookAt = name === family.maker ? family.mintedAt - world.start : record.adopted?.at; // ms from the start, like lastWakeAt
  if (record.lastWakeAt !== null && tookAt !== undefined && record.lastWakeAt >= tookAt && byWall >= earlyBelowMs) return true;
  if (name === family.maker) return false;
  const estimate = estimateOf(world, record);
  if (estimate === 'stored') return byWall >= earlyBelowMs;
  // The client bounds a queued message's age by the freeze, so the freeze was that long too.
  const freeze = record.lastFreeze;
  return estimate === 'queued' && freeze!.to! - freeze!.from >= earlyBelowMs && (byWall >= earlyBelowMs || byWall < 0);
}

/** unexpected-error and signed-out-while-valid for a token call that failed with `code`. */
export function checkTokenCallFailure(world: ChaosWorld, record: TabRecord, kind: string, code: string, error: unknown): void {
  const { config } = world;
  // A rejected token surfaces as an OAuthError: expected for a family the user revoked, and beyond the
  // recoverable envelope (after reuse); nothing else may.
  const revokedFamily = record.family !== null && world.revokedByUser.has(record.family);
  if (!EXPECTED_ERRORS.has(code) && !(code === 'oauth_error' && (config.profile === 'everything' || revokedFamily))) {
    world.violate('unexpected-error', `${record.tab.name} ${kind}: ${code}${error instanceof Error ? ` (${error.name}: ${error.message})` : ''}`);
  }
  // Signed out with no user sign-out: wrong once a user has signed in (before that, signed out is the truth). A tab
  // that never held a pair may not have heard of the session yet: its storage may hold nothing it can read (a forged
  // record), and the answers to its question to the other tabs may be lost. It must still end on the newest pair
  // (no-convergence).
  const signedIn = world.userActions.some((action) => action.kind === 'sign-in');
  const unheard = !record.everAuthenticated;
  if (code === 'signed_out' && signedIn && !unheard && world.userSignOuts === 0 && config.profile === 'recoverable') {
    world.violate('signed-out-while-valid', `${record.tab.name} ${kind}: SignedOutError without a user sign-out`);
  }
}

/**
 * crash for a sign-in or sign-out that rejected with anything but 'disposed' (its tab closed meanwhile), or, when the
 * tab's writes were failing, a typed AuthError (the action could not take effect and says so).
 */
export function checkUserActionFailure(world: ChaosWorld, action: UserAction, error: unknown): void {
  const typed = error instanceof AuthError && (error.code === 'disposed' || action.writesFailing);
  if (!typed) world.violate('crash', `${action.tab} ${action.kind} rejected: ${describeError(error)}`);
}

/** expired-token-returned: the token a call resolved with, judged by the server at the moment the app gets it. */
export function checkReturnedToken(world: ChaosWorld, record: TabRecord, kind: string, accessToken: string): void {
  const validation = world.server.validateAccessToken(accessToken);
  if (validation.reason !== 'expired' || record.expiredTokenReported) return;
  record.expiredTokenReported = true; // once per tab: the calls after it are the same fault
  let ago = '';
  try {
    const { exp } = decodeJwtClaims(accessToken) as { exp?: unknown };
    if (typeof exp === 'number') ago = ` ${Math.round(world.clock.now() - exp * 1000)} ms ago`;
  } catch {
    // opaque token: no expiry to show
  }
  world.violate(
    'expired-token-returned',
    `${record.tab.name} ${kind}: resolved with an access token the server says expired${ago} (tab wall clock ${world.skewOf(record.tab.name)} ms off; the tab holds v${record.tab.client.getSnapshot().version}${(record.tab.client.getSnapshot() as { expired?: boolean }).expired ? ', which it knows is expired' : ''})`,
  );
}

/** timer-not-finite: every delay a tab passed to setTimeout that is NaN or infinite, reported once. */
export function checkTimers(world: ChaosWorld): void {
  for (const record of world.records.values()) {
    const delays = record.tab.nonFiniteTimerDelays();
    if (delays.length <= record.nonFiniteTimers) continue;
    world.violate('timer-not-finite', `${record.tab.name}: ${delays.length - record.nonFiniteTimers} timer(s) scheduled with delay ${String(delays.at(-1))}`);
    record.nonFiniteTimers = delays.length;
  }
}

/**
 * user-action-lost (recoverable profile, after the quiet tail): the last sign-in or sign-out that resolved is what
 * storage and every live tab hold. A refresh that started before it must never win over it, nor an earlier sign-in
 * or sign-out, even one that could not be written and claimed a version epoch (Fix #9.15: until then an unwritable
 * sign-out was allowed to win over a later sign-in). When a later action is still pending or rejected (it could not
 * take effect and said so), there is nothing to decide.
 */
export async function checkUserActionsWon(world: ChaosWorld): Promise<void> {
  const actions = world.userActions;
  const last = actions.at(-1);
  if (!last || last.outcome !== 'resolved') return;
  const stored = await world.readStored();
  const tabs = [...world.liveRecords()].map((record) => ({ name: record.tab.name, snapshot: record.tab.client.getSnapshot() }));
  const what = `${last.kind} in ${last.tab} at ${last.at} ms resolved`;
  if (last.kind === 'sign-out') {
    const signedIn = tabs.filter((tab) => tab.snapshot.status === 'authenticated').map((tab) => tab.name);
    if (stored?.tokens || signedIn.length > 0) {
      world.violate(
        'user-action-lost',
        `${what}, yet ${stored?.tokens ? `storage holds a pair (v${stored.version})` : 'storage is signed out'} and ${signedIn.length} tab(s) are signed in`,
      );
    }
    return;
  }
  const storedFamily = world.familyOf(stored?.tokens?.accessToken);
  const others = tabs.filter((tab) => world.familyOf(tab.snapshot.tokens?.accessToken) !== last.family).map((tab) => `${tab.name} (${tab.snapshot.status})`);
  if (storedFamily !== last.family || others.length > 0) {
    world.violate(
      'user-action-lost',
      `${what}, yet storage holds ${stored?.tokens ? (storedFamily === last.family ? 'its pair' : 'another family') : 'no pair'} and ${others.length} tab(s) hold something else: ${others.join(', ')}`,
    );
  }
}

/**
 * stuck-by-forged-version after the quiet tail: a forged record may stay in storage only as what the core reads as
 * corrupted (ignored; the next real write replaces it). One the core would load leaves every new tab stuck above the
 * real versions.
 */
export async function checkForgedVersionGone(world: ChaosWorld): Promise<void> {
  if (world.forgedVersion === null) return;
  const raw = (await world.sim.storage.get(STATE_KEY)) as { version?: unknown } | undefined;
  if (typeof raw?.version !== 'number' || raw.version < world.forgedVersion) return;
  let loaded = true;
  try {
    validateStoredState(raw);
  } catch {
    loaded = false;
  }
  if (loaded) world.violate('stuck-by-forged-version', `storage holds forged version ${raw.version} after the quiet tail, and a reload would take it`);
}

/** leaked-timers-or-listeners for a tab that was just closed. */
export async function checkClosedTab(world: ChaosWorld, record: TabRecord): Promise<void> {
  await world.sim.settle();
  // A revocation in flight is allowed to finish after dispose (best effort, bounded by its request timeout): its
  // timeout timer is the only one a closed tab may still have.
  const timers = record.tab.pendingTimers() - record.revoking;
  const listeners = record.tab.environment.listenerCount();
  if (timers > 0 || listeners > 0) world.violate('leaked-timers-or-listeners', `${record.tab.name} after close: ${timers} timers, ${listeners} listeners`);
}

/** leaked-timers-or-listeners once every tab is closed: no channel open, no timer left when their timeouts ran out. */
export async function checkEverythingReleased(world: ChaosWorld): Promise<void> {
  const { sim, clock } = world;
  if (sim.network.openChannels() !== 0) world.violate('leaked-timers-or-listeners', `${sim.network.openChannels()} channels open after every tab closed`);
  // What is left outside the tabs (message deliveries, answers on their way, revocation timeouts) runs out; a killed
  // tab's timers went with it.
  await sim.advance(15 * 60_000);
  if (clock.pendingTimers() !== 0) world.violate('leaked-timers-or-listeners', `${clock.pendingTimers()} timers still pending 15 min after every tab closed`);
}

/** Null when every live tab and storage agree on the newest state; otherwise the class of the divergence. */
export async function divergence(world: ChaosWorld): Promise<string | null> {
  const tabs = [...world.liveRecords()].map((record) => record.tab.client.getSnapshot());
  const stored = await world.readStored();
  if (!stored?.tokens) {
    // Signed out: there is no pair to hold. A signed-out tab whose version lags (it missed a tombstone while it
    // was signed out already) is harmless: every write goes above the stored version.
    return tabs.every((snapshot) => snapshot.status === 'signed-out') ? null : 'tab-holds-pair-after-sign-out';
  }
  if (world.config.profile === 'recoverable' && !world.isNewest(stored)) return 'storage-not-newest';
  for (const snapshot of tabs) {
    if (snapshot.version !== stored.version) return snapshot.version < stored.version ? 'tab-behind-storage' : 'tab-ahead-of-storage';
    if (snapshot.status !== 'authenticated') return 'tab-signed-out-storage-signed-in';
    if (snapshot.tokens?.refreshToken !== stored.tokens.refreshToken) return 'tab-differs-from-storage';
    if (!world.server.validateAccessToken(snapshot.tokens.accessToken).valid) return 'access-token-invalid';
  }
  return null;
}

/** The detail of a no-convergence violation: the divergence's class first (shrinking keeps it), then every tab. */
export async function describeDivergence(world: ChaosWorld): Promise<string> {
  const stored = await world.readStored();
  const tabs = [...world.liveRecords()].map((record) => {
    const snapshot = record.tab.client.getSnapshot();
    const validation = snapshot.tokens ? world.server.validateAccessToken(snapshot.tokens.accessToken) : null;
    return `${record.tab.name}: v${snapshot.version} ${snapshot.status}${validation ? ` newest=${validation.newest} valid=${validation.valid}${validation.reason ? `(${validation.reason})` : ''}` : ''}${snapshot.isLeader ? ' leader' : ''}${snapshot.error ? ` error=${snapshot.error.code}` : ''}`;
  });
  return `${await divergence(world)}: not converged ${convergenceBoundMs(world.config) / 1000} s after the faults stopped; stored v${stored?.version ?? 0}${stored ? (stored.tokens ? ` newest=${world.isNewest(stored)}` : ' signed-out') : ''}; ${tabs.join('; ')}`;
}
