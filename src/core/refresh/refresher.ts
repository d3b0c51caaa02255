import { monotonicNow, sleep, type Clock } from '../clock';
import type { AuthEnvironment } from '../environment';
import {
  AuthError,
  DisposedError,
  MalformedTokenResponseError,
  OAuthError,
  RefreshTimeoutError,
  StorageError,
  toWire,
  TransientRefreshError,
  type WireError,
} from '../errors';
import type { DpopHandle } from '../dpop';
import type { AuthEvent, RefreshFailureReason, RefreshTrigger } from '../events';
import { LockUnavailableError, type RefreshLock } from '../coordination/refreshLock';
import type { Peers } from '../peers';
import type { RecordSync } from '../recordSync';
import type { Freshness } from '../refreshPolicy';
import type { InFlight } from '../inflight';
import type { KnownSecrets } from '../redaction';
import { UNSETTLED_ROTATION_WAIT_MS, type RotationMark, type SharedRecord } from '../sharedRecord';
import { sessionOf } from '../sessionOrder';
import type { Signing } from '../signing';
import { sameRecord, type TabState } from '../tabState';
import type { Telemetry } from '../telemetry';
import { readTokenResponse } from '../tokenResponse';
import type { RefreshFunction, StoredAuthState, TokenSet } from '../types';
import type { VersionWaiters } from '../waiters';
import { backoffDelayMs, type ResolvedRetryOptions } from './backoff';

/** What a refresh needs from the mount period: its lifetime and the cross-tab lock. */
export interface MountResources {
  /** Aborted when the client unmounts. */
  readonly signal: AbortSignal;
  readonly lock: RefreshLock;
}

export interface RefresherSettings {
  clock: Clock;
  environment: AuthEnvironment;
  retry: ResolvedRetryOptions;
  random: () => number;
  requestTimeoutMs: number;
  refresh: RefreshFunction;
  /** DPoP (tabauth/dpop) when on: passed to the refresh function, which sends a proof signed with it. */
  dpop: DpopHandle | null;
}

/** The collaborators a refresh touches, each an object with its own interface; none of them calls back in here. */
export interface RefresherParts {
  state: TabState;
  shared: SharedRecord;
  sync: RecordSync;
  signing: Signing;
  peers: Peers;
  waiters: VersionWaiters;
  telemetry: Telemetry;
  mount: MountResources;
  freshness: Freshness;
  secrets: KnownSecrets;
  /** Requests that reached the server: unmount and dispose wait for them. */
  inflight: InFlight;
}

export interface RefreshRequest {
  /** The version the caller holds and wants replaced. */
  version: number;
  /** Refresh even if the pair does not look due (a 401, or a follower whose clock says expired). */
  force: boolean;
  trigger: RefreshTrigger;
  /** Only under a lock that is really held (a follower's rescue must never run under leadership alone). */
  exclusiveOnly?: boolean;
}

type AttemptOutcome = { done: StoredAuthState | null };

/**
 * One refresh of the shared pair: single flight within the tab, serialised across tabs by the RefreshLock, storage
 * re-read inside the lock before any network call (the shared-cache check), compare-and-set write, one broadcast,
 * and retries with backoff for transient failures. Used by the leader, and by a follower that became the leader.
 */
export class Refresher {
  private inflight: { version: number; promise: Promise<StoredAuthState | null> } | null = null;
  /** The last failed cycle: requests sent before followers heard of it must not start a new cycle. */
  private lastFailure: { version: number; at: number; error: WireError } | null = null;
  /** The last record a refresh of this tab made (and announced). */
  private lastMade: StoredAuthState | null = null;

  constructor(
    private readonly settings: RefresherSettings,
    private readonly parts: RefresherParts,
  ) {}

  /**
   * A follower's rescue of `version` when the leader does not answer: a refresh under the real lock, or undefined
   * when the lock cannot be taken for sure.
   */
  async rescue(version: number, force = true): Promise<StoredAuthState | null | undefined> {
    try {
      return await this.refresh({ version, force, trigger: 'follower-rescue', exclusiveOnly: true });
    } catch (error) {
      if (error instanceof LockUnavailableError) return undefined;
      throw error;
    }
  }

  /** The failure of `version`'s last cycle if it ended less than `withinMs` ago. */
  recentFailure(version: number, withinMs: number): WireError | null {
    const failure = this.lastFailure;
    if (!failure || failure.version !== version || this.settings.clock.now() - failure.at >= withinMs) return null;
    return failure.error;
  }

  /** Whether `record` was made (and announced) by a refresh of this tab. */
  made(record: StoredAuthState): boolean {
    return record === this.lastMade;
  }

  /**
   * Resolves with the state after the refresh (or the newer state found instead), or null when signed out.
   * Any number of concurrent calls for the same version share one flight.
   */
  refresh(request: RefreshRequest): Promise<StoredAuthState | null> {
    // A rescue neither joins nor becomes the shared flight: its LockUnavailableError means "not now" to the follower
    // alone, and a refresh queued behind it under the lock re-reads storage anyway.
    if (request.exclusiveOnly) return this.run(request);
    if (this.inflight && this.inflight.version >= request.version) return this.inflight.promise;
    const promise = this.run(request).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { version: request.version, promise };
    return promise;
  }

  private async run(request: RefreshRequest): Promise<StoredAuthState | null> {
    const { settings, parts } = this;
    let malformedRetried = false;
    for (let attempt = 1; ; attempt++) {
      await this.waitUntilOnline();
      // Due only by the estimate of a pair just read from storage (the writer's wall clock, or an unknown age): its
      // maker may be about to answer the age query with its own measure (Freshness.pendingAgeAnswerMs; seed 367).
      // Waited out before the lock, whose holder re-reads storage and decides on what it finds then.
      const answerMs = request.force ? 0 : parts.freshness.pendingAgeAnswerMs();
      if (answerMs > 0 && parts.freshness.isDue()) {
        await this.pause(answerMs);
      }
      try {
        const exclusive = request.exclusiveOnly ? { requireExclusive: true } : undefined;
        const outcome = await parts.mount.lock.run(() => this.attempt(request, attempt), parts.mount.signal, exclusive);
        return outcome.done;
      } catch (caught) {
        if (caught instanceof LockUnavailableError) throw caught;
        if (parts.mount.signal.aborted) throw new DisposedError();
        const error = parts.secrets.scrub(toAuthError(caught));
        const reason = classify(error);
        if (reason === 'terminal') {
          parts.telemetry.emit(failedEvent(request.version, attempt, reason, error, false, null));
          return this.onTerminal(request, error);
        }
        // A 2xx with an unusable body: the server may have rotated already. Waiting does not help then (the old token
        // is consumed either way), but asking again at once does: a server with a grace period replays the new pair
        // to the same token, and a proxy that mangled one answer may not mangle the next. So: one retry, no delay.
        const promptRetry = reason === 'malformed' && !malformedRetried && attempt < settings.retry.attempts;
        if (promptRetry) malformedRetried = true;
        const retryable = reason === 'transient' || reason === 'timeout' || reason === 'unknown' || promptRetry;
        const willRetry = retryable && attempt < settings.retry.attempts;
        const delay = promptRetry ? 0 : willRetry ? this.retryDelay(attempt, error) : null;
        parts.telemetry.emit(failedEvent(request.version, attempt, reason, error, willRetry, delay));
        if (!willRetry || delay === null) {
          parts.state.setError(error);
          this.announceFailure(request.version, error);
          throw error;
        }
        await this.pause(delay);
      }
    }
  }

  /** One attempt, inside the cross-tab lock. */
  private async attempt(request: RefreshRequest, attempt: number): Promise<AttemptOutcome> {
    const { parts } = this;
    // The shared-cache check: another tab (or a duplicate leader) may have refreshed already.
    const { blind, mark } = await this.readStorage();
    const base = parts.state.record;
    if (!base || base.tokens === null) {
      this.skipped(request.version, 'signed-out');
      return { done: base };
    }
    if (base.version > request.version) {
      this.skipped(request.version, 'newer-pair-available');
      return { done: base };
    }
    if (!request.force && !parts.freshness.isDue()) {
      this.skipped(request.version, 'still-fresh');
      return { done: base };
    }
    // A rescue sends nothing unless storage is the truth (see rescueIsSafe), and only after reading it here: a lock
    // holder that cannot read storage refreshes from memory, which is the truth only while the leader is the one tab
    // that refreshes. A follower that rescued blind (a forged record made every read come back corrupted), and whose
    // announcement the leader missed, left the leader's memory on the pair just spent, and the leader's next blind
    // refresh sent it (found by the chaos runs, seed 365, once leaders answered age queries: Fix #9.25).
    if (request.exclusiveOnly && (blind || !(await this.rescueIsSafe()))) throw new LockUnavailableError();
    // Nor does anyone else while another tab holds a rotation storage lacks (its write failed): the refresh token read
    // here may be spent already. Wait (retried with backoff) until that tab stores it, or is gone (found by the chaos
    // runs, seed 425: a rescuer whose write failed, then the leader's retry under the same lock).
    if (!request.exclusiveOnly && !parts.shared.pendingWrite && (await parts.mount.lock.unpersisted?.anyHeld())) {
      throw new TransientRefreshError('server', 'Another tab holds a newer pair that storage does not have yet');
    }
    // The previous lock holder marked a rotation of this very record and storage never got its outcome: it may have
    // died between announcing the new pair and writing it, and the tabs that took the pair store it within
    // RECEIVED_CHECK_MS (SharedRecord.received). Wait for them, read again, and refresh only if nothing newer came.
    if (parts.shared.unsettled(mark, base)) {
      const settled = await this.awaitUnsettled(request, base);
      if (settled) return settled;
    }
    // Mark the rotation before the token leaves (Web Locks only: the storage lease can be bypassed by a tab whose
    // storage fails, and there every receiver writes at once, as before).
    if (parts.mount.lock.exclusive) await parts.shared.markRotation(base.version);
    const refreshToken = base.tokens.refreshToken;
    if (!refreshToken) {
      await parts.signing.signOut('no-refresh-token');
      return { done: parts.state.record };
    }

    parts.telemetry.emit({ type: 'refresh-started', version: base.version, attempt, trigger: request.trigger });
    // From here on the refresh token may be spent: the answer is awaited (bounded by requestTimeoutMs), stored and
    // announced whatever happens to the mount count meanwhile, and unmount and dispose wait for it.
    return parts.inflight.track(this.rotate(base, base.tokens, refreshToken, attempt));
  }

  /** Waits `ms` on the client's clock; an unmount ends the wait with DisposedError. */
  private pause(ms: number): Promise<void> {
    return sleep(this.settings.clock, ms, this.parts.mount.signal).catch(() => {
      throw new DisposedError();
    });
  }

  /**
   * Reads storage under the lock and adopts what it holds. `blind`: nothing to check memory against (the read failed,
   * or storage was empty or corrupted, e.g. a forged record); `mark`: the rotation mark (SharedRecord.unsettled).
   */
  private async readStorage(): Promise<{ blind: boolean; mark: RotationMark | null }> {
    const { parts } = this;
    try {
      const { state, mark } = await parts.shared.readUnderLock();
      if (state) parts.state.adopt(state, 'storage');
      // This tab holds a newer record than storage (its maker announced it and died before its write): the newer one
      // is the base, since the older stored refresh token is spent, and it is stored first.
      if (state && parts.shared.isBehind(state)) await parts.shared.persistCurrent();
      return { blind: state === null, mark };
    } catch (error) {
      parts.shared.failed('read', error);
      return { blind: true, mark: null };
    }
  }

  /**
   * Waits out another tab's unsettled rotation of `base` (see `attempt`): the outcome when a newer record turned up
   * meanwhile, null to go on with `base`.
   */
  private async awaitUnsettled(request: RefreshRequest, base: StoredAuthState): Promise<AttemptOutcome | null> {
    const { parts } = this;
    await this.pause(UNSETTLED_ROTATION_WAIT_MS);
    await this.readStorage();
    const current = parts.state.record;
    if (!current || current.version <= base.version) return null;
    this.skipped(request.version, 'newer-pair-available');
    return { done: current };
  }

  /** Sends the refresh token, then stores and announces what came back. */
  private async rotate(base: StoredAuthState, held: TokenSet, refreshToken: string, attempt: number): Promise<AttemptOutcome> {
    const { settings, parts } = this;
    // The pair's lifetime counts from the moment the request left, on the monotonic clock: the server starts its own
    // clock for the new token no earlier than that, so the client never believes a token longer than the server
    // does. Counting from the answer's arrival made every pair's expiry late by the answer's latency (found by the
    // chaos runs, seed 19: 8.8 s answers for 10 s tokens). The wall-clock receivedAt stored with it is the same
    // moment, read back from now (a wall-clock jump while the request was out does not move it).
    const sentAtMono = monotonicNow(settings.clock);
    const [sent, settled] = this.send(base, held, refreshToken);
    let response: unknown;
    try {
      response = await sent;
    } finally {
      settled();
    }
    const ageMs = (): number => Math.max(0, monotonicNow(settings.clock) - sentAtMono);
    const read = readTokenResponse(response, settings.clock.now() - ageMs(), held);
    const next: StoredAuthState = {
      schema: 1,
      version: base.version + 1,
      tokens: parts.freshness.stamp(read.tokens, ageMs()),
      signedOutReason: null,
      updatedAt: settings.clock.now(),
      ...sessionOf(base),
    };
    if (read.repaired.length > 0) parts.telemetry.emit({ type: 'token-response-repaired', version: next.version, fields: read.repaired });
    if (!read.accessTokenUnusable) {
      parts.state.setError(null);
      this.lastMade = next;
    }
    // Announce first, then write: the other tabs hold the new pair without waiting for the disk. The lock is held
    // until the write settles, and the compare-and-set rules are unchanged. If this tab dies in between, the tabs hold
    // a pair newer than storage: each receiver stores it too (a no-op once this write landed), and the next lock
    // holder refreshes from the newer of memory and storage, never from the spent stored one (see `attempt`).
    parts.sync.publish(next, ageMs(), true);
    const made = await this.store(base, next, ageMs);
    if ('done' in made) return made;
    if (read.accessTokenUnusable) {
      // The new refresh token is kept (stored and announced); the missing access token makes this attempt a failure.
      throw new MalformedTokenResponseError('Token response had a new refresh token but no valid "access_token" string', { status: null });
    }
    parts.telemetry.emit({ type: 'refresh-succeeded', fromVersion: base.version, version: made.version, attempts: attempt });
    return { done: made };
  }

  /**
   * The compare-and-set write of an announced pair: the record it is stored as, or an outcome when storage held
   * something else.
   */
  private async store(base: StoredAuthState, next: StoredAuthState, ageMs: () => number): Promise<AttemptOutcome | StoredAuthState> {
    const { parts } = this;
    try {
      const result = await parts.shared.compareAndSet(base.version, next);
      if (result.written && result.state !== next) {
        // Storage held a copy of the base moved above an unwritten user action (sessionOrder.ts), whose refresh token
        // is the one just spent: the rotation is stored above it instead, and every tab takes it from there.
        if (this.lastMade === next) this.lastMade = result.state;
        parts.sync.publish(result.state, ageMs());
        return result.state;
      }
      // Another tab stored the same record first (it adopted the announcement and repaired storage): written.
      if (result.written || sameRecord(result.current, next)) return next;
      // Only possible if the lock was bypassed (storage failure); the stored state is newer and wins, in every tab.
      this.lastMade = null;
      parts.state.adopt(result.current, 'storage');
      parts.sync.resend();
      return { done: parts.state.record };
    } catch (error) {
      // Keep the new pair: the tabs have it (and write it) even if this tab cannot persist it. This tab holds the
      // "storage is behind me" marker (before it lets go of the lock) so that no follower rescues.
      parts.shared.failed('write', error);
      await parts.shared.markerHeld();
      return next;
    }
  }
  /** The request itself, bounded by requestTimeoutMs; call `settled` once it is over. */
  private send(base: StoredAuthState, tokens: TokenSet, refreshToken: string): [Promise<unknown>, () => void] {
    const { settings, parts } = this;
    // Only the timeout aborts a request that was sent: an unmount must not throw away a rotation the server made.
    const timeout = new AbortController();
    const timer = settings.clock.setTimeout(
      () => timeout.abort(new RefreshTimeoutError(`Refresh request timed out after ${settings.requestTimeoutMs} ms`)),
      settings.requestTimeoutMs,
    );
    const settled = () => settings.clock.clearTimeout(timer);
    try {
      const request = settings.refresh({
        refreshToken,
        scope: tokens.scope,
        deviceId: parts.shared.deviceId,
        version: base.version,
        serverVersion: tokens.serverVersion,
        signal: timeout.signal,
        ...(settings.dpop ? { dpop: settings.dpop } : {}),
      });
      return [raceAbort(request, timeout.signal), settled];
    } catch (error) {
      return [Promise.reject(error), settled]; // a refresh function that throws synchronously
    }
  }

  /** invalid_grant and friends: adopt a newer pair if storage has one, otherwise sign every tab out. */
  private async onTerminal(request: RefreshRequest, error: AuthError): Promise<StoredAuthState | null> {
    const { parts } = this;
    // Read inline (not through a helper): the extra await would shift this tab's order against other tabs' timers.
    try {
      const { state } = await parts.shared.read();
      if (state) parts.state.adopt(state, 'storage');
    } catch (error) {
      parts.shared.failed('read', error);
    }
    const current = parts.state.record;
    if (current && current.version > request.version) return current;
    parts.state.setError(error);
    await parts.signing.signOut('refresh-rejected');
    throw error;
  }

  /**
   * A rescue sends nothing unless storage is the truth: no tab holds a rotation it could not store (the marker), and
   * this tab can store what comes back.
   */
  private async rescueIsSafe(): Promise<boolean> {
    const { shared, mount } = this.parts;
    if (shared.pendingWrite || !mount.lock.unpersisted) return false;
    if (await mount.lock.unpersisted.anyHeld()) return false;
    return shared.writable();
  }

  /** Tells waiting followers, here and in other tabs, that the refresh of `version` failed. */
  private announceFailure(version: number, error: AuthError): void {
    const wire = toWire(error);
    this.lastFailure = { version, at: this.settings.clock.now(), error: wire };
    this.parts.waiters.failed(version, error);
    this.parts.peers.post({ type: 'refresh-failed', version, errorCode: error.code, error: wire });
  }

  private retryDelay(attempt: number, error: AuthError): number {
    const computed = backoffDelayMs(attempt, this.settings.retry, this.settings.random);
    const retryAfter = error instanceof TransientRefreshError ? error.retryAfterMs : null;
    return retryAfter === null ? computed : Math.min(this.settings.retry.maxDelayMs, Math.max(computed, retryAfter));
  }

  private skipped(version: number, reason: 'newer-pair-available' | 'still-fresh' | 'signed-out') {
    this.parts.telemetry.emit({ type: 'refresh-skipped', version, reason });
  }

  /** No refresh is attempted while offline; the attempt resumes when the browser says it is online again. */
  private waitUntilOnline(): Promise<void> {
    const { environment } = this.settings;
    if (environment.isOnline()) return Promise.resolve();
    const lifetime = this.parts.mount.signal;
    return new Promise((resolve, reject) => {
      const done = () => {
        off();
        lifetime.removeEventListener('abort', onAbort);
      };
      const off = environment.onOnline(() => {
        done();
        resolve();
      });
      const onAbort = () => {
        done();
        reject(new DisposedError());
      };
      if (lifetime.aborted) onAbort();
      else lifetime.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A refresh function that ignores its AbortSignal must not hang the leader: the timeout wins the race. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted && isAbortError(error) ? signal.reason : error);
      },
    );
  });
}

function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

function toAuthError(caught: unknown): AuthError {
  if (caught instanceof AuthError) return caught;
  if (isAbortError(caught)) return new RefreshTimeoutError('Refresh request was aborted');
  // An app-supplied refresh function threw something of its own (e.g. fetch's TypeError): treat as transient.
  return new TransientRefreshError('network', 'Refresh function failed with a non-tabauth error', { cause: caught });
}

export function classify(error: AuthError): RefreshFailureReason {
  if (error instanceof OAuthError) return error.terminal ? 'terminal' : 'transient';
  if (error instanceof TransientRefreshError) return error.kind === 'timeout' ? 'timeout' : 'transient';
  if (error instanceof RefreshTimeoutError) return 'timeout';
  if (error instanceof MalformedTokenResponseError) {
    // A 2xx with a bad body may mean the server already rotated: resending the token would trip reuse detection.
    // null status: the app's own refresh function resolved with something that is not a token response.
    return error.status === null || (error.status >= 200 && error.status < 300) ? 'malformed' : 'transient';
  }
  if (error instanceof StorageError) return 'unknown';
  return 'unknown';
}

function failedEvent(
  version: number,
  attempt: number,
  reason: RefreshFailureReason,
  error: AuthError,
  willRetry: boolean,
  retryInMs: number | null,
): AuthEvent {
  return {
    type: 'refresh-failed',
    version,
    attempt,
    reason,
    errorCode: error.code,
    oauthError: error instanceof OAuthError ? error.error : null,
    willRetry,
    retryInMs,
  };
}
