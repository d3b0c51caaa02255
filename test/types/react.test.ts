// Type tests for tabauth/react: checked by `tsc -p tsconfig.json` (the hooks are never called at runtime here).
import type { ReactNode } from 'react';
import { describe, expectTypeOf, it } from 'vitest';
import type { AuthClient, AuthClientOptions, AuthError, AuthStatus, SignOutReason, TokenResponse } from '../../src/core';
import {
  AuthProvider,
  shallowEqual,
  useAccessToken,
  useAuth,
  useAuthClient,
  type AccessTokenState,
  type AuthClaims,
  type AuthProviderProps,
  type AuthState,
  type ResolvedAccessTokenState,
  type UseAccessTokenOptions,
} from '../../src/react';

declare const client: AuthClient;
declare const options: AuthClientOptions;
declare const someBoolean: boolean;

// Named as a hook: it calls hooks (in a type-checked body that never runs).
function useHookTypes() {
  expectTypeOf(useAuthClient()).toEqualTypeOf<AuthClient>();

  const token = useAccessToken();
  expectTypeOf(token).toEqualTypeOf<AccessTokenState>();
  expectTypeOf(token.status).toEqualTypeOf<AuthStatus>();
  expectTypeOf(token.version).toEqualTypeOf<number>();
  expectTypeOf(token.getAccessToken).toEqualTypeOf<() => Promise<string>>();
  if (token.status === 'authenticated') {
    expectTypeOf(token.accessToken).toEqualTypeOf<string>();
    expectTypeOf(token.expiresAt).toEqualTypeOf<number | null>();
  } else {
    expectTypeOf(token.accessToken).toEqualTypeOf<null>();
    expectTypeOf(token.expiresAt).toEqualTypeOf<null>();
  }

  // Suspense mode never returns 'loading'.
  const suspended = useAccessToken({ suspense: true });
  expectTypeOf(suspended).toEqualTypeOf<ResolvedAccessTokenState>();
  expectTypeOf(suspended.status).toEqualTypeOf<'authenticated' | 'signed-out'>();
  const maybeSuspended = useAccessToken({ suspense: someBoolean });
  expectTypeOf(maybeSuspended).toEqualTypeOf<AccessTokenState>();
  expectTypeOf<UseAccessTokenOptions>().toEqualTypeOf<{ suspense?: boolean }>();
  // @ts-expect-error unknown option
  useAccessToken({ suspend: true });

  const auth = useAuth();
  expectTypeOf(auth).toEqualTypeOf<AuthState>();
  expectTypeOf(auth.status).toEqualTypeOf<AuthStatus>();
  expectTypeOf(auth.isLeader).toEqualTypeOf<boolean>();
  expectTypeOf(auth.claims).toEqualTypeOf<AuthClaims | null>();
  expectTypeOf(auth.error).toEqualTypeOf<AuthError | null>();
  expectTypeOf(auth.version).toEqualTypeOf<number>();
  expectTypeOf(auth.signedOutReason).toEqualTypeOf<SignOutReason | null>();
  expectTypeOf(auth.signIn).toEqualTypeOf<(response: TokenResponse) => Promise<void>>();
  expectTypeOf(auth.signOut).parameter(0).toEqualTypeOf<{ revoke?: boolean } | undefined>();
  // Registered claims are typed; any other claim is unknown.
  expectTypeOf(auth.claims!.sub).toEqualTypeOf<string | undefined>();
  expectTypeOf(auth.claims!.email).toEqualTypeOf<unknown>();

  // Selector form: the selection's type is inferred, and isEqual must match it.
  expectTypeOf(useAuth((state) => state.claims?.sub ?? null)).toEqualTypeOf<string | null>();
  expectTypeOf(useAuth((state) => ({ status: state.status, leader: state.isLeader }), shallowEqual)).toEqualTypeOf<{ status: AuthStatus; leader: boolean }>();
  useAuth(
    (state) => state.version,
    // @ts-expect-error isEqual compares selections (numbers here), not strings
    (a: string, b: string) => a === b,
  );
  // @ts-expect-error a selector receives AuthState, which has no tokens
  useAuth((state) => state.tokens);
}

function providerProps() {
  const withClient: AuthProviderProps = { client };
  const withOptions: AuthProviderProps = { options, children: null };
  expectTypeOf(withClient).toExtend<AuthProviderProps>();
  expectTypeOf(withOptions).toExtend<AuthProviderProps>();
  // @ts-expect-error both
  const both: AuthProviderProps = { client, options };
  // @ts-expect-error neither
  const neither: AuthProviderProps = { children: null };
  // @ts-expect-error options must be complete client options (refresh is required)
  const incomplete: AuthProviderProps = { options: { namespace: 'app' } };
  void [both, neither, incomplete];
}

describe('tabauth/react types', () => {
  it('hooks return what the docs say (checked by tsc)', () => {
    expectTypeOf(useHookTypes).toBeFunction();
  });

  it('AuthProvider takes a client or options, never both, never neither', () => {
    expectTypeOf(AuthProvider).parameter(0).toEqualTypeOf<AuthProviderProps>();
    expectTypeOf(AuthProvider).returns.toEqualTypeOf<ReactNode>();
    expectTypeOf(providerProps).toBeFunction();
  });
});
