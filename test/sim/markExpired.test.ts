/**
 * The core's devtools hook `client.markExpired()`: this tab treats its pair as expired, nothing else changes.
 */
import { strictSimulation } from './helpers';

describe('client.markExpired() (devtools hook)', () => {
  it('marks only this tab in memory: storage and the other tabs keep the expiry, nothing is sent', async () => {
    const sim = strictSimulation({ ttlSeconds: 600 });
    try {
      const [a, b] = [sim.openTab(), sim.openTab()];
      await sim.signIn();
      await sim.advance(100);
      const follower = a!.client.getSnapshot().isLeader ? b! : a!;
      const other = follower === a ? b! : a!;
      const before = follower.client.getSnapshot();
      const stored = (await sim.storage.get(`tabauth:default:state`)) as { tokens: { expiresAt: number } };

      expect(follower.client.markExpired!()).toBe(before.version);
      const after = follower.client.getSnapshot();
      expect(after).not.toBe(before); // a new snapshot: useAccessToken re-renders with the new expiry
      expect(after.expired).toBe(true); // measured on this tab's clock; the pair itself is unchanged
      expect(after.tokens!.accessToken).toBe(before.tokens!.accessToken);
      expect(after.version).toBe(before.version);

      await sim.advance(5_000);
      expect(sim.server.counters.refreshRequests).toBe(0); // a follower waits for its next getAccessToken()
      expect(other.client.getSnapshot().expired).toBe(false);
      expect(((await sim.storage.get(`tabauth:default:state`)) as typeof stored).tokens.expiresAt).toBe(stored.tokens.expiresAt);
      expect(follower.client.getSnapshot().expired).toBe(true); // nothing undid the mark

      // The follower's next call asks the leader as for a 401: the leader refreshes even though its own measure says
      // the pair is fresh (Fix #9.13 answers a mere "I think it is due" with the pair instead).
      const token = follower.client.getAccessToken();
      await sim.advance(1_000);
      expect((await token).length).toBeGreaterThan(0);
      expect(sim.server.counters.refreshRequests).toBe(1);
      expect(follower.client.getSnapshot().version).toBe(before.version + 1);
      // Again, now on a pair the leader made itself by a refresh (the one it would otherwise confirm).
      follower.client.markExpired!();
      const again = follower.client.getAccessToken();
      await sim.advance(1_000);
      expect((await again).length).toBeGreaterThan(0);
      expect(sim.server.counters.refreshRequests).toBe(2);
      expect(follower.client.getSnapshot().version).toBe(before.version + 2);
    } finally {
      await sim.dispose();
    }
  });

  it('a newer pair from another tab replaces the marked one', async () => {
    const sim = strictSimulation({ ttlSeconds: 600 });
    try {
      const [a, b] = [sim.openTab(), sim.openTab()];
      await sim.signIn();
      await sim.advance(100);
      const leader = a!.client.getSnapshot().isLeader ? a! : b!;
      const follower = leader === a ? b! : a!;
      follower.client.markExpired!();
      const refreshed = leader.client.refresh();
      await sim.advance(200);
      await refreshed;
      const snapshot = follower.client.getSnapshot();
      expect(snapshot.version).toBe(2);
      expect(snapshot.tokens!.expiresAt).toBeGreaterThan(sim.clock.now());
      expect(sim.server.counters.refreshRequests).toBe(1);
    } finally {
      await sim.dispose();
    }
  });

  it('returns null and changes nothing when the tab holds no pair', async () => {
    const sim = strictSimulation();
    try {
      const tab = sim.openTab();
      await sim.advance(100);
      const before = tab.client.getSnapshot();
      expect(before.status).toBe('signed-out');
      expect(tab.client.markExpired!()).toBeNull();
      expect(tab.client.getSnapshot()).toBe(before);
    } finally {
      await sim.dispose();
    }
  });
});
