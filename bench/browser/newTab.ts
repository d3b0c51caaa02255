/**
 * A new tab opened while signed in, N tabs already open: navigation start -> first usable access token, split into
 * loading (HTML, main chunk, the mode's chunk: until the mode's code starts) and the library's own work (mode start
 * -> token). Next to it, in the same context and interleaved sample by sample, the floor: the same page in mode
 * 'idb-floor', which does one bare IndexedDB open + read of a token-sized record and nothing else.
 */
import type { BrowserContext } from 'playwright-core';
import type { PageMode } from '../../test/e2e/page/api';
import { alive, openTab, waitForTab, type Tab } from '../../test/e2e/support/tabs';
import { ensureSignedIn, modeUrl, type BenchWorld } from './harness';
import { summarize, type Summary } from './stats';

export interface NewTabTimes {
  /** Navigation start -> first usable token (ms, the new tab's performance.now()). */
  total: Summary;
  /** Navigation start -> the mode's code starts (its chunk loaded). */
  loading: Summary;
  /** The mode's code starts -> first usable token: the library's own load time. */
  own: Summary;
}

export interface NewTabFigures {
  library: NewTabTimes;
  floor: NewTabTimes;
  /** Refresh requests sent by the new tabs (0 expected: the stored pair is fresh). */
  refreshRequests: number;
  /** Samples that found no session (lost to a race in naive/oidc-client-ts) and were retried after a login. */
  retries: number;
}

interface Sample {
  total: number;
  loading: number;
  own: number;
}

function times(samples: Sample[]): NewTabTimes {
  return {
    total: summarize(samples.map((s) => s.total)),
    loading: summarize(samples.map((s) => s.loading)),
    own: summarize(samples.map((s) => s.own)),
  };
}

async function sampleTab(context: BrowserContext, url: string, name: string): Promise<{ sample: Sample | null; tab: Tab }> {
  const tab = await openTab(context, url, name, 60_000);
  const state = await waitForTab(tab, (s) => s.usableAfterMs !== null || s.status === 'signed-out', 'a usable token or signed out', 30_000);
  await tab.page.close();
  if (state.usableAfterMs === null || state.modeStartMs === null) return { sample: null, tab };
  return { sample: { total: state.usableAfterMs, loading: state.modeStartMs, own: state.usableAfterMs - state.modeStartMs }, tab };
}

export async function runNewTabs(world: BenchWorld, context: BrowserContext, mode: PageMode, namespace: string, tabs: Tab[]): Promise<NewTabFigures> {
  const { server, settings } = world;
  const url = modeUrl(world, mode, namespace);
  const floorUrl = modeUrl(world, 'idb-floor', `${namespace}-floor`);
  // Seed the floor's record with a real token response (the size of what tabauth stores), in a tab not sampled.
  const seeder = await openTab(context, floorUrl, `${mode}-floor-seed`, 60_000);
  const tokens = await server.obtainInitialTokens();
  await seeder.page.evaluate((body) => window.tabauthTest!.signIn(body), tokens as unknown as Record<string, unknown>);
  await seeder.page.close();

  const library: Sample[] = [];
  const floor: Sample[] = [];
  let refreshRequests = 0;
  let retries = 0;
  for (let i = 0; (library.length < settings.samples || floor.length < settings.samples) && i < settings.samples * 4; i++) {
    if (floor.length < settings.samples) {
      const { sample } = await sampleTab(context, floorUrl, `${mode}-floor-${i}`);
      if (sample) floor.push(sample);
    }
    if (library.length < settings.samples) {
      await ensureSignedIn(server, alive(tabs));
      const { sample, tab } = await sampleTab(context, url, `${mode}-new-${i}`);
      refreshRequests += tab.tokenRequests;
      if (sample) library.push(sample);
      else retries++;
    }
  }
  return { library: times(library), floor: times(floor), refreshRequests, retries };
}
