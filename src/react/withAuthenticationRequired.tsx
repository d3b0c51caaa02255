'use client';
import { useContext, useEffect, useRef, useState, type ComponentType, type ReactNode } from 'react';
import type { LoginOptions } from 'tabauth/oidc';
import type { AuthState } from './clientView';
import { useAuthClientFrom } from './context';
import { AuthLoginContext, missingLoginError } from './loginContext';
import { useAuth } from './useAuth';

/** Options of `withAuthenticationRequired`: what it renders and how it starts the login. */
export interface WithAuthenticationRequiredOptions {
  /** Rendered while the session loads and while the browser is sent to the login. Default nothing. */
  onRedirecting?: () => ReactNode;
  /** Options of the login it starts; `returnTo` defaults to the current URL, so the user comes back here. */
  loginOptions?: LoginOptions;
  /** A failed login start (e.g. discovery unreachable). Default: thrown to the nearest error boundary. */
  onError?: (error: unknown) => void;
}

const selectStatus = (auth: AuthState) => auth.status;

/**
 * A protected route: renders `Component` while signed in; when the tab is signed out it starts a login through the
 * provider's `login` (once, StrictMode included) and renders `onRedirecting()` until the browser leaves.
 */
export function withAuthenticationRequired<Props extends object>(
  Component: ComponentType<Props>,
  options: WithAuthenticationRequiredOptions = {},
): ComponentType<Props> {
  function AuthenticationRequired(props: Props): ReactNode {
    useAuthClientFrom('withAuthenticationRequired');
    const login = useContext(AuthLoginContext);
    const status = useAuth(selectStatus);
    const started = useRef(false);
    const [, setFailure] = useState<unknown>(null);
    useEffect(() => {
      if (status !== 'signed-out') {
        started.current = false;
        return;
      }
      if (started.current || !login) return;
      started.current = true;
      login.login(options.loginOptions).catch((error: unknown) => {
        started.current = false;
        if (options.onError) options.onError(error);
        else
          setFailure(() => {
            throw error;
          });
      });
    }, [status, login]);
    if (!login) throw missingLoginError('withAuthenticationRequired');
    if (status === 'authenticated') return <Component {...props} />;
    return options.onRedirecting?.() ?? null;
  }
  AuthenticationRequired.displayName = `withAuthenticationRequired(${Component.displayName ?? Component.name ?? 'Component'})`;
  return AuthenticationRequired;
}
