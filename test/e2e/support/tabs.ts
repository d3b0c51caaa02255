/**
 * Playwright helpers around the test page: open tabs, read their state, wait for conditions, freeze/crash them.
 * Shared by the e2e tests and the real-browser benchmark.
 */
import type { BrowserContext, CDPSession, Page, Request } from 'playwright-core';
import {
  DEFAULT_CONFIG,
  pageQuery,
  type ApiCallRecord,
  type HeldRecord,
  type PageConfig,
  type PageSnapshot,
  type ReceivedRecord,
  type RefreshCallRecord,
} from '../page/api';
import type { OidcServer } from './oidcServer';

export type { PageSnapshot };

export function pageConfig(server: OidcServer, overrides: Partial<PageConfig> = {}): PageConfig {
  return {
    ...DEFAULT_CONFIG,
    issuer: server.issuer,
    tokenEndpoint: server.tokenEndpoint,
    revocationEndpoint: server.revocationEndpoint,
    clientId: server.clientId,
    apiUrl: server.apiUrl,
    ...overrides,
  };
}

export function pageUrl(server: OidcServer, config: PageConfig): string {
  return `${server.origin}/${pageQuery(config)}`;
}

/** A tab of the test page, with the token endpoint requests it sent as seen by the browser (not by the page). */
export interface Tab {
  page: Page;
  name: string;
  /** POST /token requests with grant_type=refresh_token sent by this tab, counted by playwright. */
  tokenRequests: number;
  crashed: boolean;
  closed: boolean;
}

export async function openTab(context: BrowserContext, url: string, name: string, timeoutMs = 20_000): Promise<Tab> {
  const page = await context.newPage();
  const tab: Tab = { page, name, tokenRequests: 0, crashed: false, closed: false };
  page.on('request', (request: Request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/token' && (request.postData() ?? '').includes('grant_type=refresh_token')) {
      tab.tokenRequests++;
    }
  });
  page.on('crash', () => (tab.crashed = true));
  page.on('close', () => (tab.closed = true));
  page.on('pageerror', (error) => console.error(`[${name}] page error:`, error.message));
  await page.goto(url);
  await page.waitForFunction(() => window.tabauthTest?.snapshot().ready === true || window.tabauthTestError !== undefined, undefined, {
    timeout: timeoutMs,
    polling: 50,
  });
  const error = await page.evaluate(() => window.tabauthTestError);
  if (error) throw new Error(`test page failed to start in ${name}: ${error}`);
  return tab;
}

export const snapshot = (tab: Tab): Promise<PageSnapshot> => tab.page.evaluate(() => window.tabauthTest!.snapshot());

export const alive = (tabs: Tab[]) => tabs.filter((tab) => !tab.crashed && !tab.closed);

export async function snapshots(tabs: Tab[]): Promise<PageSnapshot[]> {
  return Promise.all(alive(tabs).map(snapshot));
}

export interface TabRecords {
  name: string;
  apiCalls: ApiCallRecord[];
  held: HeldRecord[];
  received: ReceivedRecord[];
  refreshCalls: RefreshCallRecord[];
  metrics: Record<string, number>;
  events: Array<{ at: number; event: { type: string } & Record<string, unknown> }>;
  lifecycle: Array<{ type: string; at: number }>;
  snapshot: PageSnapshot;
}

export async function records(tab: Tab): Promise<TabRecords> {
  const data = await tab.page.evaluate(() => {
    const api = window.tabauthTest!;
    return {
      apiCalls: [...api.apiCalls],
      held: [...api.held],
      received: [...api.received],
      refreshCalls: [...api.refreshCalls],
      metrics: api.metrics(),
      events: [...api.events],
      lifecycle: [...api.lifecycle],
      snapshot: api.snapshot(),
    };
  });
  return { name: tab.name, ...data };
}

/**
 * Waits until `predicate(snapshot)` holds in the tab. Polls from Node (a frozen page cannot run waitForFunction),
 * with a generous timeout: tests assert states, never how fast they were reached.
 */
export async function waitForTab(tab: Tab, predicate: (s: PageSnapshot) => boolean, what: string, timeoutMs = 30_000): Promise<PageSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await snapshot(tab);
    if (predicate(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${tab.name}: ${what}; last snapshot ${JSON.stringify(last)}`);
    await delay(50);
  }
}

/** Waits until `predicate` holds for the snapshots of all live tabs at once. */
export async function waitForAll(tabs: Tab[], predicate: (all: PageSnapshot[]) => boolean, what: string, timeoutMs = 30_000): Promise<PageSnapshot[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await snapshots(tabs);
    if (predicate(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for all tabs: ${what}; last snapshots ${JSON.stringify(last.map(brief))}`);
    }
    await delay(50);
  }
}

export function brief(s: PageSnapshot) {
  return { status: s.status, version: s.version, leader: s.leader, reason: s.signedOutReason, forced: s.forcedSignOuts, err: s.lastError };
}

/** The single live tab whose snapshot says it leads (tabauth modes); throws if there is not exactly one. */
export async function leaderOf(tabs: Tab[]): Promise<Tab> {
  const live = alive(tabs);
  const states = await Promise.all(live.map(snapshot));
  const leaders = live.filter((_, i) => states[i]!.leader);
  if (leaders.length !== 1) throw new Error(`expected exactly one leader, found ${leaders.length}`);
  return leaders[0]!;
}

export async function waitForLeader(tabs: Tab[], timeoutMs = 30_000): Promise<Tab> {
  await waitForAll(tabs, (all) => all.filter((s) => s.leader).length === 1, 'exactly one leader', timeoutMs);
  return leaderOf(tabs);
}

/** Crashes the tab's renderer through CDP (`Page.crash`); resolves once playwright saw the crash. */
export async function crashTab(context: BrowserContext, tab: Tab): Promise<void> {
  const session = await context.newCDPSession(tab.page);
  const crashed = new Promise<void>((resolve) => tab.page.once('crash', () => resolve()));
  // Page.crash never answers: the renderer is gone.
  void session.send('Page.crash').catch(() => {});
  await crashed;
  tab.crashed = true;
}

export interface FrozenTab {
  /** Epoch ms (Node clock) when the tab stopped running JavaScript. */
  frozenAt: number;
  /** Resumes the tab; returns the epoch ms at which it was told to run again. */
  resume(): Promise<number>;
}

/**
 * Freezes a tab: CDP `Page.setWebLifecycleState({ state: 'frozen' })`, and in addition pauses its JavaScript with
 * `Debugger.pause`. The second step is needed because headless Chromium (checked with 156) accepts
 * setWebLifecycleState but keeps every page visible and running, so on its own it freezes nothing. A paused page
 * behaves like a frozen one for tabauth: no timer fires, no message is handled, no request is sent; queued tasks
 * run on resume. Resolves once the page is actually paused (it runs JS at least every API-loop interval).
 */
export async function freezeTab(context: BrowserContext, tab: Tab, timeoutMs = 10_000): Promise<FrozenTab> {
  const session: CDPSession = await context.newCDPSession(tab.page);
  await session.send('Page.setWebLifecycleState', { state: 'frozen' });
  await session.send('Debugger.enable');
  const paused = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${tab.name} never paused (it ran no JavaScript for ${timeoutMs} ms)`)), timeoutMs);
    session.once('Debugger.paused', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await session.send('Debugger.pause');
  await paused;
  const frozenAt = Date.now();
  return {
    frozenAt,
    async resume() {
      const at = Date.now();
      await session.send('Debugger.resume');
      await session.send('Page.setWebLifecycleState', { state: 'active' });
      await session.send('Debugger.disable');
      await session.detach().catch(() => {});
      return at;
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
