import { BroadcastChannel as RawChannel, OPEN_BROADCAST_CHANNELS } from 'broadcast-channel';
import { afterEach, describe, expect, it } from 'vitest';
import { broadcastChannelCoordination } from '../../src/core/coordination/broadcastChannelTransport';
import type { CoordinationFactory, TabCoordination } from '../../src/core/coordination/transport';
import { systemClock } from '../../src/core/clock';
import { createSimulatedNetwork } from '../../src/testing/simulatedNetwork';

/** Real-time waiting for a condition; only used to let real message passing happen, never asserted on. */
async function eventually(check: () => boolean, timeoutMs = 10_000) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let opened: TabCoordination[] = [];
afterEach(async () => {
  for (const tab of opened) {
    await tab.election.close();
    await tab.channel.close();
  }
  opened = [];
});

let channelCounter = 0;
const implementations: Array<[string, () => (tab: string) => CoordinationFactory]> = [
  ['simulated network (real clock)', () => {
    const network = createSimulatedNetwork({ clock: systemClock });
    return (tab) => network.coordination(tab);
  }],
  ['broadcast-channel (simulate method)', () => {
    const factory = broadcastChannelCoordination({ channelOptions: { type: 'simulate' }, electionOptions: { fallbackInterval: 50, responseTime: 20 } });
    return () => factory;
  }],
];

describe.each(implementations)('coordination contract: %s', (_name, createNetwork) => {
  const open = (factoryFor: (tab: string) => CoordinationFactory, tab: string, name: string) => {
    const coordination = factoryFor(tab)(name);
    opened.push(coordination);
    return coordination;
  };

  it('delivers messages to the other tabs, not to the sender, as copies', async () => {
    const factoryFor = createNetwork();
    const name = `contract-${++channelCounter}`;
    const [a, b, c] = ['a', 'b', 'c'].map((tab) => open(factoryFor, tab, name));
    const received: Record<string, unknown[]> = { a: [], b: [], c: [] };
    a!.channel.subscribe((m) => received.a!.push(m));
    b!.channel.subscribe((m) => received.b!.push(m));
    c!.channel.subscribe((m) => received.c!.push(m));
    const message = { hello: 'world', nested: { n: 1 } };
    await a!.channel.post(message);
    await eventually(() => received.b!.length === 1 && received.c!.length === 1);
    expect(received.a).toEqual([]);
    expect(received.b).toEqual([message]);
    expect(received.b![0]).not.toBe(message);
  });

  it('elects exactly one leader, and another after the leader closes', async () => {
    const factoryFor = createNetwork();
    const name = `contract-${++channelCounter}`;
    const tabs = ['a', 'b', 'c'].map((tab) => open(factoryFor, tab, name));
    const changes: string[] = [];
    tabs.forEach((tab, i) => tab.election.start((leading) => changes.push(`${i}:${leading}`)));
    await eventually(() => tabs.filter((tab) => tab.election.isLeader).length === 1);
    const leader = tabs.find((tab) => tab.election.isLeader)!;
    await leader.election.close();
    await leader.channel.close();
    await eventually(() => tabs.filter((tab) => tab !== leader && tab.election.isLeader).length === 1);
    expect(tabs.filter((tab) => tab.election.isLeader)).toHaveLength(1);
  });

  it('closing leaves no open channel behind', async () => {
    const factoryFor = createNetwork();
    const before = OPEN_BROADCAST_CHANNELS.size;
    const tab = open(factoryFor, 'solo', `contract-${++channelCounter}`);
    tab.election.start(() => {});
    await tab.election.close();
    await tab.channel.close();
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before);
  });
});

it('broadcast-channel internal leader messages never reach the client', async () => {
  const factory = broadcastChannelCoordination({ channelOptions: { type: 'simulate' }, electionOptions: { fallbackInterval: 50, responseTime: 20 } });
  const name = `contract-${++channelCounter}`;
  const a = factory(name);
  const b = factory(name);
  opened.push(a, b);
  const seen: unknown[] = [];
  b.channel.subscribe((message) => seen.push(message));
  a.election.start(() => {});
  b.election.start(() => {});
  await eventually(() => a.election.isLeader || b.election.isLeader);
  const raw = new RawChannel(name, { type: 'simulate' });
  await raw.postMessage({ ours: true });
  await eventually(() => seen.length === 1);
  await raw.close();
  expect(seen).toEqual([{ ours: true }]);
});
