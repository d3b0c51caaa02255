/**
 * Checks over what the tabs recorded. They compare versions, counts and the order of events recorded on one clock;
 * none of them bounds how long anything took.
 */
import type { ApiCallRecord } from '../page/api';
import type { OidcServerCounters } from './oidcServer';
import { records, snapshot, alive, type Tab, type TabRecords } from './tabs';

export async function allRecords(tabs: Tab[]): Promise<TabRecords[]> {
  return Promise.all(alive(tabs).map(records));
}

/** Refresh requests a tab sent before the pair it replaced was due (tabauth's own policy, same Date.now clock). */
export function earlyRefreshes(tab: TabRecords): Array<{ version: number; clockAt: number; dueAt: number | null }> {
  const early: Array<{ version: number; clockAt: number; dueAt: number | null }> = [];
  for (const call of tab.refreshCalls) {
    const held = tab.held.find((h) => h.version === call.version);
    if (!held || held.dueAt === null || call.clockAt < held.dueAt) early.push({ version: call.version, clockAt: call.clockAt, dueAt: held?.dueAt ?? null });
  }
  return early;
}

/**
 * API calls the server answered with `newest: false` although the tab already held a newer pair when it sent the
 * call. A call that raced a rotation (sent before the new pair reached this tab) is not in the list: no client can
 * use a pair it does not have yet. Together with `missingVersions` (every tab received every pair) this proves that
 * every tab used the newest token it could have.
 */
export function unjustifiedStaleCalls(tab: TabRecords): ApiCallRecord[] {
  return tab.apiCalls.filter((call) => {
    if (call.status !== 200 || call.newest !== false) return false;
    const next = tab.held.find((h) => h.version === call.version + 1);
    return next !== undefined && next.at <= call.sentAt;
  });
}

export function staleCalls(tab: TabRecords): ApiCallRecord[] {
  return tab.apiCalls.filter((call) => call.status === 200 && call.newest === false);
}

/** Versions in [from, to] this tab never held. */
export function missingVersions(tab: TabRecords, from: number, to: number): number[] {
  const held = new Set(tab.held.map((h) => h.version));
  const missing: number[] = [];
  for (let v = from; v <= to; v++) if (!held.has(v)) missing.push(v);
  return missing;
}

export interface Settled {
  counters: OidcServerCounters;
  versions: number[];
  statuses: string[];
}

const tokenSide = (c: OidcServerCounters) =>
  [c.tokenRequests, c.refreshSuccesses, c.refreshErrors, c.invalidGrant, c.grantsRevoked, c.reuseDetected, c.revocations].join(',');

/**
 * Provider counters and every live tab's version and status, read until two consecutive reads agree on the token
 * side (so no rotation happened between reading the server and reading the tabs). API counters may still move.
 */
export async function settle(tabs: Tab[], counters: () => OidcServerCounters): Promise<Settled> {
  const read = async (): Promise<Settled & { key: string }> => {
    const before = counters();
    const states = await Promise.all(alive(tabs).map(snapshot));
    const after = counters();
    const versions = states.map((s) => s.version);
    const statuses = states.map((s) => s.status);
    const key = tokenSide(before) === tokenSide(after) ? `${tokenSide(after)}|${versions.join(',')}|${statuses.join(',')}` : 'moving';
    return { counters: after, versions, statuses, key };
  };
  let previous = await read();
  for (let i = 0; i < 100; i++) {
    const next = await read();
    if (next.key !== 'moving' && next.key === previous.key) return { counters: next.counters, versions: next.versions, statuses: next.statuses };
    previous = next;
  }
  throw new Error('settle: state kept changing');
}
