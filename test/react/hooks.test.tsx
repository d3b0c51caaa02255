// @vitest-environment jsdom
import { act, cleanup, render, within } from '@testing-library/react';
import { Suspense } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthClient, createMemoryStorage } from '../../src/core';
import { AuthProvider, shallowEqual, useAccessToken, useAuth, type AuthClaims, type AuthState } from '../../src/react';
import type { TabSimulation } from '../../src/testing';
import { createMockTokenServer } from '../../src/testing/mockTokenServer';
import { createSimulatedClock } from '../../src/testing/simulatedClock';
import { createTabSimulation } from '../../src/testing/tabs';
import { advance, renderTab, strictSimulation, unsignedJwt } from './support';

let sim: TabSimulation | undefined;
afterEach(async () => {
  cleanup();
  await sim?.dispose();
  sim = undefined;
});

/** Records what each render of a component saw, so tests can count renders exactly. */
function recorder<T>() {
  const renders: T[] = [];
  return { renders, last: () => renders[renders.length - 1] };
}

async function signIn(target: TabSimulation, tab = target.tabs[0]!) {
  await act(async () => {
    await target.signIn(tab);
  });
  await advance(target, 10);
}

describe('useAccessToken', () => {
  it('goes loading → signed-out → authenticated and hands out the token', async () => {
    sim = strictSimulation({ seed: 201, ttlSeconds: 3600 });
    const seen = recorder<ReturnType<typeof useAccessToken>>();
    function Token() {
      const token = useAccessToken();
      seen.renders.push(token);
      return <span data-testid="token">{token.status === 'authenticated' ? token.accessToken : token.status}</span>;
    }
    const { container, tab } = renderTab(sim, <Token />);
    expect(seen.renders[0]!.status).toBe('loading');
    await advance(sim, 10);
    expect(seen.last()).toMatchObject({ status: 'signed-out', accessToken: null, expiresAt: null });
    await signIn(sim);
    const state = seen.last()!;
    expect(state.status).toBe('authenticated');
    expect(state.accessToken).toBe(tab.client.getSnapshot().tokens!.accessToken);
    expect(state.expiresAt).toBe(tab.client.getSnapshot().tokens!.expiresAt);
    expect(within(container).getByTestId('token').textContent).toBe(state.accessToken);
    await expect(state.getAccessToken()).resolves.toBe(state.accessToken);
    expect(seen.renders.map((render) => render.status)).toEqual(['loading', 'signed-out', 'authenticated']);
  });

  it('renders once per refresh, and not for leadership or error changes', async () => {
    sim = strictSimulation({ seed: 202, ttlSeconds: 1, latencyMs: 20, client: { retry: { attempts: 2, baseDelayMs: 50 } } });
    const tokenRenders = { a: [] as string[], b: [] as string[] };
    const errorRenders = { a: [] as string[], b: [] as string[] };
    const leaderRenders = { a: [] as boolean[], b: [] as boolean[] };
    const tabView = (name: 'a' | 'b') => {
      function Token() {
        const { status, version } = useAccessToken();
        tokenRenders[name].push(`${status}:${version}`);
        return null;
      }
      function ErrorView() {
        const error = useAuth((auth) => auth.error);
        errorRenders[name].push(error?.code ?? 'none');
        return null;
      }
      function Leader() {
        leaderRenders[name].push(useAuth((auth) => auth.isLeader));
        return null;
      }
      return (
        <>
          <Token />
          <ErrorView />
          <Leader />
        </>
      );
    };
    const a = renderTab(sim, tabView('a'), { name: 'a' });
    const b = renderTab(sim, tabView('b'), { name: 'b' });
    await advance(sim, 10);
    await signIn(sim, a.tab);
    expect(sim.network.leaders()).toEqual(['a']);
    const startVersion = a.tab.client.getSnapshot().version;
    expect(tokenRenders.a).toEqual(['loading:0', 'signed-out:0', `authenticated:${startVersion}`]);
    expect(tokenRenders.b).toEqual(tokenRenders.a);

    // Three proactive refreshes by the leader: one new render per refresh in both tabs.
    for (let i = 0; i < 3; i++) await advance(sim, 1000);
    expect(sim.server.counters.successes).toBe(3);
    const expected = [0, 1, 2, 3].map((i) => `authenticated:${startVersion + i}`);
    expect(tokenRenders.a.slice(2)).toEqual(expected);
    expect(tokenRenders.b.slice(2)).toEqual(expected);

    // Both attempts of the next refresh fail: `error` is set in the leader tab; a later success clears it. Neither
    // change renders the token view; the successful refresh renders it once.
    sim.server.injectFailures({ kind: 'server-error', count: 2 });
    const tokenRendersBefore = tokenRenders.a.length;
    await advance(sim, 1000);
    expect(a.tab.client.getSnapshot().error?.code).toBe('transient_refresh_failure');
    expect(errorRenders.a.at(-1)).toBe('transient_refresh_failure');
    expect(tokenRenders.a).toHaveLength(tokenRendersBefore);
    const token = a.tab.client.getAccessToken(); // the token expired meanwhile: this refreshes
    await advance(sim, 100);
    await expect(token).resolves.toBe(a.tab.client.getSnapshot().tokens!.accessToken);
    expect(a.tab.client.getSnapshot().error).toBeNull();
    expect(errorRenders.a.slice(-2)).toEqual(['transient_refresh_failure', 'none']);
    expect(tokenRenders.a).toHaveLength(tokenRendersBefore + 1);
    expect(sim.server.counters.successes).toBe(4);

    // Leadership moves to tab B when tab A's provider unmounts: B's Leader view renders, its Token view does not.
    const bTokenRenders = tokenRenders.b.length;
    const bLeaderRenders = leaderRenders.b.length;
    a.unmount();
    await advance(sim, 10);
    expect(sim.network.leaders()).toEqual(['b']);
    expect(leaderRenders.b.slice(bLeaderRenders)).toEqual([true]);
    expect(tokenRenders.b).toHaveLength(bTokenRenders);

    // Exactly one render per distinct state in every tab: no render ever repeated what the previous one showed.
    for (const list of [tokenRenders.a, tokenRenders.b]) {
      expect(list.filter((entry, i) => entry === list[i - 1])).toEqual([]);
    }
    expect(b.tab.client.getSnapshot().version).toBe(startVersion + sim.server.counters.successes);
  });

  it('suspense: suspends until loaded, never renders "loading", and works in React 19', async () => {
    sim = strictSimulation({ seed: 203, ttlSeconds: 3600 });
    const statuses: string[] = [];
    function Token() {
      const token = useAccessToken({ suspense: true });
      statuses.push(token.status);
      return <span data-testid="status">{token.status}</span>;
    }
    let container!: HTMLElement;
    // Awaited act: React 19 wants suspending renders inside an async act scope.
    await act(async () => {
      container = renderTab(
        sim!,
        <Suspense fallback={<span data-testid="fallback">…</span>}>
          <Token />
        </Suspense>,
      ).container;
    });
    expect(within(container).getByTestId('fallback')).toBeTruthy();
    await advance(sim, 10);
    expect(within(container).getByTestId('status').textContent).toBe('signed-out');
    await signIn(sim);
    expect(within(container).getByTestId('status').textContent).toBe('authenticated');
    expect(statuses).not.toContain('loading');
    expect(statuses.at(-1)).toBe('authenticated');
  });

  it('suspense: a client that is already loaded renders at once', async () => {
    sim = strictSimulation({ seed: 204, ttlSeconds: 3600 });
    const tab = sim.openTab();
    await sim.settle();
    await sim.signIn(tab);
    function Token() {
      return <span data-testid="status">{useAccessToken({ suspense: true }).status}</span>;
    }
    const { container } = render(
      <AuthProvider client={tab.client}>
        <Suspense fallback="…">
          <Token />
        </Suspense>
      </AuthProvider>,
    );
    expect(within(container).getByTestId('status').textContent).toBe('authenticated');
  });
});

describe('useAuth', () => {
  it('returns status, leadership, claims, version, error and working signIn/signOut', async () => {
    sim = strictSimulation({ seed: 205, ttlSeconds: 3600 });
    let auth!: AuthState;
    function Probe() {
      auth = useAuth();
      return null;
    }
    const { tab } = renderTab(sim, <Probe />);
    await advance(sim, 10);
    expect(auth).toMatchObject({ status: 'signed-out', isLeader: true, claims: null, error: null, version: 0 });
    await act(async () => {
      await auth.signIn(sim!.server.issueTokens({ subject: 'ada' }));
    });
    expect(auth.status).toBe('authenticated');
    expect(auth.claims?.sub).toBe('ada');
    expect(auth.version).toBe(tab.client.getSnapshot().version);
    await act(async () => {
      await auth.signOut();
    });
    expect(auth).toMatchObject({ status: 'signed-out', claims: null, signedOutReason: 'user' });
  });

  it('a selector re-renders only when its slice changes; an object slice needs shallowEqual', async () => {
    sim = strictSimulation({ seed: 206, ttlSeconds: 1 });
    const subjects: Array<string | null> = [];
    const pairs: Array<{ status: string; subject: string | null }> = [];
    const everything: AuthState[] = [];
    function Subject() {
      subjects.push(useAuth((auth) => auth.claims?.sub ?? null));
      return null;
    }
    function Pair() {
      pairs.push(useAuth((auth) => ({ status: auth.status, subject: auth.claims?.sub ?? null }), shallowEqual));
      return null;
    }
    function Everything() {
      everything.push(useAuth());
      return null;
    }
    renderTab(
      sim,
      <>
        <Subject />
        <Pair />
        <Everything />
      </>,
    );
    await advance(sim, 10);
    await signIn(sim);
    for (let i = 0; i < 3; i++) await advance(sim, 1000); // three refreshes, same subject
    expect(sim.server.counters.successes).toBe(3);
    expect(subjects).toEqual([null, 'user-1']);
    expect(pairs).toEqual([
      { status: 'loading', subject: null },
      { status: 'signed-out', subject: null },
      { status: 'authenticated', subject: 'user-1' },
    ]);
    // The unselected form follows every snapshot (leadership, each refresh).
    expect(everything.length).toBeGreaterThanOrEqual(3 + 3);
  });

  it('decodes claims from the id token first, memoised per token; opaque tokens give null without throwing', async () => {
    const clock = createSimulatedClock();
    const server = createMockTokenServer({ clock, accessTokenFormat: 'opaque', accessTokenTtlSeconds: 3600 });
    sim = createTabSimulation({ clock, server });
    const claimsSeen: Array<AuthClaims | null> = [];
    let auth!: AuthState;
    function Probe() {
      auth = useAuth();
      claimsSeen.push(auth.claims);
      return null;
    }
    renderTab(sim, <Probe />);
    await advance(sim, 10);

    await act(async () => {
      await auth.signIn(server.issueTokens({ subject: 'opaque-user' }));
    });
    expect(auth.status).toBe('authenticated');
    expect(auth.claims).toBeNull();

    const idToken = unsignedJwt({ sub: 'ada', name: 'Ada Lovelace', iss: 'https://issuer.test' });
    await act(async () => {
      await auth.signIn({ ...server.issueTokens({ subject: 'ada' }), id_token: idToken });
    });
    expect(auth.claims).toMatchObject({ sub: 'ada', name: 'Ada Lovelace' });
    const first = auth.claims;
    // A new pair that carries the same id token (as some refresh responses do) keeps the very same claims object.
    const renders = claimsSeen.length;
    await act(async () => {
      await auth.signIn({ ...server.issueTokens({ subject: 'ada' }), id_token: idToken });
    });
    expect(claimsSeen.length).toBeGreaterThan(renders);
    expect(auth.claims).toBe(first);

    // A malformed id token falls back to the access token (opaque here): null, no exception.
    await act(async () => {
      await auth.signIn({ ...server.issueTokens(), id_token: 'not-a-jwt' });
    });
    expect(auth.status).toBe('authenticated');
    expect(auth.claims).toBeNull();
  });
});

describe('a client created outside the simulation', () => {
  it('works with the real clock and memory storage', async () => {
    const client = createAuthClient({
      refresh: async () => ({ access_token: 'refreshed', expires_in: 3600 }),
      storage: createMemoryStorage(),
      coordination: () => ({
        channel: { post: async () => {}, subscribe: () => () => {}, close: async () => {} },
        election: { isLeader: true, start: () => {}, close: async () => {} },
      }),
    });
    function Token() {
      const token = useAccessToken();
      return <span data-testid="token">{token.accessToken ?? token.status}</span>;
    }
    const { container } = render(
      <AuthProvider client={client}>
        <Token />
      </AuthProvider>,
    );
    await act(() => client.ready());
    expect(within(container).getByTestId('token').textContent).toBe('signed-out');
    await act(() => client.signIn({ access_token: 'opaque', refresh_token: 'r', expires_in: 3600 }));
    expect(within(container).getByTestId('token').textContent).toBe('opaque');
    cleanup();
    await client.dispose();
  });
});
