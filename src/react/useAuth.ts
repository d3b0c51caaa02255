'use client';
import { useCallback, useContext } from 'react';
import { viewOf, type AuthState } from './clientView';
import { useAuthClientFrom } from './context';
import { AuthLoginContext } from './loginContext';
import { useSyncExternalStoreWithSelector } from './useSyncExternalStoreWithSelector';

const identity = <T>(value: T): T => value;

/**
 * The auth state of this tab: status, isLeader, claims, error, version, signedOutReason, signIn, signOut, login,
 * loginWithPopup and logout (the last three need a `login` on the AuthProvider).
 * Re-renders on every observable change of the snapshot, leadership and errors included.
 */
export function useAuth(): AuthState;
/**
 * Only the slice `selector` picks: the component re-renders when that slice changes (by `isEqual`, default
 * `Object.is`; pass `shallowEqual` when the selector builds an object or array).
 *
 * @example
 * ```tsx
 * const subject = useAuth((auth) => auth.claims?.sub ?? null);
 * ```
 */
export function useAuth<Selection>(selector: (state: AuthState) => Selection, isEqual?: (a: NoInfer<Selection>, b: NoInfer<Selection>) => boolean): Selection;
export function useAuth<Selection>(
  selector: (state: AuthState) => Selection = identity as (state: AuthState) => Selection,
  isEqual?: (a: Selection, b: Selection) => boolean,
): Selection {
  const view = viewOf(useAuthClientFrom('useAuth'), useContext(AuthLoginContext));
  // AuthState objects are cached per snapshot, so composing here stays a pure function of the snapshot.
  const select = useCallback((snapshot: Parameters<typeof view.authState>[0]) => selector(view.authState(snapshot)), [view, selector]);
  return useSyncExternalStoreWithSelector(view.subscribe, view.getSnapshot, view.getServerSnapshot, select, isEqual);
}
