'use client';
import type { AuthState } from './clientView';
import { useAuth } from './useAuth';

const selectIsAuthenticated = (auth: AuthState) => auth.status === 'authenticated';

/** True while this tab holds a token pair. Re-renders only when that changes (not on refreshes). */
export function useIsAuthenticated(): boolean {
  return useAuth(selectIsAuthenticated);
}
