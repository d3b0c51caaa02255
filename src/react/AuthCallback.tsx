'use client';
import { useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { useAuthClientFrom } from './context';
import { AuthLoginContext, missingLoginError } from './loginContext';

/** Props of `<AuthCallback>`: what happens once the login callback succeeds or fails. */
export interface AuthCallbackProps {
  /** Called with the login's `returnTo` once every tab is signed in. Default `location.replace(returnTo)`. */
  onSuccess?: (returnTo: string) => void;
  /**
   * Called with the typed error of a refused callback (LoginCallbackError, AuthorizationError, IdTokenValidationError,
   * OAuthError...). Default: thrown to the nearest error boundary.
   */
  onError?: (error: unknown) => void;
  /** Rendered while the callback runs (and after an error handled by `onError`). Default nothing. */
  children?: ReactNode;
}

/**
 * The page at the login's redirect URI: completes the login with the provider's `login` (`handleCallback`), once
 * even under StrictMode, and hands over to `onSuccess`. In a login popup it passes the response to the opener
 * instead, which completes the login there.
 */
export function AuthCallback({ onSuccess, onError, children = null }: AuthCallbackProps): ReactNode {
  const client = useAuthClientFrom('AuthCallback');
  const login = useContext(AuthLoginContext);
  const handlers = useRef({ onSuccess, onError });
  const [, setFailure] = useState<unknown>(null);
  // The URL as the page was opened: handleCallback cleans the address bar, and StrictMode's second run of the effect
  // must still ask about the same response (and so get the same, single completion).
  const [url] = useState(() => (typeof window === 'undefined' ? '' : window.location.href));
  useEffect(() => {
    handlers.current = { onSuccess, onError };
  });
  useEffect(() => {
    if (!login || login.handlePopupCallback(url)) return;
    let active = true;
    // StrictMode runs this effect twice; handleCallback gives both runs the one completion of this URL.
    login.handleCallback(client, url).then(
      (returnTo) => {
        if (!active) return;
        if (handlers.current.onSuccess) handlers.current.onSuccess(returnTo);
        else window.location.replace(returnTo);
      },
      (error: unknown) => {
        if (!active) return;
        if (handlers.current.onError) handlers.current.onError(error);
        else
          setFailure(() => {
            throw error;
          });
      },
    );
    return () => {
      active = false;
    };
  }, [client, login, url]);
  if (!login) throw missingLoginError('<AuthCallback>');
  return children;
}
