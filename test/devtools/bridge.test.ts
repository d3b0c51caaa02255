/**
 * The devtools bridge over simulated tabs (real auth clients, one strict mock server, one fake IndexedDB, one
 * simulated clock) and the in-memory twin of the devtools channel. Conditions are awaited; nothing is timed.
 */
import { createDevtoolsBridge, type DevtoolsBridge } from '../../src/devtools/core/bridge';
import { devtoolsChannelName, DEVTOOLS_PROTOCOL } from '../../src/devtools/core/protocol';
import type { SimTab, TabSimulation } from '../../src/testing';
import { strictSimulation } from '../sim/helpers';
import { createMemoryDevtoolsNetwork, fakePage, recordTokens, secretsOf, until, type MemoryDevtoolsNetwork } from './support';

interface World {
  sim: TabSimulation;
  network: MemoryDevtoolsNetwork;
  tabs: SimTab[];
  bridges: DevtoolsBridge[];
  stops: Array<() => void>;
  tokens: Set<string>;
}

let world: World | undefined;

async function setUp(tabCount = 3): Promise<World> {
  // Long-lived tokens: nothing refreshes unless the test asks.
  const sim = strictSimulation({ ttlSeconds: 600 });
  const network = createMemoryDevtoolsNetwork();
  const tabs = Array.from({ length: tabCount }, () => sim.openTab());
  const tokens = recordTokens(tabs.map((tab) => tab.client));
  await sim.signIn();
  await sim.advance(100);
  const bridges = tabs.map((tab, index) =>
    createDevtoolsBridge(tab.client, { clock: sim.clock, channel: network.factory, page: fakePage(), label: `Tab ${index + 1}` }),
  );
  const stops = bridges.map((bridge) => bridge.start());
  world = { sim, network, tabs, bridges, stops, tokens };
  return world;
}

afterEach(async () => {
  world?.stops.forEach((stop) => stop());
  await world?.sim.dispose();
  world = undefined;
});

const listed = (bridge: DevtoolsBridge) => bridge.getSnapshot().tabs;
const allSee = (w: World, count: number, check: (bridge: DevtoolsBridge) => boolean = () => true) =>
  w.bridges.every((bridge) => listed(bridge).length === count && check(bridge));

describe('devtools bridge across simulated tabs', () => {
  it('every panel lists the three tabs, exactly one leader and the version each client holds', async () => {
    const w = await setUp(3);
    const version = w.tabs[0]!.client.getSnapshot().version;
    await until(
      w.sim,
      () => allSee(w, 3, (bridge) => listed(bridge).every((tab) => tab.version === version && tab.token !== null)),
      'three tabs in every panel',
    );
    const leaderIds = w.tabs.filter((tab) => tab.client.getSnapshot().isLeader).map((tab) => tab.client.tabId);
    expect(leaderIds).toHaveLength(1);
    for (const bridge of w.bridges) {
      const tabs = listed(bridge);
      expect(tabs.map((tab) => tab.tabId).sort()).toEqual(w.tabs.map((tab) => tab.client.tabId).sort());
      expect(tabs.filter((tab) => tab.isLeader).map((tab) => tab.tabId)).toEqual(leaderIds);
      expect(tabs[0]!.self).toBe(true); // this tab first
      expect(tabs[0]!.tabId).toBe(bridge.tabId);
      expect(tabs.every((tab) => tab.status === 'authenticated' && tab.visibility === 'visible' && !tab.silent)).toBe(true);
      // One pair everywhere, so one fingerprint everywhere.
      expect(new Set(tabs.map((tab) => tab.token!.accessFingerprint)).size).toBe(1);
      expect(tabs.map((tab) => tab.label).sort()).toEqual(['Tab 1', 'Tab 2', 'Tab 3']);
    }
  });

  it('a refresh forced from one panel on a follower: one request, every tab at the new version, the timeline in order', async () => {
    const w = await setUp(3);
    await until(w.sim, () => allSee(w, 3, (bridge) => listed(bridge).every((tab) => tab.token !== null)), 'three tabs');
    const v0 = w.tabs[0]!.client.getSnapshot().version;
    const leader = w.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    const followers = w.tabs.filter((tab) => tab !== leader);
    const panel = w.bridges[w.tabs.indexOf(followers[0]!)]!; // the panel in one follower...
    const target = followers[1]!; // ...forces a refresh in the other
    const requestsBefore = w.sim.server.counters.refreshRequests;

    const result = panel.refresh(target.client.tabId);
    await w.sim.advance(500);
    await expect(result).resolves.toEqual({ ok: true, version: v0 + 1, errorCode: null });
    await until(w.sim, () => allSee(w, 3, (bridge) => listed(bridge).every((tab) => tab.version === v0 + 1)), 'every panel shows the new version');

    expect(w.sim.server.counters.refreshRequests).toBe(requestsBefore + 1);
    expect(w.tabs.map((tab) => tab.client.getSnapshot().version)).toEqual([v0 + 1, v0 + 1, v0 + 1]);
    // The new pair has a new fingerprint, the same in every tab.
    const fingerprints = new Set(listed(panel).map((tab) => tab.token!.accessFingerprint));
    expect(fingerprints.size).toBe(1);

    await until(
      w.sim,
      () => panel.getSnapshot().timeline.filter((entry) => entry.kind === 'state-adopted' && entry.version === v0 + 1).length >= 2,
      'adoptions reach the panel',
    );
    const timeline = panel.getSnapshot().timeline;
    const index = (predicate: (entry: (typeof timeline)[number]) => boolean) => timeline.findIndex(predicate);
    const command = index((entry) => entry.kind === 'devtools-refresh' && entry.tabId === target.client.tabId);
    const started = index((entry) => entry.kind === 'refresh-started' && entry.tabId === leader.client.tabId && entry.version === v0);
    const succeeded = index((entry) => entry.kind === 'refresh-succeeded' && entry.tabId === leader.client.tabId && entry.toVersion === v0 + 1);
    const adopted = timeline.flatMap((entry, i) => (entry.kind === 'state-adopted' && entry.version === v0 + 1 ? [i] : []));
    expect(command).toBeGreaterThanOrEqual(0);
    expect(started).toBeGreaterThan(command);
    expect(succeeded).toBeGreaterThan(started);
    expect(adopted.length).toBe(2);
    expect(Math.min(...adopted)).toBeGreaterThan(succeeded);
    expect(new Set(adopted.map((i) => timeline[i]!.tabId))).toEqual(new Set(followers.map((tab) => tab.client.tabId)));
    // Sorted by time, and each tab's own entries by their sequence numbers.
    for (let i = 1; i < timeline.length; i++) expect(timeline[i]!.at).toBeGreaterThanOrEqual(timeline[i - 1]!.at);
    for (const tab of w.tabs) {
      const seqs = timeline.filter((entry) => entry.tabId === tab.client.tabId).map((entry) => entry.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    // Counters: the leader sent the one request; the panel adds them up over the tabs.
    const leaderRow = listed(panel).find((tab) => tab.tabId === leader.client.tabId)!;
    expect(leaderRow.counters.refreshRequests).toBe(1);
    expect(panel.getSnapshot().totals.refreshRequests).toBe(1);
    expect(panel.getSnapshot().totals.refreshSuccesses).toBe(1);
    expect(panel.getSnapshot().commands[0]).toMatchObject({ command: 'refresh', target: target.client.tabId, status: 'done' });
  });

  it('expire on a follower marks only its pair; its next getAccessToken refreshes once, through the leader', async () => {
    const w = await setUp(3);
    await until(w.sim, () => allSee(w, 3, (bridge) => listed(bridge).every((tab) => tab.token !== null)), 'three tabs');
    const v0 = w.tabs[0]!.client.getSnapshot().version;
    const leader = w.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    const follower = w.tabs.find((tab) => tab !== leader)!;
    const panel = w.bridges[w.tabs.indexOf(leader)]!;
    const requestsBefore = w.sim.server.counters.refreshRequests;

    const result = panel.expire(follower.client.tabId);
    await w.sim.advance(50);
    await expect(result).resolves.toEqual({ ok: true, version: v0, errorCode: null });
    await until(
      w.sim,
      () => (listed(panel).find((tab) => tab.tabId === follower.client.tabId)?.token?.expiresAt ?? Infinity) <= w.sim.clock.now(),
      'the panel shows it expired',
    );
    // Nothing was sent yet, and the other tabs keep their expiry.
    expect(w.sim.server.counters.refreshRequests).toBe(requestsBefore);
    expect(leader.client.getSnapshot().tokens!.expiresAt).toBeGreaterThan(w.sim.clock.now());

    const token = follower.client.getAccessToken();
    await w.sim.advance(500);
    await token;
    expect(w.sim.server.counters.refreshRequests).toBe(requestsBefore + 1);
    expect(w.tabs.map((tab) => tab.client.getSnapshot().version)).toEqual([v0 + 1, v0 + 1, v0 + 1]);
    // The leader did the request, at the follower's request; the follower sent none.
    expect(leader.events.filter((event) => event.type === 'refresh-started')).toEqual([
      { type: 'refresh-started', version: v0, attempt: 1, trigger: 'follower-request' },
    ]);
    expect(follower.events.filter((event) => event.type === 'refresh-started')).toEqual([]);
  });

  it('expire on the leader: its own refresh timer fires at once', async () => {
    const w = await setUp(2);
    await until(w.sim, () => allSee(w, 2), 'two tabs');
    const v0 = w.tabs[0]!.client.getSnapshot().version;
    const leaderIndex = w.tabs.findIndex((tab) => tab.client.getSnapshot().isLeader);
    const panel = w.bridges[1 - leaderIndex]!;
    await expect(Promise.all([panel.expire(w.tabs[leaderIndex]!.client.tabId), w.sim.advance(50)]).then(([result]) => result)).resolves.toMatchObject({
      ok: true,
    });
    await until(w.sim, () => w.tabs.every((tab) => tab.client.getSnapshot().version === v0 + 1), 'the leader refreshed');
    expect(w.sim.server.counters.refreshRequests).toBe(1);
    expect(w.tabs[leaderIndex]!.events.filter((event) => event.type === 'refresh-started')).toEqual([
      { type: 'refresh-started', version: v0, attempt: 1, trigger: 'proactive' },
    ]);
  });

  it('no token string in any devtools message, report or panel state', async () => {
    const w = await setUp(3);
    await until(w.sim, () => allSee(w, 3, (bridge) => listed(bridge).every((tab) => tab.token !== null)), 'three tabs');
    const leader = w.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    const follower = w.tabs.find((tab) => tab !== leader)!;
    await Promise.all([w.bridges[0]!.refresh(follower.client.tabId), w.sim.advance(500)]);
    await Promise.all([w.bridges[0]!.expire(leader.client.tabId), w.sim.advance(500)]);
    await until(
      w.sim,
      () => allSee(w, 3, (bridge) => new Set(listed(bridge).map((tab) => tab.version)).size === 1 && listed(bridge)[0]!.version >= 3),
      'two more versions',
    );

    expect(w.tokens.size).toBeGreaterThanOrEqual(6); // three pairs of access + refresh token at least
    const published = JSON.stringify(w.network.sent) + JSON.stringify(w.bridges.map((bridge) => bridge.getSnapshot()));
    for (const secret of secretsOf(w.tokens)) expect(published.includes(secret)).toBe(false);
    // Fingerprints: 8 hex digits, never a token or part of one.
    for (const tab of listed(w.bridges[0]!)) {
      for (const fingerprint of [tab.token!.accessFingerprint, tab.token!.refreshFingerprint]) {
        expect(fingerprint).toMatch(/^[0-9a-f]{8}$/);
        for (const token of w.tokens) {
          expect(fingerprint).not.toBe(token);
          expect(fingerprint!.includes(token)).toBe(false);
        }
      }
    }
    expect(w.network.sent.length).toBeGreaterThan(10);
  });

  it('a tab that stops says bye and leaves every list; a tab that dies turns silent, then is forgotten', async () => {
    const w = await setUp(3);
    await until(w.sim, () => allSee(w, 3), 'three tabs');
    const [first, second, third] = w.tabs;
    w.stops[1]!();
    await w.sim.advance(10);
    expect(listed(w.bridges[0]!).map((tab) => tab.tabId)).not.toContain(second!.client.tabId);
    expect(listed(w.bridges[2]!)).toHaveLength(2);

    w.network.mute(third!.client.tabId); // crashed: no bye, no heartbeat
    // Silent 15 s after it was last heard (up to one 5 s heartbeat before the mute), shown at the next beat of the
    // panel's own tab (up to 5 s later): 16 s was not always enough (about one run in five).
    await w.sim.advance(21_000);
    const silent = listed(w.bridges[0]!).find((tab) => tab.tabId === third!.client.tabId);
    expect(silent?.silent).toBe(true);
    expect(listed(w.bridges[0]!).find((tab) => tab.tabId === first!.client.tabId)?.silent).toBe(false);
    await w.sim.advance(150_000);
    expect(listed(w.bridges[0]!).map((tab) => tab.tabId)).toEqual([first!.client.tabId]);
  });

  it('a command to a tab that never answers ends as no-answer; to an unknown tab at once', async () => {
    const w = await setUp(2);
    await until(w.sim, () => allSee(w, 2), 'two tabs');
    w.network.mute(w.tabs[1]!.client.tabId);
    const result = w.bridges[0]!.refresh(w.tabs[1]!.client.tabId);
    await w.sim.advance(61_000);
    await expect(result).resolves.toEqual({ ok: false, version: null, errorCode: 'no-answer' });
    await expect(w.bridges[0]!.refresh('nosuchtab')).resolves.toEqual({ ok: false, version: null, errorCode: 'unknown-tab' });
    expect(w.sim.server.counters.refreshRequests).toBe(0);
    expect(w.bridges[0]!.getSnapshot().commands.map((command) => command.status)).toEqual(['failed', 'failed']);
  });

  it('drops and counts foreign, malformed, oversized and other-namespace messages, and never acts on them', async () => {
    const w = await setUp(2);
    await until(w.sim, () => allSee(w, 2), 'two tabs');
    const name = devtoolsChannelName(w.tabs[0]!.client.namespace);
    const target = w.tabs[1]!.client.tabId;
    const envelope = { protocol: DEVTOOLS_PROTOCOL, namespace: w.tabs[0]!.client.namespace, from: 'intruder' };
    w.network.inject(name, 'hello');
    w.network.inject(name, { protocol: 'tabauth/1', type: 'state' });
    w.network.inject(name, { ...envelope, type: 'command', to: target, id: 'x', command: 'sign-out' });
    w.network.inject(name, { ...envelope, type: 'command', to: target, id: 'has space', command: 'refresh' });
    w.network.inject(name, { ...envelope, type: 'entries', entries: [], padding: 'x'.repeat(70_000) });
    w.network.inject(name, { ...envelope, namespace: 'other-app', type: 'command', to: target, id: 'y', command: 'refresh' });
    await w.sim.advance(1000);
    for (const bridge of w.bridges) expect(bridge.getSnapshot().dropped).toEqual({ foreign: 2, malformed: 2, oversized: 1, 'other-namespace': 1 });
    expect(w.sim.server.counters.refreshRequests).toBe(0);
    expect(w.bridges.every((bridge) => listed(bridge).length === 2)).toBe(true);
  });

  it('a tab whose devtools start later receives the entries the others had already', async () => {
    const w = await setUp(2);
    await until(w.sim, () => allSee(w, 2), 'two tabs');
    const leader = w.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    await Promise.all([w.bridges[0]!.refresh(leader.client.tabId), w.sim.advance(500)]);
    const late = w.sim.openTab();
    await w.sim.advance(200);
    const bridge = createDevtoolsBridge(late.client, { clock: w.sim.clock, channel: w.network.factory, page: fakePage() });
    w.stops.push(bridge.start());
    w.bridges.push(bridge);
    await until(
      w.sim,
      () => bridge.getSnapshot().tabs.length === 3 && bridge.getSnapshot().timeline.some((entry) => entry.kind === 'refresh-succeeded'),
      'history replayed',
    );
    const kinds = bridge
      .getSnapshot()
      .timeline.filter((entry) => entry.tabId === leader.client.tabId)
      .map((entry) => entry.kind);
    expect(kinds).toEqual(expect.arrayContaining(['devtools-refresh', 'refresh-started', 'refresh-succeeded']));
  });

  it('start and stop are reference counted and leave no timer and no channel behind', async () => {
    const w = await setUp(1);
    const timersBefore = w.sim.clock.pendingTimers();
    const bridge = createDevtoolsBridge(w.tabs[0]!.client, { clock: w.sim.clock, channel: w.network.factory, page: fakePage() });
    const endpointsBefore = w.network.openEndpoints();
    const stopA = bridge.start();
    const stopB = bridge.start(); // StrictMode's second effect
    expect(w.network.openEndpoints()).toBe(endpointsBefore + 1);
    stopA();
    expect(bridge.getSnapshot().running).toBe(true);
    stopB();
    stopB();
    expect(bridge.getSnapshot().running).toBe(false);
    expect(w.network.openEndpoints()).toBe(endpointsBefore);
    expect(w.sim.clock.pendingTimers()).toBe(timersBefore);
  });

  it('works over the native BroadcastChannel too (Node has one)', async () => {
    const sim = strictSimulation({ ttlSeconds: 600 });
    const tabs = [sim.openTab({ client: { namespace: 'native-devtools' } }), sim.openTab({ client: { namespace: 'native-devtools' } })];
    await sim.signIn();
    await sim.advance(100);
    const bridges = tabs.map((tab) => createDevtoolsBridge(tab.client, { clock: sim.clock, page: fakePage() }));
    const stops = bridges.map((bridge) => bridge.start());
    try {
      await until(
        sim,
        () => bridges.every((bridge) => bridge.getSnapshot().connected && bridge.getSnapshot().tabs.length === 2),
        'both tabs over BroadcastChannel',
      );
    } finally {
      stops.forEach((stop) => stop());
      await sim.dispose();
    }
  });
});
