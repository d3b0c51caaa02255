import { describe, expect } from 'vitest';
import type { TabSimulation } from '../../src/testing';
import { it } from '../support/simulationTest';
import { seededRandom, signOutEvents, strictSimulation, versions } from './helpers';

async function runRotations(track: <T extends TabSimulation>(sim: T) => T, tabCount: number, rotations: number, seed: number) {
  const sim = track(strictSimulation({ seed }));
  for (let i = 0; i < tabCount; i++) sim.openTab();
  await sim.settle();
  await sim.signIn();
  await sim.advance(10); // let the sign-in message reach every tab
  const startVersion = sim.tabs[0]!.client.getSnapshot().version;
  const random = seededRandom(seed * 7 + 1);
  const failures: unknown[] = [];
  // Every tab asks for a token at random moments; time moves in 50 ms steps until enough rotations happened.
  for (let step = 0; sim.server.counters.successes < rotations && step < rotations * 100; step++) {
    for (const tab of sim.liveTabs()) {
      if (random() < 0.3) tab.client.getAccessToken().catch((error) => failures.push(error));
    }
    await sim.advance(50);
  }
  await sim.advance(200);
  return { sim, startVersion, failures };
}

describe.each([2, 10, 50])('%i tabs, 1-second access tokens, strict reuse detection', (tabCount) => {
  it('sends each refresh token exactly once over 20 rotations', async ({ track }) => {
    const { sim: s, startVersion, failures } = await runRotations(track, tabCount, 20, tabCount);
    expect(failures).toEqual([]);
    expect(s.server.counters.successes).toBeGreaterThanOrEqual(20);
    expect(s.server.counters.refreshRequests).toBe(s.server.counters.successes);
    expect(s.server.counters.reuseDetections).toBe(0);
    expect(s.server.counters.familiesRevoked).toBe(0);
    expect(signOutEvents(s)).toBe(0);
    const newest = startVersion + s.server.counters.successes;
    expect(new Set(versions(s))).toEqual(new Set([newest]));
    expect(s.network.leaders()).toHaveLength(1);
  });
});

it('no token string appears in any event, counter or error of a run', async ({ track }) => {
  const { sim: s, failures } = await runRotations(track, 5, 5, 99);
  const secrets = new Set<string>();
  for (const tab of s.tabs) {
    const tokens = tab.client.getSnapshot().tokens;
    if (tokens) [tokens.accessToken, tokens.refreshToken, tokens.idToken].forEach((t) => t && secrets.add(t));
  }
  const observable = JSON.stringify({
    events: s.tabs.map((tab) => tab.events),
    metrics: s.tabs.map((tab) => tab.client.metrics()),
    failures: failures.map((error) => String(error)),
  });
  expect(secrets.size).toBeGreaterThan(0);
  for (const secret of secrets) expect(observable).not.toContain(secret);
});
