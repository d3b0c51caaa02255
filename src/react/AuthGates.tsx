'use client';
import type { ReactNode } from 'react';
import type { AuthState } from './clientView';
import { useAuth } from './useAuth';

/** Props of `<SignedIn>` and `<SignedOut>`. */
export interface AuthGateProps {
  /** Rendered only while the tab is in the state the gate is for. */
  children?: ReactNode;
  /** Rendered while the stored session is still loading (and on the server). Default nothing. */
  fallback?: ReactNode;
}

const selectStatus = (auth: AuthState) => auth.status;

/** Renders its children only while signed in; `fallback` while loading; nothing when signed out. */
export function SignedIn({ children, fallback = null }: AuthGateProps): ReactNode {
  const status = useAuth(selectStatus);
  if (status === 'loading') return fallback;
  return status === 'authenticated' ? children : null;
}

/** Renders its children only while signed out; `fallback` while loading; nothing when signed in. */
export function SignedOut({ children, fallback = null }: AuthGateProps): ReactNode {
  const status = useAuth(selectStatus);
  if (status === 'loading') return fallback;
  return status === 'signed-out' ? children : null;
}
