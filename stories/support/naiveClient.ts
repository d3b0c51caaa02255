/**
 * A naive token client, written the way most hand-written refresh code is, for "The race, unprotected".
 *
 * It is not a strawman. It does the things a careful developer adds without cross-tab coordination:
 * - the pair lives in localStorage, shared by every tab, and tabs adopt a pair another tab wrote (`storage` event);
 * - it refreshes *before* expiry, on its own timer, with a margin;
 * - right before refreshing it re-reads the shared storage, in case another tab already refreshed;
 * - one refresh at a time inside a tab (single flight), and a 401 from the API triggers one refresh and one retry;
 * - on `invalid_grant` it gives up and sends the user back to the login page.
 *
 * What it cannot do is stop two tabs whose timers say "now" from sending the same refresh token: neither sees the
 * other's new pair before its own request is on the wire. With rotation and reuse detection on the server, the
 * second request revokes the whole token family and every tab ends up signed out.
 */

export interface NaivePair {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

export type NaiveStatus = 'authenticated' | 'signed-out';

export interface NaiveState {
  status: NaiveStatus;
  pair: NaivePair | null;
  /** Number of pairs this tab has seen (its own refreshes and adopted ones), for display. */
  generation: number;
  signedOutReason: string | null;
}

export interface NaiveClientOptions {
  storageKey: string;
  tokenEndpoint: string;
  clientId: string;
  /** fetch for the token endpoint. */
  fetch: typeof fetch;
  /** Refresh this long before the access token expires. */
  refreshBeforeMs: number;
  storage?: Storage;
  /** Where `storage` events arrive (default window). */
  eventTarget?: Pick<Window, 'addEventListener' | 'removeEventListener'>;
  onChange?: (state: NaiveState) => void;
  onLog?: (line: string) => void;
}

export interface NaiveClient {
  getState(): NaiveState;
  start(): void;
  stop(): void;
  /** Refreshes now (single flight within this tab). Resolves with the new pair, or null when signed out. */
  refresh(reason: string): Promise<NaivePair | null>;
  /** Calls an API with the bearer token; on 401 refreshes once and retries once. */
  callApi(apiFetch: typeof fetch, url: string): Promise<Response | null>;
  /** Accepts the tokens of a login (stored for every tab). */
  signIn(response: { access_token: string; refresh_token?: string; expires_in?: number }): void;
  signOut(reason: string): void;
}

/** A short, stable label for a token, so the demo can show "both tabs used R·3f2a" without printing the token. */
export function fingerprint(token: string): string {
  let hash = 2166136261;
  for (let i = 0; i < token.length; i++) {
    hash ^= token.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  return (hash >>> 0).toString(16).padStart(8, '0').slice(0, 4);
}

export function createNaiveClient(options: NaiveClientOptions): NaiveClient {
  const storage = options.storage ?? localStorage;
  const events = options.eventTarget ?? window;
  let state: NaiveState = { status: 'signed-out', pair: null, generation: 0, signedOutReason: null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<NaivePair | null> | null = null;
  let running = false;

  const log = (line: string) => options.onLog?.(line);
  const set = (next: Partial<NaiveState>) => {
    state = { ...state, ...next };
    options.onChange?.(state);
  };

  const read = (): NaivePair | null => {
    try {
      const raw = storage.getItem(options.storageKey);
      if (!raw) return null;
      const pair = JSON.parse(raw) as NaivePair;
      return typeof pair?.accessToken === 'string' && typeof pair.refreshToken === 'string' ? pair : null;
    } catch {
      return null;
    }
  };
  const write = (pair: NaivePair) => storage.setItem(options.storageKey, JSON.stringify(pair));

  // Like any page load: the stored pair is there from the first render.
  const initial = read();
  if (initial) state = { status: 'authenticated', pair: initial, generation: 1, signedOutReason: null };

  const schedule = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!running || !state.pair) return;
    const delay = Math.max(0, state.pair.expiresAt - options.refreshBeforeMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      void client.refresh('timer');
    }, delay);
  };

  const adopt = (pair: NaivePair, why: string) => {
    set({ status: 'authenticated', pair, generation: state.generation + 1, signedOutReason: null });
    log(`${why}: R·${fingerprint(pair.refreshToken)}`);
    schedule();
  };

  const onStorage = (event: Event) => {
    const { key, newValue } = event as StorageEvent;
    if (key !== options.storageKey || !newValue || !running) return;
    const pair = read();
    // Typical hand-written sync: take any pair another tab stored (logouts are not synced).
    if (pair && pair.refreshToken !== state.pair?.refreshToken) adopt(pair, 'another tab stored');
  };

  const doRefresh = async (reason: string): Promise<NaivePair | null> => {
    // "Check the shared cache first": take whatever pair is stored now.
    const stored = read() ?? state.pair;
    if (!stored) {
      log('nothing to refresh with: signed out');
      return null;
    }
    log(`${reason}: refresh with R·${fingerprint(stored.refreshToken)}`);
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored.refreshToken, client_id: options.clientId });
    let response: Response;
    try {
      response = await options.fetch(options.tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } catch {
      log('network error: retry in 2 s');
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => void client.refresh('retry'), 2000);
      return null;
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.ok && typeof body.access_token === 'string') {
      const pair: NaivePair = {
        accessToken: body.access_token,
        refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : stored.refreshToken,
        expiresAt: Date.now() + Number(body.expires_in ?? 60) * 1000,
      };
      write(pair);
      adopt(pair, `HTTP ${response.status}, new pair`);
      return pair;
    }
    log(`HTTP ${response.status} ${String(body.error ?? '')} → login page`);
    client.signOut('refresh-rejected');
    return null;
  };

  const client: NaiveClient = {
    getState: () => state,
    start() {
      if (running) return;
      running = true;
      events.addEventListener('storage', onStorage);
      const pair = read();
      if (pair) {
        if (pair.refreshToken !== state.pair?.refreshToken) adopt(pair, 'loaded the stored pair');
        else {
          log(`loaded the stored pair: R·${fingerprint(pair.refreshToken)}`);
          schedule();
        }
      } else set({ status: 'signed-out', pair: null });
    },
    stop() {
      running = false;
      events.removeEventListener('storage', onStorage);
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    refresh(reason) {
      if (!running || state.status !== 'authenticated') return Promise.resolve(null);
      inflight ??= doRefresh(reason).finally(() => {
        inflight = null;
      });
      return inflight;
    },
    async callApi(apiFetch, url) {
      if (!state.pair) return null;
      const call = (pair: NaivePair) => apiFetch(url, { headers: { Authorization: `Bearer ${pair.accessToken}` } });
      let response = await call(state.pair);
      if (response.status !== 401) return response;
      log('API: 401');
      const pair = await client.refresh('401');
      if (!pair) return response;
      response = await call(pair);
      return response;
    },
    signIn(response) {
      const pair: NaivePair = {
        accessToken: response.access_token,
        refreshToken: response.refresh_token ?? '',
        expiresAt: Date.now() + Number(response.expires_in ?? 60) * 1000,
      };
      write(pair);
      adopt(pair, 'signed in');
    },
    signOut(reason) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      try {
        storage.removeItem(options.storageKey);
      } catch {
        // ignore
      }
      if (state.status === 'signed-out') return;
      set({ status: 'signed-out', pair: null, signedOutReason: reason });
      log(`signed out (${reason})`);
    },
  };
  return client;
}
