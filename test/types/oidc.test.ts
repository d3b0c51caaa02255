// Type tests for tabauth/oidc, its React bindings and the static test client: checked by `tsc -p tsconfig.json`.
import type { ComponentType, ReactNode } from 'react';
import { describe, expectTypeOf, it } from 'vitest';
import { type AuthError, createAuthClient, type AuthClient, type RefreshFunction, type RevokeFunction } from '../../src/core';
import {
  AuthorizationError,
  createOidcLogin,
  DiscoveryError,
  IdTokenValidationError,
  LoginCallbackError,
  PopupLoginError,
  type AuthLogin,
  type CallbackFailure,
  type LoginOptions,
  type LogoutOptions,
  type OidcLogin,
  type OidcLoginOptions,
  type OidcMetadata,
} from '../../src/oidc';
import {
  AuthCallback,
  AuthProvider,
  SignedIn,
  SignedOut,
  useAuth,
  useAuthEvents,
  useIsAuthenticated,
  withAuthenticationRequired,
  type AuthProviderProps,
} from '../../src/react';
import { createStaticAuthClient, type StaticAuthClient } from '../../src/testing';

declare const client: AuthClient;

function oidcTypes() {
  const oidc = createOidcLogin({ issuer: 'https://id.example.com', clientId: 'spa', redirectUri: 'https://app.example.com/callback' });
  expectTypeOf(oidc).toEqualTypeOf<OidcLogin>();
  expectTypeOf(oidc).toExtend<AuthLogin>();
  // The two functions createAuthClient takes.
  expectTypeOf(oidc.refresh).toEqualTypeOf<RefreshFunction>();
  expectTypeOf(oidc.revoke).toEqualTypeOf<RevokeFunction>();
  createAuthClient({ refresh: oidc.refresh, revoke: oidc.revoke });
  expectTypeOf(oidc.login).parameter(0).toEqualTypeOf<LoginOptions | undefined>();
  expectTypeOf(oidc.handleCallback).toEqualTypeOf<(client: AuthClient, url?: string) => Promise<string>>();
  expectTypeOf(oidc.logout).parameters.toEqualTypeOf<[client: AuthClient, options?: LogoutOptions]>();
  expectTypeOf(oidc.metadata()).toEqualTypeOf<Promise<OidcMetadata>>();
  // @ts-expect-error clientId is required
  createOidcLogin({ issuer: 'https://id.example.com', redirectUri: 'https://app.example.com/callback' });
  // @ts-expect-error unknown login option
  void oidc.login({ return_to: '/' });
  expectTypeOf<OidcLoginOptions['scope']>().toEqualTypeOf<string | undefined>();

  // Every OIDC error is an AuthError with a reason to switch on.
  for (const type of [DiscoveryError, LoginCallbackError, AuthorizationError, IdTokenValidationError, PopupLoginError]) {
    expectTypeOf(type.prototype).toExtend<AuthError>();
  }
  expectTypeOf<LoginCallbackError['reason']>().toEqualTypeOf<CallbackFailure>();
  expectTypeOf<'replayed'>().toExtend<CallbackFailure>();
  expectTypeOf<AuthorizationError['error']>().toEqualTypeOf<string>();
}

/** A hook-calling component for the type checks (never rendered). */
function ReactTypes() {
  const auth = useAuth();
  expectTypeOf(auth.login).toEqualTypeOf<(options?: LoginOptions) => Promise<void>>();
  expectTypeOf(auth.logout).toEqualTypeOf<(options?: LogoutOptions) => Promise<void>>();
  expectTypeOf(useIsAuthenticated()).toEqualTypeOf<boolean>();
  useAuthEvents((event) => {
    expectTypeOf(event.type).toExtend<string>();
  });
  const withLogin: AuthProviderProps = {
    client,
    login: createOidcLogin({ issuer: 'https://id.example.com', clientId: 'spa', redirectUri: 'https://app.example.com/cb' }),
  };
  void withLogin;
  // @ts-expect-error a login must implement the AuthLogin methods
  const notALogin: AuthProviderProps = { client, login: { login: async () => {} } };
  void notALogin;

  expectTypeOf(SignedIn).returns.toEqualTypeOf<ReactNode>();
  expectTypeOf(SignedOut).parameter(0).toEqualTypeOf<{ children?: ReactNode; fallback?: ReactNode }>();
  expectTypeOf(AuthCallback).parameter(0).toHaveProperty('onSuccess').toEqualTypeOf<((returnTo: string) => void) | undefined>();

  const Page = (props: { id: string }) => props.id;
  const Protected = withAuthenticationRequired(Page, { onRedirecting: () => 'redirecting' });
  expectTypeOf(Protected).toEqualTypeOf<ComponentType<{ id: string }>>();
  void AuthProvider;
}

function staticClientTypes() {
  const fixed = createStaticAuthClient({ status: 'authenticated', claims: { sub: 'ada', name: 'Ada' }, accessToken: 'token' });
  expectTypeOf(fixed).toEqualTypeOf<StaticAuthClient>();
  expectTypeOf(fixed).toExtend<AuthClient>();
  fixed.setState({ status: 'signed-out' });
  // @ts-expect-error not a status
  createStaticAuthClient({ status: 'logged-in' });
}

describe('tabauth/oidc types', () => {
  it('createOidcLogin, its errors, the React bindings and the static client type-check (tsc)', () => {
    expectTypeOf(oidcTypes).toBeFunction();
    expectTypeOf(ReactTypes).toBeFunction();
    expectTypeOf(staticClientTypes).toBeFunction();
  });
});
