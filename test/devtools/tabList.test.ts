import type { DevtoolsTabReport } from '../../src/devtools/core/protocol';
import { emptyCounters, forgetSilentTabs, listTabs, mergeReport, removeTab, sumCounters, type KnownTab } from '../../src/devtools/core/tabList';

const report = (tabId: string, overrides: Partial<DevtoolsTabReport> = {}): DevtoolsTabReport => ({
  tabId,
  startedAt: 1000,
  seq: 1,
  sentAt: 1000,
  label: null,
  status: 'authenticated',
  isLeader: false,
  version: 1,
  visibility: 'visible',
  storage: 'persistent',
  signedOutReason: null,
  errorCode: null,
  lastEvent: null,
  token: null,
  counters: emptyCounters(),
  canExpire: true,
  ...overrides,
});

const empty: ReadonlyMap<string, KnownTab> = new Map();

describe('merging tab reports', () => {
  it('adds a new tab and replaces it with newer reports only', () => {
    const one = mergeReport(empty, report('a', { seq: 2, version: 1 }), 10);
    expect(one.get('a')).toEqual({ report: report('a', { seq: 2, version: 1 }), lastHeardAt: 10 });
    const newer = mergeReport(one, report('a', { seq: 3, version: 2 }), 20);
    expect(newer.get('a')?.report.version).toBe(2);
    expect(newer.get('a')?.lastHeardAt).toBe(20);
    // An older or repeated report (reordered delivery) changes nothing, and returns the same map.
    expect(mergeReport(newer, report('a', { seq: 2, version: 1 }), 30)).toBe(newer);
    expect(mergeReport(newer, report('a', { seq: 3, version: 9 }), 30)).toBe(newer);
    expect(one.size).toBe(1); // the input map is never changed
    expect(one.get('a')?.report.version).toBe(1);
  });

  it('a restarted devtools (later start) wins even with a lower sequence number', () => {
    const before = mergeReport(empty, report('a', { startedAt: 1000, seq: 50, version: 4 }), 10);
    const restarted = mergeReport(before, report('a', { startedAt: 2000, seq: 51, version: 5 }), 20);
    expect(restarted.get('a')?.report.version).toBe(5);
    const olderStart = mergeReport(restarted, report('a', { startedAt: 1500, seq: 99, version: 1 }), 30);
    expect(olderStart).toBe(restarted);
  });

  it('removes a tab that said bye', () => {
    const tabs = mergeReport(mergeReport(empty, report('a'), 1), report('b'), 1);
    expect([...removeTab(tabs, 'a').keys()]).toEqual(['b']);
    expect(removeTab(tabs, 'zzz')).toBe(tabs);
  });

  it('lists this tab first, then by start time and id; marks silent tabs; forgets them later, never itself', () => {
    let tabs: ReadonlyMap<string, KnownTab> = empty;
    tabs = mergeReport(tabs, report('c', { startedAt: 300 }), 1000);
    tabs = mergeReport(tabs, report('b', { startedAt: 100 }), 1000);
    tabs = mergeReport(tabs, report('self', { startedAt: 900 }), 0);
    tabs = mergeReport(tabs, report('a', { startedAt: 300 }), 9000);
    const at = (now: number) => listTabs(tabs, 'self', now, 5000).map((tab) => `${tab.tabId}${tab.self ? '*' : ''}${tab.silent ? '~' : ''}`);
    expect(at(2000)).toEqual(['self*', 'b', 'a', 'c']);
    expect(at(7000)).toEqual(['self*', 'b~', 'a', 'c~']);
    const forgotten = forgetSilentTabs(tabs, 'self', 20_000, 15_000);
    expect([...forgotten.keys()].sort()).toEqual(['a', 'self']);
    expect(forgetSilentTabs(tabs, 'self', 2000, 15_000)).toBe(tabs);
  });

  it('adds up the counters of the listed tabs', () => {
    const counters = (refreshRequests: number, adoptions: number) => ({ ...emptyCounters(), refreshRequests, adoptions });
    expect(
      sumCounters([report('a', { counters: counters(2, 0) }), report('b', { counters: counters(0, 2) }), report('c', { counters: counters(1, 1) })]),
    ).toEqual({
      ...emptyCounters(),
      refreshRequests: 3,
      adoptions: 3,
    });
  });
});
