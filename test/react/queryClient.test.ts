// @vitest-environment node
// The query integration without React: retry rules, URLs from keys, and the cache-clearing rules.
import { QueryClient } from '@tanstack/react-query';
import { afterEach, describe, expect, it } from 'vitest';
import { SignedOutError, TransientRefreshError } from '../../src/core';
import { attachAuthToQueryClient, createAuthedQueryClient, HttpError, readResponse, shouldRetryQuery } from '../../src/query';
import type { SimTab, TabSimulation } from '../../src/testing';
import { createApi, strictSimulation, unsignedJwt } from './support';

let sim: TabSimulation | undefined;
const queryClients: QueryClient[] = [];
afterEach(async () => {
  for (const queryClient of queryClients.splice(0)) queryClient.clear();
  await sim?.dispose();
  sim = undefined;
});

async function signedInTab(seed: number, ttlSeconds = 3600): Promise<{ sim: TabSimulation; tab: SimTab }> {
  sim = strictSimulation({ seed, ttlSeconds });
  const tab = sim.openTab();
  await sim.settle();
  await sim.signIn(tab);
  return { sim, tab };
}

describe('retry rule', () => {
  it('never retries 4xx (but 408 and 429) or auth errors; retries other failures up to 3 times', () => {
    for (const status of [400, 401, 403, 404, 409, 422]) expect(shouldRetryQuery(0, new HttpError({ status, url: '/x' }))).toBe(false);
    for (const status of [408, 429]) expect(shouldRetryQuery(0, new HttpError({ status, url: '/x' }))).toBe(true);
    expect(shouldRetryQuery(0, new SignedOutError())).toBe(false);
    expect(shouldRetryQuery(0, new TransientRefreshError('network', 'offline'))).toBe(false);
    const serverError = new HttpError({ status: 503, url: '/x' });
    expect([0, 1, 2, 3].map((failures) => shouldRetryQuery(failures, serverError))).toEqual([true, true, true, false]);
    expect(shouldRetryQuery(2, new TypeError('Failed to fetch'))).toBe(true);
  });

  it('a 404 fails at once with HttpError; a 500 is tried 4 times in all', async () => {
    const { sim, tab } = await signedInTab(501);
    const api = createApi(sim, { latencyMs: 0, status: (url) => (url.includes('missing') ? 404 : url.includes('broken') ? 500 : null) });
    const queryClient = createAuthedQueryClient(tab.client, { fetch: api.fetch, defaultOptions: { queries: { retryDelay: 0 } } });
    queryClients.push(queryClient);
    const missing = await queryClient.fetchQuery({ queryKey: ['/api/missing'] }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(HttpError);
    expect(missing).toMatchObject({ status: 404, url: '/api/missing', body: { error: 'failed', status: 404 } });
    expect(api.calls.filter((call) => call.url === '/api/missing')).toHaveLength(1);
    const broken = await queryClient.fetchQuery({ queryKey: ['/api/broken'] }).catch((error: unknown) => error);
    expect(broken).toMatchObject({ name: 'HttpError', status: 500 });
    expect(api.calls.filter((call) => call.url === '/api/broken')).toHaveLength(4);
  });
});

describe('URLs of the default query function', () => {
  it('takes the first key element, adds a params object as the query string, and lets meta.url win', async () => {
    const { sim, tab } = await signedInTab(502);
    const api = createApi(sim, { latencyMs: 0 });
    const queryClient = createAuthedQueryClient(tab.client, { fetch: api.fetch });
    queryClients.push(queryClient);
    await queryClient.fetchQuery({ queryKey: ['/api/todos'] });
    await queryClient.fetchQuery({ queryKey: ['/api/todos', { page: 2, tag: ['a', 'b'], skip: undefined }] });
    await queryClient.fetchQuery({ queryKey: ['/api/todos?done=1', { page: 3 }] });
    await queryClient.fetchQuery({ queryKey: ['todos', 'mine'], meta: { url: '/api/me/todos' } });
    expect(api.calls.map((call) => call.url)).toEqual(['/api/todos', '/api/todos?page=2&tag=a&tag=b', '/api/todos?done=1&page=3', '/api/me/todos']);
    expect(api.calls.every((call) => call.token === tab.client.getSnapshot().tokens!.accessToken)).toBe(true);
  });

  it('a key without a string URL and no meta.url is an error that says what to do', async () => {
    const { tab } = await signedInTab(503);
    const queryClient = createAuthedQueryClient(tab.client, { fetch: async () => new Response('{}') });
    queryClients.push(queryClient);
    await expect(queryClient.fetchQuery({ queryKey: [{ entity: 'todos' }] })).rejects.toThrow(/first element of the query key a string URL, or set meta.url/);
    expect(queryClient.getQueryState([{ entity: 'todos' }])?.fetchFailureCount).toBe(1); // a programming error: not retried
  });

  it('readResponse: JSON, text, empty bodies', async () => {
    expect(await readResponse(Response.json({ a: 1 }))).toEqual({ a: 1 });
    expect(await readResponse(new Response('plain', { headers: { 'Content-Type': 'text/plain' } }))).toBe('plain');
    expect(await readResponse(new Response(null, { status: 204 }))).toBeNull();
    expect(await readResponse(new Response('', { status: 200, headers: { 'Content-Type': 'application/problem+json' } }))).toBeNull();
    await expect(readResponse(new Response('<html>', { status: 502 }), '/api')).rejects.toMatchObject({ status: 502, body: '<html>', url: '/api' });
  });
});

describe('attachAuthToQueryClient', () => {
  it('clears on sign-out and on a different subject; keeps the cache across refreshes and the same subject', async () => {
    const { sim, tab } = await signedInTab(504, 1);
    const queryClient = new QueryClient();
    queryClients.push(queryClient);
    const detach = attachAuthToQueryClient(queryClient, tab.client);
    const cached = () => queryClient.getQueryData(['/api/me']);
    queryClient.setQueryData(['/api/me'], { name: 'user-1' });

    await sim.advance(3_000); // refreshes: same subject, new tokens
    expect(sim.server.counters.successes).toBeGreaterThanOrEqual(3);
    expect(cached()).toEqual({ name: 'user-1' });

    await tab.client.signIn(sim.server.issueTokens({ subject: 'user-1' })); // a new login of the same user
    expect(cached()).toEqual({ name: 'user-1' });

    await tab.client.signIn(sim.server.issueTokens({ subject: 'user-2' })); // another user, no sign-out between
    expect(cached()).toBeUndefined();

    queryClient.setQueryData(['/api/me'], { name: 'user-2' });
    await tab.client.signOut();
    expect(cached()).toBeUndefined();

    // The subject comes from the id token when there is one.
    await tab.client.signIn({ ...sim.server.issueTokens({ subject: 'user-2' }), id_token: unsignedJwt({ sub: 'user-3' }) });
    queryClient.setQueryData(['/api/me'], { name: 'user-3' });
    await tab.client.signIn(sim.server.issueTokens({ subject: 'user-3' }));
    expect(cached()).toEqual({ name: 'user-3' });

    detach();
    await tab.client.signOut();
    expect(cached()).toEqual({ name: 'user-3' });
  });

  it('createAuthedQueryClient clears only while mounted (QueryClientProvider mounts it)', async () => {
    const { tab } = await signedInTab(505);
    const queryClient = createAuthedQueryClient(tab.client);
    queryClients.push(queryClient);
    queryClient.setQueryData(['/api/me'], 1);
    await tab.client.signOut();
    expect(queryClient.getQueryData(['/api/me'])).toBe(1);

    queryClient.mount();
    queryClient.mount(); // reference counted, like QueryClient's own mount
    await tab.client.signIn(sim!.server.issueTokens());
    queryClient.setQueryData(['/api/me'], 2);
    queryClient.unmount();
    await tab.client.signOut();
    expect(queryClient.getQueryData(['/api/me'])).toBeUndefined();

    queryClient.unmount();
    await tab.client.signIn(sim!.server.issueTokens());
    queryClient.setQueryData(['/api/me'], 3);
    await tab.client.signOut();
    expect(queryClient.getQueryData(['/api/me'])).toBe(3);
  });
});
