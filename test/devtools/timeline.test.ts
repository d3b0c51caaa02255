import type { AuthEvent } from '../../src/core/events';
import { parseEntry, type DevtoolsTimelineEntry } from '../../src/devtools/core/protocol';
import { asCode, describeEntry, entryFromEvent, mergeEntries } from '../../src/devtools/core/timeline';

const EVENTS: AuthEvent[] = [
  { type: 'refresh-started', version: 3, attempt: 2, trigger: 'proactive' },
  { type: 'refresh-succeeded', fromVersion: 3, version: 4, attempts: 1 },
  {
    type: 'refresh-failed',
    version: 3,
    attempt: 1,
    reason: 'terminal',
    errorCode: 'oauth_error',
    oauthError: 'invalid_grant',
    willRetry: false,
    retryInMs: null,
  },
  {
    type: 'refresh-failed',
    version: 3,
    attempt: 1,
    reason: 'transient',
    errorCode: 'transient',
    oauthError: 'bad [redacted] text',
    willRetry: true,
    retryInMs: 1000,
  },
  { type: 'refresh-skipped', version: 3, reason: 'newer-pair-available' },
  { type: 'leadership-gained' },
  { type: 'leadership-lost' },
  { type: 'signed-in', version: 1, source: 'other-tab' },
  { type: 'signed-out', version: 5, reason: 'refresh-rejected', source: 'this-tab' },
  { type: 'signed-out', version: 5, reason: null, source: 'this-tab' },
  { type: 'state-adopted', version: 4, source: 'channel' },
  { type: 'storage-fallback', errorCode: 'storage_failure' },
  { type: 'storage-error', operation: 'write', errorCode: 'storage_failure' },
  { type: 'message-dropped', reason: 'oversized' },
  { type: 'revocation-failed', errorCode: 'network' },
];

const entry = (tabId: string, seq: number, at: number): DevtoolsTimelineEntry => ({
  tabId,
  seq,
  at,
  kind: 'state-adopted',
  version: seq,
  toVersion: null,
  detail: null,
});

describe('timeline entries', () => {
  it.each(EVENTS.map((event) => [event.type, event]))('%s becomes an entry every tab accepts, with a description', (_type, event) => {
    const built = entryFromEvent(event, 'tab1', 9, 1234);
    expect(Object.keys(built).sort()).toEqual(['at', 'detail', 'kind', 'seq', 'tabId', 'toVersion', 'version']);
    expect(parseEntry(structuredClone(built), 'tab1')).toEqual(built);
    expect(built.kind).toBe(event.type);
    const text = describeEntry(built);
    expect(text.length).toBeGreaterThan(5);
    if (built.version !== null) expect(text).toContain(`v${built.version}`);
  });

  it('keeps the versions and the short codes that say what happened', () => {
    expect(entryFromEvent(EVENTS[0]!, 't', 1, 1)).toMatchObject({ version: 3, toVersion: null, detail: 'proactive:attempt-2' });
    expect(entryFromEvent(EVENTS[1]!, 't', 1, 1)).toMatchObject({ version: 3, toVersion: 4, detail: null });
    expect(entryFromEvent(EVENTS[2]!, 't', 1, 1)).toMatchObject({ detail: 'invalid_grant' });
    // Server text (already redacted by the core) is squeezed into the code alphabet, never dropped as malformed.
    expect(entryFromEvent(EVENTS[3]!, 't', 1, 1)).toMatchObject({ detail: 'bad_redacted_text:retrying' });
    expect(asCode('   ')).toBeNull();
    expect(asCode('x'.repeat(100))).toHaveLength(64);
  });

  it('names the tab that asked for a devtools command', () => {
    const command: DevtoolsTimelineEntry = { tabId: 't', seq: 1, at: 1, kind: 'devtools-refresh', version: 2, toVersion: null, detail: 'from:abcdef123456' };
    expect(describeEntry(command)).toBe('devtools: forced a refresh v2 (asked by #abcdef)');
    expect(describeEntry(command, (tabId) => (tabId === 'abcdef123456' ? 'Tab 2' : '?'))).toBe('devtools: forced a refresh v2 (asked by Tab 2)');
    expect(describeEntry({ ...command, kind: 'devtools-expire', detail: 'this-tab' })).toBe('devtools: marked v2 expired (here)');
  });

  it('merges the tabs in time order; same time keeps arrival order; each tab keeps its sequence', () => {
    let timeline: readonly DevtoolsTimelineEntry[] = [];
    timeline = mergeEntries(timeline, [entry('a', 1, 100), entry('a', 2, 300)], 50);
    timeline = mergeEntries(timeline, [entry('b', 1, 200), entry('b', 2, 300)], 50);
    timeline = mergeEntries(timeline, [entry('c', 1, 50)], 50);
    expect(timeline.map((e) => `${e.tabId}${e.seq}`)).toEqual(['c1', 'a1', 'b1', 'a2', 'b2']);
  });

  it('ignores entries it has (a replayed history) and returns the same array', () => {
    const timeline = mergeEntries([], [entry('a', 1, 100), entry('a', 2, 200)], 50);
    expect(mergeEntries(timeline, [entry('a', 1, 100), entry('a', 2, 200)], 50)).toBe(timeline);
    expect(mergeEntries(timeline, [entry('a', 2, 200), entry('a', 3, 300)], 50).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('keeps the newest entries when over the limit', () => {
    const many = Array.from({ length: 30 }, (_, i) => entry('a', i + 1, i * 10));
    expect(mergeEntries([], many, 10).map((e) => e.seq)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  });
});
