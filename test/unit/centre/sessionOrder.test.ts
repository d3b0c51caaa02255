import { describe, expect, it } from 'vitest';
import { CorruptedStateError } from '../../../src/core';
import { parseTabMessage, PROTOCOL } from '../../../src/core/coordination/tabMessages';
import { outranks } from '../../../src/core/sessionOrder';
import { VERSION_EPOCH } from '../../../src/core/sharedRecord';
import { isStoredAuthState, validateStoredState } from '../../../src/core/storedRecord';
import type { StoredAuthState } from '../../../src/core/types';
import { parts, record } from './parts';

const KEY = 'tabauth:ns:state';
const at = (version: number, session: Partial<StoredAuthState>): StoredAuthState => ({ ...record(version, 0), ...session });

describe('the session fields of the stored record (Fix #9.15)', () => {
  it('a record without them (written before they existed) is valid, and so are consistent ones', () => {
    expect(isStoredAuthState(record(3, 0))).toBe(true);
    expect(isStoredAuthState(at(3, { since: 1 }))).toBe(true);
    expect(isStoredAuthState(at(VERSION_EPOCH + 2, { since: VERSION_EPOCH + 1, over: 1 }))).toBe(true);
    expect(isStoredAuthState(at(VERSION_EPOCH + 3, { since: 2, movedFrom: 4 }))).toBe(true);
    expect(isStoredAuthState(at(VERSION_EPOCH + 2, { since: VERSION_EPOCH + 1, over: 1, began: 1_764_720_000_000 }))).toBe(true);
    expect(isStoredAuthState(at(VERSION_EPOCH, { since: VERSION_EPOCH, began: 5, beganWall: 7, blind: true }))).toBe(true);
    expect(isStoredAuthState(at(VERSION_EPOCH + 2, { since: VERSION_EPOCH + 2, began: 9, sawSince: VERSION_EPOCH, sawBegan: 5 }))).toBe(true);
  });

  it.each<[string, Partial<StoredAuthState> | Record<string, unknown>]>([
    ['since above the version', { since: 4 }],
    ['over not below since', { since: 2, over: 2 }],
    ['over without since', { over: 1 }],
    ['movedFrom without since', { movedFrom: 1 }],
    ['movedFrom not below the version', { since: 1, movedFrom: 3 }],
    ['movedFrom below since', { since: 2, movedFrom: 1 }],
    ['since past MAX_VERSION', { since: 2 ** 53 }],
    ['since a string', { since: '1' }],
    ['over negative', { since: 2, over: -1 }],
    ['since NaN', { since: Number.NaN }],
    ['began negative', { since: 2, began: -1 }],
    ['began not a number', { since: 2, began: '2026-12-03' }],
    ['began without since', { began: 5 }],
    ['beganWall negative', { since: 2, beganWall: -1 }],
    ['beganWall without since', { beganWall: 5 }],
    ['blind not true', { since: 2, blind: false }],
    ['blind with over', { since: 2, over: 1, blind: true }],
    ['blind without since', { blind: true }],
    ['sawSince without sawBegan', { since: 2, sawSince: 1 }],
    ['sawBegan without sawSince', { since: 2, sawBegan: 1 }],
    ['sawSince not below since', { since: 2, sawSince: 2, sawBegan: 1 }],
    ['sawSince without since', { sawSince: 1, sawBegan: 1 }],
    ['sawBegan negative', { since: 2, sawSince: 1, sawBegan: -1 }],
  ])('a forged or corrupted record is rejected as corrupted: %s', (_, fields) => {
    const forged = { ...record(3, 0), ...fields };
    expect(isStoredAuthState(forged)).toBe(false);
    expect(() => validateStoredState(forged)).toThrow(CorruptedStateError);
  });

  it('a state message with a forged session field is dropped, never adopted', () => {
    const message = (state: unknown) => ({ protocol: PROTOCOL, namespace: 'ns', from: 'x', type: 'state', state, ageMs: 0 });
    expect(parseTabMessage(message(at(3, { since: 2 ** 53 - 1 })), 'ns')).toEqual({ dropped: 'version-out-of-range' });
    expect(parseTabMessage(message(at(3, { since: 1, over: 2 ** 60 })), 'ns')).toEqual({ dropped: 'version-out-of-range' });
    expect(parseTabMessage(message(at(3, { since: 9 })), 'ns')).toEqual({ dropped: 'malformed' });
    expect(parseTabMessage(message(at(3, { since: 1 })), 'ns')).toMatchObject({ type: 'state' });
  });
});

describe('outranks: which session began later, whatever the versions', () => {
  const epoch = at(VERSION_EPOCH + 3, { since: VERSION_EPOCH + 3, over: 3 }); // an unwritten action that saw version 3
  it('a written action is later than an epoch claim that did not see it, earlier than one that did', () => {
    expect(outranks(at(4, { since: 4 }), epoch)).toBe(true);
    expect(outranks(epoch, at(4, { since: 4 }))).toBe(false);
    expect(outranks(epoch, at(3, { since: 3 }))).toBe(true);
    expect(outranks(at(3, { since: 3 }), epoch)).toBe(false);
  });

  it('two epoch claims that saw the same version are concurrent: versions decide', () => {
    const other = at(VERSION_EPOCH + 4, { since: VERSION_EPOCH + 4, over: 3 });
    expect(outranks(other, epoch)).toBe(false);
    expect(outranks(epoch, other)).toBe(false);
  });

  it('two epoch claims that saw the same version, each with the moment of its action: the later action wins (seed 4601)', () => {
    const signIn = at(VERSION_EPOCH + 1, { since: VERSION_EPOCH + 1, over: 1, began: 87_262 });
    const signOut = at(VERSION_EPOCH + 1, { since: VERSION_EPOCH + 1, over: 1, began: 93_224 });
    expect(outranks(signOut, signIn)).toBe(true);
    expect(outranks(signIn, signOut)).toBe(false);
    // A refresh of the sign-in's session carries its fields on: still the same session, still the earlier action.
    expect(outranks(signOut, { ...signIn, version: VERSION_EPOCH + 9 })).toBe(true);
    expect(outranks({ ...signIn, version: VERSION_EPOCH + 9 }, signIn)).toBe(true); // newer content, same session
  });

  it('two sessions with the same since but different moments are different sessions (seed 7212)', () => {
    const first = at(3, { since: 1, began: 20 });
    const second = at(1, { since: 1, began: 172_337 });
    expect(outranks(second, first)).toBe(true);
    expect(outranks(first, second)).toBe(false);
  });

  it('a blind action (it knew of no session) is ordered by both clocks where they agree; where they disagree a sign-out wins, else versions decide (seeds 4073, 4837)', () => {
    const signIn = at(VERSION_EPOCH + 2, { since: VERSION_EPOCH + 2, over: 1, began: 166_123, beganWall: 166_200 });
    const blindAction = at(VERSION_EPOCH, { since: VERSION_EPOCH, began: 335_981, beganWall: 336_000, blind: true });
    expect(outranks(blindAction, signIn)).toBe(true);
    expect(outranks(signIn, blindAction)).toBe(false);
    // The session's refreshes carry its fields on: the blind action still wins over them.
    expect(outranks(blindAction, { ...signIn, version: VERSION_EPOCH + 7 })).toBe(true);
    // Made earlier by both clocks: the other session wins.
    const earlier = { ...blindAction, began: 100_000, beganWall: 100_010 };
    expect(outranks(signIn, earlier)).toBe(true);
    expect(outranks(earlier, signIn)).toBe(false);
    // The clocks disagree (one was set between the two actions), two sign-ins: neither outranks, versions decide.
    const disputed = { ...blindAction, beganWall: 100_000 };
    expect(outranks(disputed, signIn)).toBe(false);
    expect(outranks(signIn, disputed)).toBe(false);
    // The clocks disagree and one of the two is a user's sign-out: the sign-out wins, blind or not.
    const disputedSignOut = { ...blindAction, tokens: null, signedOutReason: 'user' as const, beganWall: 100_000 };
    expect(outranks(disputedSignOut, signIn)).toBe(true);
    expect(outranks(signIn, disputedSignOut)).toBe(false);
    const blindSignIn = { ...blindAction, beganWall: 100_000 };
    const signOut = { ...signIn, tokens: null, signedOutReason: 'user' as const };
    expect(outranks(signOut, blindSignIn)).toBe(true);
    expect(outranks(blindSignIn, signOut)).toBe(false);
    // A session without the wall-clock moment (written by an earlier version): versions decide.
    const { beganWall: _omitted, ...older } = signIn;
    expect(outranks(blindAction, older)).toBe(false);
  });

  it('a session begun in a tab that held another one is later than it, whatever the clocks say (seeds 14889, 10823)', () => {
    // A blind sign-out, then the clock set back 10 min, then a sign-in in the tab holding that sign-out: by the page
    // clock later, by the wall clock earlier. Without the link the sign-out won (a sign-out wins where they disagree).
    const signOut = {
      ...at(VERSION_EPOCH, { since: VERSION_EPOCH, began: 198_988, beganWall: 198_988, blind: true as const }),
      tokens: null,
      signedOutReason: 'user' as const,
    };
    const signIn = at(VERSION_EPOCH + 2, {
      since: VERSION_EPOCH + 2,
      began: 220_460,
      beganWall: 220_460 - 600_000,
      sawSince: VERSION_EPOCH,
      sawBegan: 198_988,
    });
    expect(outranks(signIn, signOut)).toBe(true);
    expect(outranks(signOut, signIn)).toBe(false);
    // Its refreshes carry the link on.
    expect(outranks({ ...signIn, version: VERSION_EPOCH + 9 }, signOut)).toBe(true);
    // A link to another session of the same since (another moment) is no link: the clocks decide as before.
    const other = { ...signIn, sawBegan: 1 };
    expect(outranks(signOut, other)).toBe(true);
  });

  it('within one session newer content outranks an older one moved to a higher version; records without since never outrank', () => {
    const copy = at(VERSION_EPOCH + 4, { since: 4, movedFrom: 4 });
    expect(outranks(at(5, { since: 4 }), copy)).toBe(true);
    expect(outranks(copy, at(5, { since: 4 }))).toBe(false);
    expect(outranks(at(4, { since: 4 }), copy)).toBe(false); // the same content
    expect(outranks(record(9, 0), epoch)).toBe(false);
    expect(outranks(epoch, record(9, 0))).toBe(false);
  });
});

describe('compareAndSet applies the session order', () => {
  it('a user action over a corrupted record in a tab that knew of no session is marked blind; one in a tab holding a session is not', async () => {
    const signOut = (version: number): StoredAuthState => ({ schema: 1, version, tokens: null, signedOutReason: 'user', updatedAt: 0 });
    const blind = parts({ backing: new Map<string, unknown>([[KEY, 'garbage']]) });
    const { record: made } = await blind.shared.claimAbove(signOut, true);
    expect(made).toMatchObject({ version: VERSION_EPOCH, since: VERSION_EPOCH, blind: true });
    expect(typeof made.beganWall).toBe('number');
    const holding = parts({ backing: new Map<string, unknown>([[KEY, 'garbage']]) });
    holding.state.adopt(at(3, { since: 1 }), 'channel', 0);
    const { record: known } = await holding.shared.claimAbove(signOut, true);
    expect(known.blind).toBeUndefined();
    expect(known.since).toBe(known.version);
    // It names the session it replaces only when that one says when it began.
    expect(known.sawSince).toBeUndefined();
    const linked = parts({ backing: new Map<string, unknown>([[KEY, 'garbage']]) });
    linked.state.adopt(at(3, { since: 1, began: 42 }), 'channel', 0);
    const { record: after } = await linked.shared.claimAbove(signOut, true);
    expect(after).toMatchObject({ sawSince: 1, sawBegan: 42 });
    expect(isStoredAuthState(after)).toBe(true);
  });

  it('a sign-out whose write runs after storage took a sign-in the user made later keeps that sign-in (seed 16108)', async () => {
    const backing = new Map<string, unknown>();
    let delayed = false;
    const p = parts({
      backing,
      wrapStorage: (storage, clock) => ({
        ...storage,
        update: async (key, updater) => {
          if (delayed) await new Promise<void>((resolve) => clock.setTimeout(resolve, 9_000)); // behind a slow transaction
          return storage.update(key, updater);
        },
      }),
    });
    p.state.adopt(at(3, { since: 1, began: 1, beganWall: 1 }), 'channel', 0);
    delayed = true;
    const signedOut = p.signing.signOut('user');
    // Another tab's sign-in, clicked 3 s after this sign-out, lands first.
    await p.clock.advance(3_000);
    const later = at(4, { since: 4, began: p.clock.now(), beganWall: p.clock.now() });
    backing.set(KEY, later);
    await p.clock.advance(6_000);
    await signedOut;
    expect(backing.get(KEY)).toEqual(later);
    expect(p.state.record).toEqual(later);
    expect(p.events.filter((event) => event.type === 'signed-out')).toHaveLength(0);
    // A sign-in stored before the click is no later action: the sign-out is written above it as before.
    const again = p.signing.signOut('user');
    await p.clock.advance(9_000);
    await again;
    expect(backing.get(KEY)).toMatchObject({ version: 5, tokens: null, signedOutReason: 'user' });
  });

  it("an epoch record meeting a later session in storage keeps it, moved above the epoch's version", async () => {
    const backing = new Map<string, unknown>([[KEY, at(4, { since: 4 })]]);
    const p = parts({ backing });
    const result = await p.shared.compareAndSet(VERSION_EPOCH + 2, at(VERSION_EPOCH + 3, { since: VERSION_EPOCH + 3, over: 3 }));
    expect(result).toMatchObject({ written: false, current: { version: VERSION_EPOCH + 4, since: 4, movedFrom: 4 } });
    expect(backing.get(KEY)).toEqual((result as { current: unknown }).current);
  });

  it('a rotation meeting a copy of its base stores itself above the copy (never loses to the spent refresh token)', async () => {
    const copy = at(VERSION_EPOCH + 4, { since: 4, movedFrom: 4 });
    const backing = new Map<string, unknown>([[KEY, copy]]);
    const p = parts({ backing });
    const rotation = at(5, { since: 4 });
    const result = await p.shared.compareAndSet(4, rotation);
    expect(result).toMatchObject({ written: true, state: { version: VERSION_EPOCH + 5, since: 4, movedFrom: 5, tokens: rotation.tokens } });
  });

  it('an unwritten sign-in records what storage held; a later sign-in of another tab wins over it', async () => {
    const backing = new Map<string, unknown>([[KEY, at(3, { since: 1 })]]);
    const failing = parts({ backing });
    const real = failing.storage;
    let fail = true;
    failing.shared.replaceStorage({
      ...real,
      kind: real.kind,
      get: real.get,
      delete: real.delete,
      update: (k, u) => (fail ? Promise.reject(new Error('quota')) : real.update(k, u)),
    });
    failing.shared.setActive(true);
    const { record: claimed } = await failing.shared.claimAbove((version) => record(version, 0), true);
    expect(claimed).toMatchObject({ version: 3 + VERSION_EPOCH, since: 3 + VERSION_EPOCH, over: 3 });
    failing.state.adopt(claimed, 'this-tab');

    const later = parts({ backing });
    const { record: written } = await later.shared.claimAbove((version) => record(version, 0), true);
    expect(written).toMatchObject({ version: 4, since: 4 });
    expect(written.over).toBeUndefined();

    fail = false;
    await failing.shared.persistCurrent();
    expect(backing.get(KEY)).toMatchObject({ version: VERSION_EPOCH + 4, since: 4, movedFrom: 4 });
    expect(failing.state.record).toEqual(backing.get(KEY));
  });
});
