/**
 * tabauth core: framework-free. Nothing under src/core imports React (a test enforces it).
 */
export { createAuthClient, type AuthClient } from './authClient';
export type { AuthClientOptions } from './options';
export type {
  AuthSnapshot,
  AuthStatus,
  RefreshContext,
  RefreshFunction,
  RevokeFunction,
  SignOutReason,
  StoredAuthState,
  TokenResponse,
  TokenSet,
} from './types';
export {
  AuthError,
  CorruptedStateError,
  DisposedError,
  MalformedJwtError,
  MalformedTokenResponseError,
  NotMountedError,
  OAuthError,
  RefreshTimeoutError,
  SignedOutError,
  StorageError,
  TransientRefreshError,
  UnsupportedEnvironmentError,
  isAuthError,
  redactSecrets,
  type AuthErrorCode,
  type TransientKind,
} from './errors';
export type { AuthEvent, AuthEventListener, AuthEventType, Counter, RefreshFailureReason, RefreshTrigger } from './events';
export { systemClock, browserEnvironment, sleep, type AuthEnvironment, type Clock, type TimerHandle } from './clock';
export { oauth2RefreshGrant, oauth2Revoke, type OAuth2RefreshOptions, type OAuth2RevokeOptions } from './refresh/oauth2';
export type { RetryOptions } from './refresh/backoff';
export { backoffDelayMs, resolveRetryOptions } from './refresh/backoff';
export { createIndexedDbStorage, type IndexedDbStorageOptions } from './storage/indexedDbStorage';
export { createMemoryStorage } from './storage/memoryStorage';
export type { AuthStorage } from './storage/storage';
export { broadcastChannelCoordination, type BroadcastChannelCoordinationOptions } from './coordination/broadcastChannelTransport';
export type { CoordinationFactory, LeaderElection, TabChannel, TabCoordination } from './coordination/transport';
export { defaultRefreshLock, leaseRefreshLock, webLocksRefreshLock, type RefreshLock, type WebLocksLike } from './coordination/refreshLock';
export { computeExpiresAt, decodeJwtClaims, needsRefresh, parseTokenResponse, refreshBufferMs, refreshDueAt, isExpired } from './tokenState';
export { PROTOCOL as TAB_PROTOCOL } from './coordination/tabMessages';
export type { DpopAlgorithm, DpopEvent, DpopHandle, DpopKey, DpopProofOptions, DpopRequest, DpopServer } from './dpop';
