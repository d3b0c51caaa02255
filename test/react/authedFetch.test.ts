// @vitest-environment node
// No React here: authedFetch is plain fetch. Node has no `location`, which is also what the baseUrl option covers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SignedOutError, type AuthClient } from '../../src/core';
import { authedFetch } from '../../src/query';
import type { SimTab, TabSimulation } from '../../src/testing';
import { createApi, strictSimulation } from './support';

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

async function signedInTab(seed: number): Promise<{ sim: TabSimulation; tab: SimTab }> {
  sim = strictSimulation({ seed, ttlSeconds: 3600 });
  const tab = sim.openTab();
  await sim.settle();
  await sim.signIn(tab);
  return { sim, tab };
}

/** Runs a request to completion on the simulated clock. */
async function run<T>(target: TabSimulation, work: Promise<T>): Promise<T> {
  const settled = work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await target.advance(1_000);
  const outcome = await settled;
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/** A client whose refresh calls are recorded. */
function spied(client: AuthClient) {
  const refresh = vi.fn((options?: { rejectedVersion?: number }) => client.refresh(options));
  return { client: { ...client, refresh }, refresh };
}

describe('authedFetch: which requests get the token', () => {
  it('relative and same-origin URLs and configured origins do; other origins and protocol-relative URLs do not', async () => {
    const { sim, tab } = await signedInTab(301);
    const seen: Array<[string, string | null]> = [];
    const fetch = authedFetch(tab.client, {
      baseUrl: 'https://app.example/page',
      origins: ['https://api.example:8443/ignored-path'],
      fetch: async (input, init) => {
        seen.push([String(input), new Headers(init?.headers).get('authorization')]);
        return new Response('ok');
      },
    });
    const token = `Bearer ${tab.client.getSnapshot().tokens!.accessToken}`;
    for (const url of [
      '/api/me',
      'https://app.example/api/me',
      'https://api.example:8443/x',
      'https://api.example/x',
      'https://evil.example/x',
      '//evil.example/x',
      'http://app.example/api',
    ]) {
      await run(sim, fetch(url));
    }
    expect(seen).toEqual([
      ['/api/me', token],
      ['https://app.example/api/me', token],
      ['https://api.example:8443/x', token],
      ['https://api.example/x', null],
      ['https://evil.example/x', null],
      ['//evil.example/x', null],
      ['http://app.example/api', null], // another scheme is another origin
    ]);
  });

  it('without a page URL only relative URLs count as same-origin', async () => {
    const { sim, tab } = await signedInTab(302);
    const seen: Array<string | null> = [];
    const fetch = authedFetch(tab.client, { fetch: async (_input, init) => (seen.push(new Headers(init?.headers).get('authorization')), new Response('ok')) });
    await run(sim, fetch('/api'));
    await run(sim, fetch('https://anything.example/api'));
    expect(seen[0]).toMatch(/^Bearer /);
    expect(seen[1]).toBeNull();
  });

  it('leaves a request that already has an Authorization header alone (no token, no refresh on 401)', async () => {
    const { sim, tab } = await signedInTab(303);
    const { client, refresh } = spied(tab.client);
    const api = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => new Response(new Headers(init?.headers).get('authorization'), { status: 401 }));
    const response = await run(sim, authedFetch(client, { fetch: api })('/api', { headers: { Authorization: 'Basic abc' } }));
    expect(await response.text()).toBe('Basic abc');
    expect(api).toHaveBeenCalledTimes(1);
    expect(refresh).not.toHaveBeenCalled();
  });
});

describe('authedFetch: 401', () => {
  it('refreshes with the version it sent and retries once', async () => {
    const { sim, tab } = await signedInTab(304);
    const { client, refresh } = spied(tab.client);
    const sentVersion = tab.client.getSnapshot().version;
    const api = createApi(sim);
    // The API rejects the first token it sees (revoked, say); the refreshed one passes.
    let rejectFirst = true;
    const fetch = authedFetch(client, {
      fetch: async (input, init) => {
        if (!rejectFirst) return api.fetch(input, init);
        rejectFirst = false;
        return new Response(null, { status: 401 });
      },
    });
    const response = await run(sim, fetch('/api/items'));
    expect(response.status).toBe(200);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh).toHaveBeenCalledWith({ rejectedVersion: sentVersion });
    expect(sim.server.counters.refreshRequests).toBe(1);
    expect(api.calls[0]!.token).toBe(tab.client.getSnapshot().tokens!.accessToken);
  });

  it('returns a second 401 as the Response: one refresh, two requests, no loop', async () => {
    const { sim, tab } = await signedInTab(305);
    const { client, refresh } = spied(tab.client);
    const api = vi.fn(async () => new Response('{"error":"invalid_token"}', { status: 401 }));
    const response = await run(sim, authedFetch(client, { fetch: api })('/api/items'));
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_token' });
    expect(api).toHaveBeenCalledTimes(2);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('re-sends the body of a Request object on the retry', async () => {
    const { sim, tab } = await signedInTab(306);
    const bodies: string[] = [];
    const fetch = authedFetch(tab.client, {
      baseUrl: 'https://app.example/',
      fetch: async (input, init) => {
        bodies.push(await new Request(input, init).text());
        return new Response(null, { status: bodies.length === 1 ? 401 : 204 });
      },
    });
    const response = await run(sim, fetch(new Request('https://app.example/api', { method: 'POST', body: 'payload' })));
    expect(response.status).toBe(204);
    expect(bodies).toEqual(['payload', 'payload']);
  });

  it('does not retry a one-shot stream body: its 401 is returned', async () => {
    const { sim, tab } = await signedInTab(307);
    const api = vi.fn(async () => new Response(null, { status: 401 }));
    const body = new ReadableStream({ start: (controller) => (controller.enqueue(new TextEncoder().encode('x')), controller.close()) });
    const response = await run(sim, authedFetch(tab.client, { fetch: api })('/api', { method: 'POST', body, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(401);
    expect(api).toHaveBeenCalledTimes(1);
    expect(sim.server.counters.refreshRequests).toBe(0);
  });
});

describe('authedFetch: abort and signed-out', () => {
  it('an abort while waiting for the refresh rejects with the reason and sends nothing more', async () => {
    const { sim, tab } = await signedInTab(308);
    const api = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      expect(init?.signal).toBe(controller.signal); // the caller's signal reaches the real request
      return new Response(null, { status: 401 });
    });
    const controller = new AbortController();
    const pending = authedFetch(tab.client, { fetch: api })('/api', { signal: controller.signal });
    const outcome = pending.catch((error: unknown) => error);
    await sim.advance(1); // the first request got its 401; the refresh is in flight (20 ms of latency)
    expect(api).toHaveBeenCalledTimes(1);
    controller.abort(new Error('user left the page'));
    expect(await outcome).toEqual(new Error('user left the page'));
    await sim.advance(1_000);
    expect(api).toHaveBeenCalledTimes(1);
  });

  it('an already aborted signal rejects at once', async () => {
    const { tab } = await signedInTab(309);
    const api = vi.fn(async () => new Response('ok'));
    await expect(authedFetch(tab.client, { fetch: api })('/api', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(api).not.toHaveBeenCalled();
  });

  it('signed out: rejects with SignedOutError without sending the request', async () => {
    sim = strictSimulation({ seed: 310 });
    const tab = sim.openTab();
    await sim.settle();
    const api = vi.fn(async () => new Response('ok'));
    await expect(run(sim, authedFetch(tab.client, { fetch: api })('/api'))).rejects.toBeInstanceOf(SignedOutError);
    expect(api).not.toHaveBeenCalled();
  });
});
