import { pageClock, type Clock, type PageClock, type TimerHandle } from './clock';
import { AuthError, StorageError } from './errors';
import { randomId } from './ids';
import { storageKeys, type AuthStorage } from './storage/storage';
import type { UnpersistedMarker } from './coordination/refreshLock';
import { movedTo, outranks, sameSession, sawOf, sessionOf } from './sessionOrder';
import { validateStoredState } from './storedRecord';
import type { TabState } from './tabState';
import type { Telemetry } from './telemetry';
import type { StoredAuthState } from './types';

/** How far a sign-in or sign-out jumps when it cannot reserve its version in storage (see `claimAbove`). */
export const VERSION_EPOCH = 2 ** 20;

export type ReadResult = { state: StoredAuthState | null; corrupted: boolean };

/**
 * How long a tab that took a refreshed pair from the channel before its maker's write landed waits before it checks
 * storage for it (see `received`): past the fan-out of one message to every tab, so that the receivers' storage
 * transactions do not slow the delivery to the tabs still waiting for it, and well inside the least time between two
 * rotations.
 */
export const RECEIVED_CHECK_MS = 100;

/**
 * How long a lock holder waits when storage shows another tab's rotation of the record it is about to refresh begun
 * and never finished there (see `unsettled`): the receivers' checks (RECEIVED_CHECK_MS) and their writes, with room.
 * Also paid once after another tab's attempt that failed without a rotation (its mark stays): a rare 250 ms.
 */
export const UNSETTLED_ROTATION_WAIT_MS = 250;

/** The marker a lock holder stores before it sends a refresh token: the version it rotates, and who it is. */
export interface RotationMark {
  version: number;
  owner: string;
}

export type CasResult = { written: true; state: StoredAuthState } | { written: false; current: StoredAuthState };

/**
 * The record every tab shares, in storage. All writes are compare-and-set on `version` inside one storage
 * transaction, so no tab ever overwrites a newer pair with an older one; a write that fails is retried until storage
 * holds this tab's record or a newer one (see `persistCurrent`). Reads are adopted into the tab's state.
 */
export class SharedRecord {
  private readonly keys;
  private retryTimer: TimerHandle | undefined;
  private retryAttempts = 0;
  private active = false;
  /** A write failed and storage may be behind this tab; announced with every record the tab publishes meanwhile. */
  pendingWrite = false;
  /** Compare-and-set writes in progress (a record announced before its write is not in storage yet). */
  private writes = 0;
  /** The per-browser device id (read or created at load). */
  deviceId: string;
  private marker: UnpersistedMarker | null = null;
  /** Held while `pendingWrite` (see UnpersistedMarker); resolves to the release function once granted. */
  private markerHold: Promise<() => void> | null = null;
  /** The newest version this tab saw in storage: storage never goes below it (an unwritten user action's `over`). */
  private storageSeen = 0;
  /** The session of the last user action this tab made whose write failed (an epoch claim; see `overFor`). */
  private ownClaim: { since: number; began: number } | null = null;
  /** A check of storage for a pair received before its maker's write landed (see `received`). */
  private receivedTimer: TimerHandle | undefined;
  /** Who this client is in a rotation mark (see `markRotation`). */
  private readonly markOwner = randomId();
  /** The version whose rotation this tab marked in storage last (see `markRotation`). */
  markedRotation: number | null = null;
  /** This client's page clock (see `actionTime`). */
  private readonly page: PageClock;

  constructor(
    private storage: AuthStorage,
    namespace: string,
    private readonly state: TabState,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry,
    initialDeviceId: string,
  ) {
    this.keys = storageKeys(namespace);
    this.deviceId = initialDeviceId;
    this.page = pageClock(clock);
  }

  /**
   * When a user action happens, for `began`: the wall clock at this client's start plus the monotonic time since, as
   * `performance.timeOrigin + performance.now()` is, so that a system clock set after the page loaded does not move
   * it. Tabs of one browser read one system clock, so two tabs' readings compare; reading the wall clock itself made
   * a sign-out lose to an earlier sign-in whose tab's clock had been set two hours ahead (chaos seed 4837).
   */
  private actionTime(): number {
    return this.page();
  }

  /** A write of this tab is in progress: storage may not have what it holds yet. */
  get writing(): boolean {
    return this.writes > 0;
  }

  get kind(): AuthStorage['kind'] {
    return this.storage.kind;
  }

  get leaseKey(): string {
    return this.keys.lease;
  }

  get backing(): AuthStorage {
    return this.storage;
  }

  /** Retries of failed writes run only while the client is mounted. */
  setActive(active: boolean): void {
    this.active = active;
    if (active) {
      // A write still pending from before an unmount: its retries stopped with the mount, so restart them, or the
      // marker would stay held for good (found by the chaos runs, seed 4964: every other tab then refused to refresh).
      if (this.pendingWrite) this.scheduleRetry();
      return;
    }
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.flushReceived(true);
  }

  /** A received pair not checked yet is checked now: the client unmounts, or the page is about to freeze. */
  flushReceived(ending = false): void {
    if (this.receivedTimer === undefined) return;
    this.clock.clearTimeout(this.receivedTimer);
    this.receivedTimer = undefined;
    void this.checkReceived(ending);
  }

  /**
   * This tab just took a refreshed pair from the channel whose maker had marked its rotation in storage (see
   * `markRotation`) and had not written the pair yet. If the maker dies before that write lands, the receivers'
   * memory is the only copy. Every receiver used to write the pair at once; those N read-write transactions on one
   * record at every rotation slowed the message's delivery to the tabs still waiting for it (2.9x native fan-out at
   * 16 tabs, 1.9x without them; a Web Lock request per receiver cost as much). The mark makes the next lock holder wait
   * for the receivers instead (`unsettled`), so each receiver checks storage RECEIVED_CHECK_MS later, and
   * writes the pair only if it is missing. A client that unmounts, or a page about to freeze, checks at once.
   */
  received(): void {
    if (!this.active) return;
    this.receivedTimer ??= this.clock.setTimeout(() => {
      this.receivedTimer = undefined;
      void this.checkReceived(false);
    }, RECEIVED_CHECK_MS);
  }

  /** Reads storage, and writes the held record if storage is behind it. */
  private async checkReceived(ending: boolean): Promise<void> {
    let behind = true;
    try {
      const { state } = await this.read();
      if (state) {
        this.storageSeen = Math.max(this.storageSeen, state.version);
        behind = this.isBehind(state);
        if (!behind) this.state.adopt(state, 'storage');
      }
    } catch {
      // Unreadable: the write below decides (and reports a failure).
    }
    // Not best effort: the pair was announced before its maker's write, and storage still lacks it, so the maker may be
    // gone and this tab may hold the only copy of a rotation. If this write fails too, the tab holds the "storage is
    // behind me" marker and retries, so that no lock holder sends the spent refresh token meanwhile (found by the chaos
    // runs, seed 25894: the maker killed after announcing, this tab's write failing, the next leader refreshed the
    // stored pair after the rotation mark's wait and the family was revoked).
    if (behind) await this.persistCurrent(false, ending);
  }

  /**
   * Stores, before a lock holder sends the refresh token of `version`, that it is rotating that version. Should it
   * die after announcing the new pair and before writing it, the next lock holder finds the mark on the same version
   * and waits for the receivers to store the pair (`unsettled`). If the mark cannot be stored, `markedRotation` stays
   * null and the announcement asks every receiver to write at once.
   */
  async markRotation(version: number): Promise<void> {
    this.markedRotation = null;
    try {
      await this.storage.update(this.keys.rotation, () => ({ version, owner: this.markOwner }) satisfies RotationMark);
      this.markedRotation = version;
    } catch (error) {
      this.report('write', error);
    }
  }

  /**
   * The read of a lock holder before it refreshes: the record, and the rotation mark (see `unsettled`). One
   * transaction (getMany) where storage offers it.
   */
  async readUnderLock(): Promise<ReadResult & { mark: RotationMark | null }> {
    const keys = [this.keys.state, this.keys.rotation];
    const [raw, mark] = await this.getMany(keys);
    const valid = typeof (mark as RotationMark | undefined)?.version === 'number' && typeof (mark as RotationMark).owner === 'string';
    return { ...parseRecord(raw), mark: valid ? (mark as RotationMark) : null };
  }

  /**
   * Whether `mark` shows another tab's rotation of `base` (the record a lock holder is about to refresh) begun and
   * never stored: that tab may have died between announcing the new pair and writing it, and the refresh token of
   * `base` may be spent. Also when storage read back corrupted (a forged record): the receivers write over it. A mark
   * this tab left itself is not: it knows how its own attempts ended.
   */
  unsettled(mark: RotationMark | null, base: StoredAuthState): boolean {
    return mark !== null && mark.owner !== this.markOwner && mark.version === base.version;
  }

  /** The mount's lock offers a cross-tab "storage is behind me" marker (Web Locks): hold it while a write is pending. */
  useMarker(marker: UnpersistedMarker | undefined): void {
    this.marker = marker ?? null;
  }

  /** Resolves once this tab's "storage is behind me" marker is held (no-op without a marker or a pending write). */
  async markerHeld(): Promise<void> {
    await this.markerHold;
  }

  /**
   * A storage transaction that succeeded shows storage at `storedVersion`: once that is this tab's version or newer,
   * storage is no longer behind this tab, whichever record made it so (this tab's own retry, a refresh it stored
   * since, another tab's write, a newer record). Only then may the marker go; keeping it longer stopped every other
   * tab from refreshing (seed 4964), letting it go earlier lets them send a spent refresh token (Fix #9.10).
   */
  private storageReached(storedVersion: number): void {
    this.storageSeen = Math.max(this.storageSeen, storedVersion);
    if (this.pendingWrite && storedVersion >= this.state.version) {
      this.retryAttempts = 0;
      this.setPending(false);
    }
  }

  private setPending(pending: boolean): void {
    this.pendingWrite = pending;
    if (pending && this.marker && !this.markerHold) this.markerHold = this.marker.hold();
    if (!pending && this.markerHold) {
      void this.markerHold.then((release) => release());
      this.markerHold = null;
    }
  }

  /** Switches to another backend (the memory fallback); the caller re-seeds it with its in-memory state. */
  replaceStorage(storage: AuthStorage): void {
    this.storage = storage;
  }

  /** Reads the record. A corrupted record reads as "nothing stored" (and is left in place, not destroyed). */
  async read(): Promise<ReadResult> {
    return parseRecord(await this.storage.get(this.keys.state));
  }

  /**
   * The session load: the record and the device id in one read (one IndexedDB transaction); the device id is written
   * only when none is stored yet (the first visit), not on every load. Throws when storage cannot be read.
   */
  async load(create: () => string): Promise<ReadResult> {
    const keys = [this.keys.state, this.keys.deviceId];
    const [raw, id] = await this.getMany(keys);
    if (isDeviceId(id)) this.deviceId = id;
    else await this.storeDeviceId(create);
    return parseRecord(raw);
  }

  /** Several keys in one storage transaction where storage offers it (IndexedDB's getMany), else one read each. */
  private getMany(keys: string[]): Promise<unknown[]> {
    return this.storage.getMany ? this.storage.getMany(keys) : Promise.all(keys.map((key) => this.storage.get(key)));
  }

  /** Adopts what a read found; repairs storage when it is behind this tab. */
  take({ state, corrupted }: ReadResult): void {
    if (corrupted) this.failed('read', new StorageError('corrupted state record ignored'));
    if (state) this.storageSeen = Math.max(this.storageSeen, state.version);
    if (state) this.state.adopt(state, 'storage');
    // Storage is behind what this tab holds: the tab that made the newer state could not write it (and may be gone),
    // or its write has not landed yet (announced before written). A follower's repair is best effort: its failure must
    // not raise the "storage is behind me" marker, which a frozen follower would hold for good; the leader retries.
    if (state && this.isBehind(state)) void this.persistCurrent(!this.state.isLeader);
    else if (state) this.storageReached(state.version);
  }

  /**
   * Whether the stored `state` is behind the record this tab holds: an older version, or one that the held record
   * outranks (a later session, or newer content of a copy's session; see sessionOrder.ts), which the compare-and-set
   * then stores above it.
   */
  isBehind(state: StoredAuthState): boolean {
    const held = this.state.record;
    return held !== null && (state.version < held.version || outranks(held, state));
  }

  /** Reads storage and adopts what it holds; repairs storage when it is behind this tab. Never throws. */
  async reload(): Promise<void> {
    try {
      this.take(await this.read());
    } catch (error) {
      this.failed('read', error);
    }
  }

  /**
   * Writes `next` only if the stored version is not newer than `expectedVersion`. A stored version lower than
   * expected (storage was cleared, or a read came back empty) is repaired by the write. The session order comes
   * first (see `arbitrate`): what is written may then be `next` moved to a higher version, and what is kept may be
   * the stored record moved above `next`; the caller adopts either.
   */
  async compareAndSet(expectedVersion: number, next: StoredAuthState): Promise<CasResult> {
    let outcome: CasResult | undefined;
    this.writes++;
    try {
      await this.storage.update(this.keys.state, (raw) => {
        const current = safeValidate(raw);
        outcome = arbitrate(current, expectedVersion, next);
        if (outcome.written) return outcome.state;
        return outcome.current === current ? raw : outcome.current;
      });
    } finally {
      this.writes--;
    }
    if (!outcome) throw new StorageError('storage update did not run');
    // The caller adopts `next` (written) or the newer stored record right after this: either is what storage holds.
    this.storageReached(outcome.written ? outcome.state.version : outcome.current.version);
    return outcome;
  }

  /**
   * Writes a record built from whatever is stored now (sign-in and sign-out always win, at a version above both the
   * stored one and this tab's). When storage fails the record is built one epoch above and kept for retry;
   * `writeError` says so. `beginsSession`: a user's action, whose version is the `since` of the session it begins; a
   * sign-out the user did not ask for ends the session this tab holds, and carries that one's. `superseded`: storage
   * held, when the write ran, a session a user began after this action (see `laterAction`); it is kept and returned.
   */
  async claimAbove(
    build: (version: number) => StoredAuthState,
    beginsSession: boolean,
  ): Promise<{ record: StoredAuthState; writeError: unknown; superseded?: true }> {
    const held = this.state.record;
    const began = Math.max(0, this.actionTime());
    const beganWall = Math.max(0, this.clock.now());
    // `blind`: the action knows nothing storage could order it by (see sessionOrder.ts).
    // The action's version is above the held record's, so `sawSince` is below its `since` (storedRecord.ts).
    const saw = sawOf(held);
    const session = (version: number, over: number | undefined, blind: boolean, named = saw) =>
      !beginsSession
        ? sessionOf(held)
        : { since: version, ...(over === undefined ? {} : { over }), began, beganWall, ...(blind ? { blind: true as const } : {}), ...named };
    // What the transaction read before the write failed: undefined if it never ran, null for a corrupted record.
    let seen: number | null | undefined;
    // A session a user began after this action (by both clocks), found in storage when the write runs: the user's
    // later click. A write that waited seconds behind another transaction otherwise built a sign-out above a sign-in
    // clicked 3 s after it in another tab, and so ended the newer session (found by the chaos runs, seed 16108). Not
    // the session this tab held at the click, nor a record without both clocks.
    const laterAction = (current: StoredAuthState): boolean =>
      beginsSession &&
      current.began !== undefined &&
      current.beganWall !== undefined &&
      !(held !== null && sameSession(held, current)) &&
      current.began > began &&
      current.beganWall > beganWall;
    try {
      let later: StoredAuthState | null = null;
      const record = await this.writeAbove(
        this.state.version,
        (version, stored, current) => {
          seen = stored;
          // A tab that held no session names the one its write replaces: that one was stored before this action, and
          // it is no later action (`laterAction`). Otherwise a blind sign-out and this later sign-in, clicked after the
          // clock was set back an hour, were ordered by the clocks alone, which disagreed, and the sign-out won over
          // the sign-in written above it (found by the chaos runs, seed 44806). The same for a blind stored session
          // when the held one is not blind: this action outranks the held one by where it began anyway (it is written
          // above it), but a blind one only by being named (seed 50893: the tab held its own older sign-in).
          const replacesBlind = current?.blind === true && held?.blind !== true;
          const named = current && (saw.sawSince === undefined || replacesBlind) ? sawOf(current) : saw;
          return { ...build(version), ...session(version, undefined, stored === null && this.state.version === 0 && this.storageSeen === 0, named) };
        },
        (current) => (laterAction(current) ? (later = current) : null),
      );
      return later === null ? { record, writeError: null } : { record, writeError: null, superseded: true };
    } catch (error) {
      this.failed('write', error);
      // Without storage this tab cannot reserve a version, and a refresh that started before this call may be about
      // to publish `version + 1` (which would win at an equal version). Claim the next epoch instead: a sign-in or
      // sign-out always wins over any refresh that started before it. It records what storage held (`over`), so that
      // a user action that storage takes later still wins over it once this one is written (sessionOrder.ts).
      const over = await this.overFor(held, seen);
      const version = Math.max(this.state.version, over ?? 0) + VERSION_EPOCH;
      if (beginsSession) this.ownClaim = { since: version, began };
      return { record: { ...build(version), ...session(version, over, over === undefined) }, writeError: error };
    }
  }

  /**
   * What storage held when a user action's write failed (its `over`): what the failed transaction read (IndexedDB
   * runs the read of a failed put; a simulated fault never starts the transaction), else a read of its own (reads
   * are separate and often still work). Never below the newest version this tab saw in storage, nor below where the
   * session it holds began (an epoch session began just above its own `over`, so this action counts as having seen
   * the version after it): those are sessions this action must win over. Undefined when storage holds a record that
   * reads as corrupted and this tab knows of nothing else: the action was meant to replace whatever that is, and it
   * orders by its epoch version, as before sessions were ordered (found by chaos seed 830).
   */
  private async overFor(held: StoredAuthState | null, seen: number | null | undefined): Promise<number | undefined> {
    let stored = seen;
    if (stored === undefined) {
      try {
        const read = await this.read();
        stored = read.corrupted ? null : (read.state?.version ?? 0);
      } catch {
        stored = 0; // a lower bound, like the rest: a session stored meanwhile counts as later than this action
      }
    }
    // An epoch claim this tab made itself is not a session it heard of: claiming "storage held the version after it"
    // put this action after every action other tabs made meanwhile that saw storage where that claim did (seed 4837:
    // a sign-in outranked a later sign-out of a tab that never heard of either). Begun at the same point, the two
    // claims of this tab are ordered by `began`, which only moves forward within a tab.
    const claim = this.ownClaim;
    const ownEpoch = held?.over !== undefined && claim !== null && claim.since === held.since && claim.began === held.began;
    const heldStart = held?.over !== undefined ? held.over + (ownEpoch ? 0 : 1) : (held?.since ?? 0);
    const known = Math.max(this.storageSeen, heldStart);
    if (stored === null) return known > 0 ? known : undefined;
    return Math.max(stored, known);
  }

  private async writeAbove(
    localVersion: number,
    build: (version: number, stored: number | null, current: StoredAuthState | null) => StoredAuthState,
    keep?: (current: StoredAuthState) => StoredAuthState | null,
  ): Promise<StoredAuthState> {
    let written: StoredAuthState | undefined;
    await this.storage.update(this.keys.state, (raw) => {
      const current = parseRecord(raw);
      // `keep`: the stored record stands, and is what this call returns.
      const kept = current.state ? (keep?.(current.state) ?? null) : null;
      if (kept) {
        written = kept;
        return raw;
      }
      const stored = current.corrupted ? null : (current.state?.version ?? 0);
      // A corrupted record hides the version it replaces, and the live tabs may hold any version of the session it
      // was: written at the next version after this tab's own, the action took the `since` those tabs' session had
      // (both began "at 1"), so it counted as an older copy of theirs and lost to it (chaos seed 7212). Claim the next
      // epoch instead, as an action that cannot reserve its version does.
      const above = stored === null ? Math.max(localVersion, this.storageSeen) + VERSION_EPOCH : Math.max(stored, localVersion) + 1;
      written = build(above, stored, current.state);
      return written;
    });
    if (!written) throw new StorageError('storage update did not run');
    this.storageReached(written.version);
    return written;
  }

  /** Creates the per-browser device id, shared by every namespace; a tab that wrote one first wins. */
  private async storeDeviceId(create: () => string): Promise<void> {
    let id: string | undefined;
    try {
      await this.storage.update(this.keys.deviceId, (raw) => (id = isDeviceId(raw) ? raw : create()));
      if (!id) throw new StorageError('storage update did not run');
      this.deviceId = id;
    } catch (error) {
      this.failed('write', error);
    }
  }

  /**
   * Whether storage takes a write right now (a read-write transaction that changes nothing). A follower's rescue
   * checks this under the lock before it sends anything: a rotation it could not store would live only in its memory,
   * and the leader, re-reading storage under the same lock next, would send the spent token.
   */
  async writable(): Promise<boolean> {
    try {
      await this.storage.update(this.keys.state, (raw) => raw);
      return true;
    } catch (error) {
      this.failed('write', error);
      return false;
    }
  }

  async deleteLease(): Promise<void> {
    await this.storage.delete(this.keys.lease);
  }

  /**
   * Writes the record this tab holds if storage is behind it (a no-op transaction otherwise). `bestEffort`: for a
   * record whose maker is writing it too; a failure is reported, but this tab does not take over the retries (nor
   * the "storage is behind me" marker, which would stop every refresh while storage may well have the record).
   */
  async persistCurrent(bestEffort = false, evenInactive = false): Promise<void> {
    const record = this.state.record;
    if (!record || (!this.active && !evenInactive)) return;
    try {
      // Strictly newer than what is stored: at an equal version the stored record wins (see TabState.adopt).
      const result = await this.compareAndSet(record.version - 1, record);
      this.retryAttempts = 0;
      if (!result.written) this.state.adopt(result.current, 'storage');
      else if (result.state !== record) this.state.adopt(result.state, 'storage'); // moved above a copy (arbitrate)
      // This tab moved on to a newer record meanwhile (adopted, or made: a refresh that stored it clears the marker
      // itself): write that one too, or storage stays behind with no retry scheduled.
      if (this.pendingWrite && this.state.record !== record) void this.persistCurrent();
    } catch (error) {
      if (bestEffort) this.report('write', error);
      else this.failed('write', error); // schedules the next attempt
    }
  }

  /**
   * Reports a storage failure. A failed write leaves this tab holding a record that storage does not have (a
   * refreshed pair, a sign-in, or a sign-out tombstone); until it is stored, a reload or a later tab reads the older
   * record, that is a used refresh token (reuse detection revokes the family) or, after a sign-out, the tokens
   * themselves. So the write is retried with backoff (1 s doubling to 30 s). Found by the chaos runs.
   */
  failed(operation: 'read' | 'write', error: unknown): void {
    this.report(operation, error);
    if (operation !== 'write') return;
    this.setPending(true);
    this.scheduleRetry();
  }

  /** The storage-error event alone: no retry, no marker (best-effort writes, the rotation mark). */
  private report(operation: 'read' | 'write', error: unknown): void {
    this.telemetry.emit({ type: 'storage-error', operation, errorCode: error instanceof AuthError ? error.code : 'storage_failure' });
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || !this.active) return;
    const delay = Math.min(30_000, 1_000 * 2 ** Math.min(this.retryAttempts++, 5));
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.persistCurrent();
    }, delay);
  }
}

function isDeviceId(raw: unknown): raw is string {
  return typeof raw === 'string' && raw.length > 0 && raw.length <= 200;
}

function parseRecord(raw: unknown): ReadResult {
  try {
    return { state: validateStoredState(raw), corrupted: false };
  } catch {
    return { state: null, corrupted: true };
  }
}

/**
 * The compare-and-set's decision. By version, `next` is written unless storage holds a newer record. The session
 * order comes first (sessionOrder.ts): a stored record that outranks `next` stays, and is moved above `next` where
 * the version rule would have written `next` over it (tabs that took `next` from the channel hold its version, and
 * only move forward); a `next` that outranks a newer stored record is written above it.
 */
function arbitrate(current: StoredAuthState | null, expectedVersion: number, next: StoredAuthState): CasResult {
  if (!current) return { written: true, state: next };
  const newer = current.version > expectedVersion;
  if (outranks(current, next)) return { written: false, current: newer ? current : movedTo(current, next.version + 1) };
  if (outranks(next, current)) return { written: true, state: newer ? movedTo(next, current.version + 1) : next };
  return newer ? { written: false, current } : { written: true, state: next };
}

function safeValidate(raw: unknown): StoredAuthState | null {
  try {
    return validateStoredState(raw);
  } catch (error) {
    if (error instanceof AuthError) return null;
    throw error;
  }
}
