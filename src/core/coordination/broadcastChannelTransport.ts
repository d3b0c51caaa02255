import { BroadcastChannel, createLeaderElection, type BroadcastChannelOptions, type LeaderElector } from 'broadcast-channel';
import type { CoordinationFactory, LeaderElection, TabChannel } from './transport';

/** Options of `broadcastChannelCoordination`, the default `coordination` of `createAuthClient`. */
export interface BroadcastChannelCoordinationOptions {
  /** Passed to broadcast-channel (e.g. `{ type: 'simulate' }` in Node tests). */
  channelOptions?: BroadcastChannelOptions;
  /** Fallback (message-based) election timings; Web Locks, when present, make these irrelevant. */
  electionOptions?: { fallbackInterval?: number; responseTime?: number };
}

/**
 * The production coordination: broadcast-channel's BroadcastChannel (native where available, with its own fallbacks)
 * and its leader election, which uses Web Locks when the browser has them (instant failover when a tab closes or
 * crashes) and a message-based election otherwise (slower failover, duplicate leaders possible, which is why the
 * refresh itself is also serialised by a RefreshLock).
 */
export function broadcastChannelCoordination(options: BroadcastChannelCoordinationOptions = {}): CoordinationFactory {
  return (channelName) => {
    const channel = new BroadcastChannel<unknown>(channelName, options.channelOptions);
    const listeners = new Set<(message: unknown) => void>();
    // One onmessage handler: broadcast-channel keeps its own internal/leader messages out of it.
    channel.onmessage = (message: unknown) => {
      // Native BroadcastChannel delivers structured clones; broadcast-channel's fallbacks (and 'simulate') may hand
      // over the sender's object. Clone so no tab can ever share mutable state with another.
      let copy: unknown;
      try {
        copy = typeof structuredClone === 'function' ? structuredClone(message) : message;
      } catch {
        return; // Not cloneable: cannot be one of ours.
      }
      for (const listener of [...listeners]) listener(copy);
    };

    const tabChannel: TabChannel = {
      async post(message) {
        if (channel.isClosed) return;
        await channel.postMessage(message);
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async close() {
        listeners.clear();
        if (!channel.isClosed) await channel.close();
      },
    };

    let elector: LeaderElector | undefined;
    let leader = false;
    let closed = false;
    const election: LeaderElection = {
      get isLeader() {
        return leader;
      },
      start(onChange) {
        if (elector || closed) return;
        elector = createLeaderElection(channel, options.electionOptions);
        // broadcast-channel has no "lost leadership" callback: an elector leads until it dies.
        // Duplicates (fallback election only) are resolved by the refresh lock, so nothing to do on onduplicate.
        elector.onduplicate = () => {};
        elector.awaitLeadership().then(
          () => {
            if (closed) return;
            leader = true;
            onChange(true);
          },
          () => {},
        );
      },
      async close() {
        closed = true;
        leader = false;
        if (elector && !elector.isDead) await elector.die();
      },
    };
    return { channel: tabChannel, election };
  };
}
