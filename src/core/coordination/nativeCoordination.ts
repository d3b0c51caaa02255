import { UnsupportedEnvironmentError } from '../errors';
import type { WebLocksLike } from './refreshLock';
import type { CoordinationFactory, LeaderElection, TabChannel } from './transport';

/** The part of `window` this module listens to: `pagehide`, and `pageshow` with `persisted` after a bfcache restore. */
export type PageLifecycleTarget = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

/** What tabauth needs of a BroadcastChannel constructor (the global one, or a stand-in in tests). */
export interface BroadcastChannelLike {
  /** Receives the messages of the other tabs (structured clones). */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Sends to every other tab of the origin on this channel name. */
  postMessage(message: unknown): void;
  /** Leaves the channel. */
  close(): void;
}

/** Options of `nativeCoordination`: the browser APIs it uses, injectable for tests. */
export interface NativeCoordinationOptions {
  /** Web Locks for the leader election. Default `navigator.locks`, read when a coordination is created. */
  locks?: WebLocksLike;
  /** Default the global `BroadcastChannel`, read when a coordination is created. */
  BroadcastChannel?: new (name: string) => BroadcastChannelLike;
  /** Where `pagehide`/`pageshow` arrive. Default `window` in a page; null (no lifecycle) elsewhere, e.g. in workers. */
  page?: PageLifecycleTarget | null;
}

/** True when this environment has what `nativeCoordination()` needs: BroadcastChannel and Web Locks. */
export function nativeCoordinationAvailable(): boolean {
  return typeof BroadcastChannel === 'function' && typeof globalLocks()?.request === 'function';
}

function globalLocks(): WebLocksLike | undefined {
  return typeof navigator === 'undefined' ? undefined : ((navigator as { locks?: WebLocksLike | null }).locks ?? undefined);
}

/**
 * The coordination every current browser gets: the platform's BroadcastChannel for messages, and a leader election
 * that is one Web Lock (`<channel name>:leader`) requested by every tab and held by the leader until it goes away.
 * The browser releases the lock the moment its holder closes or crashes and grants it to the next tab in line, so
 * failover needs no timeouts and no heartbeat, and there is never more than one leader.
 *
 * Back/forward cache: a page that holds or waits for a Web Lock, or receives a BroadcastChannel message while it
 * is cached, is not restored (or is evicted). On `pagehide` this tab therefore gives up leadership (another tab
 * takes over at once), withdraws its lock request and closes its channel; on `pageshow` with `persisted` (restored
 * from the cache) it opens a new channel and campaigns again. Nothing here listens to `unload`, which bars a page
 * from the cache. The client re-reads storage on `pageshow` (`AuthEnvironment.onWake`), which covers every message
 * missed while cached.
 */
export function nativeCoordination(options: NativeCoordinationOptions = {}): CoordinationFactory {
  return (channelName) => {
    const Channel = options.BroadcastChannel ?? (typeof BroadcastChannel === 'function' ? BroadcastChannel : undefined);
    const locks = options.locks ?? globalLocks();
    if (!Channel || typeof locks?.request !== 'function') {
      throw new UnsupportedEnvironmentError('BroadcastChannel and Web Locks are required for the native coordination');
    }
    const page = options.page !== undefined ? options.page : typeof window === 'undefined' ? null : window;
    const detachIfDone = () => {
      if (!channel.closed || !election.closed) return;
      page?.removeEventListener('pagehide', onPageHide);
      page?.removeEventListener('pageshow', onPageShow);
    };
    const channel = pausableChannel(Channel, channelName, detachIfDone);
    const election = webLocksElection(locks, `${channelName}:leader`, detachIfDone);

    let hidden = false;
    const onPageHide = () => {
      hidden = true;
      election.pause();
      channel.pause();
    };
    const onPageShow = (event: Event) => {
      if (!(event as PageTransitionEvent).persisted || !hidden) return; // the first load, or never hidden
      hidden = false;
      channel.resume();
      election.resume();
    };
    page?.addEventListener('pagehide', onPageHide);
    page?.addEventListener('pageshow', onPageShow);

    return { channel: channel.channel, election: election.election };
  };
}

/** A tab channel over the native BroadcastChannel that can be closed for a while (the page in the bfcache). */
function pausableChannel(Channel: new (name: string) => BroadcastChannelLike, channelName: string, onClosed: () => void) {
  const listeners = new Set<(message: unknown) => void>();
  let closed = false;
  let native: BroadcastChannelLike | null = null;
  const open = () => {
    const opened = new Channel(channelName);
    // Native delivery is a structured clone, never the sender's object, and never to the sending object itself.
    opened.onmessage = (event) => {
      for (const listener of [...listeners]) listener(event.data);
    };
    native = opened;
  };
  const shut = () => {
    native?.close();
    native = null;
  };
  open();

  const channel: TabChannel = {
    async post(message) {
      // While paused the page is on its way into the cache (or out): messages it would send are not needed,
      // the tabs that stay read storage or hear from the next leader.
      native?.postMessage(message);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
      shut();
      onClosed();
    },
  };
  return {
    channel,
    get closed() {
      return closed;
    },
    pause: shut,
    resume: () => {
      if (!closed && !native) open();
    },
  };
}

/** A leader election that is one exclusive Web Lock; paused, this tab neither holds nor waits for it. */
function webLocksElection(locks: WebLocksLike, lockName: string, onClosed: () => void) {
  let onChange: ((isLeader: boolean) => void) | null = null;
  let closed = false;
  let paused = false;
  let leader = false;
  /** The pending or granted lock request of this tab; null while it is not campaigning. */
  let campaign: { abort: AbortController; release: (() => void) | null } | null = null;

  const campaignIfWanted = () => {
    if (!onChange || closed || paused || campaign) return;
    const current: { abort: AbortController; release: (() => void) | null } = { abort: new AbortController(), release: null };
    campaign = current;
    locks
      .request(lockName, { mode: 'exclusive', signal: current.abort.signal }, () => {
        // Granted after this campaign was withdrawn (the abort raced the grant): let the lock go at once.
        if (campaign !== current) return Promise.resolve();
        return new Promise<void>((resolve) => {
          current.release = resolve;
          leader = true;
          // Outside the lock callback: a listener that throws must not make the browser release the lock.
          queueMicrotask(() => {
            if (campaign === current && leader) onChange?.(true);
          });
        });
      })
      .catch(() => {
        // AbortError: the campaign was withdrawn. Anything else (a page without lock access) leaves this tab a
        // follower, as broadcast-channel's election does.
      })
      .finally(() => {
        if (campaign === current) campaign = null;
      });
  };
  /** Withdraws the request or releases the held lock; the next tab in line becomes leader. */
  const abdicate = (notify: boolean) => {
    const current = campaign;
    campaign = null;
    if (current) {
      current.abort.abort();
      current.release?.();
    }
    if (leader) {
      leader = false;
      if (notify) onChange?.(false);
    }
  };

  const election: LeaderElection = {
    get isLeader() {
      return leader;
    },
    start(listener) {
      if (onChange || closed) return;
      onChange = listener;
      campaignIfWanted();
    },
    async close() {
      closed = true;
      abdicate(false);
      onChange = null;
      onClosed();
    },
  };
  return {
    election,
    get closed() {
      return closed;
    },
    pause: () => {
      paused = true;
      abdicate(true);
    },
    resume: () => {
      paused = false;
      campaignIfWanted();
    },
  };
}
