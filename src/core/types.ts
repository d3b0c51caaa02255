/**
 * Public data types of the tabauth core. Nothing here imports React or touches the browser.
 */
import type { DpopHandle } from './dpop';
import type { AuthError } from './errors';

/** The raw body of an OAuth 2 token response (RFC 6749 section 5.1), as the server sends it. */
export interface TokenResponse {
  /** The access token; required. */
  access_token: string;
  /** Usually 'Bearer' (the default when missing). */
  token_type?: string;
  /** Lifetime of the access token in seconds, measured from when the response is received. */
  expires_in?: number;
  /** The refresh token; without one the pair cannot be refreshed and the session ends when the access token expires. */
  refresh_token?: string;
  /** The OpenID Connect id token, when the server issued one (its claims feed `useAuth().claims`). */
  id_token?: string;
  /** The granted scope, space separated; kept from the previous pair when a refresh response omits it. */
  scope?: string;
  /**
   * Optional server-side version of the token family (optimistic concurrency across devices).
   * tabauth stores it and hands it back to the refresh call untouched.
   */
  version?: string | number;
  /** Any other field the server sends is kept out of the stored pair on purpose. */
  [extra: string]: unknown;
}

/** A validated token pair as tabauth stores and shares it. */
export interface TokenSet {
  /** The access token to send as `Authorization: Bearer <accessToken>`. */
  accessToken: string;
  /** The refresh token; null when the server issued none. */
  refreshToken: string | null;
  /** The id token; null when the server issued none. */
  idToken: string | null;
  /** The token type, e.g. 'Bearer'. */
  tokenType: string;
  /** The granted scope; null when unknown. */
  scope: string | null;
  /** Epoch milliseconds (local clock) at which the access token expires; null when unknown (opaque token, no expires_in). */
  expiresAt: number | null;
  /** Epoch milliseconds (local clock) at which the response was received. */
  receivedAt: number;
  /**
   * The same moment on the receiving tab's page clock (its start wall clock plus monotonic time since, like
   * `performance.timeOrigin + performance.now()`), which a system clock set after the page loaded does not move:
   * another tab that reads the pair from storage dates it by both. Absent in pairs stored by earlier versions.
   */
  pageReceivedAt?: number;
  /** The server's own version of the family, when it sends one. */
  serverVersion: string | number | null;
}

/** Why a session ended: the user signed out, the server rejected the refresh token, or there was none to refresh with. */
export type SignOutReason =
  /** `signOut()` was called in some tab. */
  | 'user'
  /** The server rejected the refresh token with a terminal error and no newer pair existed. */
  | 'refresh-rejected'
  /** There was no refresh token to refresh with and the access token expired. */
  | 'no-refresh-token';

/**
 * The record kept in storage under the client's namespace. `version` only moves forward: every write
 * is a compare-and-set against the version the writer read.
 */
export interface StoredAuthState {
  /** Schema marker so a foreign or corrupted record is recognised. */
  schema: 1;
  /** Moves forward with every write (sign-in, refresh, sign-out). */
  version: number;
  /** null after sign-out (token strings are removed from storage, the version stays). */
  tokens: TokenSet | null;
  /** Set when tokens is null because of a sign-out. */
  signedOutReason: SignOutReason | null;
  /** Local time of the write. */
  updatedAt: number;
  /**
   * The version of the sign-in or sign-out that began this record's session; refreshes copy it. Absent in records
   * written before it existed (they are ordered by version alone).
   */
  since?: number;
  /**
   * Set when the session's sign-in or sign-out could not be written when it was made: the version storage held at
   * that moment. A session that storage began later than this wins over it (see `src/core/sessionOrder.ts`).
   */
  over?: number;
  /** This record's content stored again at a higher version (above a user action it won over): the version it had. */
  movedFrom?: number;
  /**
   * When the sign-in or sign-out that began this record's session was made (epoch ms: the wall clock at the client's
   * start plus the monotonic time since, like `performance.timeOrigin + performance.now()`); refreshes copy it. It tells
   * two sessions apart whose `since` is the same number, and orders two that began at the same point of storage's
   * history (concurrent actions that never heard of each other): the tabs of one browser share the system clock.
   */
  began?: number;
  /** The same moment by the wall clock (epoch ms); with `began`, it orders blind actions (below). */
  beganWall?: number;
  /**
   * Set when the session's sign-in or sign-out was made in a tab that knew nothing storage could order it by (it read
   * a corrupted record, or none, and held no session): it is ordered against other sessions by `began` and
   * `beganWall` where both agree; where they disagree a user's sign-out wins over a signed-in session, else versions
   * decide.
   */
  blind?: true;
  /**
   * The `since` of the session the tab held when the user clicked: this session began after that one, whatever the
   * clocks say. Set, with `sawBegan`, by a sign-in or sign-out made in a tab that held a session record.
   */
  sawSince?: number;
  /** The `began` of that session (with `sawSince` it names one session: two may share a `since`). */
  sawBegan?: number;
}

/** 'loading' until the stored state is read (always on a server), then 'authenticated' or 'signed-out'. */
export type AuthStatus = 'loading' | 'authenticated' | 'signed-out';

/** The value `getSnapshot()` returns; the same object until something observable changes. */
export interface AuthSnapshot {
  /** Whether this tab holds a session. */
  status: AuthStatus;
  /** The pair this tab holds; null unless authenticated. */
  tokens: TokenSet | null;
  /** Version of the pair this tab holds (0 before anything was ever stored). */
  version: number;
  /** Whether this tab is the elected leader that performs refreshes. */
  isLeader: boolean;
  /** The last refresh or storage error, cleared by the next success. Never contains a token string. */
  error: AuthError | null;
  /** Which storage backs this tab: 'memory' after a fallback from an unavailable IndexedDB. */
  storage: 'persistent' | 'memory';
  /** Why the last sign-out happened, when status is 'signed-out'. */
  signedOutReason: SignOutReason | null;
  /**
   * True once the held access token has outlived its lifetime and no newer pair has arrived yet (for instance while
   * the token endpoint is down). Components that hold on to `tokens.accessToken` (a WebSocket) can stop using it.
   */
  expired: boolean;
}

/** What the app's refresh function receives. */
export interface RefreshContext {
  /** The refresh token to send; tabauth sends each one exactly once across all tabs. */
  refreshToken: string;
  /** Scope of the current pair, if known. */
  scope: string | null;
  /** A stable per-browser id, for servers that keep one refresh token per device. */
  deviceId: string;
  /** tabauth's version of the pair being refreshed. */
  version: number;
  /** The server's version of the pair being refreshed, if it sent one. */
  serverVersion: string | number | null;
  /** Aborted when the attempt times out or the client is disposed. */
  signal: AbortSignal;
  /** The client's DPoP handle when DPoP is on: the refresh sends a proof signed with it. */
  dpop?: DpopHandle;
}

/** Performs one refresh request. Throw tabauth's typed errors (see `oauth2RefreshGrant`) to classify failures. */
export type RefreshFunction = (context: RefreshContext) => Promise<TokenResponse>;

/** Revokes a token at sign-out (RFC 7009). Failures are reported as events and never block the sign-out. */
export type RevokeFunction = (token: { token: string; tokenTypeHint: 'refresh_token' | 'access_token'; signal: AbortSignal }) => Promise<void>;
