'use client';
import { createContext } from 'react';
import type { AuthLogin } from 'tabauth/oidc';

/**
 * The login of the nearest `<AuthProvider login={...}>` (null without one). Its own context, next to the client's:
 * it never changes while the provider lives, so nothing re-renders for it.
 */
export const AuthLoginContext = createContext<AuthLogin | null>(null);
AuthLoginContext.displayName = 'TabauthAuthLogin';

/** The error every login-dependent API throws when the provider has no `login`. */
export function missingLoginError(what: string): Error {
  return new Error(
    `tabauth: ${what} needs a login on the provider: <AuthProvider client={authClient} login={oidcLogin}> ` +
      '(createOidcLogin from "tabauth/oidc", or any AuthLogin).',
  );
}
