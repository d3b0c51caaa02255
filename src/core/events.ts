import type { DropReason } from './coordination/tabMessages';
import type { RepairedField } from './tokenResponse';
import type { SignOutReason } from './types';
import type { DpopEvent } from './dpop';

/*
 * Typed events. They carry versions, reasons and error codes; never a token string.
 */
/** What started a refresh. */
export type RefreshTrigger =
  | 'proactive'
  | 'get-access-token'
  | 'rejected-token'
  | 'follower-request'
  | 'wake'
  /** A follower whose leader did not answer took the refresh lock itself. */
  | 'follower-rescue';
/** How a failed refresh attempt was classified (it decides retry, give up or sign out). */
export type RefreshFailureReason = 'transient' | 'terminal' | 'malformed' | 'timeout' | 'unknown';

/**
 * Why a tab runs the leader-tab election although it was given `sharedWorkerCoordination`: 'unsupported' (no
 * SharedWorker in this browser), 'blocked' (the constructor threw: CSP, a sandbox, a bad URL), 'worker-error' (the
 * script failed to load or run), 'no-hello' (no answer within `helloTimeoutMs`), 'not-transferable' (the default
 * worker cannot run this client's refresh: a custom function, or an oauth2RefreshGrant with a function option),
 * 'rejected' (the worker refused the connection, e.g. an older protocol), 'worker-lost' (the worker went away after
 * it answered), 'dpop-mismatch' (the tab signs with DPoP and the worker cannot, or the worker's client for the
 * namespace was started with the other setting: a worker never refreshes a tab's tokens without the tab's proofs).
 */
export type CoordinationFallbackReason =
  'unsupported' | 'blocked' | 'worker-error' | 'no-hello' | 'not-transferable' | 'rejected' | 'worker-lost' | 'dpop-mismatch';

/** Everything `client.on(listener)` and the `onEvent` option receive, discriminated by `type`. Never a token string. */
export type AuthEvent =
  | { type: 'refresh-started'; version: number; attempt: number; trigger: RefreshTrigger }
  | { type: 'refresh-succeeded'; fromVersion: number; version: number; attempts: number }
  | {
      type: 'refresh-failed';
      version: number;
      attempt: number;
      reason: RefreshFailureReason;
      errorCode: string;
      /** The OAuth `error` value when the server sent one (e.g. "invalid_grant"). */
      oauthError: string | null;
      willRetry: boolean;
      retryInMs: number | null;
    }
  /** The shared-cache check found a newer pair: no network call was made. */
  | { type: 'refresh-skipped'; version: number; reason: 'newer-pair-available' | 'still-fresh' | 'signed-out' }
  | { type: 'leadership-gained' }
  | { type: 'leadership-lost' }
  | { type: 'signed-in'; version: number; source: 'this-tab' | 'other-tab' }
  | { type: 'signed-out'; version: number; reason: SignOutReason | null; source: 'this-tab' | 'other-tab' }
  | { type: 'state-adopted'; version: number; source: 'channel' | 'storage' }
  | { type: 'storage-fallback'; errorCode: string }
  | { type: 'storage-error'; operation: 'read' | 'write'; errorCode: string }
  | { type: 'message-dropped'; reason: DropReason }
  | { type: 'revocation-failed'; errorCode: string }
  /**
   * `sharedWorkerCoordination`: the SharedWorker answered and refreshes for this tab, which stays out of the
   * election while the worker lives.
   */
  | { type: 'coordination-worker' }
  /**
   * `sharedWorkerCoordination`: this tab runs the leader-tab election instead (the worker is missing, failed to
   * start, never answered, or went away). The reason is one of tabauth's own words, never a browser message.
   */
  | { type: 'coordination-fallback'; reason: CoordinationFallbackReason }
  /**
   * A 2xx token response had mistyped fields: the pair was kept (the server has rotated) and these fields were
   * dropped or repaired. 'access_token' means the body had only a new refresh token: it is stored, and the attempt
   * counts as failed.
   */
  | { type: 'token-response-repaired'; version: number; fields: RepairedField[] }
  /** DPoP (tabauth/dpop): key creation, nonce retries and updates; never key material, proofs or nonce values. */
  | DpopEvent;

/** The `type` of an `AuthEvent`. */
export type AuthEventType = AuthEvent['type'];
/** A listener for `client.on(listener)` and the `onEvent` option. */
export type AuthEventListener = (event: AuthEvent) => void;
