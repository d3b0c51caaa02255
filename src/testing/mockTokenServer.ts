import { sleep, systemClock, type Clock, type TokenResponse } from 'tabauth';
import { createDpopVerifier, type DpopCheck, type DpopVerifier } from './dpopVerifier';

/**
 * A mock OAuth 2 token server that behaves like oidc-provider with refresh token rotation on: every refresh
 * rotates, and a used refresh token presented again revokes the whole token family (reuse detection). It runs
 * in Node and in the browser (Web APIs only) and, given a simulated clock, entirely in simulated time.
 *
 * Requests are processed synchronously the moment `fetch` is called, then the response is delayed by the latency.
 * That is the property that makes the race of PROBLEM.md reproducible: two requests carrying the same refresh
 * token are serialised exactly like on a real server, whatever the latency.
 *
 * Nothing observable (events, counters, error bodies) contains a token string.
 */

/**
 * What an injected failure looks like to the client: a 5xx, a 429, a request that never answers, no network, a 2xx
 * that is not a token response, an HTML error page, or ('mistyped') a rotated 200 with one optional field wrong.
 */
export type MockFailureKind = 'server-error' | 'rate-limited' | 'timeout' | 'network' | 'malformed' | 'html' | 'mistyped';

/**
 * The optional field a 'mistyped' answer gets wrong, and how. Each is a value real servers and proxies have been seen
 * to send: a negative or unit-suffixed lifetime, a scope list instead of a string, an object where a string belongs.
 * 'expires_in-huge' (1e306 s) overflows to Infinity once turned into milliseconds.
 */
export type MistypedField =
  'expires_in-negative' | 'expires_in-string' | 'expires_in-huge' | 'scope-array' | 'id_token-object' | 'token_type-number' | 'version-object';

/** Every `MistypedField`, in a fixed order (for generators that pick one). */
export const MISTYPED_FIELDS: readonly MistypedField[] = [
  'expires_in-negative',
  'expires_in-string',
  'expires_in-huge',
  'scope-array',
  'id_token-object',
  'token_type-number',
  'version-object',
];

/** A failure to inject with `server.injectFailures(...)`. */
export interface MockFailure {
  /**
   * Which failure. 'mistyped' is not a failure of the server: it rotates as usual and answers 200 with the new access
   * and refresh token, but one optional field (`field`) has the wrong type or an impossible value. A request the
   * server rejects (reuse, revoked family) is answered unchanged.
   */
  kind: MockFailureKind;
  /** How many consecutive token requests get this failure. Default 1. */
  count?: number;
  /** Process the refresh (rotating the token) before failing, as if the response was lost. Default false. */
  rotate?: boolean;
  /** HTTP status for 'server-error' (default 503), 'html' (default 502) and 'malformed' (default 200). */
  status?: number;
  /** For 'mistyped': the field to get wrong. Default 'expires_in-negative'. */
  field?: MistypedField;
}

/** Options of `createMockTokenServer`. */
export interface MockTokenServerOptions {
  /** Default systemClock. Latency waits and expiry use it, so simulated clocks work. */
  clock?: Clock;
  /** Default 60. */
  accessTokenTtlSeconds?: number;
  /** Default 'jwt' (unsigned-in-spirit: the signature is random base64url). */
  accessTokenFormat?: 'jwt' | 'opaque';
  /** Default true. */
  includeExpiresIn?: boolean;
  /** Default 0. A used refresh token presented again within this time gets the same successor pair back. */
  gracePeriodMs?: number;
  /** Default 0. Applied after processing, before the response. */
  latencyMs?: number | (() => number);
  /** Default 'https://auth.mock.test'. */
  issuer?: string;
  /** Default 'tabauth-demo'. */
  clientId?: string;
  /** Default Math.random; used for token strings and ids so seeded runs reproduce. */
  random?: () => number;
  /**
   * Default false: like real servers, an access token stays valid until it expires even after its family rotated
   * (`validateAccessToken` reports `newest: false`). When true, such tokens are reported invalid as 'superseded'.
   */
  revokeSupersededAccessTokens?: boolean;
  /**
   * DPoP (RFC 9449), off by default. On, the token endpoint verifies `DPoP` proofs (with jose, an optional peer
   * dependency loaded only then), mints tokens bound to the proof's key (`token_type: DPoP`, `cnf.jkt` in JWT access
   * tokens), answers a bound refresh token presented with another key with invalid_grant (as oidc-provider does),
   * and hands out nonces (`use_dpop_nonce` + `DPoP-Nonce`). `verifyResourceRequest` is the resource server's side.
   */
  dpop?: MockDpopOptions;
}

/** DPoP settings of the mock token server (and of its resource-server side, `verifyResourceRequest`). */
export interface MockDpopOptions {
  /** Token requests without a proof are refused (400 invalid_dpop_proof). Default true. */
  required?: boolean;
  /** The token endpoint requires its nonce in proofs (oidc-provider's `requireNonce`). Default true. */
  requireNonce?: boolean;
  /** `verifyResourceRequest` requires the resource server's nonce in proofs. Default true. */
  requireResourceNonce?: boolean;
  /** Both servers issue a new nonce this often (simulated time); 0 = only on `rotateDpopNonce()`. Default 0. */
  nonceRotationMs?: number;
}

/** DPoP figures of the mock servers. */
export interface MockDpopCounters {
  /** Proofs that passed every check (token endpoint and resource requests). */
  proofsAccepted: number;
  /** Proofs refused as invalid (signature, htm/htu/ath, iat, replay, missing). */
  invalidProofs: number;
  /** `use_dpop_nonce` answers of the token endpoint. */
  nonceChallenges: number;
  /** `use_dpop_nonce` answers of `verifyResourceRequest`. */
  resourceNonceChallenges: number;
  /** A bound refresh or access token presented with a proof of another key (or without one). */
  bindingMismatches: number;
  /** Requests checked by `verifyResourceRequest`. */
  resourceRequests: number;
  /** Of those, the ones it refused (401). */
  resourceRejected: number;
}

/** What `verifyResourceRequest` decided, with the status and headers a resource server would answer. */
export type ResourceCheck =
  | { ok: true; status: 200; familyId: string; newest: boolean; bound: boolean; headers: Record<string, string> }
  | { ok: false; status: 401; error: 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce'; description: string; headers: Record<string, string> };

/**
 * The kinds of `MockServerEvent`:
 *
 * - refresh: a successful rotation (generation = the new generation)
 * - grace-replay: a used token within the grace period got its successor pair again
 * - reuse: a used token outside the grace period was presented (followed by 'revoked' and 'invalid')
 * - revoked: a family became revoked (by reuse detection or the revocation endpoint)
 * - invalid: any 4xx answer of the token endpoint
 * - injected: an injected failure was applied
 * - revocation: a request reached the revocation endpoint
 */
export type MockServerEventType = 'refresh' | 'reuse' | 'revoked' | 'invalid' | 'injected' | 'revocation' | 'grace-replay';

/** One entry of `server.events`, also passed to `server.on(listener)`. Never contains a token string. */
export interface MockServerEvent {
  /** Simulated (or real) time of the event, in ms. */
  at: number;
  /** What happened. */
  type: MockServerEventType;
  /** The token family concerned, when there is one. */
  familyId?: string;
  /** The generation of the family concerned (0 for the login, +1 per rotation), when there is one. */
  generation?: number;
}

/** What the server counted since it was created (or `reset()`). */
export interface MockServerCounters {
  /** Every request to the token endpoint (fetch or `refresh()`), injected failures included. */
  refreshRequests: number;
  /** Rotations performed (new pairs minted by a refresh; grace replays are not counted here). */
  successes: number;
  /** Used refresh tokens presented again outside the grace period (each one revokes its family). */
  reuseDetections: number;
  /** Families revoked for any reason (reuse detection or revocation endpoint). */
  familiesRevoked: number;
  /** invalid_grant answers (unknown token, revoked family, reuse). */
  invalidGrant: number;
  /** Requests answered with an injected failure. */
  injectedFailures: number;
  /** Requests to the revocation endpoint. */
  revocations: number;
  /** Used refresh tokens presented again within the grace period, answered with their successor pair. */
  graceReplays: number;
}

/** What `validateAccessToken` says about a bearer token, as a resource server would. */
export interface AccessTokenValidation {
  /** Whether an API should accept the token. */
  valid: boolean;
  /** Why it is not valid. */
  reason?: 'unknown' | 'expired' | 'revoked' | 'superseded';
  /** The family the token belongs to, when the server knows it. */
  familyId?: string;
  /** Whether the token belongs to the newest generation of its family. */
  newest?: boolean;
  /** The DPoP key thumbprint the token is bound to (absent for a bearer token). */
  jkt?: string;
}

/** The mock token server: endpoints, a `fetch` that serves them, and what it saw. */
export interface MockTokenServer {
  /** URL of the token endpoint, for `oauth2RefreshGrant({ tokenEndpoint })`. */
  readonly tokenEndpoint: string;
  /** URL of the revocation endpoint, for `oauth2Revoke({ revocationEndpoint })`. */
  readonly revocationEndpoint: string;
  /** Handles POST tokenEndpoint and POST revocationEndpoint; any other URL answers 404 JSON. Honours init.signal. */
  readonly fetch: typeof fetch;
  /**
   * Starts a new token family (generation 0), like a completed login. With `jkt` (the DPoP key thumbprint, as
   * `dpop_jkt` on an authorization request) the family is bound to that key.
   */
  issueTokens(init?: { subject?: string; scope?: string; jkt?: string }): TokenResponse;
  /**
   * The refresh logic of the token endpoint without HTTP: processed at call time, no latency, no injected failures.
   * `clientId` is checked only when given.
   */
  refresh(params: { refreshToken: string; clientId?: string; deviceId?: string }): Promise<{ status: number; body: unknown }>;
  /** Queues failures applied, in order, to the next requests reaching the token endpoint through `fetch`. */
  injectFailures(...failures: MockFailure[]): void;
  /** Drops the failures still queued (ends an outage); returns how many requests they would still have failed. */
  clearFailures(): number;
  /** Checks a bearer token like a resource server: known, not expired, family not revoked. */
  validateAccessToken(token: string): AccessTokenValidation;
  /**
   * A resource server's check of one request (`Authorization: Bearer|DPoP <token>`, `DPoP` proof with `ath`, the
   * resource nonce, the token's `jkt` binding). Requires the `dpop` option for DPoP tokens.
   */
  verifyResourceRequest(request: { method: string; url: string; headers: Headers | Record<string, string> }): Promise<ResourceCheck>;
  /** Issues a new DPoP nonce at the token endpoint or the resource server (the previous one stays accepted once). */
  rotateDpopNonce(server: 'authorization' | 'resource'): void;
  /** A snapshot copy. */
  readonly dpopCounters: MockDpopCounters;
  /** Whether the token family has not been revoked. */
  isFamilyValid(familyId: string): boolean;
  /** A snapshot copy. */
  readonly counters: MockServerCounters;
  /** A snapshot copy. */
  readonly events: ReadonlyArray<MockServerEvent>;
  /** Calls `listener` with every event as it happens; returns the unsubscribe function. */
  on(listener: (event: MockServerEvent) => void): () => void;
  /** Forgets all families, tokens, counters, events and queued failures. Listeners stay subscribed. */
  reset(): void;
}

interface Family {
  id: string;
  subject: string;
  scope: string;
  generation: number;
  revoked: boolean;
  /** DPoP key the family is bound to; null for bearer families. */
  jkt: string | null;
}

interface Minted {
  response: TokenResponse;
  accessExpiresAt: number;
}

interface RefreshRecord {
  familyId: string;
  generation: number;
  usedAt: number | null;
  /** The pair this token was exchanged for, replayed within the grace period. */
  successor: Minted | null;
}

interface AccessRecord {
  familyId: string;
  generation: number;
  expiresAt: number;
  revoked: boolean;
  jkt: string | null;
}

interface Result {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

type Outcome = { type: 'response'; status: number; body: string; headers: Record<string, string> } | { type: 'network' } | { type: 'hang' };

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const zeroDpopCounters = (): MockDpopCounters => ({
  proofsAccepted: 0,
  invalidProofs: 0,
  nonceChallenges: 0,
  resourceNonceChallenges: 0,
  bindingMismatches: 0,
  resourceRequests: 0,
  resourceRejected: 0,
});

const zeroCounters = (): MockServerCounters => ({
  refreshRequests: 0,
  successes: 0,
  reuseDetections: 0,
  familiesRevoked: 0,
  invalidGrant: 0,
  injectedFailures: 0,
  revocations: 0,
  graceReplays: 0,
});

/**
 * Creates a mock token server with refresh-token rotation and strict reuse detection (optionally a grace period),
 * latency and failure injection. Runs in Node and in browsers; give it the simulated clock of a tab simulation to run
 * in simulated time.
 *
 * @example
 * ```ts
 * const server = createMockTokenServer({ accessTokenTtlSeconds: 1, latencyMs: 20 });
 * const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch });
 * ```
 */
export function createMockTokenServer(options: MockTokenServerOptions = {}): MockTokenServer {
  const clock = options.clock ?? systemClock;
  const ttlSeconds = options.accessTokenTtlSeconds ?? 60;
  const format = options.accessTokenFormat ?? 'jwt';
  const includeExpiresIn = options.includeExpiresIn ?? true;
  const gracePeriodMs = options.gracePeriodMs ?? 0;
  const issuer = (options.issuer ?? 'https://auth.mock.test').replace(/\/+$/, '');
  const clientId = options.clientId ?? 'tabauth-demo';
  const random = options.random ?? Math.random;
  const tokenEndpoint = `${issuer}/token`;
  const revocationEndpoint = `${issuer}/revoke`;

  let families = new Map<string, Family>();
  let refreshTokens = new Map<string, RefreshRecord>();
  let accessTokens = new Map<string, AccessRecord>();
  let counters = zeroCounters();
  let events: MockServerEvent[] = [];
  let failures: Array<MockFailure & { remaining: number }> = [];
  let serial = 0;
  const listeners = new Set<(event: MockServerEvent) => void>();
  let dpopCounters = zeroDpopCounters();
  const dpop = options.dpop ? { required: true, requireNonce: true, requireResourceNonce: true, nonceRotationMs: 0, ...options.dpop } : null;
  const newVerifier = (requireNonce: boolean) => createDpopVerifier({ requireNonce, random });
  let tokenVerifier: DpopVerifier | null = dpop ? newVerifier(dpop.requireNonce) : null;
  let resourceVerifier: DpopVerifier | null = dpop ? newVerifier(dpop.requireResourceNonce) : null;
  let lastNonceRotation = clock.now();
  /** Proof checks are asynchronous (WebCrypto): token requests queue so they are still processed in arrival order. */
  let tokenQueue: Promise<unknown> = Promise.resolve();
  // With a simulated clock, the queue is real async work the clock must wait for.
  const track = <T>(work: Promise<T>): Promise<T> =>
    'track' in clock && typeof clock.track === 'function' ? (clock.track as <U>(w: Promise<U>) => Promise<U>)(work) : work;
  const rotateDueNonces = () => {
    if (!dpop || dpop.nonceRotationMs <= 0 || clock.now() - lastNonceRotation < dpop.nonceRotationMs) return;
    lastNonceRotation = clock.now();
    tokenVerifier?.rotateNonce();
    resourceVerifier?.rotateNonce();
  };

  const latency = (): number => {
    const value = typeof options.latencyMs === 'function' ? options.latencyMs() : (options.latencyMs ?? 0);
    return Number.isFinite(value) && value > 0 ? value : 0;
  };

  const emit = (type: MockServerEventType, familyId?: string, generation?: number) => {
    const event: MockServerEvent = { at: clock.now(), type };
    if (familyId !== undefined) event.familyId = familyId;
    if (generation !== undefined) event.generation = generation;
    events.push(event);
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A failing listener must not corrupt the server's state; surface it out of band instead.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  };

  const randomString = (length: number): string => {
    let out = '';
    for (let i = 0; i < length; i++) out += BASE64URL.charAt(Math.floor(random() * 64) & 63);
    return out;
  };
  // The serial suffix keeps tokens unique even with a degenerate random (e.g. () => 0 in a test).
  const newToken = () => `${randomString(40)}${(++serial).toString(36)}`;

  const mint = (family: Family, jkt: string | null = family.jkt): Minted => {
    const now = clock.now();
    const accessExpiresAt = now + ttlSeconds * 1000;
    let accessToken: string;
    if (format === 'jwt') {
      const iat = Math.floor(now / 1000);
      const header = { alg: 'RS256', typ: 'at+jwt', kid: 'mock' };
      const payload: Record<string, unknown> = {
        iss: issuer,
        sub: family.subject,
        aud: clientId,
        iat,
        exp: iat + ttlSeconds,
        jti: newToken(),
        client_id: clientId,
        scope: family.scope,
      };
      if (jkt) payload.cnf = { jkt };
      accessToken = `${base64UrlJson(header)}.${base64UrlJson(payload)}.${randomString(43)}`;
    } else {
      accessToken = newToken();
    }
    const refreshToken = newToken();
    accessTokens.set(accessToken, { familyId: family.id, generation: family.generation, expiresAt: accessExpiresAt, revoked: false, jkt });
    refreshTokens.set(refreshToken, { familyId: family.id, generation: family.generation, usedAt: null, successor: null });
    const response: TokenResponse = { access_token: accessToken, token_type: jkt ? 'DPoP' : 'Bearer', refresh_token: refreshToken, scope: family.scope };
    if (includeExpiresIn) response.expires_in = ttlSeconds;
    return { response, accessExpiresAt };
  };

  const revokeFamily = (family: Family) => {
    if (family.revoked) return;
    family.revoked = true;
    counters.familiesRevoked++;
    emit('revoked', family.id, family.generation);
  };

  const reject = (status: number, error: string, description: string, record?: RefreshRecord): Result => {
    if (error === 'invalid_grant') counters.invalidGrant++;
    emit('invalid', record?.familyId, record?.generation);
    return { status, body: { error, error_description: description } };
  };

  /** The core of the token endpoint. Synchronous: single-threaded JS makes it atomic, like the real server. */
  const processRefresh = (refreshToken: string, presentedClientId: string | undefined, proofJkt: string | null = null): Result => {
    if (presentedClientId !== undefined && presentedClientId !== clientId) {
      return reject(401, 'invalid_client', 'client authentication failed');
    }
    const record = refreshTokens.get(refreshToken);
    const family = record ? families.get(record.familyId) : undefined;
    if (!record || !family) return reject(400, 'invalid_grant', 'grant request is invalid');
    if (family.revoked) return reject(400, 'invalid_grant', 'grant request is invalid', record);
    if (family.jkt && proofJkt !== family.jkt) {
      // oidc-provider's "failed jkt verification": the token is neither consumed nor its family revoked.
      dpopCounters.bindingMismatches++;
      return reject(400, 'invalid_grant', 'grant request is invalid', record);
    }
    const now = clock.now();
    if (record.usedAt !== null) {
      if (record.successor && now - record.usedAt < gracePeriodMs) {
        counters.graceReplays++;
        emit('grace-replay', family.id, record.generation + 1);
        const replay: TokenResponse = { ...record.successor.response };
        // Same tokens; the lifetime left is what it is now, not what it was when first issued.
        if (includeExpiresIn) replay.expires_in = Math.max(0, Math.floor((record.successor.accessExpiresAt - now) / 1000));
        return { status: 200, body: replay };
      }
      counters.reuseDetections++;
      emit('reuse', family.id, record.generation);
      revokeFamily(family);
      return reject(400, 'invalid_grant', 'grant request is invalid', record);
    }
    record.usedAt = now;
    family.generation++;
    const minted = mint(family, family.jkt ?? proofJkt);
    record.successor = minted;
    counters.successes++;
    emit('refresh', family.id, family.generation);
    return { status: 200, body: { ...minted.response } };
  };

  const processForm = (form: URLSearchParams, proofJkt: string | null = null): Result => {
    // Client authentication first, as oidc-provider does: a bad client never touches the refresh token.
    const presentedClient = form.get('client_id') ?? '';
    if (presentedClient !== clientId) return reject(401, 'invalid_client', 'client authentication failed');
    if (form.get('grant_type') !== 'refresh_token') return reject(400, 'unsupported_grant_type', 'only refresh_token is supported');
    const refreshToken = form.get('refresh_token');
    if (!refreshToken) return reject(400, 'invalid_request', "missing required parameter 'refresh_token'");
    return processRefresh(refreshToken, undefined, proofJkt);
  };

  const failureOutcome = (failure: MockFailure): Outcome => {
    switch (failure.kind) {
      case 'server-error':
        return jsonOutcome(failure.status ?? 503, { error: 'temporarily_unavailable', error_description: 'injected server error' });
      case 'rate-limited':
        return jsonOutcome(429, { error: 'temporarily_unavailable', error_description: 'rate limit exceeded' }, { 'Retry-After': '1' });
      case 'html':
        return {
          type: 'response',
          status: failure.status ?? 502,
          body: '<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>',
          headers: { 'Content-Type': 'text/html; charset=utf-8' },
        };
      case 'malformed':
        // Truncated JSON: what a client sees when a proxy cuts the response short.
        return { type: 'response', status: failure.status ?? 200, body: '{"access_token":', headers: { 'Content-Type': 'application/json' } };
      case 'network':
        return { type: 'network' };
      case 'timeout':
        return { type: 'hang' };
      case 'mistyped':
        throw new Error('mistyped answers are built from the processed refresh (see handleToken)');
    }
  };

  /** The token endpoint with DPoP on: the proof is checked first, in arrival order (see tokenQueue). */
  const handleTokenWithProof = (method: string, form: URLSearchParams, proof: string | null): Promise<Outcome> => {
    counters.refreshRequests++;
    const work = tokenQueue.then(async (): Promise<Outcome> => {
      if (method !== 'POST') return jsonOutcome(405, { error: 'invalid_request', error_description: 'POST required' });
      rotateDueNonces();
      const verifier = tokenVerifier!;
      let check: DpopCheck | null = null;
      if (proof !== null || dpop!.required) {
        check = await verifier.verify(proof, { htm: 'POST', htu: tokenEndpoint });
        if (!check.ok) {
          const headers: Record<string, string> = {};
          if (check.error === 'use_dpop_nonce') {
            dpopCounters.nonceChallenges++;
            headers['DPoP-Nonce'] = verifier.nonce;
          } else dpopCounters.invalidProofs++;
          const result = reject(400, check.error, check.description);
          return jsonOutcome(result.status, result.body, headers);
        }
        dpopCounters.proofsAccepted++;
      }
      const nonceHeader: Record<string, string> = check?.ok && check.nonce !== verifier.nonce ? { 'DPoP-Nonce': verifier.nonce } : {};
      const failure = takeFailure(form);
      if (failure) {
        if (failure.kind === 'mistyped') {
          const result = processForm(form, check?.ok ? check.jkt : null); // a real rotation; only an optional field is wrong
          return jsonOutcome(result.status, result.status === 200 ? mistype(result.body, failure.field ?? 'expires_in-negative') : result.body, nonceHeader);
        }
        if (failure.rotate) processForm(form, check?.ok ? check.jkt : null);
        return failureOutcome(failure);
      }
      const result = processForm(form, check?.ok ? check.jkt : null);
      return jsonOutcome(result.status, result.body, nonceHeader);
    });
    tokenQueue = work.catch(() => {});
    return track(work);
  };

  /** The next queued failure, if any (counted and announced). */
  const takeFailure = (form: URLSearchParams): MockFailure | null => {
    const failure = failures[0];
    if (!failure) return null;
    if (--failure.remaining <= 0) failures.shift();
    counters.injectedFailures++;
    const record = refreshTokens.get(form.get('refresh_token') ?? '');
    emit('injected', record?.familyId, record?.generation);
    return failure;
  };

  const handleToken = (method: string, form: URLSearchParams): Outcome => {
    counters.refreshRequests++;
    if (method !== 'POST') return jsonOutcome(405, { error: 'invalid_request', error_description: 'POST required' });
    const failure = takeFailure(form);
    if (failure) {
      if (failure.kind === 'mistyped') {
        const result = processForm(form); // a real rotation; only the answer's optional field is wrong
        return jsonOutcome(result.status, result.status === 200 ? mistype(result.body, failure.field ?? 'expires_in-negative') : result.body);
      }
      if (failure.rotate) processForm(form); // the server did the work; the client never learns the result
      return failureOutcome(failure);
    }
    const result = processForm(form);
    return jsonOutcome(result.status, result.body);
  };

  const handleRevocation = (method: string, form: URLSearchParams): Outcome => {
    if (method !== 'POST') return jsonOutcome(405, { error: 'invalid_request', error_description: 'POST required' });
    counters.revocations++;
    const token = form.get('token') ?? '';
    const refresh = refreshTokens.get(token);
    const access = refresh ? undefined : accessTokens.get(token);
    const record = refresh ?? access;
    emit('revocation', record?.familyId, record?.generation);
    if (refresh) {
      const family = families.get(refresh.familyId);
      if (family) revokeFamily(family);
    } else if (access) {
      access.revoked = true;
    }
    // RFC 7009 section 2.2: 200 even for unknown or already revoked tokens.
    return { type: 'response', status: 200, body: '', headers: {} };
  };

  const route = (url: URL | null, method: string, form: URLSearchParams, headers: Headers): Outcome | Promise<Outcome> => {
    const target = url ? `${url.origin}${url.pathname}` : '';
    if (target === tokenEndpoint) return dpop ? handleTokenWithProof(method, form, headers.get('DPoP')) : handleToken(method, form);
    if (target === revocationEndpoint) return handleRevocation(method, form);
    return jsonOutcome(404, { error: 'not_found' });
  };

  const deliver = async (pending: Outcome | Promise<Outcome>, signal: AbortSignal | undefined): Promise<Response> => {
    const outcome = pending instanceof Promise ? await pending : pending; // no extra turn for the synchronous path
    const delay = latency();
    if (delay > 0) {
      try {
        await sleep(clock, delay, signal);
      } catch {
        throw abortReason(signal);
      }
    }
    if (signal?.aborted) throw abortReason(signal);
    if (outcome.type === 'network') throw new TypeError('Failed to fetch');
    if (outcome.type === 'hang') {
      return new Promise<Response>((_, rejectHang) => {
        // Without a signal it never settles, exactly like a request to a server that never answers.
        signal?.addEventListener('abort', () => rejectHang(abortReason(signal)), { once: true });
      });
    }
    return new Response(outcome.body === '' ? null : outcome.body, { status: outcome.status, headers: outcome.headers });
  };

  const mockFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      const request = typeof Request !== 'undefined' && input instanceof Request ? input : null;
      const signal = init?.signal ?? request?.signal ?? undefined;
      // A real fetch with an already aborted signal never sends the request.
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
      const url = parseUrl(request ? request.url : input instanceof URL ? input.href : String(input));
      const body = init?.body ?? null;
      const fromRequest = request !== null && init?.body === undefined;
      const headers = new Headers(init?.headers ?? request?.headers);
      const syncText = fromRequest ? undefined : readBodySync(body);
      if (syncText !== undefined) {
        // Processed now, in the caller's turn: the order of fetch calls is the order of processing.
        return deliver(route(url, method, new URLSearchParams(syncText), headers), signal);
      }
      const text = fromRequest ? request.text() : new Response(body).text();
      return text.then((t) => deliver(route(url, method, new URLSearchParams(t), headers), signal));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const checkResource = async (request: { method: string; url: string; headers: Headers | Record<string, string> }): Promise<ResourceCheck> => {
    const headers = new Headers(request.headers);
    const match = /^(Bearer|DPoP)\s+(\S+)$/i.exec(headers.get('Authorization') ?? '');
    const scheme = match?.[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const fail = (
      error: 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce',
      description: string,
      extra: Record<string, string> = {},
    ): ResourceCheck => ({
      ok: false,
      status: 401,
      error,
      description,
      headers: { 'WWW-Authenticate': `${scheme} error="${error}", error_description="${description}"`, ...extra },
    });
    const token = match?.[2];
    if (!token) return fail('invalid_token', 'missing access token');
    const validation = api.validateAccessToken(token);
    if (!validation.valid) return fail('invalid_token', validation.reason ?? 'unknown');
    const bound = validation.jkt ?? null;
    if (!bound) {
      return scheme === 'Bearer'
        ? { ok: true, status: 200, familyId: validation.familyId!, newest: validation.newest === true, bound: false, headers: {} }
        : fail('invalid_token', 'not a DPoP-bound token');
    }
    if (scheme !== 'DPoP' || !resourceVerifier) {
      dpopCounters.bindingMismatches++;
      return fail('invalid_token', 'DPoP-bound token sent as a bearer token');
    }
    rotateDueNonces();
    const verifier = resourceVerifier;
    const check = await verifier.verify(headers.get('DPoP'), { htm: request.method.toUpperCase(), htu: request.url, accessToken: token });
    if (!check.ok) {
      if (check.error === 'use_dpop_nonce') {
        dpopCounters.resourceNonceChallenges++;
        return fail('use_dpop_nonce', check.description, { 'DPoP-Nonce': verifier.nonce });
      }
      dpopCounters.invalidProofs++;
      return fail('invalid_dpop_proof', check.description);
    }
    if (check.jkt !== bound) {
      dpopCounters.bindingMismatches++;
      return fail('invalid_token', 'DPoP proof key does not match the token binding');
    }
    dpopCounters.proofsAccepted++;
    const nonceHeader: Record<string, string> = check.nonce !== verifier.nonce ? { 'DPoP-Nonce': verifier.nonce } : {};
    return { ok: true, status: 200, familyId: validation.familyId!, newest: validation.newest === true, bound: true, headers: nonceHeader };
  };

  const api: MockTokenServer = {
    tokenEndpoint,
    revocationEndpoint,
    fetch: mockFetch as typeof fetch,
    issueTokens(init = {}) {
      const family: Family = {
        id: `fam-${families.size + 1}-${randomString(6)}`,
        subject: init.subject ?? 'user-1',
        scope: init.scope ?? 'openid offline_access',
        generation: 0,
        revoked: false,
        jkt: init.jkt ?? null,
      };
      families.set(family.id, family);
      return { ...mint(family).response };
    },
    refresh(params) {
      counters.refreshRequests++;
      const result = processRefresh(params.refreshToken, params.clientId);
      return Promise.resolve({ status: result.status, body: result.body });
    },
    injectFailures(...list) {
      for (const failure of list) {
        const count = failure.count ?? 1;
        if (count > 0) failures.push({ ...failure, remaining: count });
      }
    },
    clearFailures() {
      const remaining = failures.reduce((sum, failure) => sum + failure.remaining, 0);
      failures = [];
      return remaining;
    },
    validateAccessToken(token) {
      const record = accessTokens.get(token);
      const family = record ? families.get(record.familyId) : undefined;
      if (!record || !family) return { valid: false, reason: 'unknown' };
      // jkt only for bound tokens: a bearer token's validation looks exactly as it did before DPoP existed.
      const base = { familyId: family.id, newest: record.generation === family.generation, ...(record.jkt ? { jkt: record.jkt } : {}) };
      if (family.revoked || record.revoked) return { valid: false, reason: 'revoked', ...base };
      if (clock.now() >= record.expiresAt) return { valid: false, reason: 'expired', ...base };
      if (!base.newest && options.revokeSupersededAccessTokens) return { valid: false, reason: 'superseded', ...base };
      return { valid: true, ...base };
    },
    async verifyResourceRequest(request) {
      dpopCounters.resourceRequests++;
      const result = await track(checkResource(request));
      if (!result.ok) dpopCounters.resourceRejected++;
      return result;
    },
    rotateDpopNonce(server) {
      (server === 'authorization' ? tokenVerifier : resourceVerifier)?.rotateNonce();
    },
    get dpopCounters() {
      return { ...dpopCounters };
    },
    isFamilyValid(familyId) {
      const family = families.get(familyId);
      return family !== undefined && !family.revoked;
    },
    get counters() {
      return { ...counters };
    },
    get events() {
      return events.slice();
    },
    on(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    reset() {
      families = new Map();
      refreshTokens = new Map();
      accessTokens = new Map();
      counters = zeroCounters();
      dpopCounters = zeroDpopCounters();
      tokenVerifier = dpop ? newVerifier(dpop.requireNonce) : null;
      resourceVerifier = dpop ? newVerifier(dpop.requireResourceNonce) : null;
      events = [];
      failures = [];
    },
  };
  return api;
}

/** The answer body with one optional field mistyped (the access and refresh token stay as minted). */
function mistype(body: Record<string, unknown>, field: MistypedField): Record<string, unknown> {
  switch (field) {
    case 'expires_in-negative':
      return { ...body, expires_in: -1 };
    case 'expires_in-string':
      return { ...body, expires_in: `${String(body.expires_in ?? 3600)}s` };
    case 'expires_in-huge':
      return { ...body, expires_in: 1e306 };
    case 'scope-array':
      return { ...body, scope: typeof body.scope === 'string' ? body.scope.split(' ') : [] };
    case 'id_token-object':
      return { ...body, id_token: {} };
    case 'token_type-number':
      return { ...body, token_type: 5 };
    case 'version-object':
      return { ...body, version: {} };
  }
}

function jsonOutcome(status: number, body: unknown, headers: Record<string, string> = {}): Outcome {
  return { type: 'response', status, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers } };
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/** Form bodies the client libraries send (string, URLSearchParams) are read synchronously; others need a Response. */
function readBodySync(body: BodyInit | null): string | undefined {
  if (body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  return undefined;
}

function base64UrlJson(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
