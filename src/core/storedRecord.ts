import { CorruptedStateError } from './errors';
import { isNonEmptyString } from './tokenResponse';
import type { SignOutReason, StoredAuthState, TokenSet } from './types';

/** The stored record's shape: checked on every read from storage and on every state arriving over the channel. */

/**
 * The highest version a record may carry: 2^50. Versions move by one per refresh or sign-in (and by VERSION_EPOCH
 * when a sign-in or sign-out could not reserve its version in storage), so this is out of reach of any real
 * session; a larger one is a forged message or a corrupted record. Near 2^53, `v + 1 === v` and a tab would stay
 * stuck below it for good, so such records are rejected as corrupted, never adopted.
 */
export const MAX_VERSION = 2 ** 50;

/** True for a version a record may carry: a non-negative integer not above MAX_VERSION. */
export function isValidVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_VERSION;
}

const SIGN_OUT_REASONS: ReadonlySet<string> = new Set<SignOutReason>(['user', 'refresh-rejected', 'no-refresh-token']);

function isTokenSet(value: unknown): value is TokenSet {
  if (value === null || typeof value !== 'object') return false;
  const t = value as Record<string, unknown>;
  const nullableString = (v: unknown) => v === null || isNonEmptyString(v);
  const nullableNumber = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
  return (
    isNonEmptyString(t.accessToken) &&
    nullableString(t.refreshToken) &&
    nullableString(t.idToken) &&
    isNonEmptyString(t.tokenType) &&
    nullableString(t.scope) &&
    nullableNumber(t.expiresAt) &&
    typeof t.receivedAt === 'number' &&
    Number.isFinite(t.receivedAt) &&
    (t.pageReceivedAt === undefined || (typeof t.pageReceivedAt === 'number' && Number.isFinite(t.pageReceivedAt))) &&
    (t.serverVersion === null || typeof t.serverVersion === 'string' || typeof t.serverVersion === 'number')
  );
}

/**
 * The optional session fields (see sessionOrder.ts): each a valid version, and in the order they are made in
 * (`over` < `since` <= `movedFrom` < `version`, `sawSince` < `since`), `began`, `beganWall` and `sawBegan` times,
 * `sawSince` and `sawBegan` together, `blind` only true and never with `over`. A record without them (written before
 * they existed) is valid.
 */
function hasValidSessionFields(s: Record<string, unknown>): boolean {
  const { since, over, movedFrom, version, began, beganWall, blind, sawSince, sawBegan } = s;
  const optional = (v: unknown) => v === undefined || isValidVersion(v);
  const time = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (!optional(since) || !optional(over) || !optional(movedFrom) || !time(began) || !time(beganWall)) return false;
  if (!optional(sawSince) || !time(sawBegan) || (sawSince === undefined) !== (sawBegan === undefined)) return false;
  if (blind !== undefined && (blind !== true || over !== undefined)) return false;
  if (since === undefined) return [over, movedFrom, began, beganWall, blind, sawSince].every((field) => field === undefined);
  const at = since as number;
  return (
    at <= (version as number) &&
    (sawSince === undefined || (sawSince as number) < at) &&
    (over === undefined || (over as number) < at) &&
    (movedFrom === undefined || (at <= (movedFrom as number) && (movedFrom as number) < (version as number)))
  );
}

/** Structural check of a stored record (also used for records arriving over the channel). */
export function isStoredAuthState(value: unknown): value is StoredAuthState {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<string, unknown>;
  if (s.schema !== 1) return false;
  if (!isValidVersion(s.version)) return false;
  if (typeof s.updatedAt !== 'number' || !Number.isFinite(s.updatedAt)) return false;
  if (!hasValidSessionFields(s)) return false;
  if (s.tokens === null) {
    return s.signedOutReason === null || (typeof s.signedOutReason === 'string' && SIGN_OUT_REASONS.has(s.signedOutReason));
  }
  return isTokenSet(s.tokens) && s.signedOutReason === null;
}

/** Returns the record, or null for "nothing stored"; throws CorruptedStateError for anything else. */
export function validateStoredState(value: unknown): StoredAuthState | null {
  if (value === undefined || value === null) return null;
  if (!isStoredAuthState(value)) throw new CorruptedStateError('Stored auth state is not a valid tabauth record; ignoring it');
  return value;
}
