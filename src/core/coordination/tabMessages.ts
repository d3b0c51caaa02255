import { isWireError, type WireError } from '../errors';
import { isStoredAuthState, isValidVersion, MAX_VERSION } from '../storedRecord';
import type { StoredAuthState } from '../types';

/**
 * The tab-to-tab protocol. Every incoming message is validated; anything malformed, oversized, foreign (another
 * namespace or library) or from a future protocol version is dropped and counted, never thrown.
 */
export const PROTOCOL = 'tabauth/1';

interface Envelope {
  protocol: typeof PROTOCOL;
  namespace: string;
  /** Id of the sending tab. */
  from: string;
}

/** A new state (refreshed pair, sign-in or sign-out): receivers adopt it if its version is newer than theirs. */
export interface StateMessage extends Envelope {
  type: 'state';
  state: StoredAuthState;
  /** The sender could not write this state to storage: receivers write it (compare-and-set, strictly newer). */
  unpersisted?: boolean;
  /**
   * The sender's write of this state has not landed yet (a refreshed pair is announced before it is written):
   * receivers write it too, best effort, so that it survives the sender dying before its write.
   */
  storing?: boolean;
  /**
   * With `storing`: the sender marked its rotation in storage before it sent the refresh token, so a lock holder that
   * finds the mark unsettled waits for the receivers, and they check storage a little later instead of writing at once
   * (SharedRecord.received).
   */
  rotationMarked?: boolean;
  /**
   * How old the pair was when sent, on the sender's monotonic clock (a duration, so it means the same in every tab
   * whatever their wall clocks say). 0 for a pair the sender just received.
   */
  ageMs?: number;
  /** The leader's answer to a refresh request for this very pair, which it measures as fresh (see `rejected`). */
  confirms?: boolean;
}

/** A follower needs a pair newer than `version`; the leader refreshes once for any number of these. */
export interface RefreshRequestMessage extends Envelope {
  type: 'refresh-request';
  version: number;
  /**
   * The app reported that the server rejected `version` (a 401, `refresh({ rejectedVersion })`). Without it the
   * follower only thinks the pair is due, by its own estimate of the pair's age, and a leader that measures the pair
   * as fresh answers with it (and its age) instead of refreshing.
   */
  rejected?: boolean;
}

/** The leader could not refresh `version` (after its retries); waiting followers stop waiting and surface the error. */
export interface RefreshFailedMessage extends Envelope {
  type: 'refresh-failed';
  version: number;
  errorCode: string;
  /** The error as the refreshing tab saw it (class, kind, status, OAuth code), so followers rethrow the same. */
  error?: WireError;
}

/**
 * The leader took a follower's request and is working on it (a refresh in flight or waiting out a backoff): the
 * follower keeps waiting instead of rescuing. A frozen leader sends nothing, and then the follower rescues.
 */
export interface RefreshPendingMessage extends Envelope {
  type: 'refresh-pending';
  version: number;
}

/**
 * Asks every tab for the newest record it holds (cheap catch-up; storage stays the truth): sent by a newly elected
 * leader, and by a new tab whose storage read found nothing (before it renders signed-out).
 */
export interface LeaderHelloMessage extends Envelope {
  type: 'leader-hello';
}

/**
 * A tab took `version` from storage and only has the writer's wall clock for its age: the tab that made that version
 * (so it measured its age), leader or not, answers with it (`state` with `confirms: true`). Never a refresh.
 */
export interface AgeQueryMessage extends Envelope {
  type: 'age-query';
  version: number;
}

export type TabMessage = StateMessage | RefreshRequestMessage | RefreshPendingMessage | RefreshFailedMessage | LeaderHelloMessage | AgeQueryMessage;

/** A message before the envelope fields are added. */
export type TabMessageBody = TabMessage extends infer M ? (M extends TabMessage ? Omit<M, keyof Envelope> : never) : never;

/** Why an incoming tab message was dropped (counted in `tab_messages_dropped`, never thrown). */
export type DropReason = 'foreign' | 'malformed' | 'oversized' | 'other-namespace' | 'version-out-of-range';

/** Messages carry at most one token pair; anything this big is not ours. */
const MAX_MESSAGE_CHARS = 256 * 1024;

const isVersion = isValidVersion;

function isAge(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Number.isFinite(value) && value >= 0);
}

/** Returns the message when valid, otherwise the reason it must be dropped. */
export function parseTabMessage(raw: unknown, namespace: string): TabMessage | { dropped: DropReason } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { dropped: 'foreign' };
  const message = raw as Record<string, unknown>;
  if (message.protocol !== PROTOCOL) return { dropped: 'foreign' };
  let size: number;
  try {
    size = JSON.stringify(raw).length;
  } catch {
    return { dropped: 'malformed' };
  }
  if (size > MAX_MESSAGE_CHARS) return { dropped: 'oversized' };
  if (typeof message.namespace !== 'string') return { dropped: 'malformed' };
  if (message.namespace !== namespace) return { dropped: 'other-namespace' };
  if (typeof message.from !== 'string' || message.from.length === 0 || message.from.length > 200) return { dropped: 'malformed' };
  switch (message.type) {
    case 'state':
      if (!isStoredAuthState(message.state)) return { dropped: hasForgedVersion(message.state) ? 'version-out-of-range' : 'malformed' };
      return isAge(message.ageMs) && (message.confirms === undefined || typeof message.confirms === 'boolean')
        ? (message as unknown as StateMessage)
        : { dropped: 'malformed' };
    case 'refresh-request':
      if (hasForgedVersion(message)) return { dropped: 'version-out-of-range' };
      return isVersion(message.version) && (message.rejected === undefined || typeof message.rejected === 'boolean')
        ? (message as unknown as RefreshRequestMessage)
        : { dropped: 'malformed' };
    case 'refresh-pending':
      return isVersion(message.version) ? (message as unknown as RefreshPendingMessage) : { dropped: 'malformed' };
    case 'age-query':
      if (hasForgedVersion(message)) return { dropped: 'version-out-of-range' };
      return isVersion(message.version) ? (message as unknown as AgeQueryMessage) : { dropped: 'malformed' };
    case 'refresh-failed':
      return isVersion(message.version) &&
        typeof message.errorCode === 'string' &&
        message.errorCode.length <= 100 &&
        (message.error === undefined || isWireError(message.error))
        ? (message as unknown as RefreshFailedMessage)
        : { dropped: 'malformed' };
    case 'leader-hello':
      return message as unknown as LeaderHelloMessage;
    default:
      return { dropped: 'malformed' };
  }
}

/** A number where a version goes (a record's session fields too), but beyond MAX_VERSION: forged or corrupted. */
function hasForgedVersion(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const { version, since, over, movedFrom } = value as Record<string, unknown>;
  return [version, since, over, movedFrom].some((v) => typeof v === 'number' && !Number.isNaN(v) && v > MAX_VERSION);
}

export function isDropped(result: TabMessage | { dropped: DropReason }): result is { dropped: DropReason } {
  return 'dropped' in result;
}
