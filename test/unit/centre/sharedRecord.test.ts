import { describe, expect, it } from 'vitest';
import { VERSION_EPOCH } from '../../../src/core/sharedRecord';
import type { AuthStorage } from '../../../src/core';
import { outranks } from '../../../src/core/sessionOrder';
import { parts, record } from './parts';

describe('SharedRecord (the stored record: read, compare-and-set, retry until stored)', () => {
  it('claimAbove writes above both the stored and the held version; without storage it claims the next epoch', async () => {
    const backing = new Map<string, unknown>();
    const p = parts({ backing });
    p.state.adopt(record(4, 0), 'this-tab');
    backing.set('tabauth:ns:state', record(6, 0));
    const stored = await p.shared.claimAbove((version) => ({ ...record(version, 0), tokens: null, signedOutReason: 'user' }), true);
    expect(stored).toMatchObject({ record: { version: 7 }, writeError: null });

    const failing = parts();
    failing.shared.replaceStorage({ ...failing.storage, update: () => Promise.reject(new Error('quota')) } as AuthStorage);
    failing.shared.setActive(true);
    failing.state.adopt(record(4, 0), 'this-tab');
    const claimed = await failing.shared.claimAbove((version) => record(version, 0), true);
    expect(claimed.record.version).toBe(4 + VERSION_EPOCH);
    expect(claimed.writeError).toBeInstanceOf(Error);
    expect(failing.shared.pendingWrite).toBe(true);
    expect(failing.events).toContainEqual({ type: 'storage-error', operation: 'write', errorCode: 'storage_failure' });
  });

  it('a user action of a tab that held no session names the stored session it is written above (chaos seed 44806)', async () => {
    const backing = new Map<string, unknown>();
    const p = parts({ backing });
    // A blind sign-out another tab stored (its clock later than this tab's: the clock was set back since).
    const blindSignOut = {
      ...record(VERSION_EPOCH, 0),
      tokens: null,
      signedOutReason: 'user' as const,
      since: VERSION_EPOCH,
      began: 50,
      beganWall: 9e12,
      blind: true as const,
    };
    backing.set('tabauth:ns:state', blindSignOut);
    const { record: signedIn } = await p.shared.claimAbove((version) => record(version, 0), true);
    expect(signedIn).toMatchObject({ version: VERSION_EPOCH + 1, since: VERSION_EPOCH + 1, sawSince: VERSION_EPOCH, sawBegan: 50 });
    expect(outranks(signedIn, blindSignOut)).toBe(true);
    expect(outranks(blindSignOut, signedIn)).toBe(false);

    // A tab that held a session names that one (the user's click replaced what the tab showed), above a stored session
    // that is not blind (which it outranks by where it began).
    const q = parts({ backing });
    q.state.adopt({ ...signedIn }, 'storage');
    const { blind: _blind, ...notBlind } = blindSignOut;
    backing.set('tabauth:ns:state', { ...notBlind, version: VERSION_EPOCH + 5, since: VERSION_EPOCH + 5 });
    const { record: signedOut } = await q.shared.claimAbove((version) => ({ ...record(version, 0), tokens: null, signedOutReason: 'user' }), true);
    expect(signedOut).toMatchObject({ sawSince: VERSION_EPOCH + 1, sawBegan: signedIn.began });

    // A tab holding a session that is not blind names a blind stored session it is written above (chaos seed 50893).
    const r = parts({ backing });
    r.state.adopt({ ...record(1, 0), since: 1, began: 1, beganWall: 1 }, 'storage');
    backing.set('tabauth:ns:state', blindSignOut);
    const { record: again } = await r.shared.claimAbove((version) => record(version, 0), true);
    expect(again).toMatchObject({ sawSince: VERSION_EPOCH, sawBegan: 50 });
    expect(outranks(again, blindSignOut)).toBe(true);
  });

  it('a failed write is retried with backoff until storage holds the record, and holds the marker meanwhile', async () => {
    const p = parts();
    let fail = true;
    const real = p.storage;
    p.shared.replaceStorage({
      ...real,
      kind: real.kind,
      get: real.get,
      delete: real.delete,
      update: (key, updater) => (fail ? Promise.reject(new Error('quota')) : real.update(key, updater)),
    });
    const holds: string[] = [];
    p.shared.useMarker({ hold: async () => (holds.push('held'), () => holds.push('released')), anyHeld: async () => holds.length % 2 === 1 });
    p.shared.setActive(true);
    p.state.adopt(record(2, 0), 'this-tab');
    await p.shared.persistCurrent();
    await p.shared.markerHeld();
    expect(p.shared.pendingWrite).toBe(true);
    fail = false;
    await p.clock.advance(1_000); // the first retry
    await p.clock.settle();
    expect(p.shared.pendingWrite).toBe(false);
    expect((await p.shared.read()).state?.version).toBe(2);
    expect(holds).toEqual(['held', 'released']);
  });

  it('the marker goes once storage holds this version or newer, whichever write got it there; an unmount only pauses the retries', async () => {
    const p = parts();
    let fail = true;
    const real = p.storage;
    p.shared.replaceStorage({
      ...real,
      kind: real.kind,
      get: real.get,
      delete: real.delete,
      update: (key, updater) => (fail ? Promise.reject(new Error('quota')) : real.update(key, updater)),
    });
    const holds: string[] = [];
    p.shared.useMarker({ hold: async () => (holds.push('held'), () => holds.push('released')), anyHeld: async () => holds.length % 2 === 1 });
    p.shared.setActive(true);
    p.state.adopt(record(2, 0), 'this-tab');
    await p.shared.persistCurrent();
    await p.shared.markerHeld();
    p.shared.setActive(false); // unmounted: no retries meanwhile
    fail = false;
    await p.clock.advance(60_000);
    expect(p.shared.pendingWrite).toBe(true);
    // A newer pair this tab stores itself (a refresh's compare-and-set) is storage catching up too.
    p.state.adopt(record(3, 0), 'this-tab');
    await p.shared.compareAndSet(2, record(3, 0));
    await p.clock.settle();
    expect(p.shared.pendingWrite).toBe(false);
    expect(holds).toEqual(['held', 'released']);

    // Mounted again with a write still pending: the retries resume.
    fail = true;
    p.shared.setActive(true);
    p.state.adopt(record(4, 0), 'this-tab');
    await p.shared.persistCurrent();
    await p.shared.markerHeld();
    p.shared.setActive(false);
    fail = false;
    p.shared.setActive(true);
    await p.clock.advance(30_000); // the longest backoff
    await p.clock.settle();
    expect(p.shared.pendingWrite).toBe(false);
    expect(holds).toEqual(['held', 'released', 'held', 'released']);
  });

  it('reload adopts a newer stored record and repairs storage that is behind', async () => {
    const backing = new Map<string, unknown>();
    const p = parts({ backing });
    p.shared.setActive(true);
    backing.set('tabauth:ns:state', record(3, 0));
    await p.shared.reload();
    expect(p.state.version).toBe(3);
    p.state.adopt(record(5, 0), 'channel');
    await p.shared.reload();
    await p.clock.settle();
    expect((backing.get('tabauth:ns:state') as { version: number }).version).toBe(5);
  });
});
