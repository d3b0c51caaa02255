// @vitest-environment node
/**
 * The devtools panel in 3 real Chromium tabs (the e2e page in React mode, a production build that lazily loads
 * tabauth/devtools/production) against oidc-provider: every panel lists the 3 tabs with exactly one leader and one
 * version, a refresh forced from one panel moves every tab to the same new version with one request, "Expire" makes
 * the chosen tab's next getAccessToken() refresh once, and no token string is anywhere in any page's DOM.
 * Conditions are awaited, never timed.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { secretsOf } from '../devtools/support';
import { repoRoot } from './support/page';
import { openSession, signIn, skipBrowserTests, startWorld, type Session, type World } from './support/session';
import { delay, leaderOf, waitForAll, type Tab } from './support/tabs';

interface PanelRow {
  tabId: string;
  role: string;
  version: number;
  self: boolean;
}

interface PanelState {
  rows: PanelRow[];
  fingerprint: string | null;
  result: { status: string | null; text: string } | null;
}

const readPanel = (page: Page): Promise<PanelState> =>
  page.evaluate(() => {
    const rows = [...document.querySelectorAll<HTMLElement>('[data-testid="tabauth-devtools-tab"]')].map((row) => ({
      tabId: row.dataset.tabId ?? '',
      role: row.dataset.role ?? '',
      version: Number(row.dataset.version),
      self: row.dataset.self === 'true',
    }));
    const result = document.querySelector<HTMLElement>('[data-testid="tabauth-devtools-result"]');
    return {
      rows,
      fingerprint: document.querySelector<HTMLElement>('[data-testid="tabauth-devtools-fingerprint"]')?.dataset.value ?? null,
      result: result ? { status: result.dataset.status ?? null, text: result.textContent ?? '' } : null,
    };
  });

/** Waits until the panels of all tabs satisfy `predicate` at once. */
async function waitForPanels(tabs: Tab[], predicate: (panels: PanelState[]) => boolean, what: string, timeoutMs = 30_000): Promise<PanelState[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const panels = await Promise.all(tabs.map((tab) => readPanel(tab.page)));
    if (predicate(panels)) return panels;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the panels: ${what}; last ${JSON.stringify(panels)}`);
    await delay(50);
  }
}

const settledAt = (version: number) => (panels: PanelState[]) =>
  panels.every(
    (panel) => panel.rows.length === 3 && panel.rows.filter((row) => row.role === 'leader').length === 1 && panel.rows.every((row) => row.version === version),
  );

const sha256Prefix = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 8);

/** Every token string the tab holds: the access token it hands out and the stored pair (refresh and id token). */
const tokensOf = (tab: Tab, namespace: string): Promise<string[]> =>
  tab.page.evaluate(async (key) => {
    const stored = await new Promise<{ tokens?: { accessToken: string; refreshToken: string | null; idToken: string | null } } | undefined>(
      (resolve, reject) => {
        const request = indexedDB.open('tabauth');
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const read = request.result.transaction('keyval').objectStore('keyval').get(key);
          read.onerror = () => reject(read.error);
          read.onsuccess = () => resolve(read.result);
        };
      },
    );
    const tokens = [await window.tabauthTest!.getAccessToken()];
    for (const token of [stored?.tokens?.accessToken, stored?.tokens?.refreshToken, stored?.tokens?.idToken]) if (token) tokens.push(token);
    return tokens;
  }, `tabauth:${namespace}:state`);

const domText = (tab: Tab) => tab.page.evaluate(() => `${document.documentElement.outerHTML}\n${document.body.innerText}`);

describe.skipIf(skipBrowserTests)('e2e: the devtools panel in 3 real Chromium tabs', () => {
  let world: World;
  let session: Session | undefined;

  beforeAll(async () => {
    // Long-lived access tokens: only the panel's buttons cause refreshes.
    world = await startWorld({ accessTokenTtlSeconds: 300 });
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it('lists 3 tabs, one leader, one version; Force refresh and Expire act on the chosen tab; no token in any DOM', async () => {
    world.server.resetCounters();
    session = await openSession(world, 3, { mode: 'react', devtools: true, namespace: 'devtools' });
    const { tabs } = session;
    const seen = new Set<string>();
    const initial = await signIn(world, session);
    for (const token of [initial.tokens.access_token, initial.tokens.refresh_token, initial.tokens.id_token]) if (token) seen.add(token);
    const v0 = initial.version;

    const panels = await waitForPanels(tabs, settledAt(v0), `3 tabs, one leader, v${v0} in every panel`);
    const selfIds = panels.map((panel) => panel.rows.find((row) => row.self)!.tabId);
    expect(new Set(selfIds).size).toBe(3);
    for (const panel of panels) {
      expect(panel.rows.map((row) => row.tabId).sort()).toEqual([...selfIds].sort());
      expect(panel.rows[0]!.self).toBe(true);
    }
    // Every panel names the same leader: the tab whose client leads.
    const leader = await leaderOf(tabs);
    const leaderId = selfIds[tabs.indexOf(leader)]!;
    for (const panel of panels) expect(panel.rows.filter((row) => row.role === 'leader').map((row) => row.tabId)).toEqual([leaderId]);

    // Force refresh: from one follower's panel, on the other follower.
    const [panelTab, targetTab] = tabs.filter((tab) => tab !== leader) as [Tab, Tab];
    const targetId = selfIds[tabs.indexOf(targetTab)]!;
    const requestsBefore = tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0);
    await panelTab.page.click(`[data-testid="tabauth-devtools-tab"][data-tab-id="${targetId}"]`);
    await panelTab.page.click('[data-testid="tabauth-devtools-refresh"]');
    await waitForPanels(tabs, settledAt(v0 + 1), `v${v0 + 1} in every panel after Force refresh`);
    await waitForAll(tabs, (all) => all.every((s) => s.version === v0 + 1), `every client at v${v0 + 1}`);
    const afterRefresh = await waitForPanels([panelTab], ([panel]) => panel!.result?.status === 'done', 'the command result');
    expect(afterRefresh[0]!.result!.text).toContain(`v${v0 + 1}`);
    expect(tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBe(requestsBefore + 1);
    expect(world.server.counters()).toMatchObject({ refreshSuccesses: 1, invalidGrant: 0, reuseDetected: 0 });
    expect(leader.tokenRequests).toBe(1); // the leader sent it, not the tab the panel chose
    for (const tab of tabs) for (const token of await tokensOf(tab, session.config.namespace)) seen.add(token);

    // Expire: from the leader's panel, on the same follower. Nothing is sent until that tab wants a token.
    await leader.page.click(`[data-testid="tabauth-devtools-tab"][data-tab-id="${targetId}"]`);
    await leader.page.click('[data-testid="tabauth-devtools-expire"]');
    const expired = await waitForPanels([leader], ([panel]) => panel!.result?.status === 'done', 'the expire result');
    expect(expired[0]!.result!.text).toContain(`v${v0 + 1} marked expired`);
    expect(tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBe(requestsBefore + 1);
    await targetTab.page.evaluate(() => window.tabauthTest!.getAccessToken());
    const final = await waitForPanels(tabs, settledAt(v0 + 2), `v${v0 + 2} in every panel after Expire`);
    expect(tabs.reduce((sum, tab) => sum + tab.tokenRequests, 0)).toBe(requestsBefore + 2);
    expect(world.server.counters()).toMatchObject({ refreshSuccesses: 2, invalidGrant: 0, reuseDetected: 0 });

    // Fingerprints: every panel shows the fingerprint of the access token its own tab holds, the same everywhere.
    const held = await Promise.all(tabs.map((tab) => tokensOf(tab, session!.config.namespace)));
    for (const tokens of held) for (const token of tokens) seen.add(token);
    await waitForPanels(tabs, (all) => all.every((panel, i) => panel.fingerprint === sha256Prefix(held[i]![0]!)), 'fingerprints of the held tokens');
    expect(new Set(final.map((panel) => panel.rows.length))).toEqual(new Set([3]));
    expect(new Set(held.map((tokens) => tokens[0]))).toHaveProperty('size', 1);

    // No token string (nor any long part of a JWT) in any page's DOM, the panels included.
    expect(seen.size).toBeGreaterThanOrEqual(7); // 3 access + 3 refresh tokens + the id token, at least
    const secrets = secretsOf(seen);
    for (const tab of tabs) {
      const text = await domText(tab);
      expect(text).toContain('tabauth-devtools-panel');
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    }

    // A picture of the panel (test-results/devtools/); the README's copy is refreshed on request only.
    const shots = join(repoRoot, 'test-results', 'devtools');
    mkdirSync(shots, { recursive: true });
    const shot = join(shots, 'panel.png');
    // Taller than the panel's usual cap (78% of the viewport) so the picture shows every section at once.
    await panelTab.page.setViewportSize({ width: 1280, height: 1600 });
    await panelTab.page.addStyleTag({ content: '.tabauth-devtools .tdt-panel { max-height: none !important; }' });
    await panelTab.page.getByTestId('tabauth-devtools-panel').screenshot({ path: shot });
    if (process.env.TABAUTH_UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(shot, join(repoRoot, 'docs', 'devtools-panel.png'));
  }, 150_000);
});
