/**
 * One e2e "world" per test file: the real OAuth server, the built page served from the same origin, one Chromium.
 * Each test gets a fresh browser context (fresh IndexedDB, localStorage, locks) with N tabs of the page.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { chromiumAvailable, chromiumPath, launchChromium } from './chromium';
import { startOidcServer, type OidcServer, type OidcServerOptions, type TokenResponseBody } from './oidcServer';
import { buildTestPage } from './page';
import { alive, openTab, pageConfig, pageUrl, snapshot, waitForAll, type Tab } from './tabs';
import type { PageConfig } from '../page/api';

/**
 * Skip only when Chromium is missing on a developer machine; in CI (process.env.CI set) a missing Chromium is a
 * failure, never a silent skip.
 */
export const skipBrowserTests = !chromiumAvailable() && !process.env.CI;
if (skipBrowserTests) {
  console.warn(`[e2e] SKIPPED: no Chromium at ${chromiumPath()} (install the 'chromium' package or set CHROMIUM_PATH). ` + 'These tests never skip in CI.');
}

export interface World {
  server: OidcServer;
  browser: Browser;
  close(): Promise<void>;
}

export interface WorldOptions {
  accessTokenTtlSeconds: number;
  /**
   * Default false. True: Chromium keeps its back/forward cache (Playwright disables it by default) and the page is
   * served `Cache-Control: no-cache` instead of `no-store`, which would keep it out of the cache.
   */
  backForwardCache?: boolean;
  /** oidc-provider settings (DPoP: features.dPoP, nonces, rotation). */
  server?: Omit<OidcServerOptions, 'accessTokenTtlSeconds'>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${chromiumPath()}: CI must install it (see .ci/run)`);
  const [dir, server] = await Promise.all([buildTestPage(), startOidcServer({ ...options.server, accessTokenTtlSeconds: options.accessTokenTtlSeconds })]);
  server.serveStatic(dir, options.backForwardCache ? { cacheControl: 'no-cache' } : {});
  let browser: Browser;
  try {
    browser = await launchChromium({ backForwardCache: options.backForwardCache ?? false });
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    server,
    browser,
    async close() {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
    },
  };
}

export interface Session {
  context: BrowserContext;
  config: PageConfig;
  url: string;
  tabs: Tab[];
  /** Opens one more tab of the same page in the same context. */
  openTab(name?: string): Promise<Tab>;
  close(): Promise<void>;
}

export async function openSession(world: World, tabCount: number, overrides: Partial<PageConfig> = {}): Promise<Session> {
  const context = await world.browser.newContext();
  const config = pageConfig(world.server, overrides);
  const url = pageUrl(world.server, config);
  const tabs: Tab[] = [];
  const session: Session = {
    context,
    config,
    url,
    tabs,
    async openTab(name = `tab${tabs.length}`) {
      const tab = await openTab(context, url, name);
      tabs.push(tab);
      return tab;
    },
    close: () => context.close().catch(() => {}),
  };
  for (let i = 0; i < tabCount; i++) await session.openTab();
  return session;
}

/** Real code + PKCE flow on the server, then `signIn` in one tab; waits until every live tab holds the pair. */
export async function signIn(world: World, session: Session, via: Tab = session.tabs[0]!): Promise<{ tokens: TokenResponseBody; version: number }> {
  const tokens = await world.server.obtainInitialTokens();
  await via.page.evaluate((body) => window.tabauthTest!.signIn(body), tokens as unknown as Record<string, unknown>);
  const { version } = await snapshot(via);
  await waitForAll(session.tabs, (all) => all.every((s) => s.status === 'authenticated' && s.version === version), `every tab holds version ${version}`);
  return { tokens, version };
}

/**
 * A DPoP login: the tab creates a new key (`newKeyForLogin`), the server's authorization request carries its
 * thumbprint as `dpop_jkt`, and the tab redeems the code with a proof of that key (oauth4webapi), then signs in.
 */
export async function signInWithDpop(world: World, session: Session, via: Tab = session.tabs[0]!): Promise<{ tokens: TokenResponseBody; version: number }> {
  const jkt = await via.page.evaluate(() => window.tabauthTest!.dpop!.newKeyForLogin());
  const tokens = await world.server.obtainInitialTokens({
    dpopJkt: jkt,
    exchange: async (callback) => (await via.page.evaluate((c) => window.tabauthTest!.dpop!.exchange(c), callback)) as unknown as TokenResponseBody,
  });
  const { version } = await snapshot(via);
  await waitForAll(session.tabs, (all) => all.every((s) => s.status === 'authenticated' && s.version === version), `every tab holds version ${version}`);
  return { tokens, version };
}

export async function startApiLoops(tabs: Tab[], intervalMs: number): Promise<void> {
  await Promise.all(alive(tabs).map((tab) => tab.page.evaluate((ms) => window.tabauthTest!.startApiLoop(ms), intervalMs)));
}

export async function stopApiLoops(tabs: Tab[]): Promise<void> {
  await Promise.all(alive(tabs).map((tab) => tab.page.evaluate(() => window.tabauthTest!.stopApiLoop())));
}
