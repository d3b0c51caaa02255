import type { Clock } from '../clock';
import type { DpopAlgorithm } from '../dpop';
import type { AuthError } from '../errors';
import type { CoordinationFallbackReason } from '../events';
import type { RetryOptions } from '../refresh/backoff';
import type { RefreshFunction } from '../types';

/**
 * The two narrow interfaces the auth client needs from "the other tabs". The default implementation is the native
 * one (BroadcastChannel + a Web Locks election, nativeCoordination.ts) and broadcast-channel where those are missing
 * (broadcastChannelTransport.ts, loaded lazily; see defaultCoordination.ts); tabauth/testing has an in-memory twin on
 * a simulated clock, and one contract test suite runs against all three.
 */

/** Messages to every other tab of the same origin and namespace (never echoed to the sender). */
export interface TabChannel {
  /** Sends a message (structured-cloneable) to every other tab; never delivered to this one. */
  post(message: unknown): Promise<void>;
  /** Raw incoming messages; the client validates every one of them. Returns an unsubscribe function. */
  subscribe(listener: (message: unknown) => void): () => void;
  /** Closes the channel for good: nothing is sent or received afterwards. */
  close(): Promise<void>;
}

/** Leader election among the tabs: at most one leader in the normal case, eventually exactly one while any tab lives. */
export interface LeaderElection {
  /** Whether this tab is the leader right now. */
  readonly isLeader: boolean;
  /** Starts campaigning; `onChange` is called whenever this tab gains or loses leadership. */
  start(onChange: (isLeader: boolean) => void): void;
  /** Gives up leadership (another tab takes over) and stops campaigning. */
  close(): Promise<void>;
}

/** What a `CoordinationFactory` creates for one tab: its channel to the other tabs and its part in the election. */
export interface TabCoordination {
  /** Messages to and from the other tabs. */
  channel: TabChannel;
  /** This tab's part in the leader election. */
  election: LeaderElection;
  /**
   * Settles (with the error to report) if the coordination turns out to be unusable after it was created, e.g. a
   * lazily loaded transport that could not be loaded or started. The tab then runs alone: its election makes it the
   * leader, posts go nowhere. Absent or never settling for a coordination that works.
   */
  unavailable?: Promise<AuthError>;
}

/**
 * The plain-data options of a client that a coordination running the refresh somewhere else (a SharedWorker) must
 * use there too, so that the refresher decides "due?" as the tabs do.
 */
export interface TransferableClientSettings {
  /** The client's namespace (storage key and channel name). */
  namespace: string;
  /** Label on every counter. */
  clientType: string;
  /** See AuthClientOptions.refreshLeewayMs. */
  refreshLeewayMs: number;
  /** See AuthClientOptions.refreshLifetimeRatio. */
  refreshLifetimeRatio: number;
  /** See AuthClientOptions.requestTimeoutMs. */
  requestTimeoutMs: number;
  /** See AuthClientOptions.followerRetryMs. */
  followerRetryMs: number;
  /** See AuthClientOptions.retry; absent for the defaults. */
  retry?: RetryOptions;
  /** Present when the client has a DPoP handle: the refresh there must sign with the namespace's key too. */
  dpop?: TransferableDpopSettings;
}

/**
 * A client's DPoP settings as plain data. Never key material: the key is a non-extractable CryptoKeyPair in
 * IndexedDB, which a worker opens itself (`createDpop` there) instead of receiving it.
 */
export interface TransferableDpopSettings {
  /** Algorithm of keys the handle creates (a stored key of another algorithm is used as it is). */
  algorithm: DpopAlgorithm;
}

/** What the client tells its coordination when it creates it (on mount). Coordinations that only pass messages ignore it. */
export interface CoordinationContext {
  /** The client's refresh function (`oauth2RefreshGrant` ones carry a plain description a worker can rebuild). */
  refresh: RefreshFunction;
  /** See TransferableClientSettings. */
  settings: TransferableClientSettings;
  /** The client's clock, for the coordination's own timeouts. */
  clock: Clock;
  /** Reports a coordination change as an event of the client (`coordination-worker`, `coordination-fallback`). */
  report(event: { type: 'coordination-worker' } | { type: 'coordination-fallback'; reason: CoordinationFallbackReason }): void;
}

/**
 * Creates the channel and the election for one tab. Called on mount, closed on dispose. `context` is given by
 * `createAuthClient` (a factory written for an older tabauth may ignore it).
 */
export type CoordinationFactory = (channelName: string, context?: CoordinationContext) => TabCoordination;
