import { BroadcastChannel as RawChannel, OPEN_BROADCAST_CHANNELS } from 'broadcast-channel';
import { afterEach, describe, expect, it } from 'vitest';
import { broadcastChannelCoordination } from '../../src/core/coordination/broadcastChannelTransport';
import { nativeCoordination, type BroadcastChannelLike } from '../../src/core/coordination/nativeCoordination';
import type { CoordinationFactory, TabCoordination } from '../../src/core/coordination/transport';
import { systemClock } from '../../src/core/clock';
import { createSimulatedNetwork } from '../../src/testing/simulatedNetwork';
import { createSimulatedWebLocks } from '../../src/testing/simulatedWebLocks';

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

/** Node's global BroadcastChannel, counted: the native coordination's channels must all be closed again. */
function countingBroadcastChannel() {
  const open = new Set<BroadcastChannelLike>();
  class Counted extends BroadcastChannel {
    constructor(name: string) {
      super(name);
      open.add(this);
    }
    override close() {
      open.delete(this);
      super.close();
    }
  }
  return { BroadcastChannel: Counted, open: () => open.size };
}

/** A page's lifecycle events for one simulated tab (what `window` delivers in a browser). */
function pageLifecycle() {
  const target = new EventTarget();
  const listening: string[] = [];
  const { addEventListener, removeEventListener } = target;
  target.addEventListener = (type: string, ...rest: [EventListenerOrEventListenerObject | null, (boolean | AddEventListenerOptions)?]) => {
    listening.push(type);
    addEventListener.call(target, type, ...rest);
  };
  target.removeEventListener = (type: string, ...rest: [EventListenerOrEventListenerObject | null, (boolean | EventListenerOptions)?]) => {
    listening.splice(listening.indexOf(type), 1);
    removeEventListener.call(target, type, ...rest);
  };
  const fire = (type: 'pagehide' | 'pageshow', persisted: boolean) => target.dispatchEvent(Object.assign(new Event(type), { persisted }));
  return {
    target,
    /** Event types with a listener attached now. */
    listening: () => [...listening].sort(),
    /** The page goes into the back/forward cache. */
    hide: () => fire('pagehide', true),
    /** The page comes back from the cache. */
    restore: () => fire('pageshow', true),
    /** A normal page load's pageshow. */
    firstShow: () => fire('pageshow', false),
  };
}

let channelCounter = 0;
interface Network {
  factoryFor(tab: string): CoordinationFactory;
  /** Channels of this network still open. */
  openChannels(): number;
}
const implementations: Array<[string, () => Network]> = [
  [
    'simulated network (real clock)',
    () => {
      const network = createSimulatedNetwork({ clock: systemClock });
      return { factoryFor: (tab) => network.coordination(tab), openChannels: () => network.openChannels() };
    },
  ],
  [
    'broadcast-channel, loaded lazily (simulate method)',
    () => {
      const factory = broadcastChannelCoordination({ channelOptions: { type: 'simulate' }, electionOptions: { fallbackInterval: 50, responseTime: 20 } });
      return { factoryFor: () => factory, openChannels: () => OPEN_BROADCAST_CHANNELS.size };
    },
  ],
  [
    "native (Node's BroadcastChannel, in-memory Web Locks)",
    () => {
      const locks = createSimulatedWebLocks();
      const channels = countingBroadcastChannel();
      return {
        factoryFor: (tab) => nativeCoordination({ locks: locks.forTab(tab), BroadcastChannel: channels.BroadcastChannel, page: pageLifecycle().target }),
        openChannels: channels.open,
      };
    },
  ],
];

describe.each(implementations)('coordination contract: %s', (_name, createNetwork) => {
  const open = (network: Network, tab: string, name: string) => {
    const coordination = network.factoryFor(tab)(name);
    opened.push(coordination);
    return coordination;
  };

  it('delivers messages to the other tabs, not to the sender, as copies', async () => {
    const network = createNetwork();
    const name = `contract-${++channelCounter}`;
    const [a, b, c] = ['a', 'b', 'c'].map((tab) => open(network, tab, name));
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

  it('delivers the messages of one sender in the order they were posted', async () => {
    const network = createNetwork();
    const name = `contract-${++channelCounter}`;
    const [a, b] = ['a', 'b'].map((tab) => open(network, tab, name));
    const received: number[] = [];
    b!.channel.subscribe((m) => received.push((m as { n: number }).n));
    // Posted in one go, without waiting: the lazily loaded transport queues them until its module is there.
    await Promise.all([1, 2, 3, 4, 5].map((n) => a!.channel.post({ n })));
    await eventually(() => received.length === 5);
    expect(received).toEqual([1, 2, 3, 4, 5]);
  });

  it('elects exactly one leader, and another after the leader closes', async () => {
    const network = createNetwork();
    const name = `contract-${++channelCounter}`;
    const tabs = ['a', 'b', 'c'].map((tab) => open(network, tab, name));
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
    const network = createNetwork();
    const before = network.openChannels();
    const tab = open(network, 'solo', `contract-${++channelCounter}`);
    tab.election.start(() => {});
    await eventually(() => tab.election.isLeader);
    await tab.election.close();
    await tab.channel.close();
    expect(network.openChannels()).toBe(before);
  });

  it('a coordination closed before it ever started leaves nothing open and elects nobody', async () => {
    const network = createNetwork();
    const before = network.openChannels();
    const tab = network.factoryFor('early')(`contract-${++channelCounter}`);
    await tab.election.close();
    await tab.channel.close();
    tab.election.start(() => {
      throw new Error('a closed election must not start');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tab.election.isLeader).toBe(false);
    expect(network.openChannels()).toBe(before);
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

it('broadcast-channel with no usable method: the factory still returns, `unavailable` settles, and the tab leads alone', async () => {
  const saved = globalThis.BroadcastChannel;
  // @ts-expect-error simulating a runtime without BroadcastChannel
  delete globalThis.BroadcastChannel;
  try {
    const tab = broadcastChannelCoordination({ channelOptions: { type: 'native' } })(`contract-${++channelCounter}`);
    opened.push(tab);
    const changes: boolean[] = [];
    tab.election.start((leading) => changes.push(leading));
    const error = await tab.unavailable;
    expect(error?.code).toBe('unsupported_environment');
    await eventually(() => changes.length === 1);
    expect(changes).toEqual([true]);
    expect(tab.election.isLeader).toBe(true);
    await expect(tab.channel.post({ n: 1 })).resolves.toBeUndefined(); // goes nowhere, never throws
  } finally {
    globalThis.BroadcastChannel = saved;
  }
});

describe('native coordination and the back/forward cache', () => {
  const setup = (names: string[]) => {
    const locks = createSimulatedWebLocks();
    const channels = countingBroadcastChannel();
    const name = `native-${++channelCounter}`;
    return {
      channels,
      tabs: names.map((tab) => {
        const page = pageLifecycle();
        const coordination = nativeCoordination({ locks: locks.forTab(tab), BroadcastChannel: channels.BroadcastChannel, page: page.target })(name);
        opened.push(coordination);
        const received: unknown[] = [];
        const changes: boolean[] = [];
        coordination.channel.subscribe((message) => received.push(message));
        return { name: tab, page, coordination, received, changes, start: () => coordination.election.start((leading) => changes.push(leading)) };
      }),
    };
  };

  it('listens to pagehide and pageshow only (never unload or beforeunload), and detaches once closed', async () => {
    const { tabs } = setup(['a']);
    const [a] = tabs;
    a!.start();
    expect(a!.page.listening()).toEqual(['pagehide', 'pageshow']);
    await a!.coordination.election.close();
    expect(a!.page.listening()).toEqual(['pagehide', 'pageshow']); // the channel is still open
    await a!.coordination.channel.close();
    expect(a!.page.listening()).toEqual([]);
  });

  it('pagehide hands leadership to the next tab at once and closes the channel; pageshow (persisted) rejoins', async () => {
    const { tabs, channels } = setup(['a', 'b']);
    const [a, b] = tabs;
    a!.start();
    await eventually(() => a!.coordination.election.isLeader);
    b!.start();
    expect(channels.open()).toBe(2);

    a!.page.hide();
    expect(a!.coordination.election.isLeader).toBe(false);
    expect(a!.changes).toEqual([true, false]); // the client hears that it lost leadership
    expect(channels.open()).toBe(1); // nothing can reach the cached page (a message would evict it)
    await eventually(() => b!.coordination.election.isLeader);

    await b!.coordination.channel.post({ while: 'cached' });
    await a!.coordination.channel.post({ from: 'cached page' }); // a hidden page sends nothing
    a!.page.restore();
    expect(channels.open()).toBe(2);
    await b!.coordination.channel.post({ after: 'restore' });
    await eventually(() => a!.received.length === 1);
    expect(a!.received).toEqual([{ after: 'restore' }]);
    expect(b!.received).toEqual([]);

    // Back in line for leadership: it leads once the current leader goes away.
    expect(a!.coordination.election.isLeader).toBe(false);
    await b!.coordination.election.close();
    await eventually(() => a!.coordination.election.isLeader);
    expect(a!.changes).toEqual([true, false, true]);
  });

  it('a follower that is cached withdraws from the line, so the lock goes to a tab that is still open', async () => {
    const { tabs } = setup(['a', 'b', 'c']);
    const [a, b, c] = tabs;
    a!.start();
    await eventually(() => a!.coordination.election.isLeader);
    b!.start(); // second in line
    c!.start(); // third
    b!.page.hide();
    await a!.coordination.election.close();
    await eventually(() => c!.coordination.election.isLeader);
    expect(b!.coordination.election.isLeader).toBe(false);
    expect(b!.changes).toEqual([]);
  });

  it("a normal load's pageshow (not persisted) changes nothing", async () => {
    const { tabs, channels } = setup(['a', 'b']);
    const [a, b] = tabs;
    a!.start();
    await eventually(() => a!.coordination.election.isLeader);
    b!.start();
    a!.page.firstShow();
    b!.page.firstShow();
    expect(a!.coordination.election.isLeader).toBe(true);
    expect(a!.changes).toEqual([true]);
    expect(channels.open()).toBe(2);
  });

  it('a page hidden before its election started campaigns only once it is shown again', async () => {
    const { tabs } = setup(['a']);
    const [a] = tabs;
    a!.page.hide();
    a!.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(a!.coordination.election.isLeader).toBe(false);
    a!.page.restore();
    await eventually(() => a!.coordination.election.isLeader);
    expect(a!.changes).toEqual([true]);
  });

  it('without BroadcastChannel or Web Locks it throws UnsupportedEnvironmentError at creation (the client then runs alone)', () => {
    const channels = countingBroadcastChannel();
    expect(() => nativeCoordination({ BroadcastChannel: channels.BroadcastChannel, page: null })('x')).toThrow(
      expect.objectContaining({ code: 'unsupported_environment' }),
    );
  });
});
