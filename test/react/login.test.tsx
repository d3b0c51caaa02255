// @vitest-environment jsdom
/**
 * The login side of tabauth/react, rendered over the static client from tabauth/testing (no simulation) and a
 * recording AuthLogin: gates, useIsAuthenticated, withAuthenticationRequired, useAuthEvents, AuthCallback, and
 * useAuth().login/logout with and without a login on the provider.
 */
import { act, cleanup, render, screen } from '@testing-library/react';
import { Component, StrictMode, type ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthClient, AuthEvent } from '../../src/core';
import type { AuthLogin, LoginOptions, LogoutOptions } from '../../src/oidc';
import {
  AuthCallback,
  AuthProvider,
  SignedIn,
  SignedOut,
  useAuth,
  useAuthEvents,
  useIsAuthenticated,
  withAuthenticationRequired,
  type AuthState,
} from '../../src/react';
import { createStaticAuthClient } from '../../src/testing';

afterEach(cleanup);

function recordingLogin(callback: () => Promise<string> = async () => '/back') {
  const calls: Array<[string, unknown?]> = [];
  const login: AuthLogin & { calls: typeof calls } = {
    calls,
    login: async (options?: LoginOptions) => void calls.push(['login', options]),
    loginWithPopup: async (_client: AuthClient, options?: LoginOptions) => void calls.push(['loginWithPopup', options]),
    logout: async (client: AuthClient, options?: LogoutOptions) => {
      calls.push(['logout', options]);
      await client.signOut({ revoke: options?.revoke });
    },
    handleCallback: (client: AuthClient) => {
      calls.push(['handleCallback', client.namespace]);
      return callback();
    },
    handlePopupCallback: () => false,
  };
  return login;
}

class Boundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    return this.state.error ? <p data-testid="boundary">{this.state.error.message}</p> : this.props.children;
  }
}

const settle = () => act(async () => {});

/** React logs what an error boundary catches; these tests expect it. */
async function quietly(run: () => Promise<void> | void) {
  const original = console.error;
  console.error = () => {};
  try {
    await run();
  } finally {
    console.error = original;
  }
}

describe('gates and useIsAuthenticated', () => {
  it('<SignedIn>/<SignedOut> show fallback while loading, then exactly one side, and follow sign-out', async () => {
    const client = createStaticAuthClient({ status: 'loading' });
    function Flag() {
      return <span data-testid="flag">{String(useIsAuthenticated())}</span>;
    }
    render(
      <AuthProvider client={client}>
        <SignedIn fallback={<span>loading in</span>}>
          <span>welcome</span>
        </SignedIn>
        <SignedOut fallback={<span>loading out</span>}>
          <span>please log in</span>
        </SignedOut>
        <Flag />
      </AuthProvider>,
    );
    expect(screen.getByText('loading in')).toBeTruthy();
    expect(screen.getByText('loading out')).toBeTruthy();
    expect(screen.getByTestId('flag').textContent).toBe('false');
    act(() => client.setState({ status: 'authenticated', claims: { sub: 'ada' } }));
    expect(screen.getByText('welcome')).toBeTruthy();
    expect(screen.queryByText('please log in')).toBeNull();
    expect(screen.getByTestId('flag').textContent).toBe('true');
    await act(() => client.signOut());
    expect(screen.queryByText('welcome')).toBeNull();
    expect(screen.getByText('please log in')).toBeTruthy();
    expect(client.calls.signOut).toEqual([undefined]);
  });
});

describe('useAuth().login / loginWithPopup / logout', () => {
  it('go through the provider login, bound to the provider client', async () => {
    const client = createStaticAuthClient({ claims: { sub: 'ada', name: 'Ada' } });
    const login = recordingLogin();
    let auth: AuthState | undefined;
    function Probe() {
      auth = useAuth();
      return <span>{String(auth.claims?.name)}</span>;
    }
    render(
      <AuthProvider client={client} login={login}>
        <Probe />
      </AuthProvider>,
    );
    expect(screen.getByText('Ada')).toBeTruthy();
    await act(() => auth!.login({ returnTo: '/projects' }));
    await act(() => auth!.loginWithPopup({ prompt: 'login' }));
    await act(() => auth!.logout({ revoke: true }));
    expect(login.calls).toEqual([
      ['login', { returnTo: '/projects' }],
      ['loginWithPopup', { prompt: 'login' }],
      ['logout', { revoke: true }],
    ]);
    expect(client.calls.signOut).toEqual([{ revoke: true }]);
    expect(auth!.status).toBe('signed-out');
  });

  it('without a login on the provider they reject with an error naming the missing prop', async () => {
    const client = createStaticAuthClient();
    let auth: AuthState | undefined;
    function Probe() {
      auth = useAuth();
      return null;
    }
    render(
      <AuthProvider client={client}>
        <Probe />
      </AuthProvider>,
    );
    await expect(auth!.login()).rejects.toThrow(/<AuthProvider client=\{authClient\} login=\{oidcLogin\}>/);
    await expect(auth!.logout()).rejects.toThrow(/useAuth\(\)\.logout\(\)/);
  });
});

describe('withAuthenticationRequired', () => {
  const Secret = ({ label }: { label: string }) => <p>secret {label}</p>;

  it('renders the component while signed in; when signed out starts one login (StrictMode) and shows onRedirecting', async () => {
    const client = createStaticAuthClient({ status: 'loading' });
    const login = recordingLogin();
    const Protected = withAuthenticationRequired(Secret, { onRedirecting: () => <p>redirecting</p>, loginOptions: { prompt: 'login' } });
    expect(Protected.displayName).toBe('withAuthenticationRequired(Secret)');
    render(
      <StrictMode>
        <AuthProvider client={client} login={login}>
          <Protected label="42" />
        </AuthProvider>
      </StrictMode>,
    );
    expect(screen.getByText('redirecting')).toBeTruthy();
    expect(login.calls).toEqual([]); // loading: no login yet
    act(() => client.setState({ status: 'signed-out' }));
    await settle();
    expect(screen.getByText('redirecting')).toBeTruthy();
    expect(login.calls).toEqual([['login', { prompt: 'login' }]]);
    act(() => client.setState({ status: 'authenticated' }));
    expect(screen.getByText('secret 42')).toBeTruthy();
  });

  it('a failing login start reaches the error boundary; without a login on the provider it throws at render', async () => {
    const client = createStaticAuthClient({ status: 'signed-out' });
    const failing = { ...recordingLogin(), login: () => Promise.reject(new Error('discovery unreachable')) };
    const Protected = withAuthenticationRequired(Secret);
    await quietly(async () => {
      render(
        <Boundary>
          <AuthProvider client={client} login={failing}>
            <Protected label="x" />
          </AuthProvider>
        </Boundary>,
      );
      await settle();
    });
    expect(screen.getByTestId('boundary').textContent).toBe('discovery unreachable');
    cleanup();
    await quietly(() => {
      render(
        <Boundary>
          <AuthProvider client={client}>
            <Protected label="x" />
          </AuthProvider>
        </Boundary>,
      );
    });
    expect(screen.getByTestId('boundary').textContent).toMatch(/withAuthenticationRequired needs a login on the provider/);
  });
});

describe('useAuthEvents', () => {
  it('delivers every event to the newest listener, from mount to unmount', async () => {
    const client = createStaticAuthClient({ status: 'signed-out' });
    const seen: string[] = [];
    function Listener({ tag }: { tag: string }) {
      useAuthEvents((event: AuthEvent) => seen.push(`${tag}:${event.type}`));
      return null;
    }
    const { rerender, unmount } = render(
      <AuthProvider client={client}>
        <Listener tag="first" />
      </AuthProvider>,
    );
    await act(() => client.signIn({ access_token: 'a'.repeat(30), token_type: 'Bearer' }));
    rerender(
      <AuthProvider client={client}>
        <Listener tag="second" />
      </AuthProvider>,
    );
    await act(() => client.signOut());
    unmount();
    act(() => client.setState({ status: 'authenticated' }));
    expect(seen).toEqual(['first:signed-in', 'second:signed-out']);
  });
});

describe('<AuthCallback>', () => {
  it('completes the login once under StrictMode and calls onSuccess with returnTo', async () => {
    const client = createStaticAuthClient({ status: 'signed-out' });
    let completions = 0;
    // Like createOidcLogin's handleCallback: one completion per URL, shared by concurrent calls.
    let pending: Promise<string> | null = null;
    const login = recordingLogin(() => (pending ??= Promise.resolve().then(() => `/done-${++completions}`)));
    const successes: string[] = [];
    render(
      <StrictMode>
        <AuthProvider client={client} login={login}>
          <AuthCallback onSuccess={(returnTo) => successes.push(returnTo)}>
            <p>finishing login</p>
          </AuthCallback>
        </AuthProvider>
      </StrictMode>,
    );
    expect(screen.getByText('finishing login')).toBeTruthy();
    await settle();
    expect(completions).toBe(1);
    expect(successes).toEqual(['/done-1']);
  });

  it('hands a refused callback to onError, or to the error boundary without one', async () => {
    const client = createStaticAuthClient({ status: 'signed-out' });
    const refused = new Error('Callback state matches no login started in this tab');
    const errors: unknown[] = [];
    render(
      <AuthProvider client={client} login={recordingLogin(() => Promise.reject(refused))}>
        <AuthCallback onError={(error) => errors.push(error)} />
      </AuthProvider>,
    );
    await settle();
    expect(errors).toEqual([refused]);
    cleanup();
    await quietly(async () => {
      render(
        <Boundary>
          <AuthProvider client={client} login={recordingLogin(() => Promise.reject(refused))}>
            <AuthCallback />
          </AuthProvider>
        </Boundary>,
      );
      await settle();
    });
    expect(screen.getByTestId('boundary').textContent).toBe(refused.message);
  });
});
