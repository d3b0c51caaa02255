import { afterEach, describe, expect, it } from 'vitest';
import { MalformedTokenResponseError, SignedOutError, TransientRefreshError } from '../../src/core';
import type { TabSimulation } from '../../src/testing';
import { signOutEvents, strictSimulation } from './helpers';

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

async function signedInTabs(count: number, options: Parameters<typeof strictSimulation>[0] = {}) {
  sim = strictSimulation({ seed: 21, ...options });
  for (let i = 0; i < count; i++) sim.openTab();
  await sim.settle();
  await sim.signIn();
  return sim;
}

async function revokeFamilyAtServer(s: TabSimulation) {
  const refreshToken = s.tabs[0]!.client.getSnapshot().tokens!.refreshToken!;
  const revoking = s.server.fetch(s.server.revocationEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: 'tabauth-demo' }).toString(),
  });
  await s.advance(500); // the mock server's latency runs on the simulated clock
  expect((await revoking).status).toBe(200);
}

describe('terminal errors', () => {
  it('invalid_grant with no newer pair signs every tab out, with a reason', async () => {
    const s = await signedInTabs(4);
    await revokeFamilyAtServer(s);
    // The leader's next refresh (ahead of expiry) is answered with invalid_grant.
    await s.advance(2_000);
    const failed = s.tabs.flatMap((tab) => tab.events).filter((event) => event.type === 'refresh-failed');
    expect(failed).toEqual([expect.objectContaining({ reason: 'terminal', oauthError: 'invalid_grant', willRetry: false })]);
    await expect(s.tabs[2]!.client.getAccessToken()).rejects.toBeInstanceOf(SignedOutError);
    for (const tab of s.tabs) {
      expect(tab.client.getSnapshot().status).toBe('signed-out');
      expect(tab.client.getSnapshot().signedOutReason).toBe('refresh-rejected');
    }
    expect(s.server.counters.refreshRequests).toBe(1);
  });

  it('invalid_grant while a newer pair exists in storage adopts it, no sign-out', async () => {
    const s = await signedInTabs(3, { latencyMs: 200, ttlSeconds: 3600 });
    await revokeFamilyAtServer(s);
    const leader = s.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    const before = leader.client.getSnapshot().version;
    // The leader's refresh is in flight with the revoked token when another tab completes a fresh login.
    const refreshing = leader.client.refresh().catch((error: unknown) => error);
    await s.advance(50);
    const other = s.tabs.find((tab) => tab !== leader)!;
    await other.client.signIn(s.server.issueTokens({ subject: 'user-1' }));
    await s.advance(500);
    const result = await refreshing;
    expect(result).not.toBeInstanceOf(Error);
    expect(s.server.counters.invalidGrant).toBe(1);
    expect(signOutEvents(s)).toBe(0);
    for (const tab of s.tabs) {
      expect(tab.client.getSnapshot().status).toBe('authenticated');
      expect(tab.client.getSnapshot().version).toBe(before + 1);
    }
  });
});

describe('transient errors', () => {
  it('follows the backoff schedule on the simulated clock, then surfaces a typed error without signing out', async () => {
    const s = await signedInTabs(3, { client: { random: () => 0.5 }, ttlSeconds: 3600, latencyMs: 0 });
    s.server.injectFailures({ kind: 'server-error', count: 5 });
    const leader = s.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    const follower = s.tabs.find((tab) => tab !== leader)!;
    const fromLeader = leader.client.refresh().catch((error: unknown) => error);
    const fromFollower = follower.client.refresh().catch((error: unknown) => error);
    await s.advance(120_000);
    expect(await fromLeader).toBeInstanceOf(TransientRefreshError);
    expect(await fromFollower).toBeInstanceOf(TransientRefreshError);
    const injected = s.server.events.filter((event) => event.type === 'injected').map((event) => event.at);
    expect(injected).toHaveLength(5);
    const gaps = injected.slice(1).map((at, i) => at - injected[i]!);
    // min(2^n s + random * 1 s, 30 s) with random = 0.5, after attempts 1..4.
    expect(gaps).toEqual([2_500, 4_500, 8_500, 16_500]);
    const failed = leader.events.filter((event) => event.type === 'refresh-failed');
    expect(failed.map((event) => event.type === 'refresh-failed' && event.willRetry)).toEqual([true, true, true, true, false]);
    expect(signOutEvents(s)).toBe(0);
    expect(leader.client.getSnapshot().status).toBe('authenticated');
    expect(leader.client.getSnapshot().error).toBeInstanceOf(TransientRefreshError);
    // The next refresh works and clears the error.
    const next = leader.client.refresh();
    await s.advance(100);
    await next;
    expect(leader.client.getSnapshot().error).toBeNull();
  });

  it('honours Retry-After on 429', async () => {
    const s = await signedInTabs(1, { client: { random: () => 0 }, ttlSeconds: 3600 });
    s.server.injectFailures({ kind: 'rate-limited', count: 1 });
    const call = s.tabs[0]!.client.refresh();
    await s.advance(5_000);
    await call;
    const failed = s.tabs[0]!.events.find((event) => event.type === 'refresh-failed');
    expect(failed).toMatchObject({ reason: 'transient', willRetry: true, retryInMs: 2_000 });
  });

  it('does not refresh while offline and refreshes once when back online', async () => {
    const s = await signedInTabs(3);
    for (const tab of s.tabs) tab.environment.setOnline(false);
    await s.advance(2_000); // the 1-second token expires while offline
    const calls = s.tabs.map((tab) => tab.client.getAccessToken().catch((error: unknown) => error));
    // Longer than followerMaxWaitMs: waiting offline does not use up a follower's patience.
    await s.advance(300_000);
    expect(s.server.counters.refreshRequests).toBe(0);
    for (const tab of s.tabs) tab.environment.setOnline(true);
    await s.advance(200);
    const results = await Promise.all(calls);
    expect(results.every((result) => typeof result === 'string')).toBe(true);
    expect(s.server.counters.refreshRequests).toBe(1);
    expect(signOutEvents(s)).toBe(0);
  });

  it('a request that never answers times out, is retried, and the pair is kept', async () => {
    const s = await signedInTabs(2, { client: { random: () => 0, requestTimeoutMs: 5_000 }, ttlSeconds: 3600 });
    s.server.injectFailures({ kind: 'timeout', count: 1 });
    const call = s.tabs[0]!.client.refresh();
    await s.advance(10_000);
    const result = await call;
    expect(result.version).toBeGreaterThan(1);
    const failed = s.tabs.flatMap((tab) => tab.events).find((event) => event.type === 'refresh-failed');
    expect(failed).toMatchObject({ reason: 'timeout', willRetry: true });
    expect(s.server.counters.reuseDetections).toBe(0);
  });
});

describe('malformed token responses', () => {
  it.each([
    ['an HTML error page (502)', 'html', TransientRefreshError],
    ['a 200 whose body is not JSON', 'malformed', MalformedTokenResponseError],
  ] as const)('%s: typed error, stored pair kept, nobody signed out', async (_label, kind, ErrorType) => {
    const s = await signedInTabs(3, { client: { retry: { attempts: 1 } }, ttlSeconds: 3600 });
    const before = s.tabs[0]!.client.getSnapshot();
    s.server.injectFailures({ kind, count: 1 });
    const call = s.tabs[1]!.client.refresh().catch((error: unknown) => error);
    await s.advance(1_000);
    expect(await call).toBeInstanceOf(ErrorType);
    for (const tab of s.tabs) {
      expect(tab.client.getSnapshot().status).toBe('authenticated');
      expect(tab.client.getSnapshot().tokens).toEqual(before.tokens);
    }
    expect(signOutEvents(s)).toBe(0);
  });

  it('a malformed 200 is retried once at once (a grace period replays a rotated pair), then surfaces', async () => {
    const s = await signedInTabs(2, { ttlSeconds: 3600, gracePeriodMs: 30_000 });
    const leader = s.tabs.find((tab) => tab.client.getSnapshot().isLeader)!;
    // The server rotates, then its answer is garbage: the old token is consumed.
    s.server.injectFailures({ kind: 'malformed', count: 1, rotate: true });
    const first = leader.client.refresh();
    await s.advance(1_000);
    expect((await first).version).toBe(2);
    const failed = leader.events.filter((event) => event.type === 'refresh-failed');
    expect(failed).toEqual([expect.objectContaining({ reason: 'malformed', willRetry: true, retryInMs: 0 })]);
    expect(s.server.counters).toMatchObject({ graceReplays: 1, reuseDetections: 0 });
    // Twice in a row: no third attempt, a typed error, the pair kept, nobody signed out.
    s.server.injectFailures({ kind: 'malformed', count: 2 });
    const second = leader.client.refresh().catch((error: unknown) => error);
    await s.advance(1_000);
    expect(await second).toBeInstanceOf(MalformedTokenResponseError);
    expect(s.server.counters.refreshRequests).toBe(4);
    expect(signOutEvents(s)).toBe(0);
    expect(leader.client.getSnapshot()).toMatchObject({ status: 'authenticated', version: 2 });
  });

  it('a response without any usable token is rejected by the refresh and by signIn', async () => {
    const bodies: unknown[] = [{ token_type: 'Bearer' }, { access_token: 42 }, { access_token: '', refresh_token: 7 }, 'ok', null, []];
    let next = 0;
    const s = await signedInTabs(2, { ttlSeconds: 3600, client: { retry: { attempts: 1 } } });
    for (const tab of s.tabs) tab.kill();
    const tab = s.openTab({ client: { refresh: async () => bodies[next++] as never } });
    await s.settle();
    const before = tab.client.getSnapshot();
    for (let i = 0; i < bodies.length; i++) {
      const call = tab.client.refresh().catch((error: unknown) => error);
      await s.advance(100);
      expect(await call).toBeInstanceOf(MalformedTokenResponseError);
    }
    for (const body of bodies) await expect(tab.client.signIn(body as never)).rejects.toBeInstanceOf(MalformedTokenResponseError);
    expect(tab.client.getSnapshot().tokens).toEqual(before.tokens);
    expect(tab.client.getSnapshot().version).toBe(before.version);
  });
});
