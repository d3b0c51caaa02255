/**
 * The demo hub lives in the story's own window (the parent of the tab iframes). It owns what every tab of one demo
 * run shares and what a real deployment would have outside the browser:
 *
 * - the token server: tabauth/testing's mock server (rotation + strict reuse detection), so a refresh token that two
 *   tabs present is really detected as reused;
 * - a tiny protected API that validates bearer tokens with that server;
 * - a network switch (offline / back online) for every tab at once;
 * - the record of what happened: per-tab state reports, refresh requests per tab, sign-outs, API calls.
 *
 * Tabs find it as `window.parent.__tabauthDemo[key]` (same origin), and each tab's refresh goes through
 * `hub.tokenFetch(tabId)`, which forwards to the mock server's `fetch` and notes which tab made the request.
 * Nothing here coordinates the tabs: coordination is entirely tabauth's job (or, in the naive demo, nobody's).
 */
import { createIndexedDbStorage, createAuthClient, type AuthEnvironment } from 'tabauth';
import { createDpop, dpopKeyStorageKey, dpopNoncesStorageKey } from 'tabauth/dpop';
import { createMockTokenServer, type MockTokenServer } from 'tabauth/testing';

export type DemoMode = 'naive' | 'coordinated';
export type Scenario = 'race' | 'coordinated' | 'failover' | 'storm' | 'offline' | 'signout';

export interface DemoConfig {
  mode: DemoMode;
  scenario: Scenario;
  /** Tabs opened at start. */
  tabs: number;
  /** Access-token lifetime the server issues, in seconds. */
  lifetimeSeconds: number;
  /** Token endpoint latency in ms (the request is processed at once; the answer arrives after this). */
  latencyMs: number;
  /** Every tab calls the API by itself this often (0: only when clicked). */
  autoApiMs: number;
  /** 401 storm: queries each tab fires at once. */
  queriesPerTab: number;
  /**
   * Server grace period in ms: a used refresh token presented again within it gets the same new pair back instead of
   * revoking the family (Okta: 30 s by default; Supabase: 10 s; oidc-provider and Auth0 by default: 0).
   */
  gracePeriodMs: number;
  /**
   * DPoP (RFC 9449): every tab signs with one non-extractable key from IndexedDB, the server binds the tokens to it
   * and asks for nonces (token endpoint and API), and the API checks a proof on every call.
   */
  dpop?: boolean;
}

export type TabStatus = 'loading' | 'authenticated' | 'signed-out' | 'closed';

export interface TabReport {
  status: Exclude<TabStatus, 'closed'>;
  isLeader: boolean;
  version: number;
  expiresAt: number | null;
  refreshDueAt: number | null;
  signedOutReason: string | null;
}

export interface TabRecord {
  id: string;
  label: string;
  index: number;
  openedAt: number;
  closedAt: number | null;
  status: TabStatus;
  isLeader: boolean;
  version: number;
  expiresAt: number | null;
  refreshDueAt: number | null;
  signedOutReason: string | null;
  /**
   * The tab's document has loaded, its app is attached to the hub (so page buttons reach it) and it has read the
   * shared state (no longer 'loading'). Until every open tab is ready the page's controls stay disabled: a click
   * before that would reach only some tabs, or none.
   */
  ready: boolean;
}

/** 'nonce': the server answered use_dpop_nonce (DPoP) and the tab sent the request again at once. */
export type RefreshOutcome = 'pending' | 'ok' | 'rejected' | 'reuse' | 'network' | 'error' | 'nonce';

export type TimelineEntry =
  | { kind: 'refresh'; id: number; tabId: string; at: number; endAt: number | null; outcome: RefreshOutcome }
  | { kind: 'leader'; id: number; tabId: string; at: number; endAt: number | null }
  | { kind: 'signed-out'; id: number; tabId: string; at: number; reason: string | null }
  | { kind: 'signed-in'; id: number; tabId: string; at: number }
  /** The tab now holds a newer pair (its own refresh, or one pushed by another tab). */
  | { kind: 'version'; id: number; tabId: string; at: number; version: number }
  | { kind: 'offline'; id: number; at: number; endAt: number | null }
  | { kind: 'closed'; id: number; tabId: string; at: number };

export interface DemoCounters {
  /** Requests that reached the token endpoint. */
  refreshRequests: number;
  /** Successful rotations (new pairs minted). */
  rotations: number;
  reuseDetections: number;
  familiesRevoked: number;
  invalidGrant: number;
  /** Transitions of a tab from signed-in to signed-out, for any reason. */
  signOuts: number;
  apiCalls: number;
  apiFailed: number;
  /** Token requests that never left a tab because the network was down. */
  networkErrors: number;
  /** Logins completed (the first one included). */
  logins: number;
  /** 401 storm: queries that settled, by outcome. */
  queriesOk: number;
  queriesFailed: number;
  /** DPoP: keys the tabs created (one per login), `use_dpop_nonce` answers (token endpoint + API), key mismatches. */
  dpopKeysCreated: number;
  nonceRetries: number;
  /** Token requests the server answered use_dpop_nonce (not counted in refreshRequests). */
  nonceChallengedRefreshes: number;
  keyMismatches: number;
}

export interface DemoSnapshot {
  key: string;
  namespace: string;
  /** The first login is stored and the tab records exist (their documents may still be loading). */
  ready: boolean;
  /** Every open tab is ready (see `TabRecord.ready`); false while the first tabs, or an added one, start. */
  tabsReady: boolean;
  online: boolean;
  config: DemoConfig;
  tabs: TabRecord[];
  counters: DemoCounters;
  timeline: TimelineEntry[];
  startedAt: number;
  error: string | null;
}

/** What a tab lets the page (and the page's buttons) ask of it. */
export interface TabHandle {
  callApi(): void;
  /** 401 storm: fire the configured number of queries at once; resolves when all settled. */
  fireQueries?(count: number): Promise<void>;
  /** Make the API reject the access token this tab holds from now on. */
  expireToken?(): void;
}

interface TabConnection {
  handle: TabHandle | null;
  networkListeners: Set<(online: boolean) => void>;
}

declare global {
  interface Window {
    __tabauthDemo?: Record<string, DemoHub>;
  }
}

export const API_ORIGIN = 'https://api.mock.test';
export const API_URL = `${API_ORIGIN}/me`;
const API_LATENCY_MS = 60;
const CLIENT_ID = 'tabauth-demo';

/** Refresh margin used by both the coordinated and the naive tabs: a quarter of the lifetime, at least 1 s. */
export function refreshMarginMs(lifetimeSeconds: number): number {
  return Math.min(30_000, Math.max(1000, lifetimeSeconds * 250));
}

export function naiveStorageKey(namespace: string): string {
  return `naive-demo:${namespace}:pair`;
}

/** The hub of demo `key` as seen from a tab iframe (or from the same window in jsdom tests). */
export function findHub(key: string): DemoHub | null {
  const candidates: Array<Window | null> = [];
  try {
    candidates.push(window.parent);
  } catch {
    // A cross-origin parent: not a demo.
  }
  candidates.push(window);
  for (const win of candidates) {
    try {
      const hub = win?.__tabauthDemo?.[key];
      if (hub) return hub;
    } catch {
      // Cross-origin access throws: not ours.
    }
  }
  return null;
}

let serial = 0;

export class DemoHub {
  readonly key: string;
  readonly namespace: string;
  readonly clientId = CLIENT_ID;
  readonly server: MockTokenServer;
  readonly startedAt = Date.now();

  private config: DemoConfig;
  private tabs = new Map<string, TabRecord>();
  private connections = new Map<string, TabConnection>();
  private timeline: TimelineEntry[] = [];
  private expiredTokens = new Set<string>();
  private online = true;
  private ready = false;
  private error: string | null = null;
  private extra = { signOuts: 0, apiCalls: 0, apiFailed: 0, networkErrors: 0, logins: 0, queriesOk: 0, queriesFailed: 0, dpopKeysCreated: 0 };
  private nextTab = 1;
  private nextEntry = 1;
  private listeners = new Set<() => void>();
  private snapshot: DemoSnapshot;
  private notifyScheduled = false;
  private disposed = false;

  constructor(config: DemoConfig) {
    this.config = { ...config };
    const random = Math.random().toString(36).slice(2, 10);
    this.key = `d${Date.now().toString(36)}${random}${(++serial).toString(36)}`;
    this.namespace = `demo-${this.key}`;
    this.server = createMockTokenServer({
      accessTokenTtlSeconds: config.lifetimeSeconds,
      latencyMs: () => this.config.latencyMs,
      gracePeriodMs: config.gracePeriodMs,
      clientId: CLIENT_ID,
      // Nonces required at both servers and renewed every 20 s: the first refresh and the first API call learn one,
      // every other tab gets it from them.
      ...(config.dpop ? { dpop: { nonceRotationMs: 20_000 } } : {}),
    });
    this.snapshot = this.buildSnapshot();
  }

  // ---------------------------------------------------------------- page side

  /** Registers the hub on window, seeds the first login into shared storage, then opens the tabs. */
  async start(): Promise<void> {
    const registry = (window.__tabauthDemo ??= {});
    registry[this.key] = this;
    try {
      await this.seedLogin();
    } catch (error) {
      this.error = `Could not store the first login: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (this.disposed) return;
    for (let i = 0; i < this.config.tabs; i++) this.addTab();
    this.ready = true;
    this.changed();
  }

  /** Forgets this run: unregisters the hub and deletes its records from IndexedDB and localStorage. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (window.__tabauthDemo?.[this.key] === this) delete window.__tabauthDemo[this.key];
    this.connections.clear();
    this.listeners.clear();
    try {
      localStorage.removeItem(naiveStorageKey(this.namespace));
    } catch {
      // Storage may be unavailable; nothing to clean then.
    }
    if (this.config.mode === 'coordinated' && typeof indexedDB !== 'undefined') {
      const storage = createIndexedDbStorage();
      const keys = [
        `tabauth:${this.namespace}:state`,
        `tabauth:${this.namespace}:refresh-lease`,
        dpopKeyStorageKey(this.namespace),
        dpopNoncesStorageKey(this.namespace),
      ];
      await Promise.all(keys.map((key) => storage.delete(key))).catch(() => {});
    }
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): DemoSnapshot => this.snapshot;

  addTab(): string {
    const index = this.nextTab++;
    const id = `t${index}`;
    this.tabs.set(id, {
      id,
      label: `Tab ${index}`,
      index,
      openedAt: Date.now(),
      closedAt: null,
      status: 'loading',
      isLeader: false,
      version: 0,
      expiresAt: null,
      refreshDueAt: null,
      signedOutReason: null,
      ready: false,
    });
    this.connections.set(id, { handle: null, networkListeners: new Set() });
    this.changed();
    return id;
  }

  /** Closes a tab: the page removes its iframe, which destroys its document (and releases its Web Locks). */
  closeTab(tabId: string): void {
    const tab = this.tabs.get(tabId);
    if (!tab || tab.closedAt !== null) return;
    const now = Date.now();
    if (tab.isLeader) this.endLeaderSpan(tabId, now);
    this.tabs.set(tabId, { ...tab, status: 'closed', isLeader: false, closedAt: now });
    this.connections.delete(tabId);
    this.push({ kind: 'closed', id: 0, tabId, at: now });
    this.changed();
  }

  /** Cuts or restores the network of every tab: token endpoint and API fail, tabs see offline/online. */
  setOnline(online: boolean): void {
    if (online === this.online) return;
    this.online = online;
    const now = Date.now();
    if (!online) this.push({ kind: 'offline', id: 0, at: now, endAt: null });
    else this.closeOpen('offline', now);
    for (const connection of [...this.connections.values()]) {
      for (const listener of [...connection.networkListeners]) safeCall(() => listener(online));
    }
    this.changed();
  }

  /** Asks every open tab to do something (e.g. call the API). */
  forEachTab(action: (handle: TabHandle, tabId: string) => void): void {
    for (const [tabId, connection] of this.connections) {
      if (connection.handle) safeCall(() => action(connection.handle!, tabId));
    }
  }

  handleOf(tabId: string): TabHandle | null {
    return this.connections.get(tabId)?.handle ?? null;
  }

  // ---------------------------------------------------------------- tab side

  get currentConfig(): DemoConfig {
    return this.config;
  }

  get isOnline(): boolean {
    return this.online;
  }

  tabRecord(tabId: string): TabRecord | null {
    return this.tabs.get(tabId) ?? null;
  }

  /** A tab announces what it can do. Returns a detach function. */
  attach(tabId: string, handle: TabHandle): () => void {
    const connection = this.connections.get(tabId);
    if (!connection) return () => {};
    connection.handle = handle;
    this.updateReady(tabId);
    return () => {
      if (connection.handle !== handle) return;
      connection.handle = null;
      this.updateReady(tabId);
    };
  }

  /** A tab reports its state (status, leadership, version, expiry). */
  report(tabId: string, report: TabReport): void {
    const tab = this.tabs.get(tabId);
    if (!tab || tab.closedAt !== null || this.disposed) return;
    const now = Date.now();
    if (report.isLeader && !tab.isLeader) this.push({ kind: 'leader', id: 0, tabId, at: now, endAt: null });
    if (!report.isLeader && tab.isLeader) this.endLeaderSpan(tabId, now);
    if (tab.status === 'authenticated' && report.status === 'signed-out') {
      this.extra.signOuts++;
      this.push({ kind: 'signed-out', id: 0, tabId, at: now, reason: report.signedOutReason });
    }
    if (tab.status === 'signed-out' && report.status === 'authenticated') this.push({ kind: 'signed-in', id: 0, tabId, at: now });
    else if (report.status === 'authenticated' && tab.status === 'authenticated' && report.version > tab.version) {
      this.push({ kind: 'version', id: 0, tabId, at: now, version: report.version });
    }
    this.tabs.set(tabId, { ...tab, ...report });
    this.updateReady(tabId);
    this.changed();
  }

  /** The environment a tab's auth client uses: the page's visibility, this hub's network switch. */
  environmentFor(tabId: string, base: AuthEnvironment): AuthEnvironment {
    const listen = (wanted: boolean, listener: () => void) => {
      const connection = this.connections.get(tabId);
      if (!connection) return () => {};
      const wrapped = (online: boolean) => online === wanted && listener();
      connection.networkListeners.add(wrapped);
      return () => connection.networkListeners.delete(wrapped);
    };
    return {
      isOnline: () => this.online,
      isVisible: () => base.isVisible(),
      onOnline: (listener) => listen(true, listener),
      onOffline: (listener) => listen(false, listener),
      onWake: (listener) => base.onWake(listener),
    };
  }

  /** Subscribes to the network switch (for the naive tabs, which have no environment object). */
  onNetwork(tabId: string, listener: (online: boolean) => void): () => void {
    const connection = this.connections.get(tabId);
    if (!connection) return () => {};
    connection.networkListeners.add(listener);
    return () => connection.networkListeners.delete(listener);
  }

  /** The token endpoint as seen from one tab: the mock server's fetch, behind the network switch, recorded. */
  tokenFetch(tabId: string): typeof fetch {
    const demoTokenFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const url = urlOf(input);
      const isRefresh = url.startsWith(this.server.tokenEndpoint);
      if (!this.online) {
        if (isRefresh) this.extra.networkErrors++;
        this.changed();
        return Promise.reject(new TypeError('Failed to fetch'));
      }
      if (!isRefresh) return this.server.fetch(input, init);
      const reuseBefore = this.server.counters.reuseDetections;
      const noncesBefore = this.server.dpopCounters.nonceChallenges;
      const entry = { kind: 'refresh' as const, id: 0, tabId, at: Date.now(), endAt: null as number | null, outcome: 'pending' as RefreshOutcome };
      this.push(entry);
      // The mock server processes the request right here, synchronously, like a real server would on arrival.
      const response = this.server.fetch(input, init);
      const reused = this.server.counters.reuseDetections > reuseBefore;
      this.changed();
      response.then(
        (res) => {
          // With DPoP the proof is checked asynchronously, so the nonce counter is read once the answer is there.
          const nonce = this.server.dpopCounters.nonceChallenges > noncesBefore && res.status === 400 && res.headers.has('DPoP-Nonce');
          this.finishRefresh(
            entry.id,
            reused ? 'reuse' : res.status === 200 ? 'ok' : nonce ? 'nonce' : res.status === 400 || res.status === 401 ? 'rejected' : 'error',
          );
        },
        () => this.finishRefresh(entry.id, 'network'),
      );
      return response;
    };
    return demoTokenFetch;
  }

  /**
   * The protected API: `GET https://api.mock.test/me` with a bearer token validated by the token server, or with
   * DPoP a bound token and a proof, checked by the mock's resource-server side (jose).
   */
  apiFetch(): typeof fetch {
    const demoApiFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      this.extra.apiCalls++;
      if (!this.online) {
        this.extra.apiFailed++;
        this.changed();
        throw new TypeError('Failed to fetch');
      }
      const token = bearerOf(input, init);
      await new Promise((resolve) => setTimeout(resolve, API_LATENCY_MS));
      if (this.config.dpop) return this.dpopApiResponse(input, init, token);
      const validation = token ? this.server.validateAccessToken(token) : { valid: false, reason: 'unknown' as const };
      const expired = token !== null && this.expiredTokens.has(token);
      if (!validation.valid || expired) {
        this.extra.apiFailed++;
        this.changed();
        const reason = expired ? 'expired' : (validation.reason ?? 'unknown');
        return new Response(JSON.stringify({ error: 'invalid_token', reason }), {
          status: 401,
          headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${reason}"` },
        });
      }
      this.changed();
      return new Response(JSON.stringify({ sub: 'user-1', name: 'Ada Demo' }), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    return demoApiFetch;
  }

  private async dpopApiResponse(input: RequestInfo | URL, init: RequestInit | undefined, token: string | null): Promise<Response> {
    const request = new Request(input, init);
    const check = await this.server.verifyResourceRequest({ method: request.method, url: request.url, headers: request.headers });
    const expired = token !== null && this.expiredTokens.has(token);
    if (!check.ok || expired) {
      // A nonce challenge is the first half of a retry (counted in nonceRetries), not a failed call.
      if (expired || check.ok || check.error !== 'use_dpop_nonce') this.extra.apiFailed++;
      this.changed();
      const headers = expired ? { 'WWW-Authenticate': 'DPoP error="invalid_token", error_description="expired"' } : check.headers;
      return Response.json({ error: expired ? 'invalid_token' : check.ok ? 'invalid_token' : check.error }, { status: 401, headers });
    }
    this.changed();
    return Response.json({ sub: 'user-1', name: 'Ada Demo' }, { status: 200, headers: check.headers });
  }

  /** A tab reports that it created the DPoP key (the count should stay at one per login, however many tabs). */
  recordDpopKeyCreated(): void {
    this.extra.dpopKeysCreated++;
    this.changed();
  }

  /** From now on the API answers 401 for this access token, as if it had expired early (clock skew, revocation). */
  expireAccessToken(token: string): void {
    this.expiredTokens.add(token);
    this.changed();
  }

  /** A tab reports a settled query of the 401 storm. */
  recordQuery(ok: boolean): void {
    if (ok) this.extra.queriesOk++;
    else this.extra.queriesFailed++;
    this.changed();
  }

  /**
   * A completed login: a new token family, as the login page would hand back. With DPoP, bound to the key whose
   * thumbprint the login sent (`dpop_jkt`).
   */
  login(jkt?: string) {
    this.extra.logins++;
    this.changed();
    return this.server.issueTokens({ subject: 'user-1', ...(jkt ? { jkt } : {}) });
  }

  // ---------------------------------------------------------------- internals

  private async seedLogin(): Promise<void> {
    let jkt: string | undefined;
    if (this.config.dpop) {
      // The login page creates the namespace's key (in the IndexedDB every tab reads) and binds the login to it.
      const dpop = createDpop({ namespace: this.namespace });
      try {
        jkt = (await dpop.newKeyForLogin()).thumbprint;
        // Pending until promoted: the login page's tokens are bound to it, so it becomes every tab's key now.
        await dpop.promoteLoginKey(jkt);
        this.extra.dpopKeysCreated++;
      } finally {
        dpop.close();
      }
    }
    const response = this.login(jkt);
    if (this.config.mode === 'naive') {
      const pair = { accessToken: response.access_token, refreshToken: response.refresh_token, expiresAt: Date.now() + (response.expires_in ?? 0) * 1000 };
      localStorage.setItem(naiveStorageKey(this.namespace), JSON.stringify(pair));
      return;
    }
    // The login page's job: store the first pair where every tab will find it. Never mounted, so it takes no part
    // in leader election; it only writes the record.
    const seed = createAuthClient({
      namespace: this.namespace,
      refresh: () => Promise.reject(new Error('the seeding client never refreshes')),
    });
    try {
      await seed.signIn(response);
    } finally {
      await seed.dispose();
    }
  }

  private updateReady(tabId: string) {
    const tab = this.tabs.get(tabId);
    if (!tab || tab.closedAt !== null) return;
    const ready = Boolean(this.connections.get(tabId)?.handle) && tab.status !== 'loading';
    if (ready === tab.ready) return;
    this.tabs.set(tabId, { ...tab, ready });
    this.changed();
  }

  private finishRefresh(id: number, outcome: RefreshOutcome) {
    const index = this.timeline.findIndex((entry) => entry.id === id);
    const entry = this.timeline[index];
    if (entry?.kind === 'refresh') {
      this.timeline[index] = { ...entry, endAt: Date.now(), outcome };
      this.changed();
    }
  }

  private endLeaderSpan(tabId: string, at: number) {
    for (let i = this.timeline.length - 1; i >= 0; i--) {
      const entry = this.timeline[i];
      if (entry?.kind === 'leader' && entry.tabId === tabId && entry.endAt === null) {
        this.timeline[i] = { ...entry, endAt: at };
        return;
      }
    }
  }

  private closeOpen(kind: 'offline', at: number) {
    for (let i = this.timeline.length - 1; i >= 0; i--) {
      const entry = this.timeline[i];
      if (entry?.kind === kind && entry.endAt === null) this.timeline[i] = { ...entry, endAt: at };
    }
  }

  private push(entry: TimelineEntry) {
    entry.id = this.nextEntry++;
    this.timeline.push(entry);
    if (this.timeline.length > 600) this.timeline.splice(0, this.timeline.length - 600);
  }

  private buildSnapshot(): DemoSnapshot {
    const server = this.server.counters;
    const tabs = [...this.tabs.values()];
    const dpop = this.server.dpopCounters;
    return {
      key: this.key,
      namespace: this.namespace,
      ready: this.ready,
      tabsReady: this.ready && tabs.every((tab) => tab.closedAt !== null || tab.ready),
      online: this.online,
      config: this.config,
      tabs,
      counters: {
        // With DPoP, a request the server answered use_dpop_nonce (before looking at the refresh token) is shown
        // apart: it is the nonce retry's first half, not a second use of the refresh token.
        refreshRequests: server.refreshRequests - dpop.nonceChallenges,
        rotations: server.successes,
        reuseDetections: server.reuseDetections,
        familiesRevoked: server.familiesRevoked,
        invalidGrant: server.invalidGrant,
        ...this.extra,
        nonceRetries: dpop.nonceChallenges + dpop.resourceNonceChallenges,
        nonceChallengedRefreshes: dpop.nonceChallenges,
        keyMismatches: dpop.bindingMismatches,
      },
      timeline: this.timeline.slice(),
      startedAt: this.startedAt,
      error: this.error,
    };
  }

  /** Batches change notifications into one per task. */
  private changed() {
    if (this.notifyScheduled || this.disposed) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      if (this.disposed) return;
      this.snapshot = this.buildSnapshot();
      for (const listener of [...this.listeners]) safeCall(listener);
    });
  }
}

function safeCall(fn: () => void) {
  try {
    fn();
  } catch (error) {
    // A closed tab's function may throw once its document is gone; the page carries on.
    console.debug('[tabauth demo] listener failed', error);
  }
}

function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') return input;
  if (typeof input === 'object' && input !== null && 'url' in input && typeof input.url === 'string') return input.url;
  return String(input);
}

/** Reads the bearer token whether headers come as a plain object, a Headers or a Request from another window. */
function bearerOf(input: RequestInfo | URL, init?: RequestInit): string | null {
  const sources: unknown[] = [init?.headers];
  if (typeof input === 'object' && input !== null && 'headers' in input) sources.push(input.headers);
  for (const source of sources) {
    if (!source) continue;
    let value: string | null = null;
    if (typeof (source as Headers).get === 'function') value = (source as Headers).get('Authorization');
    else if (Array.isArray(source)) value = (source.find(([name]) => String(name).toLowerCase() === 'authorization')?.[1] as string | undefined) ?? null;
    else {
      for (const [name, v] of Object.entries(source as Record<string, string>)) if (name.toLowerCase() === 'authorization') value = v;
    }
    const match = value ? /^(?:Bearer|DPoP)\s+(.+)$/i.exec(value) : null;
    if (match?.[1]) return match[1];
  }
  return null;
}
