import type { Clock } from './clock';
import { defaultRefreshLock, type RefreshLock } from './coordination/refreshLock';
import type { CoordinationContext, CoordinationFactory, TabCoordination } from './coordination/transport';
import type { AccessTokens } from './accessTokens';
import type { DpopHandle } from './dpop';
import type { AuthEnvironment } from './environment';
import { AuthError, DisposedError, NotMountedError, UnsupportedEnvironmentError } from './errors';
import type { LeaderDuties } from './leader';
import type { Peers } from './peers';
import type { MountResources } from './refresh/refresher';
import type { InFlight } from './inflight';
import type { Freshness } from './refreshPolicy';
import type { ReadResult, SharedRecord } from './sharedRecord';
import { createMemoryStorage } from './storage/memoryStorage';
import type { TabState } from './tabState';
import type { Telemetry } from './telemetry';
import type { VersionWaiters } from './waiters';

export interface LifecycleSettings {
  namespace: string;
  tabId: string;
  clock: Clock;
  environment: AuthEnvironment;
  coordination: CoordinationFactory;
  /** Handed to the coordination factory (its `report` is wired to the telemetry here). */
  coordinationContext: Omit<CoordinationContext, 'report'>;
  refreshLock: RefreshLock | undefined;
  requestTimeoutMs: number;
  /** How long a tab that found nothing stored waits for the open tabs' answer (see AuthClientOptions.peerQueryMs). */
  peerQueryMs: number;
  newDeviceId: () => string;
}

export interface LifecycleParts {
  slot: MountSlot;
  state: TabState;
  shared: SharedRecord;
  peers: Peers;
  waiters: VersionWaiters;
  leader: LeaderDuties;
  tokens: AccessTokens;
  telemetry: Telemetry;
  freshness: Freshness;
  inflight: InFlight;
  /** DPoP (tabauth/dpop) when on: it shares its key and nonces with the other tabs while this tab is mounted. */
  dpop: DpopHandle | null;
}

/** Passes work through when nothing is mounted (no lock exists yet). */
const NO_LOCK: RefreshLock = { run: (work) => work() };

/**
 * One mount period: from the first `mount()` to the last unmount. It owns what exists only while mounted (the
 * channel and election, the refresh lock, page listeners) and the load of the stored state.
 */
class MountPeriod {
  readonly lifetime = new AbortController();
  /** Aborted when this tab is elected: with no other tab leading, there is nobody to ask for a pair. */
  readonly elected = new AbortController();
  coordination: TabCoordination | null = null;
  lock: RefreshLock | null = null;
  loaded = false;
  readonly cleanups: Array<() => void> = [];

  /** Without a channel there is no election and nobody to ask: the tab leads itself once its state is loaded. */
  get isLeader(): boolean {
    return this.coordination ? this.coordination.election.isLeader : this.loaded;
  }
}

/** The current mount period as the refresher and follower see it: its lifetime, its lock, whether there is one. */
export class MountSlot implements MountResources {
  period: MountPeriod | null = null;

  get signal(): AbortSignal {
    return this.period?.lifetime.signal ?? AbortSignal.abort(new DisposedError('Auth client is not mounted'));
  }

  get lock(): RefreshLock {
    return this.period?.lock ?? NO_LOCK;
  }

  get isMounted(): boolean {
    return this.period !== null;
  }
}

/**
 * Starts and stops a tab's side effects (reference counting is the facade's), and gates calls on the load. Without a
 * channel the tab refreshes for itself, still serialised across tabs by the refresh lock and the storage re-read
 * inside it (before, such a tab waited for a leader that could never answer; found by the chaos degraded-browser
 * tests).
 */
export class Lifecycle {
  private disposed = false;
  /** The storage re-read of the last wake (a page restored from the back/forward cache): calls wait for it. */
  private catchingUp: Promise<void> | null = null;
  /** The session read started at creation (see `readEarly`), until the first mount takes it. */
  private early: { read: Promise<ReadResult>; settled: boolean } | null = null;

  constructor(
    private readonly settings: LifecycleSettings,
    private readonly parts: LifecycleParts,
  ) {}

  private get period(): MountPeriod | null {
    return this.parts.slot.period;
  }

  private set period(period: MountPeriod | null) {
    this.parts.slot.period = period;
  }

  /**
   * Starts the session load at creation, before any mount: a page that creates its client at module load overlaps
   * the read with its own chunks and first render. Only a read: the channel, election and listeners wait for mount,
   * so a client nobody mounts holds nothing but this promise.
   */
  readEarly(): void {
    const early = { read: this.parts.shared.load(this.settings.newDeviceId), settled: false };
    const settle = () => void (early.settled = true);
    early.read.then(settle, settle); // also marks a failed read handled: the mount reports it
    this.early = early;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  start(): void {
    if (this.disposed) throw new DisposedError();
    const { environment } = this.settings;
    const { state, shared, peers, waiters, leader, freshness } = this.parts;
    const period = new MountPeriod();
    this.period = period;
    state.setLeadership(period);
    shared.setActive(true);
    leader.setMounted(true);
    freshness.setWatching(true);
    let detachChannel = () => {};
    try {
      const context: CoordinationContext = {
        ...this.settings.coordinationContext,
        // A report after this mount period ended (a late worker answer) is not this period's news.
        report: (event) => this.period === period && this.parts.telemetry.emit(event),
      };
      period.coordination = this.settings.coordination(`tabauth:${this.settings.namespace}`, context);
      detachChannel = peers.attach(period.coordination.channel);
      // A lazily loaded coordination (broadcast-channel, in browsers without BroadcastChannel or Web Locks) that fails
      // later is reported like one that fails at once.
      void period.coordination.unavailable?.then((error) => this.period === period && state.setError(error));
    } catch (error) {
      // No channel at all: this tab still works alone (and still serialises refreshes through the lock).
      state.setError(error instanceof AuthError ? error : new UnsupportedEnvironmentError('Tab channel could not be created'));
    }
    // The channel's detach comes first: `end` keeps it until in-flight requests are announced.
    period.cleanups.push(
      detachChannel,
      this.parts.dpop?.connect() ?? (() => {}),
      environment.onWake(() => {
        freshness.woke(); // first: the messages that waited through a freeze may be delivered next
        this.onWake();
      }),
      environment.onFreeze?.(() => {
        freshness.froze();
        shared.flushReceived(); // a pair this tab may be the last live holder of is checked before the page stops
      }) ?? (() => {}),
      environment.onOnline(() => {
        // A frozen page runs nothing until it resumes, and its resume wakes it anyway (with the messages that waited).
        if (freshness.isFrozen()) return;
        waiters.wakeAll(); // followers waiting out the offline period ask again right away
        this.onWake();
      }),
    );
    void this.load(period);
  }

  /**
   * Ends the mount period. Leadership passes on at once; the channel stays open until every request that reached the
   * server is answered, stored and announced (a rotation is never abandoned), then closes.
   */
  end(): void {
    const ending = this.period;
    if (!ending) return;
    const { state, shared, leader, telemetry, freshness, inflight } = this.parts;
    const wasLeader = state.isLeader;
    this.period = null;
    state.setLeadership(null);
    shared.setActive(false);
    ending.lifetime.abort(new DisposedError('Auth client was unmounted'));
    leader.setMounted(false);
    freshness.setWatching(false);
    const [detachChannel, ...cleanups] = ending.cleanups;
    cleanups.forEach((cleanup) => cleanup());
    if (ending.coordination) void ending.coordination.election.close().catch(() => {});
    const closeChannel = () => {
      detachChannel?.();
      if (ending.coordination) void ending.coordination.channel.close().catch(() => {});
    };
    if (inflight.size === 0) closeChannel();
    else void inflight.drained().then(closeChannel);
    if (wasLeader) telemetry.emit({ type: 'leadership-lost' });
    state.syncSnapshot();
  }

  /** Ends for good; resolves once every request that reached the server is answered and its result stored. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.end();
    this.parts.waiters.disposeAll();
    this.parts.state.releaseLoadWaiters();
    await this.parts.inflight.drained();
  }

  /** Waits for the stored state; fails fast for a client nobody mounts. */
  async requireUsable(): Promise<void> {
    const { state } = this.parts;
    if (this.disposed) throw new DisposedError();
    if (!this.period && !state.isLoaded) {
      // React runs children's effects before the provider's, so a call from a child effect arrives just before the
      // mount in the same task: give it that task. A client nobody mounts (a server render) fails fast instead of
      // waiting forever.
      await Promise.resolve();
      await Promise.resolve();
      if (!this.period && !state.isLoaded && !this.disposed) throw new NotMountedError();
    }
    await state.loaded;
    // A page restored from the back/forward cache (or woken) serves no token before it has caught up with storage.
    if (this.catchingUp) await this.catchingUp;
    if (this.disposed) throw new DisposedError();
  }

  private async load(period: MountPeriod): Promise<void> {
    const { state, shared } = this.parts;
    const early = this.early;
    this.early = null;
    let read: ReadResult | null = null;
    try {
      read = await (early?.read ?? shared.load(this.settings.newDeviceId));
    } catch (error) {
      if (this.period !== period) return;
      await this.fallBackToMemory(error);
    }
    if (this.period !== period) return;
    if (read) shared.take(read);
    // A read that finished before this mount opened the channel may have missed a record announced meanwhile (a
    // sign-out in another tab): read again, without making the calls wait for it.
    if (early?.settled) void shared.reload();
    this.startCoordination(period);
    await this.askPeersIfEmpty(period);
    if (this.period !== period) return;
    period.loaded = true;
    state.markLoaded();
    if (!period.coordination) this.parts.leader.schedule();
  }

  /** IndexedDB cannot be read (private mode, a missing API): this tab keeps its session in memory. */
  private async fallBackToMemory(error: unknown): Promise<void> {
    const { state, shared, telemetry } = this.parts;
    shared.replaceStorage(createMemoryStorage());
    const held = state.record;
    if (held) await shared.compareAndSet(held.version, held).catch(() => {});
    state.setStorageKind('memory');
    telemetry.emit({ type: 'storage-fallback', errorCode: error instanceof AuthError ? error.code : 'storage_failure' });
  }

  /** The refresh lock and the election, once the stored state is in. */
  private startCoordination(period: MountPeriod): void {
    const { namespace, tabId, clock, requestTimeoutMs } = this.settings;
    const { shared, leader } = this.parts;
    period.lock =
      this.settings.refreshLock ??
      defaultRefreshLock({
        lockName: `tabauth:${namespace}:refresh`,
        storage: shared.backing,
        key: shared.leaseKey,
        owner: tabId,
        clock,
        ttlMs: requestTimeoutMs + 10_000,
        onStorageFailure: (error) => shared.failed('write', error),
      });
    shared.useMarker(period.lock.unpersisted);
    period.coordination?.election.start((leading) => {
      if (leading) period.elected.abort();
      leader.leadershipChanged(leading);
    });
  }

  /**
   * Storage had nothing for this new tab. Before it renders signed-out, it asks the open tabs (one short round trip:
   * every tab answers a hello with the record it holds), since a read can come back empty while other tabs are
   * signed in (WebKit during page hide, a storage fallback to memory).
   */
  private async askPeersIfEmpty(period: MountPeriod): Promise<void> {
    const { state, peers, waiters } = this.parts;
    // Elected at once: no other tab leads, so none is mounted (every mounted tab campaigns); nobody to ask.
    if (state.record !== null || !peers.connected || state.isLeader) return;
    peers.post({ type: 'leader-hello' });
    await waiters.wait(0, this.settings.peerQueryMs, period.elected.signal);
  }

  /** The page became visible, regained focus, resumed or came back online: catch up, refresh if due. */
  private onWake(): void {
    const { environment } = this.settings;
    const { state, shared, tokens, freshness } = this.parts;
    const reload = shared.reload().finally(() => {
      if (this.catchingUp === reload) this.catchingUp = null;
    });
    this.catchingUp = reload;
    void (async () => {
      await reload;
      freshness.rebase();
      const held = state.record;
      if (!this.period || !held?.tokens || !environment.isOnline()) return;
      if (!freshness.isDue()) return;
      tokens.ensureFresh(held.version, false, 'wake').catch(() => {});
    })();
  }
}
