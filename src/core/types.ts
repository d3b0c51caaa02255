/**
 * Public data types of the tabauth core. Nothing here imports React or touches the browser.
 */

/** The raw body of an OAuth 2 token response (RFC 6749 section 5.1), as the server sends it. */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  /** Lifetime of the access token in seconds, measured from when the response is received. */
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
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
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  tokenType: string;
  scope: string | null;
  /** Epoch milliseconds (local clock) at which the access token expires; null when unknown (opaque token, no expires_in). */
  expiresAt: number | null;
  /** Epoch milliseconds (local clock) at which the response was received. */
  receivedAt: number;
  /** The server's own version of the family, when it sends one. */
  serverVersion: string | number | null;
}

export type SignOutReason =
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
  version: number;
  /** null after sign-out (token strings are removed from storage, the version stays). */
  tokens: TokenSet | null;
  /** Set when tokens is null because of a sign-out. */
  signedOutReason: SignOutReason | null;
  /** Local time of the write. */
  updatedAt: number;
}

export type AuthStatus = 'loading' | 'authenticated' | 'signed-out';

/** The value `getSnapshot()` returns; the same object until something observable changes. */
export interface AuthSnapshot {
  status: AuthStatus;
  tokens: TokenSet | null;
  /** Version of the pair this tab holds (0 before anything was ever stored). */
  version: number;
  /** Whether this tab is the elected leader that performs refreshes. */
  isLeader: boolean;
  /** The last refresh or storage error, cleared by the next success. Never contains a token string. */
  error: import('./errors').AuthError | null;
  /** Which storage backs this tab: 'memory' after a fallback from an unavailable IndexedDB. */
  storage: 'persistent' | 'memory';
  /** Why the last sign-out happened, when status is 'signed-out'. */
  signedOutReason: SignOutReason | null;
}

/** What the app's refresh function receives. */
export interface RefreshContext {
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
  /** [dpop hook] The client's DPoP handle when DPoP is on: the refresh sends a proof signed with it. */
  dpop?: import('./dpop').DpopHandle;
}

/** Performs one refresh request. Throw tabauth's typed errors (see `oauth2RefreshGrant`) to classify failures. */
export type RefreshFunction = (context: RefreshContext) => Promise<TokenResponse>;

/** Revokes a token at sign-out (RFC 7009). Failures are reported as events and never block the sign-out. */
export type RevokeFunction = (token: { token: string; tokenTypeHint: 'refresh_token' | 'access_token'; signal: AbortSignal }) => Promise<void>;
