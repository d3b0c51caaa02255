import type { StoredAuthState } from './types';

/**
 * The order of sessions (issue #9, `user-action-lost`). A sign-in or sign-out whose write fails claims a version
 * epoch, so that it wins over every refresh that started before it; by version alone it would also win over a later
 * user action of a tab that never heard of it (every message lost), and every tab would end on the earlier account.
 * So a record says which user action began its session (`since`) and, for one that claimed an epoch, what storage
 * held at that moment (`over`): a session that began later wins whatever the versions say. The winner is then
 * stored again above the loser (`movedFrom`), since versions only ever move forward in every tab.
 */

/**
 * Where a session began, in stored versions: an action that was written, at its own version (storage held the one
 * below); one that claimed an epoch, just above the version storage held then. So a written action is later than an
 * epoch claim exactly when the claim's look at storage did not see it yet, and two epoch claims that saw the same
 * version are concurrent (neither outranks the other; versions decide, as before). Undefined for records without
 * `since` (written before it existed): they are ordered by version alone.
 */
function sessionStart(record: StoredAuthState): number | undefined {
  if (record.since === undefined) return undefined;
  return record.over === undefined ? record.since : record.over + 0.5;
}

/**
 * Two records of one session: the same `since` and, where both say it, the same `began`. Two epoch claims made by
 * tabs that held the same version and saw storage at the same version have the same `since` (chaos seed 4601: a
 * sign-in and, 6 s later, a sign-out in another tab, every message lost), and so has an action written over a
 * corrupted record (seed 7212): by `since` alone the later one counted as a copy of the earlier session.
 */
export function sameSession(a: StoredAuthState, b: StoredAuthState): boolean {
  return a.since !== undefined && a.since === b.since && a.began === b.began;
}

/** The version a record's content was made at: a moved copy keeps the one it had. */
export function contentVersion(record: StoredAuthState): number {
  return record.movedFrom ?? record.version;
}

/**
 * Whether `a` must win over `b` whatever their versions: it belongs to a session that began later, or it is newer
 * content of the same session (`b` is a copy of an older record of it, moved above an epoch claim: its refresh token
 * may be spent already, so the newer rotation must not lose to it).
 */
export function outranks(a: StoredAuthState, b: StoredAuthState): boolean {
  if (sameSession(a, b)) return contentVersion(a) > contentVersion(b);
  if (saw(a, b)) return true;
  if (saw(b, a)) return false;
  if (a.blind === true || b.blind === true) return blindOrder(a, b);
  const [startA, startB] = [sessionStart(a), sessionStart(b)];
  if (startA === undefined || startB === undefined) return false;
  // Sessions that began at the same point of storage's history never heard of each other: the later action by the
  // clock the tabs share wins (the user's last click), not whichever tab's record happens to be stored first. Only
  // here: elsewhere storage's order holds whatever the clocks say (a wall clock that jumped back an hour would
  // otherwise make every later action lose; chaos seed 23).
  if (startA === startB) return a.began !== undefined && b.began !== undefined && a.began > b.began;
  return startA > startB;
}

/**
 * Whether `a`'s session was begun by a user in a tab that held `b`'s session: `a` is the later one, whatever the
 * clocks say. A clock set back between two clicks made the clocks disagree, and a sign-in lost to the sign-out the
 * same tab had shown a moment before (found by the chaos runs, seed 14889: a blind sign-out, the clock set back
 * 10 min, a sign-in in the same tab; seed 10823: the sign-out came over the channel to the tab that signed in).
 */
function saw(a: StoredAuthState, b: StoredAuthState): boolean {
  return a.sawSince !== undefined && a.sawSince === b.since && a.sawBegan === b.began;
}

/**
 * For a blind action (made in a tab that read a corrupted record, or none, and knew of no session: its version is an
 * epoch above nothing, no point of storage's history): the later click wins when both clocks the sessions recorded
 * say so, the page clock (`began`) and the wall clock (`beganWall`). Tabs of one browser share the system clock, so
 * the two agree unless the clock was set between the two tabs' starts or between the two clicks. Where they disagree,
 * a user's sign-out wins over a signed-in session: of the two ways to get it wrong, a user signed in again after a
 * sign-out they clicked is the one to rule out (the other asks them to sign in once more). By version alone, a
 * sign-out made in such a tab, its messages lost, lost to the sign-in it was meant to end (chaos seeds 4073, 4837);
 * ordering blind actions by the page clock alone won as many seeds as it lost to clock jumps. Records without both
 * clocks (stored by earlier versions) are ordered by version, as before.
 */
function blindOrder(a: StoredAuthState, b: StoredAuthState): boolean {
  if (a.began === undefined || b.began === undefined || a.beganWall === undefined || b.beganWall === undefined) return false;
  const pageLater = a.began > b.began;
  if (pageLater === a.beganWall > b.beganWall) return pageLater;
  return a.tokens === null && a.signedOutReason === 'user' && b.tokens !== null;
}

/** `record`'s content stored again at `version` (above a record it outranks). */
export function movedTo(record: StoredAuthState, version: number): StoredAuthState {
  return { ...record, version, movedFrom: contentVersion(record) };
}

/** The session fields a record of the same session (a refresh, a sign-out the user did not ask for) carries on. */
export function sessionOf(record: StoredAuthState | null): Pick<StoredAuthState, 'since' | 'over' | 'began' | 'beganWall' | 'blind' | 'sawSince' | 'sawBegan'> {
  if (record?.since === undefined) return {};
  return {
    since: record.since,
    ...(record.over === undefined ? {} : { over: record.over }),
    ...(record.began === undefined ? {} : { began: record.began }),
    ...(record.beganWall === undefined ? {} : { beganWall: record.beganWall }),
    ...(record.blind === true ? { blind: true } : {}),
    ...(record.sawSince === undefined || record.sawBegan === undefined ? {} : { sawSince: record.sawSince, sawBegan: record.sawBegan }),
  };
}

/** The session a user's action replaces, as its record names it (see `saw`): the one the tab held at the click. */
export function sawOf(held: StoredAuthState | null): Pick<StoredAuthState, 'sawSince' | 'sawBegan'> {
  return held?.since === undefined || held.began === undefined ? {} : { sawSince: held.since, sawBegan: held.began };
}
