/**
 * Page-side bookkeeping shared by every mode: what the tab held and when, its API calls, its refresh requests.
 */
import {
  jwtId,
  type ApiCallRecord,
  type HeldRecord,
  type PageConfig,
  type PageSnapshot,
  type PlatformProbes,
  type ReceivedRecord,
  type RefreshCallRecord,
  type TestApi,
} from './api';

export const now = () => performance.timeOrigin + performance.now();

/** What a mode must supply; the recorder builds the rest of the TestApi around it. */
export interface ModeDriver {
  /** Status/version/leader/jti/signedOutReason of the tab right now. */
  state(): Pick<PageSnapshot, 'status' | 'version' | 'leader' | 'jti' | 'signedOutReason'>;
  /** A token for an API call, with its version (-1 if none); null = signed out / unavailable. */
  tokenForCall(): Promise<{ token: string; version: number } | null>;
  getAccessToken(): Promise<string>;
  signIn(tokenResponse: Record<string, unknown>): Promise<void>;
  signOut(options?: { revoke?: boolean }): Promise<void>;
  metrics?(): Record<string, number>;
  /** Optional: handle a 401 from the API (e.g. tabauth's refresh({rejectedVersion})). */
  onUnauthorized?(version: number): Promise<void>;
  /** Optional: ask for a new pair now (tabauth's `refresh()`); settles when this tab holds it. */
  forceRefresh?(): Promise<void>;
  /** Optional: the mode makes its API calls itself (the React mode goes through tabauth/query). */
  callApi?(): Promise<ApiCallRecord>;
  startApiLoop?(intervalMs: number): void;
  stopApiLoop?(): Promise<void>;
  /** Optional: dispose the mode's client (tabauth modes). */
  dispose?(): Promise<void>;
  /** Optional mode-specific state for the snapshot. */
  extra?(): Record<string, unknown>;
  /** Optional: the API request itself (DPoP: through authedFetch, which handles 401s, nonces and refreshes). */
  fetchApi?(url: string): Promise<Response>;
  /** Optional: DPoP pages. */
  dpop?: TestApi['dpop'];
}

export class Recorder {
  readonly apiCalls: ApiCallRecord[] = [];
  readonly held: HeldRecord[] = [];
  readonly received: ReceivedRecord[] = [];
  readonly refreshCalls: RefreshCallRecord[] = [];
  readonly events: TestApi['events'] = [];
  readonly leadershipAt: number[] = [];
  /** Page lifecycle events (freeze, resume, visibilitychange, online, offline, pagehide, pageshow) as this page saw them. */
  readonly lifecycle: Array<{ type: string; at: number }> = [];
  forcedSignOuts = 0;
  invalidGrants = 0;
  usableAfterMs: number | null = null;
  modeStartMs: number | null = null;
  lastError: string | null = null;
  ready = false;
  private heldJtis = new Set<string>();
  seq = 0;
  private disposal: { startedAt: number; resolvedAt: number | null; error: string | null } | null = null;
  private loop: { timer: ReturnType<typeof setTimeout> | null; inflight: Promise<unknown> | null; stopped: boolean } | null = null;

  constructor(readonly config: PageConfig) {
    for (const type of ['freeze', 'resume', 'visibilitychange'] as const) {
      document.addEventListener(type, () =>
        this.lifecycle.push({ type: type === 'visibilitychange' ? `visibility:${document.visibilityState}` : type, at: now() }),
      );
    }
    for (const type of ['online', 'offline'] as const) window.addEventListener(type, () => this.lifecycle.push({ type, at: now() }));
    // 'pagehide:persisted' = going into the back/forward cache, 'pageshow:persisted' = restored from it.
    for (const type of ['pagehide', 'pageshow'] as const) {
      window.addEventListener(type, (event) => this.lifecycle.push({ type: event.persisted ? `${type}:persisted` : type, at: now() }));
    }
  }

  /** Records the first time this tab holds `accessToken`. */
  hold(accessToken: string, version: number, source: HeldRecord['source'], expiresAt: number | null, dueAt: number | null): void {
    const jti = jwtId(accessToken);
    if (!jti || this.heldJtis.has(jti)) return;
    this.heldJtis.add(jti);
    this.held.push({ jti, version, at: now(), clockAt: Date.now(), source, expiresAt, dueAt });
  }

  receive(accessToken: string): void {
    const jti = jwtId(accessToken);
    if (jti) this.received.push({ jti, at: now() });
  }

  startRefresh(version: number): RefreshCallRecord {
    const record: RefreshCallRecord = { version, at: now(), clockAt: Date.now(), outcome: 'pending' };
    this.refreshCalls.push(record);
    return record;
  }

  modeStarted(): void {
    this.modeStartMs ??= performance.now();
  }

  markUsable(): void {
    if (this.usableAfterMs === null) this.usableAfterMs = performance.now();
  }

  error(error: unknown): void {
    this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }

  async callApi(driver: ModeDriver): Promise<ApiCallRecord> {
    const record: ApiCallRecord = {
      seq: ++this.seq,
      version: -1,
      jti: null,
      requestedAt: now(),
      obtainedAt: 0,
      sentAt: 0,
      doneAt: 0,
      status: 0,
      newest: null,
      error: null,
    };
    try {
      const held = await driver.tokenForCall();
      record.obtainedAt = now();
      if (!held) {
        record.error = 'no-token';
        record.doneAt = now();
        this.apiCalls.push(record);
        return record;
      }
      record.version = held.version;
      record.jti = jwtId(held.token);
      record.sentAt = now();
      const response = driver.fetchApi
        ? await driver.fetchApi(this.config.apiUrl)
        : await fetch(this.config.apiUrl, { headers: { authorization: `Bearer ${held.token}` }, cache: 'no-store' });
      record.status = response.status;
      const body = (await response.json().catch(() => ({}))) as { newest?: boolean; error_description?: string; jti?: string };
      if (driver.fetchApi && body.jti) record.jti = body.jti; // the token authedFetch really sent (it may have refreshed)
      record.doneAt = now();
      if (response.status === 200) record.newest = body.newest === true;
      else record.error = body.error_description ?? `HTTP ${response.status}`;
    } catch (error) {
      record.doneAt = now();
      record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    this.apiCalls.push(record);
    if (record.status === 401 && driver.onUnauthorized && !driver.fetchApi && record.version >= 0) {
      await driver.onUnauthorized(record.version).catch(() => {});
    }
    return record;
  }

  startApiLoop(driver: ModeDriver, intervalMs: number): void {
    if (this.loop && !this.loop.stopped) return;
    const loop: { timer: ReturnType<typeof setTimeout> | null; inflight: Promise<unknown> | null; stopped: boolean } = {
      timer: null,
      inflight: null,
      stopped: false,
    };
    this.loop = loop;
    const tick = () => {
      if (loop.stopped) return;
      loop.inflight = this.callApi(driver).finally(() => {
        loop.inflight = null;
        if (!loop.stopped) loop.timer = setTimeout(tick, intervalMs);
      });
    };
    // A random phase so that the tabs' calls are spread over the interval.
    loop.timer = setTimeout(tick, Math.random() * intervalMs);
  }

  async stopApiLoop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    loop.stopped = true;
    if (loop.timer) clearTimeout(loop.timer);
    await loop.inflight?.catch(() => {});
  }

  /** Installs window.tabauthTest. */
  install(driver: ModeDriver): TestApi {
    const api: TestApi = {
      config: this.config,
      snapshot: () => ({
        mode: this.config.mode,
        ready: this.ready,
        ...driver.state(),
        forcedSignOuts: this.forcedSignOuts,
        invalidGrants: this.invalidGrants,
        refreshRequests: this.refreshCalls.length,
        usableAfterMs: this.usableAfterMs,
        modeStartMs: this.modeStartMs,
        leadershipAt: [...this.leadershipAt],
        apiCalls: this.apiCalls.length,
        lastError: this.lastError,
        extra: driver.extra?.() ?? {},
      }),
      apiCalls: this.apiCalls,
      held: this.held,
      received: this.received,
      refreshCalls: this.refreshCalls,
      events: this.events,
      lifecycle: this.lifecycle,
      metrics: () => driver.metrics?.() ?? {},
      getAccessToken: () => driver.getAccessToken(),
      callApi: () => (driver.callApi ? driver.callApi() : this.callApi(driver)),
      startApiLoop: (intervalMs) => (driver.startApiLoop ? driver.startApiLoop(intervalMs) : this.startApiLoop(driver, intervalMs)),
      stopApiLoop: () => (driver.stopApiLoop ? driver.stopApiLoop() : this.stopApiLoop()),
      signIn: (body) => driver.signIn(body),
      requestRefresh: () => {
        // Fire and forget: the test may close this tab before the answer comes.
        void driver.forceRefresh?.().catch((error: unknown) => this.error(error));
      },
      signOut: (options) => driver.signOut(options),
      dispose: () => {
        if (!driver.dispose) throw new Error(`test page: mode ${this.config.mode} has no client to dispose`);
        const disposal: { startedAt: number; resolvedAt: number | null; error: string | null } = { startedAt: now(), resolvedAt: null, error: null };
        this.disposal = disposal;
        driver.dispose().then(
          () => (disposal.resolvedAt = now()),
          (error: unknown) => {
            disposal.resolvedAt = now();
            disposal.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          },
        );
      },
      disposal: () => (this.disposal ? { ...this.disposal } : null),
      probes: platformProbes(),
      ...(driver.dpop ? { dpop: driver.dpop } : {}),
    };
    window.tabauthTest = api;
    if (this.config.apiIntervalMs > 0) api.startApiLoop(this.config.apiIntervalMs);
    return api;
  }
}

/** The bench's bare-platform floors, run inside the same tabs as the library under test. */
function platformProbes(): PlatformProbes {
  const channels = new Map<string, { channel: BroadcastChannel; arrivals: Record<number, number> }>();
  const locks = new Map<string, { grantedAt: number | null }>();
  const channelFor = (name: string) => {
    let entry = channels.get(name);
    if (!entry) {
      const created = { channel: new BroadcastChannel(name), arrivals: {} as Record<number, number> };
      created.channel.onmessage = (event: MessageEvent<{ id: number }>) => {
        created.arrivals[event.data.id] = now();
      };
      channels.set(name, created);
      entry = created;
    }
    return entry;
  };
  return {
    listenChannel: (name) => void channelFor(name),
    postChannel(name, id, paddingChars) {
      const { channel } = channelFor(name);
      const at = now();
      channel.postMessage({ id, padding: 'x'.repeat(paddingChars) });
      return at;
    },
    channelArrivals: (name) => ({ ...(channels.get(name)?.arrivals ?? {}) }),
    holdLock(name, releaseOnPageHide) {
      if (locks.has(name)) return;
      const entry: { grantedAt: number | null } = { grantedAt: null };
      locks.set(name, entry);
      void navigator.locks.request(name, () => {
        entry.grantedAt = now();
        return new Promise<void>((release) => {
          if (releaseOnPageHide) window.addEventListener('pagehide', () => release(), { once: true });
        });
      });
    },
    lockGrantedAt: (name) => locks.get(name)?.grantedAt ?? null,
  };
}

/** Expiry (Date.now clock) from a token response received now. */
export function expiresAtOf(body: { expires_in?: unknown }, receivedAt: number): number | null {
  return typeof body.expires_in === 'number' ? receivedAt + body.expires_in * 1000 : null;
}

/** tabauth's refresh policy (refreshBufferMs in src/core/refreshPolicy.ts), re-implemented for the naive mode. */
export function dueAtOf(receivedAt: number, expiresAt: number | null, leewayMs: number, ratio: number): number | null {
  if (expiresAt === null) return null;
  const lifetime = Math.max(0, expiresAt - receivedAt);
  return expiresAt - Math.min(Math.max(leewayMs, lifetime * ratio), lifetime / 2);
}
