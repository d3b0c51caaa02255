import { COUNTER_KEYS, type DevtoolsCounters, type DevtoolsTabReport } from './protocol';

/*
 * The list of tabs one panel shows, merged from the reports the tabs send (pure functions: the bridge keeps the map).
 * A tab is known by its id; a newer report replaces an older one; 'bye' removes it; a tab that has not reported for a
 * while (crashed, or a background tab whose timers the browser throttles) is shown as silent, and forgotten later.
 */

/** A tab this panel has heard from: its newest report and when it came. */
export interface KnownTab {
  /** The newest report the tab sent. */
  report: DevtoolsTabReport;
  /** When this panel last heard from the tab (its own clock). */
  lastHeardAt: number;
}

/** One row of the panel's tab list: the tab's report, as this panel sees it. */
export interface DevtoolsTab extends DevtoolsTabReport {
  /** The tab this panel runs in. */
  self: boolean;
  /** When this panel last heard from the tab (its own clock). */
  lastHeardAt: number;
  /** Not heard from for longer than `silentAfterMs`: closed without a word, frozen, or throttled in the background. */
  silent: boolean;
}

/** Newer means: a later start of the tab's devtools, or the same start and a higher sequence number. */
export function isNewerReport(next: DevtoolsTabReport, previous: DevtoolsTabReport): boolean {
  return next.startedAt > previous.startedAt || (next.startedAt === previous.startedAt && next.seq > previous.seq);
}

/** Returns a new map with the report merged in, or the same map when the report is not newer. */
export function mergeReport(tabs: ReadonlyMap<string, KnownTab>, report: DevtoolsTabReport, heardAt: number): ReadonlyMap<string, KnownTab> {
  const known = tabs.get(report.tabId);
  if (known && !isNewerReport(report, known.report)) return tabs;
  const next = new Map(tabs);
  next.set(report.tabId, { report, lastHeardAt: heardAt });
  return next;
}

/** Returns a new map without the tab, or the same map when it was not listed. */
export function removeTab(tabs: ReadonlyMap<string, KnownTab>, tabId: string): ReadonlyMap<string, KnownTab> {
  if (!tabs.has(tabId)) return tabs;
  const next = new Map(tabs);
  next.delete(tabId);
  return next;
}

/** Drops the tabs (other than `selfId`) not heard from for `forgetAfterMs`. */
export function forgetSilentTabs(tabs: ReadonlyMap<string, KnownTab>, selfId: string, now: number, forgetAfterMs: number): ReadonlyMap<string, KnownTab> {
  let next: Map<string, KnownTab> | null = null;
  for (const [tabId, known] of tabs) {
    if (tabId === selfId || now - known.lastHeardAt < forgetAfterMs) continue;
    next ??= new Map(tabs);
    next.delete(tabId);
  }
  return next ?? tabs;
}

/** The tabs to show: this tab first, then in the order their devtools started (ties by id). */
export function listTabs(tabs: ReadonlyMap<string, KnownTab>, selfId: string, now: number, silentAfterMs: number): DevtoolsTab[] {
  return [...tabs.values()]
    .map(({ report, lastHeardAt }) => ({
      ...report,
      self: report.tabId === selfId,
      lastHeardAt,
      silent: report.tabId !== selfId && now - lastHeardAt >= silentAfterMs,
    }))
    .sort((a, b) => Number(b.self) - Number(a.self) || a.startedAt - b.startedAt || (a.tabId < b.tabId ? -1 : a.tabId > b.tabId ? 1 : 0));
}

/** Counters that are all zero. */
export function emptyCounters(): DevtoolsCounters {
  const counters = {} as DevtoolsCounters;
  for (const key of COUNTER_KEYS) counters[key] = 0;
  return counters;
}

/** The counters of the listed tabs added up (tabs that are gone no longer count). */
export function sumCounters(tabs: readonly DevtoolsTabReport[]): DevtoolsCounters {
  const totals = emptyCounters();
  for (const tab of tabs) for (const key of COUNTER_KEYS) totals[key] += tab.counters[key];
  return totals;
}
