// @vitest-environment node
/**
 * The example app (examples/react-vite, what `npm run example` starts) in real Chromium tabs: log in through the
 * provider's pages in one tab, see every tab signed in, read the protected todos (an API validating the JWT with
 * jose), watch the leader refresh for all of them, log out everywhere, and get sent to the login by the protected
 * route. Only what the app renders is read.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExample, type Example } from '../../examples/react-vite/server';
import { launchChromium } from './support/chromium';
import { giveConsent, newContext, typeLogin } from './support/oidcApp';
import { skipBrowserTests } from './support/session';
import { delay } from './support/tabs';

const TTL_SECONDS = 6;
const ROTATIONS = 2;

describe.skipIf(skipBrowserTests)('example app (examples/react-vite) in real Chromium tabs', () => {
  let example: Example;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    example = await startExample({ accessTokenTtlSeconds: TTL_SECONDS });
    browser = await launchChromium();
    context = await newContext({ server: example.server, browser, close: async () => {} });
  }, 120_000);
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await example?.close();
  });

  const text = (page: Page, selector: string) => page.locator(selector).textContent();
  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 45_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await delay(100);
    }
  }
  const statusOf = (pages: Page[]) => Promise.all(pages.map((page) => text(page, '#status')));
  const numbers = (pages: Page[], selector: string) => Promise.all(pages.map(async (page) => Number(await text(page, selector))));

  it('login in one tab signs in all, the API answers with jose-validated tokens, one tab refreshes for all, logout ends everything', async () => {
    const tabs: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await context.newPage();
      await page.goto(example.url, { waitUntil: 'domcontentloaded' });
      tabs.push(page);
    }
    await until('every tab signed out', async () => (await statusOf(tabs)).every((s) => s === 'signed-out'));

    await tabs[0]!.locator('#login').click();
    await typeLogin(tabs[0]!, 'ada');
    await giveConsent(tabs[0]!);
    await until('every tab signed in', async () => (await statusOf(tabs)).every((s) => s === 'authenticated'));
    expect(await Promise.all(tabs.map((page) => text(page, '#user')))).toEqual(['Ada', 'Ada', 'Ada']);
    expect(new URL(tabs[0]!.url()).pathname).toBe('/');

    // The protected page, in a tab that was signed in by another one.
    await tabs[1]!.locator('a', { hasText: 'Todos (protected)' }).click();
    await tabs[1]!.locator('#todos li').first().waitFor();
    expect(await text(tabs[1]!, 'h1')).toBe('Todos of ada');
    expect(await tabs[1]!.locator('#todos li').count()).toBe(4);

    const [v0] = await numbers(tabs, '#version');
    await until(`${ROTATIONS} rotations in every tab`, async () => (await numbers(tabs, '#version')).every((v) => v >= v0! + ROTATIONS), 90_000);
    // At rest between two rotations: every tab holds the same version, and it took one refresh each.
    let rotations = 0;
    await until('tabs and server agree', async () => {
      const versions = await numbers(tabs, '#version');
      const successes = example.server.counters().refreshSuccesses;
      rotations = versions[0]! - v0!;
      return versions.every((v) => v === versions[0]) && successes === rotations;
    });
    const refreshedHere = await numbers(tabs, '#refreshed-here');
    expect(refreshedHere.reduce((sum, n) => sum + n, 0)).toBe(rotations);
    expect(refreshedHere.filter((n) => n > 0)).toHaveLength(1); // only the leader refreshed
    expect((await numbers(tabs, '#received')).filter((n) => n >= rotations)).toHaveLength(2); // the others were handed each pair
    expect(example.server.counters()).toMatchObject({ invalidGrant: 0, grantsRevoked: 0 });
    expect(example.api.calls.ok).toBeGreaterThan(0);
    expect(example.api.calls.unauthorized).toBe(0);

    // Log out in the protected tab: every tab is signed out, and the provider's session ends.
    await tabs[1]!.locator('#logout').click();
    await until('the other tabs signed out', async () => (await statusOf([tabs[0]!, tabs[2]!])).every((s) => s === 'signed-out'));
    await tabs[1]!.locator('button[value="yes"]').click();
    await tabs[1]!.waitForURL(example.url);
    expect(example.server.counters()).toMatchObject({ endSessions: 1, revocations: 1 });

    // Signed out, the protected route sends the browser to the provider's login.
    await tabs[2]!.goto(`${example.url}protected`, { waitUntil: 'domcontentloaded' });
    await tabs[2]!.locator('input[name="login"]').waitFor({ timeout: 30_000 });
    await typeLogin(tabs[2]!, 'grace');
    await giveConsent(tabs[2]!);
    await tabs[2]!.locator('#todos li').first().waitFor({ timeout: 30_000 });
    expect(new URL(tabs[2]!.url()).pathname).toBe('/protected'); // returnTo brought the user back
    expect(await text(tabs[2]!, 'h1')).toBe('Todos of grace');
    await until('every tab signed in as Grace', async () =>
      (await Promise.all(tabs.map((page) => text(page, '#user').catch(() => null)))).every((u) => u === 'Grace'),
    );
  }, 180_000);
});
