import { isStoredAuthState } from '../tokenState';
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
}

/** A follower needs a pair newer than `version`; the leader refreshes once for any number of these. */
export interface RefreshRequestMessage extends Envelope {
  type: 'refresh-request';
  version: number;
}

/** The leader could not refresh `version` (after its retries); waiting followers stop waiting and surface the error. */
export interface RefreshFailedMessage extends Envelope {
  type: 'refresh-failed';
  version: number;
  errorCode: string;
}

/** A newly started leader asks every tab for the newest version they hold (cheap catch-up; storage stays the truth). */
export interface LeaderHelloMessage extends Envelope {
  type: 'leader-hello';
}

export type TabMessage = StateMessage | RefreshRequestMessage | RefreshFailedMessage | LeaderHelloMessage;

/** A message before the envelope fields are added. */
export type TabMessageBody = TabMessage extends infer M ? (M extends TabMessage ? Omit<M, keyof Envelope> : never) : never;

/**
 * Why a message on the tab channel was dropped (`message-dropped` event, `tab_messages_dropped{reason}`): not one of
 * tabauth's ('foreign'), one of its messages with a bad field ('malformed'), larger than 256 KiB ('oversized'), or
 * for another client namespace ('other-namespace').
 */
export type DropReason = 'foreign' | 'malformed' | 'oversized' | 'other-namespace';

/** Messages carry at most one token pair; anything this big is not ours. */
const MAX_MESSAGE_CHARS = 256 * 1024;

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
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
      return isStoredAuthState(message.state) ? (message as unknown as StateMessage) : { dropped: 'malformed' };
    case 'refresh-request':
      return isVersion(message.version) ? (message as unknown as RefreshRequestMessage) : { dropped: 'malformed' };
    case 'refresh-failed':
      return isVersion(message.version) && typeof message.errorCode === 'string' && message.errorCode.length <= 100
        ? (message as unknown as RefreshFailedMessage)
        : { dropped: 'malformed' };
    case 'leader-hello':
      return message as unknown as LeaderHelloMessage;
    default:
      return { dropped: 'malformed' };
  }
}

export function isDropped(result: TabMessage | { dropped: DropReason }): result is { dropped: DropReason } {
  return 'dropped' in result;
}
