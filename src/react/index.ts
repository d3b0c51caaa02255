'use client';
/**
 * tabauth/react: a provider that mounts the auth client and hooks over its snapshot (`useSyncExternalStore`).
 * Nothing here holds state of its own; the client created with `createAuthClient` is the single source of truth.
 */
export { AuthProvider, type AuthProviderLoginProps, type AuthProviderProps } from './AuthProvider';
export { useAuthClient } from './context';
export { useAuth } from './useAuth';
export { useAccessToken, type UseAccessTokenOptions } from './useAccessToken';
export type { AccessTokenFields, AccessTokenState, AuthClaims, AuthState, ResolvedAccessTokenState } from './clientView';
export { shallowEqual } from './useSyncExternalStoreWithSelector';
export { useIsAuthenticated } from './useIsAuthenticated';
export { SignedIn, SignedOut, type AuthGateProps } from './AuthGates';
export { withAuthenticationRequired, type WithAuthenticationRequiredOptions } from './withAuthenticationRequired';
export { useAuthEvents } from './useAuthEvents';
export { AuthCallback, type AuthCallbackProps } from './AuthCallback';
export type { AuthLogin, LoginOptions, LogoutOptions, PopupLoginOptions } from 'tabauth/oidc';
