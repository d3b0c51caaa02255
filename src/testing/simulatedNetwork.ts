import type { Clock, CoordinationFactory, LeaderElection, TabChannel } from 'tabauth';

/**
 * The in-memory twin of broadcast-channel for many tabs in one process: messages are delivered on the simulated
 * clock, and leader election behaves like the Web Locks election (first candidate leads; the next one takes over
 * when the leader closes or dies). Tests can kill a tab without cleanup, force duplicate leaders, and drop, delay or
 * duplicate messages.
 */
/** Options of `createSimulatedNetwork`. */
export interface SimulatedNetworkOptions {
  /** The clock that delivers messages and runs failovers. */
  clock: Clock;
  /** Delivery delay of each message in ms. Default 1. */
  deliveryDelayMs?: number | ((from: string, to: string) => number);
  /** Time until the next candidate leads after the leader closed or died. Default 0 (Web Locks: instant). */
  failoverDelayMs?: number;
}

/** Per-message fault decisions, for chaos runs. */
export interface MessageFaults {
  /** Return true to lose this message to this receiver. */
  drop?: (from: string, to: string, message: unknown) => boolean;
  /** Return true to deliver it twice. */
  duplicate?: (from: string, to: string, message: unknown) => boolean;
  /** Extra delay in ms for this message to this receiver. */
  extraDelayMs?: (from: string, to: string, message: unknown) => number;
}

interface Member {
  tab: string;
  channelName: string;
  alive: boolean;
  /** Deliveries to this member still on their way (dropped when it leaves: nothing is left scheduled for it). */
  pending: Set<unknown>;
  listeners: Set<(message: unknown) => void>;
  candidate: boolean;
  leader: boolean;
  onChange: ((isLeader: boolean) => void) | null;
}

/** The simulated tab channel and election of a tab simulation (`sim.network`). */
export interface SimulatedNetwork {
  /** The coordination factory for the tab named `tab` (pass it as `coordination` to createAuthClient). */
  coordination(tab: string): CoordinationFactory;
  /** The tab dies without cleanup (a crash): it stops sending and receiving; its leadership passes on. */
  kill(tab: string): void;
  /** Makes the tab a leader although another one leads (the fallback election's duplicate-leader case). */
  forceLeader(tab: string): void;
  /** Tabs that currently believe they lead. */
  leaders(): string[];
  /** Decides, per message and receiver, what goes wrong from now on; null delivers everything again. */
  setFaults(faults: MessageFaults | null): void;
  /** Messages posted, delivered, dropped and duplicated so far. */
  readonly stats: { posted: number; delivered: number; dropped: number; duplicated: number };
  /** Channels currently open (like broadcast-channel's OPEN_BROADCAST_CHANNELS). */
  openChannels(): number;
}

/** Creates a simulated network; `createTabSimulation` makes one for you. */
export function createSimulatedNetwork(options: SimulatedNetworkOptions): SimulatedNetwork {
  const { clock } = options;
  const members: Member[] = [];
  const stats = { posted: 0, delivered: 0, dropped: 0, duplicated: 0 };
  let faults: MessageFaults | null = null;
  const failoverDelayMs = options.failoverDelayMs ?? 0;

  const delayFor = (from: string, to: string) =>
    typeof options.deliveryDelayMs === 'function' ? options.deliveryDelayMs(from, to) : (options.deliveryDelayMs ?? 1);

  const electNext = (channelName: string) => {
    const electing = members.filter((m) => m.channelName === channelName && m.alive && m.candidate);
    if (electing.length === 0 || electing.some((m) => m.leader)) return;
    const next = electing[0]!;
    next.leader = true;
    next.onChange?.(true);
  };

  const scheduleElection = (channelName: string) => {
    if (failoverDelayMs <= 0) electNext(channelName);
    else clock.setTimeout(() => electNext(channelName), failoverDelayMs);
  };

  const leave = (member: Member, graceful: boolean) => {
    if (!member.alive) return;
    const wasLeader = member.leader;
    member.alive = false;
    member.leader = false;
    member.candidate = false;
    member.listeners.clear();
    for (const handle of member.pending) clock.clearTimeout(handle);
    member.pending.clear();
    if (graceful && wasLeader) member.onChange?.(false);
    member.onChange = null;
    if (wasLeader) scheduleElection(member.channelName);
  };

  const deliver = (from: Member, message: unknown) => {
    stats.posted++;
    for (const to of members) {
      if (to === from || !to.alive || to.channelName !== from.channelName) continue;
      if (faults?.drop?.(from.tab, to.tab, message)) {
        stats.dropped++;
        continue;
      }
      const copies = faults?.duplicate?.(from.tab, to.tab, message) ? 2 : 1;
      if (copies === 2) stats.duplicated++;
      for (let copy = 0; copy < copies; copy++) {
        const delay = delayFor(from.tab, to.tab) + (faults?.extraDelayMs?.(from.tab, to.tab, message) ?? 0) + copy;
        const clone = structuredClone(message);
        const handle = clock.setTimeout(() => {
          to.pending.delete(handle);
          if (!to.alive) return;
          stats.delivered++;
          for (const listener of [...to.listeners]) listener(clone);
        }, delay);
        to.pending.add(handle);
      }
    }
  };

  return {
    coordination(tab) {
      return (channelName) => {
        const member: Member = { tab, channelName, alive: true, pending: new Set(), listeners: new Set(), candidate: false, leader: false, onChange: null };
        members.push(member);
        const channel: TabChannel = {
          async post(message) {
            if (member.alive) deliver(member, message);
          },
          subscribe(listener) {
            member.listeners.add(listener);
            return () => member.listeners.delete(listener);
          },
          async close() {
            leave(member, true);
          },
        };
        const election: LeaderElection = {
          get isLeader() {
            return member.alive && member.leader;
          },
          start(onChange) {
            if (!member.alive || member.candidate) return;
            member.candidate = true;
            member.onChange = onChange;
            electNext(channelName);
          },
          async close() {
            leave(member, true);
          },
        };
        return { channel, election };
      };
    },
    kill(tab) {
      for (const member of members) if (member.tab === tab) leave(member, false);
    },
    forceLeader(tab) {
      for (const member of members) {
        if (member.tab !== tab || !member.alive || member.leader) continue;
        member.leader = true;
        member.candidate = true;
        member.onChange?.(true);
      }
    },
    leaders: () => members.filter((m) => m.alive && m.leader).map((m) => m.tab),
    setFaults(next) {
      faults = next;
    },
    stats,
    openChannels: () => members.filter((m) => m.alive).length,
  };
}
