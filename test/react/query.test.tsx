// @vitest-environment jsdom
import { act, cleanup, render, waitFor, within } from '@testing-library/react';
import { QueryClientProvider, useMutation, useQuery, type QueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthProvider, useAuth } from '../../src/react';
import { createAuthedQueryClient } from '../../src/query';
import type { SimTab, TabSimulation } from '../../src/testing';
import { createMockTokenServer } from '../../src/testing/mockTokenServer';
import { createSimulatedClock } from '../../src/testing/simulatedClock';
import { createTabSimulation } from '../../src/testing/tabs';
import { seededRandom } from '../sim/helpers';
import { advance, createApi, strictSimulation } from './support';

let sim: TabSimulation | undefined;
const queryClients: QueryClient[] = [];
afterEach(async () => {
  cleanup();
  for (const queryClient of queryClients.splice(0)) queryClient.clear();
  await sim?.dispose();
  sim = undefined;
});

function Item({ id }: { id: number }) {
  const query = useQuery<{ url: string }>({ queryKey: [`/api/items/${id}`] });
  return <li data-testid="item">{query.status === 'success' ? `ok ${query.data.url}` : query.status}</li>;
}

/** Ten queries, rendered only when `start` is set and the tab is signed in. */
function Items({ first, start }: { first: number; start: boolean }) {
  const status = useAuth((auth) => auth.status);
  if (status !== 'authenticated') return <p data-testid="status">{status}</p>;
  if (!start) return <p data-testid="status">idle</p>;
  return (
    <ul>
      {Array.from({ length: 10 }, (_, i) => (
        <Item key={i} id={first + i} />
      ))}
    </ul>
  );
}

interface QueryTab {
  tab: SimTab;
  queryClient: QueryClient;
  container: HTMLElement;
  start(): void;
}

function renderQueryTabs(target: TabSimulation, count: number, api: ReturnType<typeof createApi>): QueryTab[] {
  return Array.from({ length: count }, (_, index) => {
    const tab = target.openTab({ mount: false });
    const queryClient = createAuthedQueryClient(tab.client, { fetch: api.fetch });
    queryClients.push(queryClient);
    const tree = (start: boolean) => (
      <AuthProvider client={tab.client}>
        <QueryClientProvider client={queryClient}>
          <Items first={index * 10} start={start} />
        </QueryClientProvider>
      </AuthProvider>
    );
    const { container, rerender } = render(tree(false));
    return { tab, queryClient, container, start: () => rerender(tree(true)) };
  });
}

const succeeded = (queryClient: QueryClient) =>
  queryClient
    .getQueryCache()
    .getAll()
    .filter((query) => query.state.status === 'success').length;

describe('50 concurrent queries across 5 tabs with an expired access token', () => {
  it('server-side expiry (opaque tokens): 50 × 401, exactly one refresh request, all 50 succeed on the retry', async () => {
    const random = seededRandom(401);
    const clock = createSimulatedClock();
    // Opaque access tokens without expires_in: the tabs cannot know the token expired; only the API's 401 tells them.
    const server = createMockTokenServer({ clock, random, accessTokenFormat: 'opaque', includeExpiresIn: false, accessTokenTtlSeconds: 60, latencyMs: 20 });
    sim = createTabSimulation({ clock, server, random, client: { followerRetryMs: 1_000 } });
    // Answers spread over 10-100 ms: most 401s arrive after the refresh (20 ms) is done, and must not refresh again.
    const api = createApi(sim, { latencyMs: (call) => 10 + (call % 10) * 10 });
    const tabs = renderQueryTabs(sim, 5, api);
    await advance(sim, 10);
    await act(async () => {
      await sim!.signIn(tabs[2]!.tab);
    });
    await advance(sim, 10);
    const version = tabs[0]!.tab.client.getSnapshot().version;
    await advance(sim, 61_000); // the access token is now expired at the server
    expect(server.counters.refreshRequests).toBe(0);

    act(() => tabs.forEach((queryTab) => queryTab.start()));
    await advance(sim, 2_000);

    expect(server.counters.refreshRequests).toBe(1);
    expect(server.counters.reuseDetections).toBe(0);
    expect(api.count(401)).toBe(50);
    expect(api.count(200)).toBe(50);
    for (const { tab, queryClient } of tabs) {
      expect(succeeded(queryClient)).toBe(10);
      expect(tab.client.getSnapshot().version).toBe(version + 1);
    }
    await waitFor(() => {
      for (const { container } of tabs) {
        expect(
          within(container)
            .getAllByTestId('item')
            .map((item) => item.textContent?.slice(0, 2)),
        ).toEqual(Array(10).fill('ok'));
      }
    });
  });

  it('local expiry (JWT) after the machine slept offline: no 401 at all, exactly one refresh request, all 50 succeed', async () => {
    sim = strictSimulation({ seed: 402, ttlSeconds: 60, latencyMs: 20 });
    const api = createApi(sim, { latencyMs: 10 });
    const tabs = renderQueryTabs(sim, 5, api);
    await advance(sim, 10);
    await act(async () => {
      await sim!.signIn(tabs[0]!.tab);
    });
    await advance(sim, 10);
    // Offline while the token runs out: the leader's proactive refresh finds no network and gives up.
    for (const { tab } of tabs) tab.environment.setOnline(false);
    await advance(sim, 61_000);
    expect(sim.server.counters.refreshRequests).toBe(0);

    act(() => tabs.forEach((queryTab) => queryTab.start()));
    await advance(sim, 100); // 50 queries wait for a token; nothing can be sent yet
    expect(api.calls).toHaveLength(0);
    await act(async () => {
      for (const { tab } of tabs) tab.environment.setOnline(true);
    });
    await advance(sim, 2_000);

    expect(sim.server.counters.refreshRequests).toBe(1);
    expect(api.count(401)).toBe(0);
    expect(api.count(200)).toBe(50);
    for (const { queryClient } of tabs) expect(succeeded(queryClient)).toBe(10);
  });
});

describe('the query cache follows the session', () => {
  it('sign-out in tab A clears every tab’s queries and renders signed-out in tab B', async () => {
    sim = strictSimulation({ seed: 403, ttlSeconds: 3600 });
    const api = createApi(sim);
    const [a, b] = renderQueryTabs(sim, 2, api);
    await advance(sim, 10);
    await act(async () => {
      await sim!.signIn(a!.tab);
    });
    await advance(sim, 10);
    act(() => [a!, b!].forEach((queryTab) => queryTab.start()));
    await advance(sim, 100);
    expect(succeeded(a!.queryClient)).toBe(10);
    expect(succeeded(b!.queryClient)).toBe(10);

    await act(async () => {
      await a!.tab.client.signOut();
    });
    await advance(sim, 10);
    expect(a!.queryClient.getQueryCache().getAll()).toHaveLength(0);
    expect(b!.queryClient.getQueryCache().getAll()).toHaveLength(0);
    expect(b!.queryClient.getQueryData(['/api/items/10'])).toBeUndefined();
    expect(within(b!.container).getByTestId('status').textContent).toBe('signed-out');
    expect(within(b!.container).queryAllByTestId('item')).toHaveLength(0);
  });

  it('a refresh in another tab refetches nothing and keeps every cached result', async () => {
    sim = strictSimulation({ seed: 404, ttlSeconds: 2, latencyMs: 20 });
    const api = createApi(sim);
    const [a, b] = renderQueryTabs(sim, 2, api);
    await advance(sim, 10);
    await act(async () => {
      await sim!.signIn(a!.tab);
    });
    await advance(sim, 10);
    act(() => [a!, b!].forEach((queryTab) => queryTab.start()));
    await advance(sim, 100);
    const calls = api.calls.length;
    const before = b!.queryClient
      .getQueryCache()
      .getAll()
      .map((query) => [query.queryHash, query.state.dataUpdatedAt, query.state.data]);
    for (let i = 0; i < 3; i++) await advance(sim, 2_000); // three rotations by the leader (tab A)
    expect(sim.server.counters.successes).toBe(3);
    expect(b!.tab.client.getSnapshot().version).toBe(a!.tab.client.getSnapshot().version);
    expect(api.calls).toHaveLength(calls);
    const after = b!.queryClient
      .getQueryCache()
      .getAll()
      .map((query) => [query.queryHash, query.state.dataUpdatedAt, query.state.data]);
    expect(after).toEqual(before);
    expect(
      b!.queryClient
        .getQueryCache()
        .getAll()
        .some((query) => query.state.isInvalidated),
    ).toBe(false);
  });
});

describe('default mutation function', () => {
  it('sends the variables as JSON with the bearer token to the mutation key URL (meta.method overrides POST)', async () => {
    sim = strictSimulation({ seed: 405, ttlSeconds: 3600 });
    const api = createApi(sim);
    const tab = sim.openTab({ mount: false });
    const queryClient = createAuthedQueryClient(tab.client, { fetch: api.fetch });
    queryClients.push(queryClient);
    let mutateAsync!: (variables: { title: string }) => Promise<unknown>;
    let rename!: (variables: { title: string }) => Promise<unknown>;
    function Editor() {
      const create = useMutation<unknown, Error, { title: string }>({ mutationKey: ['/api/todos'] }).mutateAsync;
      const put = useMutation<unknown, Error, { title: string }>({ meta: { url: '/api/todos/7', method: 'PUT' } }).mutateAsync;
      useEffect(() => {
        mutateAsync = create;
        rename = put;
      }, [create, put]);
      return null;
    }
    render(
      <AuthProvider client={tab.client}>
        <QueryClientProvider client={queryClient}>
          <Editor />
        </QueryClientProvider>
      </AuthProvider>,
    );
    await advance(sim, 10);
    await act(async () => {
      await sim!.signIn(tab);
    });
    let created: unknown;
    let renamed: unknown;
    await act(async () => {
      void mutateAsync({ title: 'write docs' }).then((value) => (created = value));
      void rename({ title: 'write better docs' }).then((value) => (renamed = value));
      await sim!.advance(100);
    });
    expect(created).toEqual({ url: '/api/todos', method: 'POST', body: { title: 'write docs' } });
    expect(renamed).toEqual({ url: '/api/todos/7', method: 'PUT', body: { title: 'write better docs' } });
    expect(api.calls.map((call) => call.token)).toEqual([tab.client.getSnapshot().tokens!.accessToken, tab.client.getSnapshot().tokens!.accessToken]);
  });
});
