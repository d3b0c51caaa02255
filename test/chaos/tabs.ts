/** Opening a tab of a chaos run, and the token calls its app makes. */
import { AuthError, oauth2RefreshGrant, oauth2Revoke } from '../../src/core';
import type { SimTab } from '../../src/testing';
import { checkTokenCallFailure, watchTab } from './invariants';
import type { ChaosWorld, TabRecord } from './world';

/** Opens a tab whose refreshes and revocations reach the server through the tab's own fetch, and watches it. */
export function openTab(world: ChaosWorld, name: string): void {
  const { server } = world;
  const record: TabRecord = { tab: undefined as unknown as SimTab, lastVersion: 0, inFlight: 0, lastResponse: null, revoking: 0, family: null, killAfterAnnounce: null, stalled: false };
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
  world.records.set(name, record);
  watchTab(world, record);
  world.options.onTab?.(record.tab);
}

/**
 * kill-after-announce: the armed tab adopts its new pair (synchronously inside its announcement, before the message
 * is posted and the write starts); from then on its writes stall, and it dies before they land. In the recoverable
 * profile it dies only once another live tab that can write holds the pair; after 10 s without one, the stall ends.
 */
function killAfterAnnounce(world: ChaosWorld, record: TabRecord): void {
  const token = record.killAfterAnnounce;
  if (!token || record.tab.client.getSnapshot().tokens?.accessToken !== token) return;
  record.killAfterAnnounce = null;
  record.tab.setStorageFaults({ writes: 'stall' });
  record.stalled = true;
  world.count('kill-after-announce');
  if (world.config.profile === 'everything') {
    queueMicrotask(() => record.tab.kill());
    return;
  }
  const deadline = world.clock.now() + 10_000;
  const check = () => {
    // A storage-faults step (or the quiet tail) ended the stall: the write went ahead, the window is closed.
    if (!record.tab.alive || !record.stalled) return;
    const held = [...world.records.values()].some(
      (other) => other !== record && other.tab.alive && !other.tab.frozen && !world.writeFaulted.has(other.tab.name) && other.tab.client.getSnapshot().tokens?.accessToken === token,
    );
    if (held) record.tab.kill();
    else if (world.clock.now() >= deadline) {
      record.stalled = false;
      record.tab.setStorageFaults(world.writeFaulted.has(record.tab.name) ? { writes: 'throw' } : null);
      world.count('kill-after-announce-abandoned');
    } else world.clock.setTimeout(check, 1);
  };
  world.clock.setTimeout(check, 1);
}

/** The tab's network: offline, dead, or killed by an armed kill-in-flight the moment the server rotates. */
function fetchOf(world: ChaosWorld, record: TabRecord): typeof fetch {
  const { server } = world;
  return (input, init) => {
    const tab = record.tab;
    if (!tab.alive) return new Promise<Response>(() => {});
    if (!tab.environment.isOnline()) return Promise.reject(new TypeError('Failed to fetch'));
    const before = server.counters.successes;
    const response = server.fetch(input, init);
    if (world.killInFlightArmed && server.counters.successes > before) {
      // 'everything' profile: the server rotated; the tab dies (or closes) before it sees the answer.
      world.count(`${world.killInFlightArmed}-in-flight`);
      if (world.killInFlightArmed === 'kill') tab.kill();
      else void tab.close();
      world.killInFlightArmed = null;
    }
    // Like the harness: a dead tab never sees the result of anything it started.
    return response.then(
      (value) => (tab.alive ? value : new Promise<Response>(() => {})),
      (error) => (tab.alive ? Promise.reject(error) : new Promise<Response>(() => {})),
    );
  };
}

/** The app asks for a token (or reports a 401); the outcome is counted and checked when it settles. */
export function callToken(world: ChaosWorld, record: TabRecord, kind: 'get-token' | 'refresh-401'): void {
  const { client } = record.tab;
  const call = kind === 'get-token' ? client.getAccessToken() : client.refresh({ rejectedVersion: client.getSnapshot().version });
  call.then(
    () => {
      world.tokenCalls.ok++;
    },
    (error: unknown) => {
      world.thrown.push(error);
      const code = error instanceof AuthError ? error.code : 'non-tabauth-error';
      world.tokenCalls.failed[code] = (world.tokenCalls.failed[code] ?? 0) + 1;
      checkTokenCallFailure(world, record, kind, code, error);
    },
  );
}
