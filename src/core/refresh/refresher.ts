import { sleep, type AuthEnvironment, type Clock } from '../clock';
import { AuthError, DisposedError, MalformedTokenResponseError, OAuthError, RefreshTimeoutError, StorageError, TransientRefreshError } from '../errors';
import { COUNTERS, type AuthEvent, type CounterSet, type RefreshFailureReason, type RefreshTrigger } from '../events';
import type { RefreshLock } from '../coordination/refreshLock';
import type { StateStore } from '../stateStore';
import { needsRefresh, parseTokenResponse, type RefreshPolicy } from '../tokenState';
import type { RefreshFunction, StoredAuthState } from '../types';
import { backoffDelayMs, type ResolvedRetryOptions } from './backoff';

/**
 * The leader's refresh: single flight within the tab, serialised across tabs by the RefreshLock, storage re-read
 * inside the lock before any network call, compare-and-set write, and retries with backoff for transient failures.
 */
export interface RefresherHost {
  clock: Clock;
  environment: AuthEnvironment;
  retry: ResolvedRetryOptions;
  random: () => number;
  requestTimeoutMs: number;
  policy: RefreshPolicy;
  refresh: RefreshFunction;
  store: () => StateStore;
  lock: () => RefreshLock;
  deviceId: () => string;
  /** The state this tab holds. */
  current: () => StoredAuthState | null;
  /** Adopts a state read from storage if it is newer. */
  adoptFromStorage: (state: StoredAuthState) => void;
  /** Adopts a state this tab produced, and pushes it to every other tab. */
  publish: (state: StoredAuthState) => void;
  /** Signs every tab out after the server rejected the family for good. */
  signOutEverywhere: (reason: 'refresh-rejected' | 'no-refresh-token') => Promise<void>;
  /** Tells waiting followers that the refresh of `version` failed. */
  announceFailure: (version: number, error: AuthError) => void;
  emit: (event: AuthEvent) => void;
  counters: CounterSet;
  reportError: (error: AuthError | null) => void;
  storageError: (operation: 'read' | 'write', error: unknown) => void;
  /** Aborted when the client unmounts. */
  lifetime: () => AbortSignal;
}

export interface RefreshRequest {
  /** The version the caller holds and wants replaced. */
  version: number;
  /** Refresh even if the pair does not look due (a 401, or a follower whose clock says expired). */
  force: boolean;
  trigger: RefreshTrigger;
}

type AttemptOutcome = { done: StoredAuthState | null };

export class Refresher {
  private inflight: { version: number; promise: Promise<StoredAuthState | null> } | null = null;

  constructor(private readonly host: RefresherHost) {}

  /**
   * Resolves with the state after the refresh (or the newer state found instead), or null when signed out.
   * Any number of concurrent calls for the same version share one flight.
   */
  refresh(request: RefreshRequest): Promise<StoredAuthState | null> {
    if (this.inflight && this.inflight.version >= request.version) return this.inflight.promise;
    const promise = this.run(request).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { version: request.version, promise };
    return promise;
  }

  private async run(request: RefreshRequest): Promise<StoredAuthState | null> {
    const { host } = this;
    let malformedRetried = false;
    for (let attempt = 1; ; attempt++) {
      await this.waitUntilOnline();
      try {
        const outcome = await host.lock().run(() => this.attempt(request, attempt), host.lifetime());
        return outcome.done;
      } catch (caught) {
        if (host.lifetime().aborted) throw new DisposedError();
        const error = toAuthError(caught);
        const reason = classify(error);
        host.counters.increment(COUNTERS.refreshFailures, { reason });
        if (reason === 'terminal') {
          host.emit(failedEvent(request.version, attempt, reason, error, false, null));
          return this.onTerminal(request, error);
        }
        // A 2xx with an unusable body: the server may have rotated already. Waiting does not help then (the old token
        // is consumed either way), but asking again at once does: a server with a grace period replays the new pair
        // to the same token, and a proxy that mangled one answer may not mangle the next. So: one retry, no delay.
        const promptRetry = reason === 'malformed' && !malformedRetried && attempt < host.retry.attempts;
        if (promptRetry) malformedRetried = true;
        const retryable = reason === 'transient' || reason === 'timeout' || reason === 'unknown' || promptRetry;
        const willRetry = retryable && attempt < host.retry.attempts;
        const delay = promptRetry ? 0 : willRetry ? this.retryDelay(attempt, error) : null;
        host.emit(failedEvent(request.version, attempt, reason, error, willRetry, delay));
        if (!willRetry || delay === null) {
          host.reportError(error);
          host.announceFailure(request.version, error);
          throw error;
        }
        await sleep(host.clock, delay, host.lifetime()).catch(() => {
          throw new DisposedError();
        });
      }
    }
  }

  /** One attempt, inside the cross-tab lock. */
  private async attempt(request: RefreshRequest, attempt: number): Promise<AttemptOutcome> {
    const { host } = this;
    // The shared-cache check: another tab (or a duplicate leader) may have refreshed already.
    try {
      const { state } = await host.store().read();
      if (state) host.adoptFromStorage(state);
    } catch (error) {
      host.storageError('read', error);
    }
    const base = host.current();
    if (!base || base.tokens === null) {
      this.skipped(request.version, 'signed-out');
      return { done: base };
    }
    if (base.version > request.version) {
      this.skipped(request.version, 'newer-pair-available');
      return { done: base };
    }
    if (!request.force && !needsRefresh(base.tokens, host.clock.now(), host.policy)) {
      this.skipped(request.version, 'still-fresh');
      return { done: base };
    }
    const refreshToken = base.tokens.refreshToken;
    if (!refreshToken) {
      await host.signOutEverywhere('no-refresh-token');
      return { done: host.current() };
    }

    host.emit({ type: 'refresh-started', version: base.version, attempt, trigger: request.trigger });
    host.counters.increment(COUNTERS.refreshRequests);
    const timeout = new AbortController();
    const onLifetimeEnd = () => timeout.abort(new DisposedError());
    host.lifetime().addEventListener('abort', onLifetimeEnd, { once: true });
    const timer = host.clock.setTimeout(
      () => timeout.abort(new RefreshTimeoutError(`Refresh request timed out after ${host.requestTimeoutMs} ms`)),
      host.requestTimeoutMs,
    );
    let response: unknown;
    try {
      response = await raceAbort(
        host.refresh({
          refreshToken,
          scope: base.tokens.scope,
          deviceId: host.deviceId(),
          version: base.version,
          serverVersion: base.tokens.serverVersion,
          signal: timeout.signal,
        }),
        timeout.signal,
      );
    } finally {
      host.clock.clearTimeout(timer);
      host.lifetime().removeEventListener('abort', onLifetimeEnd);
    }
    const tokens = parseTokenResponse(response, host.clock.now(), base.tokens);
    const next: StoredAuthState = { schema: 1, version: base.version + 1, tokens, signedOutReason: null, updatedAt: host.clock.now() };
    try {
      const result = await host.store().compareAndSet(base.version, next);
      if (!result.written) {
        // Only possible if the lock was bypassed (storage failure); the stored state is newer and wins.
        host.adoptFromStorage(result.current);
        return { done: host.current() };
      }
    } catch (error) {
      // Keep the new pair: it is pushed to every tab over the channel even if this tab cannot persist it.
      host.storageError('write', error);
    }
    host.counters.increment(COUNTERS.refreshSuccesses);
    host.reportError(null);
    host.publish(next);
    host.emit({ type: 'refresh-succeeded', fromVersion: base.version, version: next.version, attempts: attempt });
    return { done: next };
  }

  /** invalid_grant and friends: adopt a newer pair if storage has one, otherwise sign every tab out. */
  private async onTerminal(request: RefreshRequest, error: AuthError): Promise<StoredAuthState | null> {
    const { host } = this;
    try {
      const { state } = await host.store().read();
      if (state) host.adoptFromStorage(state);
    } catch (readError) {
      host.storageError('read', readError);
    }
    const current = host.current();
    if (current && current.version > request.version) return current;
    host.reportError(error);
    await host.signOutEverywhere('refresh-rejected');
    throw error;
  }

  private retryDelay(attempt: number, error: AuthError): number {
    const computed = backoffDelayMs(attempt, this.host.retry, this.host.random);
    const retryAfter = error instanceof TransientRefreshError ? error.retryAfterMs : null;
    return retryAfter === null ? computed : Math.min(this.host.retry.maxDelayMs, Math.max(computed, retryAfter));
  }

  private skipped(version: number, reason: 'newer-pair-available' | 'still-fresh' | 'signed-out') {
    this.host.counters.increment(COUNTERS.refreshSkipped, { reason });
    this.host.emit({ type: 'refresh-skipped', version, reason });
  }

  /** No refresh is attempted while offline; the attempt resumes when the browser says it is online again. */
  private waitUntilOnline(): Promise<void> {
    const { environment } = this.host;
    if (environment.isOnline()) return Promise.resolve();
    const lifetime = this.host.lifetime();
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
