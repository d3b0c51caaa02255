// @vitest-environment node
/**
 * The Storybook demos in a real Chromium: the built static Storybook is served on 127.0.0.1, each story is opened
 * directly (iframe.html), and its tab iframes run real BroadcastChannel, Web Locks and IndexedDB.
 *
 * No timed assertions: every test waits for a condition (generous timeouts), then asserts counts.
 * Screenshots of every story go to test-results/storybook/ (printed at the start).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../e2e/support/chromium';
import { ensureStorybookBuilt } from './buildStorybook';
import { serveStatic, type StaticServer } from './staticServer';

const ROOT = resolve(__dirname, '../..');
const SHOTS = join(ROOT, 'test-results', 'storybook');
const WAIT = { timeout: 45_000, polling: 100 } as const;

interface Counters {
  refreshRequests: number;
  rotations: number;
  reuseDetections: number;
  signOuts: number;
  apiCalls: number;
  apiFailed: number;
  queriesOk: number;
  networkErrors: number;
}

interface Summary {
  open: number;
  signedOut: number;
  authenticated: number;
  leaders: string[];
}

describe.skipIf(!chromiumAvailable())('Storybook demos in Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    const { dir, built } = ensureStorybookBuilt(ROOT);
    mkdirSync(SHOTS, { recursive: true });
    console.log(`[storybook] ${built ? 'built' : 'reused'} ${dir}; screenshots in ${SHOTS}`);
    server = await serveStatic(dir);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  /** Opens a story in a fresh browser profile (so IndexedDB and localStorage start empty). */
  async function openStory(id: string, args: Record<string, number>): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.warn(`[storybook:${id}] page error: ${error.message}`));
    const encoded = Object.entries(args)
      .map(([key, value]) => `${key}:${value}`)
      .join(';');
    await page.goto(`${server.origin}/iframe.html?id=${id}&viewMode=story&args=${encoded}`);
    await page.waitForSelector('[data-testid="demo-lab"][data-ready="true"]', { timeout: 30_000 });
    return page;
  }

  const counters = (page: Page): Promise<Counters> =>
    page.evaluate(() => {
      const read = (id: string) => Number(document.querySelector(`[data-testid="counter-${id}"]`)?.getAttribute('data-value') ?? NaN);
      return {
        refreshRequests: read('refresh-requests'),
        rotations: read('rotations'),
        reuseDetections: read('reuse-detections'),
        signOuts: read('sign-outs'),
        apiCalls: read('api-calls'),
        apiFailed: read('api-failed'),
        queriesOk: document.querySelector('[data-testid="counter-queries-ok"]') ? read('queries-ok') : 0,
        networkErrors: document.querySelector('[data-testid="counter-network-errors"]') ? read('network-errors') : 0,
      };
    });

  const summary = (page: Page): Promise<Summary> =>
    page.evaluate(() => {
      const element = document.querySelector<HTMLElement>('[data-testid="tab-summary"]');
      const data = element?.dataset ?? {};
      return {
        open: Number(data.open),
        signedOut: Number(data.signedOut),
        authenticated: Number(data.authenticated),
        leaders: (data.leaders ?? '').split(',').filter(Boolean),
      };
    });

  /** Waits until a counter reaches a value. */
  const counterAtLeast = (page: Page, id: string, value: number) =>
    page.waitForFunction(
      ([counter, wanted]) => Number(document.querySelector(`[data-testid="counter-${counter}"]`)?.getAttribute('data-value')) >= Number(wanted),
      [id, value] as const,
      WAIT,
    );

  /** Waits until the open tabs are all signed in and one of them leads. */
  const settled = (page: Page, tabs: number) =>
    page.waitForFunction(
      (wanted) => {
        const data = document.querySelector<HTMLElement>('[data-testid="tab-summary"]')?.dataset;
        return Number(data?.authenticated) === wanted && (data?.leaders ?? '') !== '';
      },
      tabs,
      WAIT,
    );

  const tab = (page: Page, tabId: string) => page.frameLocator(`iframe[data-tab-id="${tabId}"]`);

  /** The tab that made each token-endpoint request, in order (read from the demo hub of the page). */
  const refreshLog = (page: Page): Promise<Array<{ tabId: string; outcome: string }>> =>
    page.evaluate(() => {
      const hubs = Object.values(window.__tabauthDemo ?? {});
      const timeline = hubs[0]?.getSnapshot().timeline ?? [];
      return timeline.flatMap((entry) => (entry.kind === 'refresh' ? [{ tabId: entry.tabId, outcome: entry.outcome }] : []));
    });

  const shoot = async (page: Page, name: string) => {
    const path = join(SHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  };

  it('coordinated tabs: one refresh request per rotation, no reuse, no sign-out', async () => {
    const page = await openStory('demos-coordinated-tabs--coordinated-tabs', { tabs: 3, lifetimeSeconds: 6, latencyMs: 100 });
    await settled(page, 3);
    await counterAtLeast(page, 'rotations', 3);
    const result = await counters(page);
    expect(result.rotations).toBeGreaterThanOrEqual(3);
    expect(result.refreshRequests).toBe(result.rotations);
    expect(result.reuseDetections).toBe(0);
    expect(result.signOuts).toBe(0);
    expect(result.apiCalls).toBeGreaterThan(0);
    expect(result.apiFailed).toBe(0);
    expect(await summary(page)).toMatchObject({ open: 3, authenticated: 3, signedOut: 0 });
    // Every request came from a leader tab and got a new pair.
    const log = await refreshLog(page);
    expect(log.every((entry) => entry.outcome === 'ok' || entry.outcome === 'pending')).toBe(true);
    const shot = await shoot(page, 'coordinated-tabs');
    // The README's picture is refreshed on request only, so that test runs never change tracked files.
    if (process.env.TABAUTH_UPDATE_DOCS_SCREENSHOT === '1') {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      copyFileSync(shot, join(ROOT, 'docs', 'storybook-coordinated.png'));
    }

    // The devtools of any tab list all three, with the leader the page sees and one version.
    const [leader] = (await summary(page)).leaders;
    const devtools = tab(page, 't2');
    await devtools.getByTestId('tabauth-devtools-toggle').click();
    const rows = devtools.getByTestId('tabauth-devtools-tab');
    await expect
      .poll(
        async () => {
          const listed = await rows.evaluateAll((elements) =>
            elements.map((row) => ({ role: row.getAttribute('data-role'), version: row.getAttribute('data-version') })),
          );
          const versions = new Set(listed.map((row) => row.version));
          return listed.length === 3 && listed.filter((row) => row.role === 'leader').length === 1 && versions.size === 1;
        },
        { timeout: WAIT.timeout, interval: WAIT.polling },
      )
      .toBe(true);
    const leaderLabel = await devtools.locator('[data-testid="tabauth-devtools-tab"][data-role="leader"] label').textContent();
    expect(leaderLabel?.replace('this tab', '').trim()).toBe(`Tab ${leader!.slice(1)}`);
    await shoot(page, 'coordinated-tabs-devtools');
  }, 90_000);

  it('coordinated tabs with DPoP: one non-extractable key for every tab, one refresh per rotation, nonce retries, no key mismatch', async () => {
    const page = await openStory('demos-coordinated-tabs-dpop--coordinated-tabs-dpop', { tabs: 3, lifetimeSeconds: 6, latencyMs: 100 });
    await settled(page, 3);
    await counterAtLeast(page, 'rotations', 3);
    await counterAtLeast(page, 'nonce-retries', 2); // the first refresh and the first API call each learnt a nonce
    const result = await counters(page);
    const read = (id: string) =>
      page.evaluate((counter) => Number(document.querySelector(`[data-testid="counter-${counter}"]`)?.getAttribute('data-value')), id);
    expect(result.refreshRequests).toBe(result.rotations);
    expect(result.reuseDetections).toBe(0);
    expect(result.signOuts).toBe(0);
    expect(result.apiFailed).toBe(0);
    expect(await read('dpop-keys')).toBe(1);
    expect(await read('key-mismatches')).toBe(0);
    // Every tab signs with the same key: the one stored in IndexedDB, whose private half cannot be exported.
    const thumbprints = await Promise.all(['t1', 't2', 't3'].map((id) => tab(page, id).locator('[data-testid="dpop-key"]').getAttribute('data-thumbprint')));
    expect(new Set(thumbprints).size).toBe(1);
    expect(thumbprints[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await page.evaluate(async () => {
      const hub = Object.values(window.__tabauthDemo ?? {})[0]!;
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('tabauth');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const record = await new Promise<{ thumbprint: string; keyPair: CryptoKeyPair }>((resolve, reject) => {
        const request = db.transaction('keyval').objectStore('keyval').get(`tabauth:${hub.namespace}:dpop-key`);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      db.close();
      const exported = await crypto.subtle.exportKey('jwk', record.keyPair.privateKey).then(
        () => 'exported',
        (error: Error) => error.name,
      );
      return {
        thumbprint: record.thumbprint,
        isKey: record.keyPair.privateKey instanceof CryptoKey,
        extractable: record.keyPair.privateKey.extractable,
        exported,
      };
    });
    expect(stored).toEqual({ thumbprint: thumbprints[0], isKey: true, extractable: false, exported: 'InvalidAccessError' });
    await shoot(page, 'coordinated-tabs-dpop');
  }, 90_000);

  it('the race, unprotected: the same refresh token twice, the family revoked, every tab signed out', async () => {
    const page = await openStory('demos-the-race-unprotected--unprotected', { tabs: 3, lifetimeSeconds: 4, latencyMs: 300 });
    await page.waitForFunction(
      () => {
        const data = document.querySelector<HTMLElement>('[data-testid="tab-summary"]')?.dataset;
        return Number(data?.open) === 3 && Number(data?.signedOut) === 3;
      },
      null,
      WAIT,
    );
    const result = await counters(page);
    expect(result.reuseDetections).toBeGreaterThanOrEqual(1);
    expect(result.refreshRequests).toBeGreaterThan(result.rotations);
    expect(result.signOuts).toBeGreaterThanOrEqual(3);
    expect(await summary(page)).toMatchObject({ open: 3, signedOut: 3, authenticated: 0 });
    const log = await refreshLog(page);
    expect(log.some((entry) => entry.outcome === 'reuse')).toBe(true);
    await expect(page.getByTestId('verdict').textContent()).resolves.toContain('reuse detected');
    await shoot(page, 'race-unprotected');
  }, 90_000);

  it('leader failover: closing the leader hands leadership to another tab without an extra refresh', async () => {
    const page = await openStory('demos-leader-failover--leader-failover', { tabs: 3, lifetimeSeconds: 6, latencyMs: 100 });
    await settled(page, 3);
    // Close the leader right after a rotation has reached every tab, so the next refresh is seconds away when the
    // new leader starts. (Closing it while its refresh is in flight loses the rotated pair with the tab: see the
    // story's grace-period control.)
    await page.waitForFunction(
      () => {
        const snapshot = Object.values(window.__tabauthDemo ?? {})[0]?.getSnapshot();
        if (!snapshot || snapshot.counters.rotations < 1) return false;
        const pending = snapshot.timeline.some((entry) => entry.kind === 'refresh' && entry.outcome === 'pending');
        const open = snapshot.tabs.filter((t) => t.closedAt === null);
        return !pending && open.length === 3 && open.every((t) => t.version === snapshot.counters.rotations + 1);
      },
      null,
      WAIT,
    );
    const before = await counters(page);
    const [leader] = (await summary(page)).leaders;
    expect(leader).toBeDefined();
    await tab(page, leader!).getByTestId('close-tab').click();
    await page.waitForFunction(
      (closed) => {
        const data = document.querySelector<HTMLElement>('[data-testid="tab-summary"]')?.dataset;
        const leaders = (data?.leaders ?? '').split(',').filter(Boolean);
        return Number(data?.open) === 2 && leaders.length === 1 && leaders[0] !== closed;
      },
      leader!,
      WAIT,
    );
    const takeover = await counters(page);
    const [successor] = (await summary(page)).leaders;
    expect(successor).not.toBe(leader);
    expect(takeover.refreshRequests).toBe(before.refreshRequests); // the new leader did not refresh on taking over
    expect(takeover.reuseDetections).toBe(0);
    expect(takeover.signOuts).toBe(0);

    // The next rotation is done by the new leader, once.
    await counterAtLeast(page, 'rotations', before.rotations + 1);
    const after = await counters(page);
    expect(after.refreshRequests).toBe(after.rotations);
    expect(after.reuseDetections).toBe(0);
    expect(after.signOuts).toBe(0);
    const log = await refreshLog(page);
    expect(log.at(-1)?.tabId).toBe(successor);
    await shoot(page, 'leader-failover');
  }, 90_000);

  it('401 storm: every query of every tab gets 401, one refresh, every query succeeds', async () => {
    const queriesPerTab = 12;
    const page = await openStory('demos-401-storm--storm-401', { tabs: 3, lifetimeSeconds: 300, latencyMs: 300, queriesPerTab });
    await settled(page, 3);
    const before = await counters(page);
    expect(before.refreshRequests).toBe(0);
    await page.getByTestId('storm').click();
    await counterAtLeast(page, 'queries-ok', 3 * queriesPerTab);
    const after = await counters(page);
    expect(after.queriesOk).toBe(3 * queriesPerTab);
    expect(after.refreshRequests).toBe(1);
    expect(after.rotations).toBe(1);
    expect(after.reuseDetections).toBe(0);
    expect(after.signOuts).toBe(0);
    expect(after.apiFailed).toBeGreaterThanOrEqual(1); // the 401s that started the storm
    expect(after.apiFailed).toBeLessThanOrEqual(3 * queriesPerTab);
    await shoot(page, 'storm-401');
  }, 90_000);

  it('offline and back: no refresh while offline, one refresh when the network returns', async () => {
    const page = await openStory('demos-offline-and-sign-out--offline-and-back', { tabs: 3, lifetimeSeconds: 4, latencyMs: 100 });
    await settled(page, 3);
    await page.getByTestId('toggle-network').click();
    const offline = await counters(page);
    // Wait until every tab's access token has expired while offline.
    await page.waitForFunction(
      () => {
        const hub = Object.values(window.__tabauthDemo ?? {})[0];
        const open = hub?.getSnapshot().tabs.filter((t) => t.closedAt === null) ?? [];
        return open.length === 3 && open.every((t) => t.expiresAt !== null && t.expiresAt < Date.now());
      },
      null,
      WAIT,
    );
    const expired = await counters(page);
    expect(expired.refreshRequests).toBe(offline.refreshRequests);
    expect(expired.networkErrors).toBe(0);
    await shoot(page, 'offline');

    await page.getByTestId('toggle-network').click();
    await page.waitForFunction(
      () => {
        const hub = Object.values(window.__tabauthDemo ?? {})[0];
        const open = hub?.getSnapshot().tabs.filter((t) => t.closedAt === null) ?? [];
        return open.length === 3 && open.every((t) => t.status === 'authenticated' && t.expiresAt !== null && t.expiresAt > Date.now());
      },
      null,
      WAIT,
    );
    const back = await counters(page);
    expect(back.refreshRequests).toBe(offline.refreshRequests + 1);
    expect(back.rotations).toBe(back.refreshRequests);
    expect(back.reuseDetections).toBe(0);
    expect(back.signOuts).toBe(0);
    await shoot(page, 'offline-and-back');
  }, 90_000);

  it('sign-out sync: a sign-out in one tab signs out every tab; a sign-in in another signs them all in', async () => {
    const page = await openStory('demos-offline-and-sign-out--sign-out-sync', { tabs: 3, lifetimeSeconds: 60, latencyMs: 100 });
    await settled(page, 3);
    await tab(page, 't2').getByTestId('sign-out').click();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="tab-summary"]')?.dataset.signedOut === '3', null, WAIT);
    const out = await counters(page);
    expect(out.signOuts).toBe(3);
    expect(out.refreshRequests).toBe(0);
    await shoot(page, 'sign-out-sync');

    await tab(page, 't3').getByTestId('sign-in').click();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="tab-summary"]')?.dataset.authenticated === '3', null, WAIT);
    const back = await counters(page);
    expect(back.refreshRequests).toBe(0);
    expect(back.signOuts).toBe(3);
  }, 90_000);
});
