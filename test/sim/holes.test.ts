/**
 * Issue #9: each scenario that broke "each refresh token reaches the server once, nobody signed out while the family
 * is valid, every tab on the newest pair" on the previous main, through the public API and tabauth/testing. Every
 * test here failed there (checked by running this file against that commit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwtClaims, MalformedTokenResponseError, OAuthError, RefreshTimeoutError, type AuthEvent, type RefreshFunction } from '../../src/core';
import { PROTOCOL as TAB_PROTOCOL } from '../../src/core/coordination/tabMessages';
import type { SimTab, TabSimulation } from '../../src/testing';
import { signOutEvents, strictSimulation, versions } from './helpers';

let sim: TabSimulation | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

const HOUR = 3_600_000;

/** A refresh function straight on the mock server, whose 2xx body `edit` may rewrite (a server with bugs). */
function serverRefresh(s: TabSimulation, edit: (body: Record<string, unknown>) => Record<string, unknown> = (body) => body): RefreshFunction {
  return async ({ refreshToken }) => {
    const { status, body } = await s.server.refresh({ refreshToken, clientId: 'tabauth-demo' });
    if (status !== 200) throw new OAuthError(String((body as { error?: string }).error ?? 'server_error'), { status });
    return edit(body as Record<string, unknown>) as never;
  };
}

function leaderOf(s: TabSimulation): SimTab {
  const leaders = s.liveTabs().filter((tab) => tab.client.getSnapshot().isLeader);
  expect(leaders).toHaveLength(1);
  return leaders[0]!;
}

function noReuse(s: TabSimulation) {
  expect(s.server.counters.reuseDetections).toBe(0);
  expect(s.server.counters.refreshRequests).toBe(s.server.counters.successes);
  expect(signOutEvents(s)).toBe(0);
}

describe('1. unmount or dispose mid-refresh: a sent refresh is never abandoned', () => {
  it('the mount count drops to 0 and comes back while the request is at the server: the rotation is stored and used', async () => {
    sim = strictSimulation({ seed: 901, ttlSeconds: 5, latencyMs: 200 });
    const tab = sim.openTab({ mount: false });
    let unmount = tab.client.mount();
    const other = sim.openTab();
    await sim.advance(10);
    await sim.signIn(tab);
    await sim.advance(1_000);
    const call = tab.client.refresh(); // a 401, say
    await sim.advance(50); // the request is at the server
    unmount();
    unmount = tab.client.mount(); // a route change, a key change, HMR
    await sim.advance(500);
    expect((await call).version).toBe(2);
    expect(versions(sim)).toEqual([2, 2]);
    await Promise.all([other.client.refresh({ rejectedVersion: 2 }), sim.advance(500)]);
    expect(versions(sim)).toEqual([3, 3]);
    noReuse(sim);
    unmount();
  });

  it('dispose while the request is at the server resolves only after the rotated pair is stored; the next tab uses it', async () => {
    sim = strictSimulation({ seed: 902, ttlSeconds: 5, latencyMs: 200 });
    const tab = sim.openTab();
    await sim.advance(10);
    await sim.signIn(tab);
    await sim.advance(1_000);
    void tab.client.refresh().catch(() => {});
    await sim.advance(50);
    let disposed = false;
    const closing = tab.client.dispose().then(() => (disposed = true)); // the app disposes its client; the page stays
    await sim.advance(10);
    expect(disposed).toBe(false); // still waiting for the answer
    await sim.advance(500);
    await closing;
    const stored = (await sim.storage.get('tabauth:default:state')) as { version: number };
    expect(stored.version).toBe(2);
    const late = sim.openTab();
    await sim.advance(10);
    await Promise.all([late.client.refresh(), sim.advance(500)]);
    expect(late.client.getSnapshot()).toMatchObject({ status: 'authenticated', version: 3 });
    noReuse(sim);
  });
});

describe('2. a sign-out or sign-in always wins over a refresh that started before it', () => {
  it.each(['sign-out', 'sign-in'] as const)('%s while the signing tab cannot write and the leader is mid-refresh', async (action) => {
    sim = strictSimulation({ seed: 903, ttlSeconds: 5, latencyMs: 200 });
    const leader = sim.openTab();
    const signer = sim.openTab();
    await sim.advance(10);
    await sim.signIn(leader);
    await sim.advance(1_000);
    void leader.client.refresh().catch(() => {});
    await sim.advance(199); // the leader's answer is 1 ms away: it is stored before the sign-in/out message arrives
    signer.setStorageFaults({ writes: 'throw' });
    const other = sim.server.issueTokens({ subject: 'user-2' });
    await (action === 'sign-out' ? signer.client.signOut() : signer.client.signIn(other));
    await sim.advance(1_000);
    signer.setStorageFaults(null);
    await sim.advance(5_000);
    const expected = action === 'sign-out' ? { status: 'signed-out' } : { status: 'authenticated' };
    for (const tab of sim.liveTabs()) expect(tab.client.getSnapshot()).toMatchObject(expected);
    if (action === 'sign-in') for (const tab of sim.liveTabs()) expect(decodeJwtClaims(tab.client.getSnapshot().tokens!.accessToken).sub).toBe('user-2');
    expect(new Set(versions(sim)).size).toBe(1);
    const stored = (await sim.storage.get('tabauth:default:state')) as { version: number; tokens: unknown };
    expect(stored.version).toBe(versions(sim)[0]);
  });
});

describe('3. a rotated 2xx whose optional field is mistyped keeps the pair', () => {
  const mistyped: Array<[string, Record<string, unknown>]> = [
    ['expires_in -1', { expires_in: -1 }],
    ['expires_in "3600s"', { expires_in: '3600s' }],
    ['scope as an array', { scope: ['openid'] }],
    ['id_token {}', { id_token: {} }],
    ['token_type 5', { token_type: 5 }],
    ['version {}', { version: {} }],
  ];
  it.each(mistyped)('%s: no MalformedTokenResponseError, no second request with the spent token', async (_label, field) => {
    sim = strictSimulation({ seed: 904, ttlSeconds: 5, latencyMs: 20 });
    let bad = true;
    const events: AuthEvent[] = [];
    const tab = sim.openTab({
      client: { refresh: serverRefresh(sim, (body) => (bad ? { ...body, ...field } : body)), onEvent: (event) => events.push(event) },
    });
    await sim.advance(10);
    await sim.signIn(tab);
    await sim.advance(1_000);
    const first = await Promise.all([tab.client.refresh(), sim.advance(100)]).then(([result]) => result);
    expect(first.version).toBe(2);
    expect(events).toContainEqual(expect.objectContaining({ type: 'token-response-repaired', version: 2 }));
    bad = false;
    await Promise.all([tab.client.refresh({ rejectedVersion: 2 }), sim.advance(100)]);
    expect(tab.client.getSnapshot().version).toBe(3);
    noReuse(sim);
    expect(tab.client.metrics().find((counter) => counter.name === 'token_response_repairs')?.value).toBe(1);
  });

  it('a body with only a new refresh token stores the rotation; the next refresh uses the new refresh token', async () => {
    sim = strictSimulation({ seed: 905, ttlSeconds: 5, latencyMs: 20, client: { retry: { attempts: 1 } } });
    let bad = true;
    const tab = sim.openTab({ client: { refresh: serverRefresh(sim, (body) => (bad ? { ...body, access_token: 42 } : body)) } });
    await sim.advance(10);
    await sim.signIn(tab);
    await sim.advance(1_000);
    const failed = tab.client.refresh().catch((error: unknown) => error);
    await sim.advance(100);
    expect(await failed).toBeInstanceOf(MalformedTokenResponseError);
    // Stored (a later proactive attempt may have rotated again, with the new refresh token each time).
    expect(tab.client.getSnapshot().version).toBeGreaterThanOrEqual(2);
    bad = false;
    const token = tab.client.getAccessToken();
    await sim.advance(100);
    expect(sim.server.validateAccessToken(await token).valid).toBe(true);
    noReuse(sim);
  });
});

describe('4. wall-clock jumps and skew', () => {
  it('every clock jumps back 2 h: proactive refreshes go on and getAccessToken never hands out an expired token', async () => {
    sim = strictSimulation({ seed: 906, ttlSeconds: 60, latencyMs: 20 });
    const tabs = [sim.openTab(), sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(tabs[0]);
    for (const tab of tabs) tab.setSkewMs(-2 * HOUR);
    const expired: string[] = [];
    for (let second = 0; second < 300; second += 5) {
      await sim.advance(5_000);
      for (const tab of tabs) {
        const call = tab.client.getAccessToken();
        await sim.advance(50);
        const validation = sim.server.validateAccessToken(await call);
        if (!validation.valid) expected(validation);
      }
    }
    function expected(validation: unknown) {
      expired.push(JSON.stringify(validation));
    }
    expect(expired).toEqual([]);
    expect(sim.server.counters.successes).toBeGreaterThanOrEqual(5);
    noReuse(sim);
  });

  it('a leader 2 h behind: one follower call costs one refresh and resolves', async () => {
    sim = strictSimulation({ seed: 907, ttlSeconds: 60, latencyMs: 20 });
    const [first, second] = [sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(first);
    const leader = leaderOf(sim);
    const follower = leader === first ? second : first;
    leader.setSkewMs(-2 * HOUR);
    await sim.advance(55_000); // due
    const before = sim.server.counters.refreshRequests;
    const call = follower.client.getAccessToken();
    await sim.advance(5_000);
    expect(sim.server.validateAccessToken(await call).valid).toBe(true);
    expect(sim.server.counters.refreshRequests - before).toBeLessThanOrEqual(1);
    noReuse(sim);
  });

  it('a follower 55 min ahead: five calls, at most one refresh per version, every call answered', async () => {
    sim = strictSimulation({ seed: 908, ttlSeconds: 3600, latencyMs: 20 });
    const [first, second] = [sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(first);
    const leader = leaderOf(sim);
    const follower = leader === first ? second : first;
    follower.setSkewMs(55 * 60_000);
    const reload = sim.openTab(); // a tab opened with the skew reads the record from storage
    reload.setSkewMs(55 * 60_000);
    await sim.advance(10);
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      for (const tab of [follower, reload]) {
        const call = tab.client.getAccessToken().catch((error: unknown) => errors.push(error));
        await sim.advance(200);
        await call;
      }
    }
    expect(errors).toEqual([]);
    expect(sim.server.counters.refreshRequests).toBeLessThanOrEqual(2);
    noReuse(sim);
  });
});

describe('5. after an outage the leader keeps refreshing, and the snapshot says the token expired', () => {
  it('an exhausted retry cycle is followed by more cycles with backoff until one succeeds', async () => {
    sim = strictSimulation({ seed: 909, ttlSeconds: 5, latencyMs: 20, client: { retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 } } });
    const tab = sim.openTab();
    await sim.advance(10);
    await sim.signIn(tab);
    sim.server.injectFailures({ kind: 'server-error', count: 12 });
    await sim.advance(5_000);
    expect(tab.client.getSnapshot().expired).toBe(true);
    await sim.advance(10 * 60_000);
    expect(sim.server.counters.refreshRequests).toBeGreaterThan(12);
    expect(tab.client.getSnapshot()).toMatchObject({ status: 'authenticated', expired: false });
    expect(sim.server.validateAccessToken(tab.client.getSnapshot().tokens!.accessToken).valid).toBe(true);
  });
});

describe('6. refresh({ rejectedVersion }) with odd input', () => {
  it.each([NaN, 1e308, '1', -1, 1.5])('%s is a TypeError, and nothing is sent', async (value) => {
    sim = strictSimulation({ seed: 910, ttlSeconds: 3600 });
    const tab = sim.openTab();
    await sim.advance(10);
    await sim.signIn(tab);
    await expect(tab.client.refresh({ rejectedVersion: value as number })).rejects.toBeInstanceOf(TypeError);
    expect(sim.server.counters.refreshRequests).toBe(0);
  });

  it('a version above the current one means the current one, in the leader and in a follower: one refresh for ten calls', async () => {
    sim = strictSimulation({ seed: 911, ttlSeconds: 3600, latencyMs: 20 });
    const tabs = [sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(tabs[0]);
    const calls = tabs.flatMap((tab) => Array.from({ length: 5 }, () => tab.client.refresh({ rejectedVersion: 7 })));
    await sim.advance(2_000);
    const results = await Promise.all(calls);
    expect(new Set(results.map((result) => result.version))).toEqual(new Set([2]));
    expect(sim.server.counters.refreshRequests).toBe(1);
  });
});

describe('7. forged huge versions', () => {
  it('a state message near 2^53 is dropped as version-out-of-range; every tab keeps rotating', async () => {
    sim = strictSimulation({ seed: 912, ttlSeconds: 5, latencyMs: 20 });
    const tabs = [sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(tabs[0]);
    const held = tabs[0]!.client.getSnapshot();
    const forger = sim.network.coordination('forger')('tabauth:default');
    const forged = { schema: 1, version: 2 ** 53, tokens: held.tokens, signedOutReason: null, updatedAt: 0 };
    await forger.channel.post({ type: 'state', state: forged, protocol: TAB_PROTOCOL, namespace: 'default', from: 'forger' });
    await forger.channel.post({ type: 'refresh-request', version: Number.MAX_SAFE_INTEGER, protocol: TAB_PROTOCOL, namespace: 'default', from: 'forger' });
    await sim.advance(10);
    for (const tab of tabs) expect(tab.events).toContainEqual({ type: 'message-dropped', reason: 'version-out-of-range' });
    await sim.advance(20_000);
    expect(Math.min(...versions(sim))).toBeGreaterThanOrEqual(4);
    expect(new Set(versions(sim)).size).toBe(1);
    await forger.channel.close();
  });
});

describe('8. a huge expires_in', () => {
  it('is clamped on sign-in: no NaN due time, no refresh-skipped storm', async () => {
    sim = strictSimulation({ seed: 913 });
    const tab = sim.openTab();
    await sim.advance(10);
    await tab.client.signIn({ ...sim.server.issueTokens(), expires_in: 1e306 });
    await sim.advance(3_000);
    expect(tab.events.filter((event) => event.type === 'refresh-skipped').length).toBeLessThan(3);
    expect(Number.isFinite(tab.client.getSnapshot().tokens!.expiresAt)).toBe(true);
    expect(tab.pendingTimers()).toBeLessThan(5);
  });
});

describe('9. short tokens are redacted by exact match', () => {
  it("a 22-character token in the server's error_description and in the app's own error never reaches the error", async () => {
    sim = strictSimulation({ seed: 914 });
    const short = 'AbCdEfGhIjKlMnOpQrStUv'; // 22 characters, 128 bits of base64url
    let mode: 'oauth' | 'app' = 'oauth';
    const tab = sim.openTab({
      client: {
        retry: { attempts: 1 },
        refresh: async ({ refreshToken }) => {
          if (mode === 'oauth') throw new OAuthError('server_error', { status: 500, errorDescription: `token ${refreshToken} hit a bug` });
          throw new Error(`could not refresh ${refreshToken}`);
        },
      },
    });
    await sim.advance(10);
    await tab.client.signIn({ access_token: 'A1b2C3d4E5f6G7h8I9j0Kl', refresh_token: short, expires_in: 3600 });
    for (const next of ['oauth', 'app'] as const) {
      mode = next;
      const error = await Promise.all([tab.client.refresh().catch((caught: unknown) => caught), sim.advance(100)]).then(([caught]) => caught as Error);
      const visible = [error.message, (error as OAuthError).errorDescription ?? '', String((error.cause as Error | undefined)?.message ?? '')].join(' ');
      expect(visible).not.toContain(short);
      expect(visible).toContain('[redacted]');
    }
  });
});

describe('10. a frozen leader does not stall the followers', () => {
  it('a follower whose leader does not answer refreshes under the lock; the thawed leader does not refresh again', async () => {
    sim = strictSimulation({ seed: 915, ttlSeconds: 5, latencyMs: 20, locks: 'web-locks' });
    const tabs = [sim.openTab(), sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(tabs[0]);
    const leader = leaderOf(sim);
    leader.freeze();
    await sim.advance(5_000);
    const follower = tabs.find((tab) => tab !== leader)!;
    const call = follower.client.getAccessToken();
    await sim.advance(3_000); // followerRetryMs is 1 s in these simulations: far below followerMaxWaitMs (120 s)
    expect(sim.server.validateAccessToken(await call).valid).toBe(true);
    expect(follower.events).toContainEqual(expect.objectContaining({ type: 'refresh-started', trigger: 'follower-rescue' }));
    leader.resume();
    await sim.advance(3_000);
    noReuse(sim);
    expect(new Set(versions(sim)).size).toBe(1);
  });
});

describe('11. a new tab whose first storage read comes back empty', () => {
  it('asks the open tabs and adopts their pair instead of rendering signed-out', async () => {
    sim = strictSimulation({ seed: 916, ttlSeconds: 3600 });
    const first = sim.openTab();
    await sim.advance(10);
    await sim.signIn(first);
    const late = sim.openTab({ mount: false });
    late.setStorageFaults({ reads: 'empty' });
    const statuses: string[] = [];
    late.client.subscribe(() => statuses.push(late.client.getSnapshot().status));
    const unmount = late.client.mount();
    await sim.advance(200);
    expect(late.client.getSnapshot()).toMatchObject({ status: 'authenticated', version: first.client.getSnapshot().version });
    expect(statuses).not.toContain('signed-out');
    unmount();
  });
});

describe('error wire form', () => {
  it('a follower sees the same error class, kind and status the leader saw', async () => {
    sim = strictSimulation({ seed: 917, ttlSeconds: 3600, latencyMs: 20, client: { retry: { attempts: 1 } } });
    const tabs = [sim.openTab(), sim.openTab()];
    await sim.advance(10);
    await sim.signIn(tabs[0]);
    const leader = leaderOf(sim);
    const follower = tabs.find((tab) => tab !== leader)!;
    sim.server.injectFailures({ kind: 'rate-limited', count: 1 });
    const error = await Promise.all([follower.client.refresh().catch((caught: unknown) => caught), sim.advance(2_000)]).then(([caught]) => caught);
    expect(error).toMatchObject({ name: 'TransientRefreshError', kind: 'rate-limited', status: 429 });
    expect(error).not.toBeInstanceOf(RefreshTimeoutError);
  });
});
