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
export type { AuthEvent, AuthEventListener, AuthEventType, CoordinationFallbackReason, RefreshFailureReason, RefreshTrigger } from './events';
export type { Counter } from './counters';
export { systemClock, sleep, type Clock, type TimerHandle } from './clock';
export { browserEnvironment, type AuthEnvironment } from './environment';
export {
  describeRefreshGrant,
  oauth2RefreshGrant,
  oauth2Revoke,
  type OAuth2RefreshOptions,
  type OAuth2RevokeOptions,
  type TransferableGrant,
} from './refresh/oauth2';
export type { RetryOptions } from './refresh/backoff';
export { createIndexedDbStorage, type IndexedDbStorageOptions } from './storage/indexedDbStorage';
export { createMemoryStorage } from './storage/memoryStorage';
export type { AuthStorage } from './storage/storage';
export { broadcastChannelCoordination, type BroadcastChannelCoordinationOptions } from './coordination/broadcastChannelTransport';
export { defaultCoordination } from './coordination/defaultCoordination';
export {
  nativeCoordination,
  nativeCoordinationAvailable,
  type BroadcastChannelLike,
  type NativeCoordinationOptions,
  type PageLifecycleTarget,
} from './coordination/nativeCoordination';
export type {
  CoordinationContext,
  CoordinationFactory,
  LeaderElection,
  TabChannel,
  TabCoordination,
  TransferableClientSettings,
  TransferableDpopSettings,
} from './coordination/transport';
export {
  defaultRefreshLock,
  leaseRefreshLock,
  webLocksRefreshLock,
  type LeaseRefreshLockOptions,
  type RefreshLock,
  type UnpersistedMarker,
  type WebLocksLike,
} from './coordination/refreshLock';
export { decodeJwtClaims } from './jwt';
export { parseTokenResponse, type RepairedField } from './tokenResponse';
export { refreshDueAt, type RefreshPolicy } from './refreshPolicy';
export type { DropReason } from './coordination/tabMessages';
export type { DpopAlgorithm, DpopEvent, DpopHandle, DpopKey, DpopProofOptions, DpopRequest, DpopServer } from './dpop';
