import type { Clock } from './clock';
import type { DpopHandle } from './dpop';
import type { AuthEnvironment } from './environment';
import type { AuthEventListener } from './events';
import type { CoordinationFactory } from './coordination/transport';
import type { RefreshLock } from './coordination/refreshLock';
import type { RetryOptions } from './refresh/backoff';
import type { AuthStorage } from './storage/storage';
import type { RefreshFunction, RevokeFunction } from './types';

/** Options of `createAuthClient`. Only `refresh` is required. */
export interface AuthClientOptions {
  /**
   * Performs one refresh request. Use `oauth2RefreshGrant({ tokenEndpoint, clientId })` for a standard
   * RFC 6749 token endpoint, or supply your own. Only the leader tab ever calls it.
   */
  refresh: RefreshFunction;
  /**
   * Separates apps (or several auth clients) on one origin: storage keys and the channel name include it.
   * Default 'default'.
   */
  namespace?: string;
  /** Label on every counter (e.g. `refresh_token_failures{client_type="web"}`). Default 'web'. */
  clientType?: string;
  /** Revokes the refresh token at sign-out (RFC 7009) when `signOut({ revoke: true })`; see `oauth2Revoke`. */
  revoke?: RevokeFunction;
  /** Fixed minimum time before expiry at which the pair is refreshed. Default 30 000 ms. */
  refreshLeewayMs?: number;
  /** Fraction of the token lifetime reserved before expiry. Default 0.1 (refresh in the last 10%). */
  refreshLifetimeRatio?: number;
  /** Transient-failure retries: attempts, base and maximum delay, jitter. Default 5 attempts, 1 s base, 30 s cap. */
  retry?: RetryOptions;
  /**
   * One refresh request is aborted (and counted as a transient timeout) after this long. Default 10 000 ms: a
   * request that never answers may still have rotated the token, and its retry must reach the server within the
   * server's grace period (Okta's default is 30 s; see the Security section of the README).
   */
  requestTimeoutMs?: number;
  /** A follower that asked the leader for a new pair re-reads storage and asks again after this long. Default 5 000 ms. */
  followerRetryMs?: number;
  /** A follower gives up waiting (RefreshTimeoutError) after this long in total. Default 120 000 ms. */
  followerMaxWaitMs?: number;
  /**
   * A new tab whose first storage read finds nothing asks the open tabs for their pair before it renders signed-out
   * (IndexedDB can read empty while another tab holds a session, e.g. in WebKit during page hide). This long it waits
   * for an answer. Default 100 ms; only a tab with nothing stored waits.
   */
  peerQueryMs?: number;
  /** Storage for the token state. Default: IndexedDB via idb-keyval, falling back to memory when unavailable. */
  storage?: AuthStorage;
  /**
   * Channel and leader election among tabs. Default: `defaultCoordination()`, the native BroadcastChannel with a Web Locks
   * election where both exist (every current browser), else broadcast-channel loaded on demand.
   */
  coordination?: CoordinationFactory;
  /** Cross-tab lock around each refresh. Default: Web Locks where available, else a storage lease. */
  refreshLock?: RefreshLock;
  /** Time source and timers. Default: the real clock. */
  clock?: Clock;
  /** Visibility, focus and connectivity. Default: the browser's (always online and visible without a window). */
  environment?: AuthEnvironment;
  /** Random numbers for jitter and ids; inject a seeded one for reproducible simulations. Default Math.random. */
  random?: () => number;
  /** Called with every event (the same as `client.on(listener)`). */
  onEvent?: AuthEventListener;
  /**
   * Sender-constrained tokens (RFC 9449): `createDpop()` from `tabauth/dpop`. Refreshes and
   * `authedFetch` requests then carry proofs signed with one non-extractable key shared by every tab.
   */
  dpop?: DpopHandle;
}
