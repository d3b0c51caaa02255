import type { Clock } from '../src/core/clock';
import type { AuthStorage } from '../src/core/storage/storage';
import type { MockTokenServer } from '../src/testing/mockTokenServer';

/**
 * What most hand-written multi-tab code does: every tab keeps the pair in shared storage and refreshes on its own
 * when its own timer (or an API call) finds the token due. No election, no lock, no compare-and-set.
 * Used only by the benchmark, as the baseline tabauth is compared with.
 */
export interface NaiveTab {
  getAccessToken(): Promise<string>;
  readonly signedOut: boolean;
  /** Version of the pair this tab holds (counts the refreshes it has seen). */
  readonly version: number;
  onAdopt: ((version: number) => void) | null;
  dispose(): void;
}

interface NaiveRecord {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  version: number;
}

export function createNaiveTab(options: { storage: AuthStorage; server: MockTokenServer; clock: Clock; bufferMs: number; key: string }): NaiveTab {
  const { storage, server, clock } = options;
  let held: NaiveRecord | null = null;
  let signedOut = false;
  let timer: unknown;
  let disposed = false;
  const tab: NaiveTab = {
    onAdopt: null,
    get signedOut() {
      return signedOut;
    },
    get version() {
      return held?.version ?? 0;
    },
    async getAccessToken() {
      const stored = (await storage.get(options.key)) as NaiveRecord | null | undefined;
      if (stored && (!held || stored.version > held.version)) {
        held = stored;
        tab.onAdopt?.(stored.version);
      }
      if (!held) throw new Error('signed out');
      if (clock.now() < held.expiresAt - options.bufferMs) return held.accessToken;
      // Due: refresh right here, with whatever refresh token this tab holds.
      const response = await server.fetch(server.tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: held.refreshToken, client_id: 'tabauth-demo' }).toString(),
      });
      const body = (await response.json()) as { access_token?: string; refresh_token?: string; expires_in?: number };
      if (!response.ok || !body.access_token || !body.refresh_token) {
        signedOut = true;
        await storage.update(options.key, () => undefined);
        throw new Error('refresh rejected: signed out');
      }
      const next: NaiveRecord = {
        accessToken: body.access_token,
        refreshToken: body.refresh_token,
        expiresAt: clock.now() + (body.expires_in ?? 60) * 1000,
        version: held.version + 1,
      };
      held = next;
      await storage.update(options.key, () => next);
      tab.onAdopt?.(next.version);
      return next.accessToken;
    },
    dispose() {
      disposed = true;
      clock.clearTimeout(timer);
    },
  };
  // Its own proactive timer, like a typical setInterval-based refresher.
  const tick = () => {
    if (disposed || signedOut) return;
    tab.getAccessToken().catch(() => {});
    timer = clock.setTimeout(tick, 100);
  };
  timer = clock.setTimeout(tick, 100);
  return tab;
}
