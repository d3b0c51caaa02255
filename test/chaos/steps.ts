/**
 * Applying one step of a schedule to a chaos run. Each step reports whether it did something: steps naming a tab
 * that is gone (or frozen, where the app would have to act), faults the configuration excludes, and kills refused in
 * the recoverable profile do not count as applied.
 */
import { PROTOCOL } from '../../src/core/coordination/tabMessages';
import type { StoredAuthState } from '../../src/core';
import { checkClosedTab } from './invariants';
import type { ChaosStep } from './schedule';
import { callToken, openTab } from './tabs';
import { userSignIn, userSignOut } from './userActions';
import { STATE_KEY, type ChaosWorld, type TabRecord } from './world';

type Step<K extends ChaosStep['do']> = Extract<ChaosStep, { do: K }>;

/** Applies one step; true when it did something. Only closing, killing and their checks need to wait. */
export function applyStep(world: ChaosWorld, step: ChaosStep): boolean | Promise<boolean> {
  switch (step.do) {
    case 'open':
      return open(world, step);
    case 'close':
    case 'kill':
      return closeOrKill(world, step);
    case 'freeze':
      return freeze(world, step);
    case 'resume':
      return resume(world, step);
    case 'offline':
    case 'online':
      return setTabOnline(world, step);
    case 'global-offline':
    case 'global-online':
      return setGlobalOnline(world, step);
    case 'server-failures':
      return injectServerFailures(world, step);
    case 'server-latency':
      return setServerLatency(world, step);
    case 'message-faults':
      return setMessageFaults(world, step);
    case 'skew':
      return skewClock(world, step);
    case 'force-leader':
      return forceLeader(world, step);
    case 'storage-faults':
      return setStorageFaults(world, step);
    case 'get-token':
    case 'refresh-401':
      return tokenCall(world, step);
    case 'sign-in':
      return signIn(world, step);
    case 'sign-out':
      return signOut(world, step);
    case 'kill-in-flight':
    case 'close-in-flight':
    case 'dispose-in-flight':
    case 'remount-in-flight':
      return armInFlight(world, step);
    case 'kill-after-announce':
      world.killAfterAnnounceArmed = true;
      return true;
    case 'clock-jump':
      return jumpClocks(world, step);
    case 'skew-leader':
      return skewLeader(world, step);
    case 'forge-version':
      return forgeVersion(world, step);
    case 'sign-racing-refresh':
      return armSigning(world, step);
  }
}

function open(world: ChaosWorld, step: Step<'open'>): boolean {
  if (world.records.has(step.tab)) return false;
  openTab(world, step.tab);
  world.count('tab-open');
  return true;
}

async function closeOrKill(world: ChaosWorld, step: Step<'close' | 'kill'>): Promise<boolean> {
  const record = world.live(step.tab);
  if (!record) return false;
  if (await losesRotation(world, record)) {
    world.refusedLosingKills++;
    return false;
  }
  if (step.do === 'kill') {
    record.tab.kill();
    world.count('tab-kill');
  } else {
    record.closing = true;
    await record.tab.close();
    world.count('tab-close');
    await checkClosedTab(world, record);
  }
  return true;
}

/**
 * Recoverable profile: would losing this tab lose a rotation the server already performed? That is when the tab
 * has a refresh in flight (a closed page never sees its answer), or holds (or just received) the newest pair of its
 * family, and that pair is neither in storage nor held by another live tab that can write it there. (A pair kept only in the memory of tabs
 * whose storage writes fail, or of unmounted ones, is not durable: if the next leader misses the message, it starts
 * from the older record.) The same for a user's sign-out that only this tab holds.
 */
async function losesRotation(world: ChaosWorld, record: TabRecord): Promise<boolean> {
  if (world.config.profile !== 'recoverable') return false;
  const { server } = world;
  const snapshot = record.tab.client.getSnapshot();
  const own = snapshot.tokens?.accessToken;
  const families = new Set<string>();
  if (record.inFlight > 0 && world.familyOf(own)) families.add(world.familyOf(own)!);
  if (own && world.isNewest({ tokens: snapshot.tokens })) families.add(world.familyOf(own)!);
  if (record.lastResponse && server.validateAccessToken(record.lastResponse).newest) families.add(world.familyOf(record.lastResponse)!);
  const stored = await world.readStored();
  const others = [...world.records.values()]
    .filter((other) => other !== record && other.tab.alive && other.tab.mounted && !world.writeFaulted.has(other.tab.name))
    .map((other) => other.tab.client.getSnapshot());
  // A user's sign-out this tab made (or adopted) that neither storage nor a tab able to write it has yet: a signed-out
  // record at its version or above. A signed-in record above it is not it: a sign-out made in a tab that knew of no
  // session claims an epoch above nothing, below the session it ends (Fix #9.30), and by version alone the harness
  // took the other tabs for its holders and closed the only one (seed 4837).
  const holdsSignOut = (other: { version: number; tokens: unknown } | null) => other !== null && !other.tokens && other.version >= snapshot.version;
  if (snapshot.status === 'signed-out' && snapshot.signedOutReason === 'user' && !holdsSignOut(stored)) {
    if (!others.some(holdsSignOut)) return true;
  }
  if (families.size === 0) return false;
  const holders = [stored, ...others];
  for (const family of families) {
    const held = holders.some((holder) => holder?.tokens && world.familyOf(holder.tokens.accessToken) === family && world.isNewest(holder));
    if (!held && server.isFamilyValid(family)) return true;
  }
  return false;
}

function freeze(world: ChaosWorld, step: Step<'freeze'>): boolean {
  const record = world.live(step.tab);
  if (!record || record.tab.frozen) return false;
  world.freeze(record);
  world.count('tab-freeze');
  return true;
}

function resume(world: ChaosWorld, step: Step<'resume'>): boolean {
  const record = world.live(step.tab);
  if (!record || !record.tab.frozen) return false;
  world.resume(record);
  return true;
}

function setTabOnline(world: ChaosWorld, step: Step<'offline' | 'online'>): boolean {
  const record = world.live(step.tab);
  if (!record) return false;
  if (step.do === 'offline') {
    world.tabOffline.add(step.tab);
    world.count('tab-offline');
  } else world.tabOffline.delete(step.tab);
  world.setOnline(record);
  return true;
}

function setGlobalOnline(world: ChaosWorld, step: Step<'global-offline' | 'global-online'>): boolean {
  world.globalOffline = step.do === 'global-offline';
  if (world.globalOffline) world.count('global-offline');
  for (const record of world.liveRecords()) world.setOnline(record);
  return true;
}

function injectServerFailures(world: ChaosWorld, step: Step<'server-failures'>): boolean {
  if (step.rotate && world.config.profile === 'recoverable') return false;
  world.server.injectFailures({ kind: step.kind, count: step.count, rotate: step.rotate === true, ...(step.field ? { field: step.field } : {}) });
  world.count(
    step.kind === 'mistyped' ? `server-mistyped-${step.field ?? 'expires_in-negative'}` : step.rotate ? `server-${step.kind}-rotated` : `server-${step.kind}`,
  );
  return true;
}

function setServerLatency(world: ChaosWorld, step: Step<'server-latency'>): boolean {
  const { config } = world;
  if (config.profile === 'recoverable' && step.ms >= config.requestTimeoutMs) return false;
  if (step.ms !== config.latencyMs) world.count('slow-server');
  world.latency = step.ms;
  return true;
}

function setMessageFaults(world: ChaosWorld, step: Step<'message-faults'>): boolean {
  world.messageFaults = { drop: step.drop, duplicate: step.duplicate, delayMs: step.delayMs };
  if (step.drop > 0) world.count('messages-lost');
  if (step.duplicate > 0) world.count('messages-duplicated');
  if (step.delayMs > 0) world.count('messages-delayed');
  world.applyMessageFaults();
  return true;
}

function skewClock(world: ChaosWorld, step: Step<'skew'>): boolean {
  const record = world.live(step.tab);
  if (!record || Math.abs(step.ms) > world.config.maxSkewMs) return false;
  world.tabSkewMs.set(step.tab, step.ms);
  world.applySkew(record);
  if (step.ms !== 0) world.count('clock-skew');
  return true;
}

/**
 * Every tab's wall clock jumps (tabs of one browser share one clock). With the storage lease a jump never lands
 * while a lease is held: the lease compares wall-clock expiry times, so a jump mid-refresh can let a second tab in
 * (a known limitation of browsers without Web Locks, see the profile notes in schedule.ts).
 */
async function jumpClocks(world: ChaosWorld, step: Step<'clock-jump'>): Promise<boolean> {
  if (step.ms === world.clockJumpMs) return false;
  if (world.config.profile === 'recoverable' && (await world.leaseHeld())) return false;
  const previous = world.clockJumpMs;
  world.clockJumpMs = step.ms;
  for (const record of world.liveRecords()) world.applySkew(record);
  if (step.ms !== 0) world.count(step.ms < previous ? 'clock-jump-back' : 'clock-jump-forward');
  return true;
}

/** Only the leader's clock is off, by hours (Web Locks only in the recoverable profile, like any large skew). */
function skewLeader(world: ChaosWorld, step: Step<'skew-leader'>): boolean {
  if (world.config.profile === 'recoverable' && world.config.locks !== 'web-locks') return false;
  if (step.ms === 0) {
    const skewed = world.leaderSkew;
    if (!skewed) return false;
    world.leaderSkew = null;
    const record = world.live(skewed.tab);
    if (record) world.applySkew(record);
    return true;
  }
  if (world.leaderSkew) return false;
  const leader = world.sim.network
    .leaders()
    .map((name) => world.live(name))
    .find((record) => record !== undefined);
  if (!leader) return false;
  world.leaderSkew = { tab: leader.tab.name, ms: step.ms };
  world.applySkew(leader);
  world.count('leader-skew');
  return true;
}

/**
 * A forged version near Number.MAX_SAFE_INTEGER: a state message from a sender that is no tab, or a record written
 * to storage behind every tab's back. It carries a copy of the stored pair (or a tombstone).
 */
async function forgeVersion(world: ChaosWorld, step: Step<'forge-version'>): Promise<boolean> {
  const stored = await world.readStored();
  // A record written over storage destroys what storage held. Recoverable profile: only once every live tab holds that
  // record too; otherwise it is data loss (like clearing site data mid-session): a leader that missed the newest pair
  // would find nothing readable and start from the older pair in its memory. With no live tab at all, nobody holds it
  // (found by chaos seed 417: the only tab closed, the forgery destroyed the session, the next tab found none).
  if (step.via === 'storage' && world.config.profile === 'recoverable') {
    const live = [...world.liveRecords()];
    const behind = live.some((record) => record.tab.client.getSnapshot().version !== (stored?.version ?? 0));
    if (behind || (live.length === 0 && stored?.tokens)) return false;
  }
  const forged: StoredAuthState = {
    schema: 1,
    version: step.version,
    tokens: step.content === 'pair' && stored?.tokens ? { ...stored.tokens } : null,
    signedOutReason: step.content === 'pair' && stored?.tokens ? null : 'user',
    updatedAt: world.clock.now(),
  };
  world.forgedVersion = Math.min(world.forgedVersion ?? Infinity, step.version);
  if (step.via === 'storage') {
    await world.sim.storage.update(STATE_KEY, () => forged);
  } else {
    const { channel } = world.sim.network.coordination(`forger-${world.stepIndex}`)('tabauth:default');
    await channel.post({ protocol: PROTOCOL, namespace: 'default', from: `forged-sender-${world.stepIndex}`, type: 'state', state: forged });
    await channel.close();
  }
  world.count(`forged-version-${step.via}`);
  return true;
}

/** Arms a user's sign-in or sign-out under write faults, taken while another tab's refresh answer is on its way. */
function armSigning(world: ChaosWorld, step: Step<'sign-racing-refresh'>): boolean {
  if (!world.config.storageWriteFaults || world.signingArmed) return false;
  world.signingArmed = step;
  return true;
}

function forceLeader(world: ChaosWorld, step: Step<'force-leader'>): boolean {
  const record = world.live(step.tab);
  if (!record || world.sim.network.leaders().includes(step.tab) || !world.config.duplicateLeaders) return false;
  world.sim.network.forceLeader(step.tab);
  world.count('duplicate-leader');
  return true;
}

function setStorageFaults(world: ChaosWorld, step: Step<'storage-faults'>): boolean {
  const { config } = world;
  const record = world.live(step.tab);
  if (!record) return false;
  if ((step.writes && !config.storageWriteFaults) || (step.reads && !config.storageReadFaults)) return false;
  // Lease seeds: not while a tab that no longer leads still has its request out (the next leader needs the lease).
  if (step.writes && config.profile === 'recoverable' && world.orphanedRequestOut()) return false;
  const faultsOn = step.writes !== undefined || step.reads !== undefined;
  record.stalled = false; // a kill-after-announce waiting for its moment: the write goes ahead now
  if (faultsOn) world.stepStorageFaults.set(step.tab, { writes: step.writes, reads: step.reads });
  else world.stepStorageFaults.delete(step.tab);
  world.applyStorageFaults(record);
  if (step.writes) world.count('storage-writes-throw');
  if (step.reads) world.count(`storage-reads-${step.reads}`);
  return true;
}

function tokenCall(world: ChaosWorld, step: Step<'get-token' | 'refresh-401'>): boolean {
  // A frozen page runs no code at all: its app cannot ask for a token until it is resumed. Nor does an app whose
  // AuthProvider is unmounted (its components are gone with it).
  const record = world.live(step.tab);
  if (!record || record.tab.frozen || !record.tab.mounted) return false;
  callToken(world, record, step.do);
  return true;
}

/** A tab where the user can click: alive, running, its AuthProvider mounted. */
const usable = (record: TabRecord | undefined): record is TabRecord =>
  record !== undefined && record.tab.alive && !record.closing && !record.tab.frozen && record.tab.mounted;

function signIn(world: ChaosWorld, step: Step<'sign-in'>): boolean {
  // The user signs in again in whichever tab is open (the named one may have gone since the schedule was made).
  const named = world.live(step.tab);
  const record = usable(named) ? named : [...world.records.values()].find(usable);
  if (!record) return false;
  userSignIn(world, record, 'user-1');
  return true;
}

function signOut(world: ChaosWorld, step: Step<'sign-out'>): boolean {
  const record = world.live(step.tab);
  if (!usable(record)) return false;
  world.count('sign-out');
  userSignOut(world, record, step.revoke);
  return true;
}

function armInFlight(world: ChaosWorld, step: Step<'kill-in-flight' | 'close-in-flight' | 'dispose-in-flight' | 'remount-in-flight'>): boolean {
  const lost = step.do === 'kill-in-flight' || step.do === 'close-in-flight';
  if (lost && world.config.profile === 'recoverable') return false;
  if (world.inFlightArmed) return false;
  world.inFlightArmed =
    step.do === 'remount-in-flight'
      ? { kind: 'remount', afterMs: step.afterMs }
      : { kind: step.do === 'kill-in-flight' ? 'kill' : step.do === 'close-in-flight' ? 'close' : 'dispose' };
  return true;
}
