/**
 * What every section of the browser bench shares: one Chromium (back/forward cache on), one oidc-provider serving
 * the test page (test/e2e/page) `Cache-Control: no-cache`, and helpers to open tabs of a mode and sign them in.
 * A new section (e.g. DPoP rows) gets a `BenchWorld` and returns rows for results.json; see ../browser.ts.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import type { PageConfig, PageMode } from '../../test/e2e/page/api';
import { launchChromium } from '../../test/e2e/support/chromium';
import { startOidcServer, type OidcServer } from '../../test/e2e/support/oidcServer';
import { buildTestPage } from '../../test/e2e/support/page';
import { alive, openTab, pageConfig, pageUrl, snapshot, waitForTab, type Tab } from '../../test/e2e/support/tabs';

export interface BenchSettings {
  tabCounts: number[];
  rotations: number;
  ttlSeconds: number;
  modes: PageMode[];
  /** tabauth and naive refresh at this fraction of the lifetime before expiry (0.5 = half-life). */
  ratio: number;
  periodMs: number;
  /** oidc-client-ts counts in whole seconds: its renew fires `notify` seconds before expiry. */
  oidcNotifySeconds: number;
  apiIntervalMs: number;
  /** Samples per timed figure (new tab, takeover by close, takeover by crash); at least 20. */
  samples: number;
  /** Back/forward cache trials per library. */
  bfcacheTrials: number;
  /** Interval of the BroadcastChannel fan-out floor's messages during the rotation window. */
  channelFloorIntervalMs: number;
  /** Padding of a floor message: about the size of a tabauth state message with a JWT pair. */
  channelFloorPaddingChars: number;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const ttlSeconds = Number(env.BENCH_TTL ?? 3);
  const ratio = 0.5;
  const samples = Math.max(20, Number(env.BENCH_SAMPLES ?? 20));
  return {
    tabCounts: (env.BENCH_TABS ?? '2,8,16,32').split(',').map(Number),
    rotations: Number(env.BENCH_ROTATIONS ?? 24),
    ttlSeconds,
    modes: (env.BENCH_MODES ?? 'tabauth,naive,oidc-client-ts').split(',') as PageMode[],
    ratio,
    periodMs: ttlSeconds * 1000 * (1 - ratio),
    oidcNotifySeconds: Math.max(1, Math.ceil(ttlSeconds * ratio)),
    apiIntervalMs: 500,
    samples,
    bfcacheTrials: Number(env.BENCH_BFCACHE_TRIALS ?? 3),
    channelFloorIntervalMs: 400,
    channelFloorPaddingChars: 2048,
  };
}

export interface BenchWorld {
  settings: BenchSettings;
  server: OidcServer;
  browser: Browser;
  close(): Promise<void>;
}

export async function startBenchWorld(settings: BenchSettings): Promise<BenchWorld> {
  const dir = await buildTestPage();
  const server = await startOidcServer({ accessTokenTtlSeconds: settings.ttlSeconds });
  // no-store would keep every page out of the back/forward cache; the files are served without validators, so
  // every load still fetches them in full (as no-store did).
  server.serveStatic(dir, { cacheControl: 'no-cache' });
  const browser = await launchChromium({ backForwardCache: true });
  return {
    settings,
    server,
    browser,
    async close() {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
    },
  };
}

/** The page configuration of one mode in one row (its own namespace, so rows never share storage keys). */
export function modeConfig(world: BenchWorld, mode: PageMode, namespace: string): PageConfig {
  const { settings } = world;
  return pageConfig(world.server, { mode, namespace, leewayMs: 0, ratio: settings.ratio, oidcNotifySeconds: settings.oidcNotifySeconds });
}

export function modeUrl(world: BenchWorld, mode: PageMode, namespace: string): string {
  return pageUrl(world.server, modeConfig(world, mode, namespace));
}

export async function openTabs(context: BrowserContext, url: string, count: number, prefix: string): Promise<Tab[]> {
  const tabs: Tab[] = [];
  for (let i = 0; i < count; i++) tabs.push(await openTab(context, url, `${prefix}-${i}`, 60_000));
  return tabs;
}

/** A fresh login (code + PKCE flow at the provider), handed to the page's `signIn`. */
export async function obtainAndSignIn(server: OidcServer, tab: Tab): Promise<void> {
  const tokens = await server.obtainInitialTokens();
  await tab.page.evaluate((body) => window.tabauthTest!.signIn(body), tokens as unknown as Record<string, unknown>);
}

/** Signs in again through the first live tab if it lost its session (naive and oidc-client-ts lose it to races). */
export async function ensureSignedIn(server: OidcServer, tabs: Tab[]): Promise<void> {
  const first = alive(tabs)[0]!;
  if ((await snapshot(first)).status === 'authenticated') return;
  await obtainAndSignIn(server, first);
  await waitForTab(first, (s) => s.status === 'authenticated', 'signed in', 30_000);
}

export const now = () => Date.now();
