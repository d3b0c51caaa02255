'use client';
import { createContext, useContext } from 'react';
import type { AuthClient } from 'tabauth';

/**
 * Holds the auth client only. Snapshots are not put in context on purpose: a context value change re-renders every
 * consumer, while `useSyncExternalStore` plus a selector lets each component re-render for its own slice only.
 */
export const AuthClientContext = createContext<AuthClient | null>(null);
AuthClientContext.displayName = 'TabauthAuthClient';

/** Reads the client from context, or throws an error that names the hook and the provider it needs. */
export function useAuthClientFrom(hookName: string): AuthClient {
  const client = useContext(AuthClientContext);
  if (!client) {
    throw new Error(
      `tabauth: ${hookName}() was called outside <AuthProvider>. ` +
        'Wrap the component tree in <AuthProvider client={authClient}> (or <AuthProvider options={...}>) from "tabauth/react".',
    );
  }
  return client;
}

/** The auth client of the nearest `<AuthProvider>`. Throws when there is none. */
export function useAuthClient(): AuthClient {
  return useAuthClientFrom('useAuthClient');
}
