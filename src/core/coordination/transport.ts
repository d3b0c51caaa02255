/**
 * The two narrow interfaces the auth client needs from "the other tabs". The default implementation uses
 * broadcast-channel (see broadcastChannelTransport.ts); tabauth/testing has an in-memory twin on a simulated clock,
 * and one contract test suite runs against both.
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
}

/** Creates the channel and the election for one tab. Called on mount, closed on dispose. */
export type CoordinationFactory = (channelName: string) => TabCoordination;
