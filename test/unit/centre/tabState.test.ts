import { describe, expect, it } from 'vitest';
import { TabState, type Transition } from '../../../src/core/tabState';
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
