import type * as BroadcastChannelPackage from 'broadcast-channel';
import type { BroadcastChannel as BroadcastChannelInstance, BroadcastChannelOptions, LeaderElector } from 'broadcast-channel';
import { UnsupportedEnvironmentError, type AuthError } from '../errors';
import type { CoordinationFactory, LeaderElection, TabChannel } from './transport';

/** Options of `broadcastChannelCoordination`, the default `coordination` of `createAuthClient`. */
export interface BroadcastChannelCoordinationOptions {
  /** Passed to broadcast-channel (e.g. `{ type: 'simulate' }` in Node tests). */
  channelOptions?: BroadcastChannelOptions;
  /** Fallback (message-based) election timings; Web Locks, when present, make these irrelevant. */
  electionOptions?: { fallbackInterval?: number; responseTime?: number };
}

type BroadcastChannelModule = typeof BroadcastChannelPackage;
let loading: Promise<BroadcastChannelModule> | undefined;
/**
 * broadcast-channel is loaded on first use, so it stays out of the main chunk of an app: every current browser
 * takes `nativeCoordination` instead (see defaultCoordination.ts). A failed load is tried again next time.
 */
function loadBroadcastChannel(): Promise<BroadcastChannelModule> {
  loading ??= import('broadcast-channel').catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/**
 * The coordination for browsers without BroadcastChannel or Web Locks, and the simulated transport of Node tests
 * (`{ channelOptions: { type: 'simulate' } }`): broadcast-channel's BroadcastChannel (native where available, else
 * its IndexedDB or localStorage method) and its leader election (Web Locks when present, else messages: slower
 * failover and possible duplicate leaders, which is why the refresh itself is serialised by a RefreshLock too).
 *
 * The factory is synchronous; broadcast-channel itself arrives with a dynamic import. Until it has, posts wait in
 * order, subscriptions are kept, and the election starts once it is there. If it cannot be loaded or no method of
 * it works here, `unavailable` settles and the election makes this tab its own leader: it refreshes alone, still
 * serialised by the refresh lock and the storage re-read inside it.
 */
export function broadcastChannelCoordination(options: BroadcastChannelCoordinationOptions = {}): CoordinationFactory {
  return (channelName) => {
    const listeners = new Set<(message: unknown) => void>();
    let channelClosed = false;
    let electionClosed = false;
    let failed = false;
    let reportUnavailable!: (error: AuthError) => void;
    const unavailable = new Promise<AuthError>((resolve) => (reportUnavailable = resolve));

    const ready: Promise<{ module: BroadcastChannelModule; raw: BroadcastChannelInstance<unknown> } | null> = loadBroadcastChannel()
      .then((module) => {
        if (channelClosed) return null;
        const raw = new module.BroadcastChannel<unknown>(channelName, options.channelOptions);
        // One onmessage handler: broadcast-channel keeps its own internal/leader messages out of it.
        raw.onmessage = (message: unknown) => {
          // Native BroadcastChannel delivers structured clones; broadcast-channel's fallbacks (and 'simulate') may
          // hand over the sender's object. Clone so no tab can ever share mutable state with another.
          let copy: unknown;
          try {
            copy = typeof structuredClone === 'function' ? structuredClone(message) : message;
          } catch {
            return; // Not cloneable: cannot be one of ours.
          }
          for (const listener of [...listeners]) listener(copy);
        };
        return { module, raw };
      })
      .catch(() => {
        failed = true;
        reportUnavailable(new UnsupportedEnvironmentError('Tab channel could not be created'));
        return null;
      });

    const channel: TabChannel = {
      async post(message) {
        const loaded = await ready;
        if (!loaded || channelClosed || loaded.raw.isClosed) return;
        await loaded.raw.postMessage(message);
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async close() {
        channelClosed = true;
        listeners.clear();
        const loaded = await ready;
        if (loaded && !loaded.raw.isClosed) await loaded.raw.close();
      },
    };

    let elector: LeaderElector | undefined;
    let started = false;
    let leader = false;
    const election: LeaderElection = {
      get isLeader() {
        return leader;
      },
      start(onChange) {
        if (started || electionClosed) return;
        started = true;
        void ready.then((loaded) => {
          if (electionClosed) return;
          if (!loaded) {
            if (failed) {
              leader = true; // alone: nobody to elect, nobody to hear from
              onChange(true);
            }
            return;
          }
          elector = loaded.module.createLeaderElection(loaded.raw, options.electionOptions);
          // broadcast-channel has no "lost leadership" callback: an elector leads until it dies.
          // Duplicates (fallback election only) are resolved by the refresh lock, so nothing to do on onduplicate.
          elector.onduplicate = () => {};
          elector.awaitLeadership().then(
            () => {
              if (electionClosed) return;
              leader = true;
              onChange(true);
            },
            () => {},
          );
        });
      },
      async close() {
        electionClosed = true;
        leader = false;
        if (elector && !elector.isDead) await elector.die();
      },
    };
    return { channel, election, unavailable };
  };
}
