import { describe, expect, it } from 'vitest';
import { TabState, type Transition } from '../../../src/core/tabState';
import type { StoredAuthState } from '../../../src/core/types';
import { record } from './parts';

describe('TabState (the one owner of a tab state)', () => {
  it('adopts only newer versions, tells subscribers in order, and keeps one snapshot object per change', () => {
    const state = new TabState('persistent');
    const seen: string[] = [];
    state.onTransition((t: Transition) => seen.push(`first:${t.record.version}:${t.source}`));
    state.onTransition((t: Transition) => seen.push(`second:${t.record.version}`));
    state.onTransition(() => state.syncSnapshot());
    const before = state.getSnapshot();
    expect(state.adopt(record(2, 0), 'channel')).not.toBeNull();
    expect(state.adopt(record(1, 0), 'storage')).toBeNull(); // older
    expect(state.adopt(record(2, 0), 'channel')).toBeNull(); // the same record again
    expect(seen).toEqual(['first:2:channel', 'second:2']);
    const after = state.getSnapshot();
    expect(after).not.toBe(before);
    expect(after).toMatchObject({ status: 'authenticated', version: 2 });
    state.syncSnapshot();
    expect(state.getSnapshot()).toBe(after); // nothing observable changed
  });

  it('at an equal version with other content, only storage wins; the channel side reports a conflict', () => {
    const state = new TabState('persistent');
    state.adopt(record(3, 0), 'this-tab');
    const other = { ...record(3, 0), updatedAt: 99 };
    expect(state.conflictsWith(other)).toBe(true);
    expect(state.adopt(other, 'channel')).toBeNull();
    expect(state.adopt(other, 'storage')).not.toBeNull();
    expect(state.record).toBe(other);
  });

  it('an older version of a session begun later (a blind sign-in) is a conflict for storage to settle, not an old record (chaos seed 30762)', () => {
    const state = new TabState('persistent');
    // A user's sign-out that claimed an epoch over version 3, and a sign-in made later in a tab that knew of no session.
    const signOut: StoredAuthState = {
      ...record(1048579, 1_000),
      tokens: null,
      signedOutReason: 'user',
      since: 1048579,
      over: 3,
      began: 1_000,
      beganWall: 1_000,
    };
    const signIn: StoredAuthState = { ...record(1048576, 2_000), since: 1048576, began: 2_000, beganWall: 2_000, blind: true };
    state.adopt(signOut, 'this-tab');
    expect(state.adopt(signIn, 'channel')).toBeNull(); // versions only move forward in a tab
    expect(state.conflictsWith(signIn)).toBe(true);
    expect(state.conflictsWith({ ...signIn, began: 500, beganWall: 500 })).toBe(false); // began before: merely old
    expect(state.conflictsWith(record(2, 0))).toBe(false);
  });

  it('reads leadership live from its source, and loading until markLoaded', async () => {
    const state = new TabState('memory');
    const election = { isLeader: false };
    state.setLeadership(election);
    expect(state.isLeader).toBe(false);
    election.isLeader = true;
    expect(state.isLeader).toBe(true);
    state.setLeadership(null);
    expect(state.isLeader).toBe(false);
    expect(state.getSnapshot().status).toBe('loading');
    state.markLoaded();
    await state.loaded;
    expect(state.getSnapshot()).toMatchObject({ status: 'signed-out', storage: 'memory' });
  });
});
