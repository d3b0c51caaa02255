/** Opening a tab of a chaos run, and the token calls its app makes. */
import { AuthError, oauth2RefreshGrant, oauth2Revoke } from '../../src/core';
import type { SimTab } from '../../src/testing';
import { checkClosedTab, checkReturnedToken, checkTokenCallFailure, watchTab } from './invariants';
import { userSignIn, userSignOut } from './userActions';
import type { ChaosWorld, TabRecord } from './world';

/** Opens a tab whose refreshes and revocations reach the server through the tab's own fetch, and watches it. */
export function openTab(world: ChaosWorld, name: string): void {
  const { server } = world;
  const record: TabRecord = {
    tab: undefined as unknown as SimTab,
    lastVersion: 0,
    inFlight: 0,
    lastResponse: null,
    revoking: 0,
    family: null,
    nonFiniteTimers: 0,
    expiredTokenReported: false,
    everAuthenticated: false,
    closing: false,
    killAfterAnnounce: null,
    stalled: false,
    adopted: null,
    lastFreeze: null,
    lastWakeAt: null,
  };
  const tabFetch = fetchOf(world, record);
  const grant = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: tabFetch });
  const revoke = oauth2Revoke({ revocationEndpoint: server.revocationEndpoint, clientId: 'tabauth-demo', fetch: tabFetch });
  record.tab = world.sim.openTab({
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
          world.collectSecrets(body);
          record.lastResponse = body.access_token;
          if (world.killAfterAnnounceArmed && record.tab.alive && !world.writeFaulted.has(name)) {
            world.killAfterAnnounceArmed = false;
            record.killAfterAnnounce = body.access_token;
          }
          return body;
        } finally {
          record.inFlight--;
        }
      },
    },
  });
  record.tab.client.subscribe(() => killAfterAnnounce(world, record));
  if (world.globalOffline) record.tab.environment.setOnline(false);
  // A tab opened during a wall-clock jump reads the same jumped clock as every other tab.
  world.applySkew(record);
  world.records.set(name, record);
  watchTab(world, record);
  world.options.onTab?.(record.tab);
}

/**
 * kill-after-announce: the armed tab adopts its new pair (synchronously inside its announcement, before the message
 * is posted and the write starts); from then on its writes stall, and it dies before they land. In the recoverable
 * profile it dies only once another live tab that can write holds the pair; after 10 s without one (5 s with the
 * storage lease), the stall ends.
 */
function killAfterAnnounce(world: ChaosWorld, record: TabRecord): void {
  const token = record.killAfterAnnounce;
  if (!token || record.tab.client.getSnapshot().tokens?.accessToken !== token) return;
  record.killAfterAnnounce = null;
  record.stalled = true;
  world.applyStorageFaults(record);
  world.count('kill-after-announce');
  if (world.config.profile === 'everything') {
    queueMicrotask(() => record.tab.kill());
    return;
  }
  // With the storage lease the stalled write holds the lease as well, and the lease only has room for one answer of
  // at most the request timeout plus the clock skew allowed between tabs (ttl = request timeout + 10 s, skew < 4 s):
  // a 10 s stall after an 8 s answer let a tab 3.5 s ahead take the live lease and send the same token (chaos seed
  // 114; a holder slower than its lease is outside the recoverable profile). So the stall ends within that room.
  const stallMs = world.config.locks === 'lease' ? 10_000 - world.config.maxSkewMs - 1_000 : 10_000;
  const deadline = world.clock.now() + stallMs;
  const check = () => {
    // A storage-faults step (or the quiet tail) ended the stall: the write went ahead, the window is closed.
    if (!record.tab.alive || !record.stalled) return;
    const held = [...world.records.values()].some(
      (other) =>
        other !== record &&
        other.tab.alive &&
        !other.tab.frozen &&
        !world.writeFaulted.has(other.tab.name) &&
        other.tab.client.getSnapshot().tokens?.accessToken === token,
    );
    if (held) record.tab.kill();
    else if (world.clock.now() >= deadline) {
      record.stalled = false;
      world.applyStorageFaults(record);
      world.count('kill-after-announce-abandoned');
    } else world.clock.setTimeout(check, 1);
  };
  world.clock.setTimeout(check, 1);
}

/**
 * The tab's network: offline, dead, or, the moment the server rotates for it, hit by an armed in-flight fault (a
 * kill, a close, an unmount) or racing an armed sign-in/out of another tab.
 */
function fetchOf(world: ChaosWorld, record: TabRecord): typeof fetch {
  const { server } = world;
  return (input, init) => {
    const tab = record.tab;
    if (!tab.alive || tab.pageClosing) return new Promise<Response>(() => {});
    if (!tab.environment.isOnline()) return Promise.reject(new TypeError('Failed to fetch'));
    const before = server.counters.successes;
    const latency = world.latency;
    world.requestingTab = tab.name;
    let response: Promise<Response>;
    try {
      response = server.fetch(input, init);
    } finally {
      world.requestingTab = null;
    }
    const minted = server.counters.successes > before ? world.lastMinted : null;
    if (minted) {
      // The server rotated; the answer reaches this tab `latency` ms from now.
      if (world.inFlightArmed) hitInFlight(world, record);
      if (world.signingArmed) raceSigning(world, record, latency);
    }
    // Like the harness: a dead tab never sees the result of anything it started.
    return response.then(
      (value) => {
        if (!tab.alive || tab.pageClosing) return new Promise<Response>(() => {});
        // The tab stamps the pair with its wall clock when the answer arrives, not when the server made it: a jump of
        // every clock in between is in the stamp (seed 33553: the clocks went back 2 h while a rescue was out).
        if (minted?.maker === tab.name) minted.makerClockMs = world.skewOf(tab.name);
        return value;
      },
      (error) => (tab.alive && !tab.pageClosing ? Promise.reject(error) : new Promise<Response>(() => {})),
    );
  };
}

/** The armed in-flight fault hits the tab whose request the server just rotated, before it sees the answer. */
function hitInFlight(world: ChaosWorld, record: TabRecord): void {
  const fault = world.inFlightArmed!;
  const { tab } = record;
  // Recoverable profile: a tab that cannot write storage (or is not mounted) would hold the new pair only in memory.
  if (world.config.profile === 'recoverable' && (fault.kind === 'dispose' || fault.kind === 'remount') && (world.writeFaulted.has(tab.name) || !tab.mounted)) {
    world.refusedLosingKills++;
    world.inFlightArmed = null;
    return;
  }
  world.inFlightArmed = null;
  world.count(`${fault.kind}-in-flight`);
  if (fault.kind === 'kill') {
    tab.kill(); // a crash runs no code: it may land anywhere, even inside the fetch call
    return;
  }
  // A close or an unmount is code the page runs: at the earliest right after the fetch call has returned.
  queueMicrotask(() => {
    if (!tab.alive) return;
    if (world.config.profile === 'recoverable' && fault.kind !== 'close' && handsOnToUnleasedLeader(world, record)) {
      world.refusedLosingKills++;
      return;
    }
    if (fault.kind === 'close' || fault.kind === 'dispose') {
      record.closing = true;
      void (fault.kind === 'close' ? tab.close() : tab.disposeClient()).then(() => checkClosedTab(world, record));
      return;
    }
    tab.unmount();
    if (fault.afterMs === 0) tab.remount();
    else world.clock.setTimeout(() => tab.remount(), fault.afterMs);
  });
}

/**
 * Without Web Locks, an unmount or dispose mid-refresh hands leadership on while the request is still out, and the
 * storage lease is what keeps the next leader from sending the same token. A next leader whose storage writes fail
 * cannot take the lease and refreshes under leadership alone (the core's deliberate choice, see the profile notes in
 * schedule.ts): so the recoverable profile does not unmount a lease seed's tab while another tab's writes fail.
 */
function handsOnToUnleasedLeader(world: ChaosWorld, record: TabRecord): boolean {
  if (world.config.locks !== 'lease') return false;
  return [...world.liveRecords()].some((other) => other !== record && world.writeFaulted.has(other.tab.name));
}

/**
 * A user's sign-in or sign-out in another tab whose writes throw, taken 1 ms before the rotated answer reaches
 * `refreshing`: the last milliseconds of the leader's round trip.
 */
function raceSigning(world: ChaosWorld, refreshing: TabRecord, latency: number): void {
  const step = world.signingArmed!;
  const usable = (candidate: TabRecord | undefined): candidate is TabRecord =>
    candidate !== undefined && candidate !== refreshing && candidate.tab.alive && !candidate.closing && !candidate.tab.frozen && candidate.tab.mounted;
  const named = world.records.get(step.tab);
  const signing = usable(named) ? named : [...world.records.values()].find(usable);
  if (!signing) return; // stays armed for the next rotation
  world.signingArmed = null;
  world.signingFaulted.add(signing.tab.name);
  world.applyStorageFaults(signing);
  world.count(`${step.action}-racing-refresh`);
  world.clock.setTimeout(
    () => {
      if (!signing.tab.alive) return;
      if (step.action === 'sign-out') userSignOut(world, signing, step.revoke);
      else userSignIn(world, signing, 'user-2'); // another user signs in
    },
    Math.max(0, latency - 1),
  );
  world.clock.setTimeout(
    () => {
      world.signingFaulted.delete(signing.tab.name);
      if (signing.tab.alive) world.applyStorageFaults(signing);
    },
    Math.max(0, latency - 1) + step.faultMs,
  );
}

/** The app asks for a token (or reports a 401); the outcome is counted and checked when it settles. */
export function callToken(world: ChaosWorld, record: TabRecord, kind: 'get-token' | 'refresh-401'): void {
  const { client } = record.tab;
  if (kind === 'refresh-401') {
    const family = world.familyOf(client.getSnapshot().tokens?.accessToken);
    if (family) world.appRejections.set(family, world.clock.now());
  }
  const call =
    kind === 'get-token' ? client.getAccessToken() : client.refresh({ rejectedVersion: client.getSnapshot().version }).then(({ tokens }) => tokens.accessToken);
  call.then(
    (token) => {
      world.tokenCalls.ok++;
      checkReturnedToken(world, record, kind, token);
    },
    (error: unknown) => {
      world.thrown.push(error);
      const code = error instanceof AuthError ? error.code : 'non-tabauth-error';
      world.tokenCalls.failed[code] = (world.tokenCalls.failed[code] ?? 0) + 1;
      checkTokenCallFailure(world, record, kind, code, error);
    },
  );
}
