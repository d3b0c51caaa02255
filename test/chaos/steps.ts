/**
 * Applying one step of a schedule to a chaos run. Each step reports whether it did something: steps naming a tab
 * that is gone (or frozen, where the app would have to act), faults the configuration excludes, and kills refused in
 * the recoverable profile do not count as applied.
 */
import { checkClosedTab, checkUserActionFailure } from './invariants';
import type { ChaosStep } from './schedule';
import { callToken, openTab } from './tabs';
import type { ChaosWorld, TabRecord } from './world';

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
      return armInFlight(world, step);
    case 'kill-after-announce':
      world.killAfterAnnounceArmed = true;
      return true;
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
    await record.tab.close();
    world.count('tab-close');
    await checkClosedTab(world, record);
  }
  return true;
}

/**
 * Recoverable profile: would losing this tab lose a rotation the server already performed? That is when the tab
 * has a refresh in flight, or holds (or just received) the newest pair of its family, and that pair is neither in
 * storage nor held by another live tab that can write it there. (A pair kept only in the memory of tabs whose
 * storage writes fail is not durable: if the next leader misses the message, it starts from the older record.)
 */
async function losesRotation(world: ChaosWorld, record: TabRecord): Promise<boolean> {
  if (world.config.profile !== 'recoverable') return false;
  const { server } = world;
  const own = record.tab.client.getSnapshot().tokens?.accessToken;
  const families = new Set<string>();
  if (record.inFlight > 0 && world.familyOf(own)) families.add(world.familyOf(own)!);
  if (own && world.isNewest({ tokens: record.tab.client.getSnapshot().tokens })) families.add(world.familyOf(own)!);
  if (record.lastResponse && server.validateAccessToken(record.lastResponse).newest) families.add(world.familyOf(record.lastResponse)!);
  if (families.size === 0) return false;
  const holders = [
    await world.readStored(),
    ...[...world.records.values()]
      .filter((other) => other !== record && other.tab.alive && !world.writeFaulted.has(other.tab.name))
      .map((other) => other.tab.client.getSnapshot()),
  ];
  for (const family of families) {
    const held = holders.some((holder) => holder?.tokens && world.familyOf(holder.tokens.accessToken) === family && world.isNewest(holder));
    if (!held && server.isFamilyValid(family)) return true;
  }
  return false;
}

function freeze(world: ChaosWorld, step: Step<'freeze'>): boolean {
  const record = world.live(step.tab);
  if (!record || record.tab.frozen) return false;
  record.tab.freeze();
  world.count('tab-freeze');
  return true;
}

function resume(world: ChaosWorld, step: Step<'resume'>): boolean {
  const record = world.live(step.tab);
  if (!record || !record.tab.frozen) return false;
  record.tab.resume();
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
  world.server.injectFailures({ kind: step.kind, count: step.count, rotate: step.rotate === true });
  world.count(step.rotate ? `server-${step.kind}-rotated` : `server-${step.kind}`);
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
  record.tab.setSkewMs(step.ms);
  if (step.ms !== 0) world.count('clock-skew');
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
  const faultsOn = step.writes !== undefined || step.reads !== undefined;
  record.stalled = false; // a kill-after-announce waiting for its moment: the write goes ahead now
  record.tab.setStorageFaults(faultsOn ? { writes: step.writes, reads: step.reads } : null);
  if (step.writes) world.writeFaulted.add(step.tab);
  else world.writeFaulted.delete(step.tab);
  if (step.writes) world.count('storage-writes-throw');
  if (step.reads) world.count(`storage-reads-${step.reads}`);
  return true;
}

function tokenCall(world: ChaosWorld, step: Step<'get-token' | 'refresh-401'>): boolean {
  // A frozen page runs no code at all: its app cannot ask for a token until it is resumed.
  const record = world.live(step.tab);
  if (!record || record.tab.frozen) return false;
  callToken(world, record, step.do);
  return true;
}

function signIn(world: ChaosWorld, step: Step<'sign-in'>): boolean {
  // The user signs in again in whichever tab is open (the named one may have gone since the schedule was made).
  const record = world.live(step.tab) ?? [...world.records.values()].find((candidate) => candidate.tab.alive && !candidate.tab.frozen);
  if (!record || record.tab.frozen) return false;
  // The mock server issues no id token; a login response usually carries one, so the run adds one to check it too.
  const issued = { ...world.server.issueTokens({ subject: 'user-1', scope: 'openid offline_access' }), id_token: fakeIdToken(world.random) };
  world.collectSecrets(issued);
  record.tab.client.signIn(issued).catch((error: unknown) => {
    world.thrown.push(error);
    checkUserActionFailure(world, `${step.tab} signIn`, error);
  });
  return true;
}

function signOut(world: ChaosWorld, step: Step<'sign-out'>): boolean {
  const record = world.live(step.tab);
  if (!record || record.tab.frozen) return false;
  world.userSignOuts++;
  world.count('sign-out');
  record.tab.client.signOut({ revoke: step.revoke }).catch((error: unknown) => {
    world.thrown.push(error);
    checkUserActionFailure(world, `${step.tab} signOut`, error);
  });
  return true;
}

function armInFlight(world: ChaosWorld, step: Step<'kill-in-flight' | 'close-in-flight'>): boolean {
  if (world.config.profile === 'recoverable') return false;
  world.killInFlightArmed = step.do === 'kill-in-flight' ? 'kill' : 'close';
  return true;
}

function fakeIdToken(random: () => number): string {
  const part = (length: number) => Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[Math.floor(random() * 64)]).join('');
  return `eyJhbGciOiJSUzI1NiJ9.${part(60)}.${part(43)}`;
}
