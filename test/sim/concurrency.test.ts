import { describe, expect } from 'vitest';
import { it } from '../support/simulationTest';
import { strictSimulation } from './helpers';

describe('concurrent callers', () => {
  it('100 concurrent getAccessToken() calls across 10 tabs with an expired token cause one refresh', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 11, latencyMs: 50 }));
    for (let i = 0; i < 10; i++) sim.openTab();
    await sim.settle();
    // A pair that is already expired when it arrives (expires_in: 0).
    await sim.tabs[0]!.client.signIn({ ...sim.server.issueTokens(), expires_in: 0 });
    await sim.advance(5);
    expect(sim.tabs.every((tab) => tab.client.getSnapshot().status === 'authenticated')).toBe(true);
    const calls = Array.from({ length: 100 }, (_, i) => sim.tabs[i % 10]!.client.getAccessToken());
    await sim.advance(500);
    const tokens = await Promise.all(calls);
    expect(new Set(tokens).size).toBe(1);
    expect(sim.server.validateAccessToken(tokens[0]!).valid).toBe(true);
    expect(sim.server.counters.refreshRequests).toBe(1);
    expect(sim.server.counters.reuseDetections).toBe(0);
  });

  it('refresh({ rejectedVersion }) for a 401 refreshes once per version, and not at all for a superseded version', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 12, ttlSeconds: 3600 }));
    for (let i = 0; i < 5; i++) sim.openTab();
    await sim.settle();
    await sim.signIn();
    await sim.advance(5);
    const rejected = sim.tabs[0]!.client.getSnapshot().version;
    const results = sim.tabs.flatMap((tab) => [tab.client.refresh({ rejectedVersion: rejected }), tab.client.refresh({ rejectedVersion: rejected })]);
    await sim.advance(200);
    const settled = await Promise.all(results);
    expect(new Set(settled.map((result) => result.version))).toEqual(new Set([rejected + 1]));
    expect(sim.server.counters.refreshRequests).toBe(1);
    // A late 401 for the old version: the newer pair is returned without a network call.
    const late = await sim.tabs[3]!.client.refresh({ rejectedVersion: rejected });
    expect(late.version).toBe(rejected + 1);
    expect(sim.server.counters.refreshRequests).toBe(1);
  });

  it('a long-lived token is not refreshed while it is fresh: no requests, no timers firing early', async ({ track }) => {
    const sim = track(strictSimulation({ seed: 13, ttlSeconds: 3600 }));
    for (let i = 0; i < 3; i++) sim.openTab();
    await sim.settle();
    await sim.signIn();
    for (let i = 0; i < 20; i++) {
      await Promise.all(sim.tabs.map((tab) => tab.client.getAccessToken()));
      await sim.advance(60_000);
    }
    expect(sim.server.counters.refreshRequests).toBe(0);
    // 20 minutes later the leader refreshes ahead of expiry (10% of 1 h = 6 min before), exactly once.
    await sim.advance(40 * 60_000);
    expect(sim.server.counters.refreshRequests).toBe(1);
  });

  it('the device id is stable per browser and passed to every refresh', async ({ track }) => {
    const seen: string[] = [];
    const sim = track(strictSimulation({ seed: 14 }));
    const server = sim.server;
    const refresh = async (context: { refreshToken: string; deviceId: string }) => {
      seen.push(context.deviceId);
      const result = await server.refresh({ refreshToken: context.refreshToken });
      return result.body as never;
    };
    for (let i = 0; i < 3; i++) sim.openTab({ client: { refresh } });
    await sim.settle();
    await sim.signIn();
    for (let i = 0; i < 40; i++) await sim.advance(100);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(1);
    // A tab opened later shares the same device id (it lives in the shared storage).
    const late = sim.openTab({ client: { refresh } });
    await sim.settle();
    sim.tabs.filter((tab) => tab !== late).forEach((tab) => tab.kill());
    for (let i = 0; i < 20; i++) await sim.advance(100);
    expect(new Set(seen).size).toBe(1);
  });
});

describe('opaque access tokens', () => {
  it('are never refreshed proactively (unknown lifetime) and refresh once per 401', async ({ track }) => {
    const { createSimulatedClock } = await import('../../src/testing/simulatedClock');
    const { createMockTokenServer } = await import('../../src/testing/mockTokenServer');
    const { createTabSimulation } = await import('../../src/testing/tabs');
    const clock = createSimulatedClock();
    const server = createMockTokenServer({ clock, accessTokenFormat: 'opaque', includeExpiresIn: false });
    const sim = track(createTabSimulation({ clock, server }));
    const tabs = [sim.openTab(), sim.openTab(), sim.openTab()];
    await sim.settle();
    await sim.signIn();
    expect(tabs[0]!.client.getSnapshot().tokens!.expiresAt).toBeNull();
    await sim.advance(24 * 3600_000);
    expect(server.counters.refreshRequests).toBe(0);
    const version = tabs[1]!.client.getSnapshot().version;
    const retried = tabs.map((tab) => tab.client.refresh({ rejectedVersion: version }));
    await sim.advance(100);
    expect(new Set((await Promise.all(retried)).map((result) => result.version))).toEqual(new Set([version + 1]));
    expect(server.counters.refreshRequests).toBe(1);
  });
});
