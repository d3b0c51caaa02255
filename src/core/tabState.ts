import type { AuthError } from './errors';
import { outranks } from './sessionOrder';
import type { AuthSnapshot, StoredAuthState } from './types';

/** Where a record came from: this tab made it, or it arrived from another tab by message or through storage. */
export type StateSource = 'channel' | 'storage' | 'this-tab';

/** What `adopt` changed: subscribers (events, snapshot, waiters, scheduler) react to this and nothing else. */
export interface Transition {
  previous: StoredAuthState | null;
  record: StoredAuthState;
  source: StateSource;
  /** For a record from the channel: its age when sent, on the sender's monotonic clock. */
  ageMs: number | undefined;
}

/**
 * The one owner of a tab's state: the record it holds, whether storage was loaded, leadership, the last error and
 * the storage kind. `adopt` is the reducer (decide, set, then notify, as TanStack Query's `Query#dispatch` and
 * zustand's `setState` do); everything that reacts to a new record subscribes with `onTransition`, and everything
 * that renders subscribes to the snapshot.
 */
export class TabState {
  private current: StoredAuthState | null = null;
  private everLoaded = false;
  private leadership: LeadershipSource = NOT_LEADING;
  private lastError: AuthError | null = null;
  private storageKind: AuthSnapshot['storage'];
  private readonly transitionListeners: Array<(transition: Transition) => void> = [];
  private readonly confirmListeners: Array<(record: StoredAuthState, ageMs: number) => void> = [];
  private readonly snapshot: SnapshotStore;
  private resolveLoaded!: () => void;
  /** Resolves once the stored state has been loaded (or the client was disposed). */
  readonly loaded: Promise<void> = new Promise<void>((resolve) => (this.resolveLoaded = resolve));

  constructor(storage: AuthSnapshot['storage']) {
    this.storageKind = storage;
    this.snapshot = new SnapshotStore(storage);
  }

  get record(): StoredAuthState | null {
    return this.current;
  }

  get isLoaded(): boolean {
    return this.everLoaded;
  }

  /** Read live from the election: a frozen tab's held callbacks must not make it think it still leads. */
  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  get version(): number {
    return this.current?.version ?? 0;
  }

  /**
   * Takes a record if it is newer than what this tab holds; versions only move forward. Returns the transition, or
   * null when nothing changed. A higher version that the held record outranks (a session that began earlier, or an
   * older copy of the held session; see sessionOrder.ts) is not taken either: the compare-and-set stores the held
   * record above it.
   */
  adopt(record: StoredAuthState, source: StateSource, ageMs?: number): Transition | null {
    const held = this.current;
    if (held && (record.version < held.version || outranks(held, record))) return null;
    // Two different records with one version exist only when a tab could not write its record (it took the next
    // version number without reserving it in storage) while another tab stored that number. Storage arbitrates: the
    // stored record wins, so every tab ends on the same pair (see `conflictsWith` for the channel side).
    if (held && record.version === held.version && (sameRecord(record, held) || source !== 'storage')) return null;
    this.current = record;
    const transition: Transition = { previous: held, record, source, ageMs };
    for (const listener of [...this.transitionListeners]) listener(transition);
    return transition;
  }

  /**
   * Another tab (the leader, answering this tab's request) says the record this tab holds is its newest and still
   * fresh, and how old it is on its monotonic clock. Not a transition (nothing changed); the expiry anchor may take
   * the age (see Freshness.confirmed) and waiters for this version are answered with the held record.
   */
  confirm(record: StoredAuthState, ageMs: number): boolean {
    const held = this.current;
    if (!held || !sameRecord(record, held)) return false;
    for (const listener of [...this.confirmListeners]) listener(held, ageMs);
    return true;
  }

  onConfirm(listener: (record: StoredAuthState, ageMs: number) => void): void {
    this.confirmListeners.push(listener);
  }

  /**
   * A record from another tab with this tab's version but different content, a newer version that the held record
   * outranks (its sender never saw the held one), or an older version that outranks the held record (a session begun
   * later by a tab that knew nothing of this one's): only storage can say which wins. The last was dropped as old: a
   * blind sign-in (its tab had read a forged record) stayed below an epoch sign-out two tabs held, whose read of
   * storage had come before the sign-in's write, and they stayed signed out while the pair's refreshes reached them
   * over the channel (found by the chaos runs, seed 30762).
   */
  conflictsWith(record: StoredAuthState): boolean {
    const held = this.current;
    if (held === null) return false;
    if (record.version === held.version) return !sameRecord(record, held);
    return record.version > held.version ? outranks(held, record) : outranks(record, held);
  }

  /** Subscribers run in the order they subscribed, synchronously inside `adopt`. */
  onTransition(listener: (transition: Transition) => void): () => void {
    this.transitionListeners.push(listener);
    return () => {
      const index = this.transitionListeners.indexOf(listener);
      if (index >= 0) this.transitionListeners.splice(index, 1);
    };
  }

  markLoaded(): void {
    this.everLoaded = true;
    this.syncSnapshot();
    this.resolveLoaded();
  }

  /** Releases everyone waiting for the load (dispose before it finished). */
  releaseLoadWaiters(): void {
    this.resolveLoaded();
  }

  /** Where leadership is read from while mounted (the election, or the lone-tab rule); null when unmounted. */
  setLeadership(source: LeadershipSource | null): void {
    this.leadership = source ?? NOT_LEADING;
  }

  setError(error: AuthError | null): void {
    this.lastError = error;
    this.snapshot.set({ error });
  }

  get error(): AuthError | null {
    return this.lastError;
  }

  /** Set by Freshness when the held access token outlives its lifetime (a component can stop using it). */
  setExpired(expired: boolean): void {
    this.snapshot.set({ expired });
  }

  setStorageKind(kind: AuthSnapshot['storage']): void {
    this.storageKind = kind;
    this.snapshot.set({ storage: kind });
  }

  get storage(): AuthSnapshot['storage'] {
    return this.storageKind;
  }

  /** Re-derives the rendered snapshot from the fields above (a no-op when nothing observable changed). */
  syncSnapshot(): void {
    const record = this.current;
    this.snapshot.set({
      status: this.everLoaded || record ? (record?.tokens ? 'authenticated' : 'signed-out') : 'loading',
      tokens: record?.tokens ?? null,
      version: record?.version ?? 0,
      isLeader: this.leadership.isLeader,
      signedOutReason: record && !record.tokens ? record.signedOutReason : null,
    });
  }

  readonly getSnapshot = (): AuthSnapshot => this.snapshot.get();
  readonly getServerSnapshot = (): AuthSnapshot => SERVER_SNAPSHOT;
  readonly subscribe = (listener: () => void): (() => void) => this.snapshot.subscribe(listener);
}

export interface LeadershipSource {
  readonly isLeader: boolean;
}

const NOT_LEADING: LeadershipSource = { isLeader: false };

/** Same record: the version alone does not say it (see `adopt`). */
export function sameRecord(a: StoredAuthState, b: StoredAuthState): boolean {
  return (
    a.version === b.version &&
    a.updatedAt === b.updatedAt &&
    a.signedOutReason === b.signedOutReason &&
    (a.tokens?.accessToken ?? null) === (b.tokens?.accessToken ?? null) &&
    (a.tokens?.refreshToken ?? null) === (b.tokens?.refreshToken ?? null)
  );
}

const SERVER_SNAPSHOT: AuthSnapshot = Object.freeze({
  status: 'loading',
  tokens: null,
  version: 0,
  isLeader: false,
  error: null,
  storage: 'persistent',
  signedOutReason: null,
  expired: false,
});

/**
 * The snapshot `useSyncExternalStore` reads. A new frozen object is made only when a field actually changes, so React
 * re-renders only for real changes; listeners are notified after the swap.
 */
class SnapshotStore {
  private snapshot: AuthSnapshot;
  private readonly listeners = new Set<() => void>();

  constructor(storage: AuthSnapshot['storage']) {
    this.snapshot = Object.freeze({ ...SERVER_SNAPSHOT, storage });
  }

  get(): AuthSnapshot {
    return this.snapshot;
  }

  set(fields: Partial<AuthSnapshot>): void {
    let changed = false;
    for (const key of Object.keys(fields) as Array<keyof AuthSnapshot>) {
      if (!Object.is(this.snapshot[key], fields[key])) changed = true;
    }
    if (!changed) return;
    this.snapshot = Object.freeze({ ...this.snapshot, ...fields });
    for (const listener of [...this.listeners]) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
