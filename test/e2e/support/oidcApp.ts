/**
 * Playwright helpers for the OIDC e2e page: one OIDC server serving the page at its own origin (redirect URI
 * '/callback' as a client-side route), fresh browser contexts whose requests never leave 127.0.0.1, tabs that count
 * their refresh requests, and the devInteractions login and consent pages filled in by typing and clicking.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import type { OidcPageSnapshot, OidcTestApi, OwnLogin } from '../oidcPage/api';
import { chromiumAvailable, chromiumPath, launchChromium } from './chromium';
import { startOidcServer, type OidcServer, type OidcServerOptions } from './oidcServer';
import { buildTestPage, oidcPageDir } from './page';
import { delay } from './tabs';

export interface OidcWorld {
  server: OidcServer;
  browser: Browser;
  close(): Promise<void>;
}

export async function startOidcWorld(options: { accessTokenTtlSeconds: number; dpop?: OidcServerOptions['dpop'] }): Promise<OidcWorld> {
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${chromiumPath()}: CI must install it (see .ci/run)`);
  const serverOptions = { accessTokenTtlSeconds: options.accessTokenTtlSeconds, ...(options.dpop ? { dpop: options.dpop } : {}) };
  const [dir, server] = await Promise.all([buildTestPage(oidcPageDir), startOidcServer(serverOptions)]);
  server.serveStatic(dir, { routes: ['/callback'] });
  let browser: Browser;
  try {
    browser = await launchChromium();
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

/**
 * A browser context (own IndexedDB, sessionStorage, cookies) whose requests stay on the server's origin: the
 * provider's pages @import a web font, and this machine has no network.
 */
export async function newContext(world: OidcWorld, options: { dpop?: boolean } = {}): Promise<BrowserContext> {
  const context = await world.browser.newContext();
  // The page turns DPoP on from localStorage, set before any of its scripts run, on every page of the context.
  if (options.dpop) await context.addInitScript(() => localStorage.setItem('e2e:dpop', '1'));
  await context.route(
    (url) => url.origin !== world.server.origin,
    (route) => route.abort(),
  );
  return context;
}

export interface AppTab {
  page: Page;
  name: string;
  /** POST /token with grant_type=refresh_token sent by this tab (and its popups), as the browser saw them. */
  refreshRequests: number;
  /** Callback URLs this tab navigated to. */
  callbacks: string[];
}

export async function openAppTab(context: BrowserContext, world: OidcWorld, name: string, path = '/'): Promise<AppTab> {
  const page = await context.newPage();
  const tab: AppTab = { page, name, refreshRequests: 0, callbacks: [] };
  trackRequests(page, tab, world);
  page.on('pageerror', (error) => console.error(`[${name}] page error:`, error.message));
  await page.goto(`${world.server.origin}${path}`, { waitUntil: 'domcontentloaded' });
  await waitForApp(tab);
  return tab;
}

function trackRequests(page: Page, tab: AppTab, world: OidcWorld) {
  page.on('request', (request: Request) => {
    const url = new URL(request.url());
    if (request.method() === 'POST' && url.pathname === '/token' && (request.postData() ?? '').includes('grant_type=refresh_token')) tab.refreshRequests++;
    if (request.isNavigationRequest() && url.origin === world.server.origin && url.pathname === '/callback') tab.callbacks.push(url.href);
  });
}

/** Waits until the page's app is running (window.oidcTest exists) and has loaded its session. */
export async function waitForApp(tab: AppTab): Promise<void> {
  await tab.page.waitForFunction(() => window.oidcTest !== undefined && window.oidcTest.snapshot().status !== 'loading', undefined, {
    polling: 50,
    timeout: 30_000,
  });
}

/** The tab's state; while the tab shows another page (the provider's), a placeholder with route 'elsewhere'. */
export const snapshot = (tab: AppTab): Promise<OidcPageSnapshot> =>
  tab.page
    .evaluate(() => window.oidcTest?.snapshot() ?? null)
    .catch(() => null) // the page is navigating
    .then((state) => state ?? ELSEWHERE);

const ELSEWHERE: OidcPageSnapshot = {
  loadId: '',
  route: 'elsewhere',
  status: 'loading',
  version: -1,
  leader: false,
  signedOutReason: null,
  idSub: null,
  accessSub: null,
  jti: null,
  refreshToken: null,
  renderedStatus: null,
  renderedName: null,
  error: null,
};
export const ownLogins = (tab: AppTab): Promise<OwnLogin[]> => tab.page.evaluate(() => [...window.oidcTest!.logins]);
export const events = (tab: AppTab): Promise<OidcTestApi['events']> => tab.page.evaluate(() => [...window.oidcTest!.events]);

/** Polls until `predicate` holds for every tab's snapshot (states only; the timeout is a safety net, not a measure). */
export async function waitForTabs(
  tabs: AppTab[],
  predicate: (all: OidcPageSnapshot[]) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<OidcPageSnapshot[]> {
  const deadline = Date.now() + timeoutMs;
  let last: OidcPageSnapshot[] = [];
  for (;;) {
    last = await Promise.all(tabs.map(snapshot));
    if (predicate(last)) return last;
    if (Date.now() > deadline) {
      // A tab on another page (the provider's error page, say): say which page and what it shows.
      const away = await Promise.all(
        tabs.map(async (tab, i) =>
          last[i]!.route === 'elsewhere'
            ? `${tab.name} at ${tab.page.url()}: ${(await tab.page.textContent('body').catch(() => ''))?.replace(/\s+/g, ' ').slice(0, 300)}`
            : null,
        ),
      );
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last.map(brief))} ${away.filter(Boolean).join(' | ')}`);
    }
    await delay(50);
  }
}

const brief = (s: OidcPageSnapshot) => ({
  route: s.route,
  status: s.status,
  version: s.version,
  sub: s.idSub,
  error: s.error ? `${s.error.name}(${s.error.reason ?? ''}): ${s.error.message}` : null,
});

/** On the provider's login page (devInteractions): types the login and a password, and signs in. */
export async function typeLogin(page: Page, login: string): Promise<void> {
  const field = page.locator('input[name="login"]');
  await field.waitFor({ timeout: 30_000 });
  await field.pressSequentially(login);
  await page.locator('input[name="password"]').pressSequentially('any password');
  await page.locator('button[type="submit"]', { hasText: 'Sign-in' }).click();
}

/** On the provider's consent page: clicks Continue. */
export async function giveConsent(page: Page): Promise<void> {
  const button = page.locator('button[type="submit"]', { hasText: 'Continue' });
  await button.waitFor({ timeout: 30_000 });
  await button.click();
}

/** Clicks "Log in" in the app, then types and clicks through the provider's login and consent pages. */
export async function logInThroughProvider(tab: AppTab, login: string): Promise<void> {
  await tab.page.locator('#login').click();
  await typeLogin(tab.page, login);
  await giveConsent(tab.page);
}

/** Login attempt records in this tab's sessionStorage (the app's origin is the provider's, so any page can read it). */
export function storedAttempts(tab: AppTab): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
  return tab.page.evaluate(() =>
    Object.keys(sessionStorage)
      .filter((key) => key.includes(':attempt:'))
      .map((key) => ({ key, value: JSON.parse(sessionStorage.getItem(key) ?? '{}') as Record<string, unknown> })),
  );
}
