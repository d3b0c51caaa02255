import { type AuthEvent } from 'tabauth';
import type { DevtoolsTimelineEntry } from './protocol';

/**
 * The timeline: entries of every tab in one list, oldest first. Entries are built from core events (which carry
 * versions, reasons and error codes, never a token string), identified by (tabId, seq), and ordered by the time
 * they happened. Each tab stamps its entries with a clock that never goes back, so one tab's entries keep their own
 * order; entries of different tabs with the same time keep the order they arrived in.
 */

/** What an entry says besides its kind, as one short code (fits the protocol's `detail` field). */
function detailOf(event: AuthEvent): string | null {
  switch (event.type) {
    case 'refresh-started':
      return event.attempt > 1 ? `${event.trigger}:attempt-${event.attempt}` : event.trigger;
    case 'refresh-succeeded':
      return event.attempts > 1 ? `attempts-${event.attempts}` : null;
    case 'refresh-failed':
      return `${event.oauthError ?? event.errorCode}${event.willRetry ? ':retrying' : ''}`;
    case 'refresh-skipped':
      return event.reason;
    case 'signed-in':
    case 'state-adopted':
      return event.source;
    case 'signed-out':
      return event.reason ?? null;
    case 'storage-fallback':
    case 'revocation-failed':
      return event.errorCode;
    case 'token-response-repaired':
      return event.fields.join(',');
    case 'storage-error':
      return `${event.operation}:${event.errorCode}`;
    case 'message-dropped':
      return event.reason;
    case 'coordination-fallback':
      return event.reason;
    case 'leadership-gained':
    case 'leadership-lost':
    case 'coordination-worker':
      return null;
    // DPoP: which server or source, never the origin's nonce or anything of the key.
    case 'dpop-key-created':
      return event.reason;
    case 'dpop-key-adopted':
    case 'dpop-key-deleted':
      return event.source;
    case 'dpop-nonce-retry':
      return event.server;
    case 'dpop-nonce-updated':
      return `${event.server}:${event.source}`;
    case 'dpop-storage-fallback':
      return event.errorCode;
  }
}

function versionsOf(event: AuthEvent): { version: number | null; toVersion: number | null } {
  switch (event.type) {
    case 'refresh-succeeded':
      return { version: event.fromVersion, toVersion: event.version };
    case 'refresh-started':
    case 'refresh-failed':
    case 'refresh-skipped':
    case 'signed-in':
    case 'signed-out':
    case 'state-adopted':
      return { version: event.version, toVersion: null };
    default:
      return { version: null, toVersion: null };
  }
}

/** The entry for one core event. Only the fields listed here are copied: nothing else of the event travels. */
export function entryFromEvent(event: AuthEvent, tabId: string, seq: number, at: number): DevtoolsTimelineEntry {
  return { tabId, seq, at, kind: event.type, ...versionsOf(event), detail: asCode(detailOf(event)) };
}

/**
 * Server-supplied parts (an OAuth `error` value, already redacted by the core) may hold any character: keep the
 * protocol's code alphabet so every tab accepts the entry.
 */
export function asCode(detail: string | null): string | null {
  if (detail === null) return null;
  const code = detail.replace(/[^A-Za-z0-9_.:-]+/g, '_').slice(0, 64);
  return code === '' || code === '_' ? null : code;
}

const keyOf = (entry: DevtoolsTimelineEntry) => `${entry.tabId}\u0000${entry.seq}`;

/**
 * Adds entries to a timeline: duplicates (same tab and seq, e.g. a history replayed to a new tab) are ignored, the
 * result is ordered by time (stable), and only the newest `limit` entries are kept. Returns the same array when
 * nothing was added.
 */
export function mergeEntries(
  timeline: readonly DevtoolsTimelineEntry[],
  incoming: readonly DevtoolsTimelineEntry[],
  limit: number,
): readonly DevtoolsTimelineEntry[] {
  const seen = new Set(timeline.map(keyOf));
  const added: DevtoolsTimelineEntry[] = [];
  for (const entry of incoming) {
    const key = keyOf(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    added.push(entry);
  }
  if (added.length === 0) return timeline;
  const merged = [...timeline, ...added].sort((a, b) => a.at - b.at);
  return merged.length > limit ? merged.slice(merged.length - limit) : merged;
}

/**
 * One line of plain language for an entry. The tab it happened in is named by the caller; `nameOf` names the tab a
 * devtools command came from (default: the start of its id).
 */
export function describeEntry(entry: DevtoolsTimelineEntry, nameOf: (tabId: string) => string = (tabId) => `#${tabId.slice(0, 6)}`): string {
  const v = (version: number | null) => (version === null ? '' : ` v${version}`);
  const requester = entry.detail?.startsWith('from:') ? entry.detail.slice('from:'.length) : null;
  const because = requester
    ? ` (asked by ${nameOf(requester)})`
    : entry.detail === 'this-tab'
      ? ' (here)'
      : entry.detail
        ? ` (${entry.detail.replace(/[-_:]/g, ' ')})`
        : '';
  switch (entry.kind) {
    case 'refresh-started':
      return `refresh of${v(entry.version)} sent${because}`;
    case 'refresh-succeeded':
      return `refreshed${v(entry.version)} →${v(entry.toVersion)}${because}`;
    case 'refresh-failed':
      return `refresh of${v(entry.version)} failed${because}`;
    case 'refresh-skipped':
      return `no request for${v(entry.version)}${because}`;
    case 'leadership-gained':
      return 'became the leader';
    case 'leadership-lost':
      return 'stopped leading';
    case 'signed-in':
      return `signed in at${v(entry.version)}${because}`;
    case 'signed-out':
      return `signed out at${v(entry.version)}${because}`;
    case 'state-adopted':
      return `adopted${v(entry.version)}${entry.detail === 'channel' ? ' from another tab' : entry.detail === 'storage' ? ' from storage' : because}`;
    case 'storage-fallback':
      return `storage unavailable, memory only${because}`;
    case 'storage-error':
      return `storage error${because}`;
    case 'message-dropped':
      return `dropped a tab message${because}`;
    case 'revocation-failed':
      return `revocation failed${because}`;
    case 'token-response-repaired':
      return `kept${v(entry.version)} despite mistyped fields${because}`;
    case 'dpop-key-created':
      return `created the DPoP key${because}`;
    case 'dpop-key-adopted':
      return `took the shared DPoP key${because}`;
    case 'dpop-key-deleted':
      return `DPoP key deleted${because}`;
    case 'dpop-nonce-retry':
      return `DPoP nonce asked for, sent again at once${because}`;
    case 'dpop-nonce-updated':
      return `new DPoP nonce${because}`;
    case 'dpop-storage-fallback':
      return `DPoP key in memory only${because}`;
    case 'coordination-worker':
      return 'follows the SharedWorker';
    case 'coordination-fallback':
      return `leader-tab election instead of the SharedWorker${because}`;
    case 'devtools-refresh':
      return `devtools: forced a refresh${v(entry.version)}${because}`;
    case 'devtools-expire':
      return `devtools: marked${v(entry.version)} expired${because}`;
  }
}
