/**
 * A real OAuth 2.0 / OpenID Connect authorization server for end-to-end tests: oidc-provider 9.x with
 * refresh-token rotation and reuse detection, plus a small protected API and an optional static file
 * server, all on one loopback origin (http://127.0.0.1:<port>).
 *
 * Server behaviour (what the tests rely on):
 * - Public client `tabauth-e2e` (token_endpoint_auth_method 'none', PKCE S256 required),
 *   scopes 'openid offline_access profile' (profile adds a `name` claim to the ID token); initial
 *   tokens come from the authorization code + PKCE flow driven through oidc-provider's
 *   devInteractions (see obtainInitialTokens()), or from a browser typing into those same pages.
 *   Any login name is an account (its `sub`); the password is not checked.
 * - RP-initiated logout at `endSessionEndpoint`, with `${origin}/` registered as
 *   post_logout_redirect_uri (oidc-provider shows its confirmation form first).
 * - `rotateRefreshToken: true`: every successful refresh returns a new refresh token and consumes
 *   the presented one. Presenting a consumed refresh token again answers 400 invalid_grant
 *   ("refresh token already used") AND revokes the whole grant (every refresh/access token of it).
 * - POST /token is serialised by an async lock in front of the provider, so two concurrent
 *   refreshes with the same token always produce exactly one 200 and one 400 invalid_grant.
 * - Access tokens are JWTs (typ at+jwt, RS256) for the resource `${origin}/api`, with
 *   exp - iat === accessTokenTtlSeconds (whole seconds). The API validates them with jose
 *   (`jwtVerify` against the provider's public JWKS), never by hand.
 *
 * WHAT A CLIENT SENDS TO REFRESH (e.g. from a browser page on this origin, no CORS needed; other
 * origins are allowed too through clientBasedCORS):
 *
 *   POST ${tokenEndpoint}
 *   Content-Type: application/x-www-form-urlencoded
 *   grant_type=refresh_token&refresh_token=<current refresh token>&client_id=tabauth-e2e
 *
 * Nothing else: no `resource` and no `scope` parameter is needed. The grant was issued for the
 * default resource `${origin}/api` and `useGrantedResource` makes the refresh reuse it, so the
 * response again carries a JWT access token. (Sending `resource=${origin}/api` explicitly is
 * accepted as well; any other resource is rejected with invalid_target.)
 * The response is { access_token, refresh_token, id_token, expires_in, token_type: 'Bearer', scope }.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve as resolvePath, sep } from 'node:path';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import Provider, { errors, type IssuedToken, type OidcError, type ProviderContext } from 'oidc-provider';
import { createDpopVerifier } from '../../../src/testing/dpopVerifier';

export interface OidcServerOptions {
  /** Lifetime of JWT access tokens in seconds (exp - iat). Default 5. */
  accessTokenTtlSeconds?: number;
  /** Port to bind on 127.0.0.1. Default 0 = a random free port. */
  port?: number;
  /** Enable the revocation endpoint (RFC 7009). Default true. */
  revocation?: boolean;
  /** Lifetime of refresh tokens in seconds. Default 1 day. */
  refreshTokenTtlSeconds?: number;
  /**
   * oidc-provider's `rotateRefreshToken`. Default true (every refresh rotates). `false` never rotates; a function is
   * passed through (oidc-provider's own default does not rotate sender-constrained public-client tokens).
   */
  rotateRefreshToken?: boolean | ((ctx: ProviderContext) => boolean | Promise<boolean>);
  /**
   * DPoP (RFC 9449): `features.dPoP` with a `nonceSecret`, the client registered with `dpop_bound_access_tokens`,
   * and /api/me accepting only `Authorization: DPoP` with a valid proof (jose: signature, htm, htu, ath, iat, jti
   * replay, the resource nonce) whose key is the token's `cnf.jkt`. Off by default.
   */
  dpop?: {
    /** The token endpoint requires its nonce (oidc-provider `requireNonce`). Default true. */
    requireNonce?: boolean;
    /** /api/me requires its own nonce (401 `use_dpop_nonce` + `DPoP-Nonce`). Default true. */
    requireResourceNonce?: boolean;
  };
}

/**
 * DPoP logins: the key lives in the browser and cannot be exported, so the code exchange has to happen there.
 * `dpopJkt` goes on the authorization request (`dpop_jkt`, binding the code to the key) and `exchange` gets what
 * the browser needs to redeem the code with a proof (the test page does it with oauth4webapi).
 */
export interface DpopLogin {
  dpopJkt?: string;
  exchange?: (callback: { callbackUrl: string; codeVerifier: string; nonce: string; state: string; redirectUri: string }) => Promise<TokenResponseBody>;
}

/** Body of a successful token endpoint response. */
export interface TokenResponseBody {
  access_token: string;
  refresh_token: string;
  id_token?: string;
  expires_in: number;
  token_type: string;
  scope?: string;
}

export interface OidcServerCounters {
  /** POST /token requests received (any grant type, including obtainInitialTokens' code exchange). */
  tokenRequests: number;
  /** Successful refresh_token grants (provider event grant.success). */
  refreshSuccesses: number;
  /** Failed refresh_token grants (provider event grant.error). */
  refreshErrors: number;
  /** Token endpoint errors with error=invalid_grant (any grant type). */
  invalidGrant: number;
  /** Grants revoked (provider event grant.revoked): reuse detection or revocation endpoint. */
  grantsRevoked: number;
  /** A consumed refresh token was presented again ("refresh token already used"): the family is revoked. */
  reuseDetected: number;
  /** Successful calls (200) of the revocation endpoint. */
  revocations: number;
  /** Calls of GET /api/me (preflights excluded). */
  apiCalls: number;
  /** /api/me answered 401. */
  apiUnauthorized: number;
  /** /api/me answered 200 with a token that is not the newest one of its grant. */
  apiStale: number;
  /** Successful authorization_code grants (code exchanges). */
  codeExchanges: number;
  /** RP-initiated logouts the user confirmed (provider event end_session.success). */
  endSessions: number;
}

/** DPoP figures (`dpopCounters()`), kept apart so that `counters()` looks as it did before DPoP. */
export interface OidcServerDpopCounters {
  /** Token endpoint answers `use_dpop_nonce` (not in refreshErrors: the client sends the request again at once). */
  tokenNonceChallenges: number;
  /** /api/me answers 401 `use_dpop_nonce` (also counted in apiUnauthorized). */
  apiNonceChallenges: number;
  /** /api/me requests refused for their proof or because its key is not the token's `cnf.jkt`. */
  apiDpopRejected: number;
}

/**
 * One entry of the server's chronological log (token endpoint outcomes and API calls). For refresh_token grants,
 * `presented` and `issued` are fingerprints (first 16 hex digits of SHA-256) of the refresh token the client sent and
 * of the one the server answered with: enough to tell which token a request carried, never the token itself.
 */
export type OidcServerEvent =
  | { type: 'token'; at: number; grantType: string; ok: true; grantId?: string; presented?: string; issued?: string }
  | { type: 'token'; at: number; grantType: string; ok: false; error: string; detail?: string; presented?: string }
  | { type: 'grant.revoked'; at: number; grantId: string }
  | { type: 'revocation'; at: number; status: number }
  | { type: 'api'; at: number; status: 200; sub: string; jti: string; newest: boolean }
  | { type: 'api'; at: number; status: 401; reason: string };

/** A refresh answer the server holds back: see `OidcServer.holdNextRefresh`. */
export interface HeldRefresh {
  /**
   * Resolves once the provider has processed the refresh (the presented refresh token is consumed and the new pair
   * minted) and its answer is being held. `issued`: fingerprint of the new refresh token (see OidcServerEvent).
   */
  readonly processed: Promise<{ status: number; issued: string | null }>;
  /** Sends the held answer now (to a client that went away in the meantime, nothing). */
  release(): void;
  /** True once the client closed the connection while its answer was held (a fetch aborted mid-request). */
  readonly clientAborted: boolean;
}

export interface OidcServer {
  /** http://127.0.0.1:<port> (no trailing slash). */
  origin: string;
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  /** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). */
  endSessionEndpoint: string;
  /**
   * Registered redirect URI of the client (`${origin}/callback`). Answers a tiny HTML page unless a static
   * directory serves that path (see serveStatic's `routes`).
   */
  redirectUri: string;
  /** Registered post_logout_redirect_uri (`${origin}/`). */
  postLogoutRedirectUri: string;
  /** Public client: token_endpoint_auth_method 'none', PKCE S256. */
  clientId: string;
  /** Resource indicator the access tokens are issued for (`${origin}/api`), the JWT `aud`. */
  resource: string;
  accessTokenTtlSeconds: number;
  /**
   * `${origin}/api/me`: protected resource. GET with `Authorization: Bearer <access token>`:
   * 200 {sub, jti, newest} when the JWT is signed by this provider, issued by this server instance,
   * unexpired and its grant not revoked; otherwise 401 {error: 'invalid_token', error_description}.
   * `newest` is true iff the token is the most recently issued access token of its grant.
   */
  apiUrl: string;
  counters(): OidcServerCounters;
  dpopCounters(): OidcServerDpopCounters;
  /** Chronological log of token endpoint outcomes, revocations and API calls since the last reset. */
  events(): OidcServerEvent[];
  /**
   * Runs the real authorization code + PKCE flow (GET /auth, devInteractions login and consent
   * forms, code exchange at /token) with a fresh cookie jar; every call creates a new session and
   * grant. Counts one tokenRequests. `sub` defaults to 'user-1', `scope` to 'openid offline_access'.
   */
  obtainInitialTokens(options?: { sub?: string; scope?: string } & DpopLogin): Promise<TokenResponseBody>;
  /**
   * Serves the files of `dir` at '/' (GET/HEAD; `index.html` for directories; Cache-Control no-store
   * unless `cacheControl` says otherwise: a page served `no-store` is never put in the back/forward cache, so
   * the bfcache test and bench serve theirs `no-cache`). May be called several times: the most recently added
   * directory wins. Paths that are not files fall through to the provider and the API. `routes` are client-side
   * routes of a single-page app (e.g. '/callback', '/protected'): they answer the directory's index.html.
   */
  serveStatic(dir: string, options?: { cacheControl?: string; routes?: string[] }): void;
  /**
   * Answers every request whose path starts with `pathPrefix` with `handler` (before the static files, the
   * provider and /api/me): for example a resource server that validates the access tokens with jose.
   */
  handle(pathPrefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  /**
   * Holds the answer of the next POST /token: the provider has done its work (a refresh grant has rotated and
   * consumed the presented token) but the response stays unsent until `release()`. `held` resolves once a response is
   * being held. A client that goes away meanwhile never gets it: the lost response of a strict server.
   */
  holdNextTokenResponse(): TokenHold;
  resetCounters(): void;
  /** DPoP: /api/me issues a new nonce (the previous one stays accepted until the next rotation). */
  rotateResourceNonce(): void;
  /**
   * Holds the answer to the next successful refresh_token grant: the provider rotates as usual, but the response
   * leaves only when `release()` is called. For putting a client's refresh "at the server" while the test does
   * something to the client (unmount, dispose). Other token requests queue behind it (the token endpoint is
   * serialised).
   */
  holdNextRefresh(): HeldRefresh;
  close(): Promise<void>;
}

export interface TokenHold {
  held: Promise<void>;
  release(): void;
}

const CLIENT_ID = 'tabauth-e2e';
const SCOPE = 'openid offline_access';

let signingKeyPair: { privateJwk: Record<string, unknown>; publicJwks: JSONWebKeySet; kid: string } | undefined;

function signingKeys() {
  if (!signingKeyPair) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomBytes(8).toString('hex');
    const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, use: 'sig', alg: 'RS256' };
    const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, use: 'sig', alg: 'RS256' };
    signingKeyPair = { privateJwk, publicJwks: { keys: [publicJwk] } as JSONWebKeySet, kid };
  }
  return signingKeyPair;
}

/** `name` claim of an account: 'user-1' -> 'User 1', 'ada' -> 'Ada'. */
function displayName(sub: string): string {
  const words = sub.replace(/[-_.]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const base64url = (buf: Buffer) => buf.toString('base64url');

/** A token's fingerprint for the log: which token it was, not the token. */
const fingerprint = (token: unknown): string | undefined =>
  typeof token === 'string' && token.length > 0 ? createHash('sha256').update(token).digest('hex').slice(0, 16) : undefined;

/**
 * Map-based storage adapter for oidc-provider (the built-in memory adapter is an LRU that evicts
 * after ~1000 entries, which long e2e runs can exceed). Entries never expire at the storage level;
 * the provider checks `exp` itself. Payloads are copied in and out, like a real database.
 */
function createMapAdapterFactory() {
  const store = new Map<string, Record<string, unknown>>();
  const grants = new Map<string, Set<string>>();
  const uids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

  class MapAdapter {
    constructor(private readonly model: string) {}

    private key(id: string) {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: Record<string, unknown>, _expiresIn?: number) {
      const key = this.key(id);
      store.set(key, structuredClone(payload));
      if (this.model === 'Session' && typeof payload.uid === 'string') uids.set(payload.uid, id);
      if (typeof payload.userCode === 'string') userCodes.set(payload.userCode, id);
      if (grantable.has(this.model) && typeof payload.grantId === 'string') {
        let members = grants.get(payload.grantId);
        if (!members) grants.set(payload.grantId, (members = new Set()));
        members.add(key);
      }
    }

    async find(id: string) {
      const payload = store.get(this.key(id));
      return payload ? structuredClone(payload) : undefined;
    }

    async findByUid(uid: string) {
      const id = uids.get(uid);
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode(userCode: string) {
      const id = userCodes.get(userCode);
      return id === undefined ? undefined : this.find(id);
    }

    async consume(id: string) {
      const payload = store.get(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string) {
      const key = this.key(id);
      const payload = store.get(key);
      store.delete(key);
      if (payload && typeof payload.grantId === 'string') grants.get(payload.grantId)?.delete(key);
    }

    async revokeByGrantId(grantId: string) {
      const members = grants.get(grantId);
      if (!members) return;
      for (const key of [...members]) {
        if (key.startsWith(`${this.model}:`)) {
          store.delete(key);
          members.delete(key);
        }
      }
      if (members.size === 0) grants.delete(grantId);
    }
  }

  return MapAdapter;
}

/** A FIFO async mutex: `task` starts only after every earlier holder called its `release`. */
function createLock() {
  let tail: Promise<void> = Promise.resolve();
  return (task: (release: () => void) => void) => {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const previous = tail;
    tail = previous.then(() => mine);
    void previous.then(() => task(release));
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The API's 401 reason for what jose rejected. */
function joseReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'wrong issuer';
    if (error.claim === 'aud') return 'wrong audience';
    if (error.claim === 'typ') return 'unexpected JWT header';
    return `invalid ${error.claim} claim`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JWKSNoMatchingKey) return 'unexpected JWT header';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'malformed JWT';
  return 'invalid token';
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-headers': 'authorization, content-type, dpop',
    'access-control-expose-headers': 'www-authenticate, dpop-nonce',
    'access-control-allow-methods': 'GET, OPTIONS',
    'access-control-max-age': '600',
    vary: 'origin',
  };
}

export async function startOidcServer(options: OidcServerOptions = {}): Promise<OidcServer> {
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 5;
  const refreshTokenTtlSeconds = options.refreshTokenTtlSeconds ?? 24 * 60 * 60;
  const revocationEnabled = options.revocation ?? true;
  const dpop = options.dpop ? { requireNonce: true, requireResourceNonce: true, ...options.dpop } : null;
  const resourceDpop = dpop ? createDpopVerifier({ requireNonce: dpop.requireResourceNonce, random: Math.random }) : null;
  if (!Number.isInteger(accessTokenTtlSeconds) || accessTokenTtlSeconds < 1) {
    throw new TypeError('accessTokenTtlSeconds must be a positive integer (JWT exp is in whole seconds)');
  }

  // Bind first (the issuer must contain the real port), install the handler afterwards.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server: Server = createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const issuer = origin;
  const resource = `${origin}/api`;
  const redirectUri = `${origin}/callback`;
  const postLogoutRedirectUri = `${origin}/`;
  const apiUrl = `${origin}/api/me`;
  const keys = signingKeys();

  // devInteractions prints a "development-only feature" warning per instance; expected here.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('devInteractions is enabled')) return;
    warn(...args);
  };
  let provider: Provider;
  try {
    provider = createProvider();
  } finally {
    console.warn = warn;
  }

  function createProvider() {
    return new Provider(issuer, {
      adapter: createMapAdapterFactory(),
      clients: [
        {
          client_id: CLIENT_ID,
          application_type: 'web',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: [redirectUri],
          post_logout_redirect_uris: [postLogoutRedirectUri],
          ...(dpop ? { dpop_bound_access_tokens: true } : {}),
        },
      ],
      jwks: { keys: [keys.privateJwk] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      scopes: ['openid', 'offline_access', 'profile'],
      claims: { openid: ['sub'], profile: ['name'] },
      // Put the scope's claims (name) into the ID token too, so a SPA can greet the user without a userinfo call.
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      findAccount: async (_ctx: unknown, sub: string) => ({
        accountId: sub,
        claims: async () => ({ sub, name: displayName(sub) }),
      }),
      rotateRefreshToken: options.rotateRefreshToken === false ? () => false : (options.rotateRefreshToken ?? true),
      // Codes and tokens outlive the browser session at the provider (as with offline_access): two logins that run at
      // once in one browser each complete, although the session ends up pointing at the second grant only.
      expiresWithSession: async () => false,
      issueRefreshToken: async (_ctx: unknown, client: { clientId: string }) => client.clientId === CLIENT_ID,
      clientBasedCORS: () => true,
      ttl: {
        AccessToken: accessTokenTtlSeconds, // opaque tokens (userinfo); the API tokens use accessTokenTTL below
        AuthorizationCode: 60,
        IdToken: 3600,
        Interaction: 3600,
        Session: 24 * 60 * 60,
        Grant: 14 * 24 * 60 * 60,
        RefreshToken: refreshTokenTtlSeconds,
      },
      features: {
        devInteractions: { enabled: true },
        ...(dpop ? { dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => dpop.requireNonce } } : {}),
        revocation: {
          enabled: revocationEnabled,
          allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId,
        },
        introspection: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string | string[]) => {
            if (Array.isArray(oneOf)) return oneOf.includes(resource) ? resource : oneOf;
            return oneOf ?? resource;
          },
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
            if (indicator !== resource) throw new errors.InvalidTarget();
            return {
              scope: 'api',
              audience: resource,
              accessTokenFormat: 'jwt',
              accessTokenTTL: accessTokenTtlSeconds,
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
    });
  }
  provider.proxy = false;

  // ---- ground truth: the provider's own events ----
  const zero = (): OidcServerCounters => ({
    tokenRequests: 0,
    refreshSuccesses: 0,
    refreshErrors: 0,
    invalidGrant: 0,
    grantsRevoked: 0,
    reuseDetected: 0,
    revocations: 0,
    apiCalls: 0,
    apiUnauthorized: 0,
    apiStale: 0,
    codeExchanges: 0,
    endSessions: 0,
  });
  const zeroDpop = (): OidcServerDpopCounters => ({ tokenNonceChallenges: 0, apiNonceChallenges: 0, apiDpopRejected: 0 });
  let dpopCounts = zeroDpop();
  let counts = zero();
  let log: OidcServerEvent[] = [];
  /** jti -> access token info, for every JWT access token this instance issued. */
  const issuedAccessTokens = new Map<string, { grantId: string | undefined; sub: string | undefined; exp: number | undefined }>();
  /** grantId -> jti of the most recently issued access token. */
  const newestAccessToken = new Map<string, string>();
  const revokedGrants = new Set<string>();

  const grantTypeOf = (ctx: ProviderContext) => String(ctx.oidc?.params?.grant_type ?? 'unknown');

  provider.on('access_token.issued', (token: IssuedToken) => {
    issuedAccessTokens.set(token.jti, { grantId: token.grantId, sub: token.accountId, exp: token.exp });
    if (token.grantId) newestAccessToken.set(token.grantId, token.jti);
  });
  let armedHold: ((res: ServerResponse, issued: string | null) => void) | null = null;
  provider.on('grant.success', (ctx: ProviderContext) => {
    const grantType = grantTypeOf(ctx);
    if (grantType === 'authorization_code') counts.codeExchanges++;
    const grant = ctx.oidc?.entities?.Grant as { jti?: string } | undefined;
    if (grantType !== 'refresh_token') {
      log.push({ type: 'token', at: Date.now(), grantType, ok: true, grantId: grant?.jti });
      return;
    }
    counts.refreshSuccesses++;
    const issued = fingerprint((ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token);
    log.push({ type: 'token', at: Date.now(), grantType, ok: true, grantId: grant?.jti, presented: fingerprint(ctx.oidc?.params?.refresh_token), issued });
    // Emitted after the grant is processed and before Koa writes the answer: the moment to hold it.
    const hold = armedHold;
    if (hold && ctx.res) {
      armedHold = null;
      hold(ctx.res, issued ?? null);
    }
  });
  provider.on('grant.error', (ctx: ProviderContext, err: OidcError) => {
    const grantType = grantTypeOf(ctx);
    const error = err.error ?? 'server_error';
    if (error === 'use_dpop_nonce') dpopCounts.tokenNonceChallenges++;
    else if (grantType === 'refresh_token') counts.refreshErrors++;
    if (error === 'invalid_grant') counts.invalidGrant++;
    // error_detail is the provider's internal reason (the client only sees a generic description).
    if (error === 'invalid_grant' && err.error_detail === 'refresh token already used') counts.reuseDetected++;
    const presented = grantType === 'refresh_token' ? { presented: fingerprint(ctx.oidc?.params?.refresh_token) } : {};
    log.push({ type: 'token', at: Date.now(), grantType, ok: false, error, detail: err.error_detail ?? err.error_description, ...presented });
  });

  function holdNextRefresh(): HeldRefresh {
    let release: () => void = () => {};
    let released = false;
    let clientAborted = false;
    let resolveProcessed!: (value: { status: number; issued: string | null }) => void;
    const processed = new Promise<{ status: number; issued: string | null }>((resolve) => (resolveProcessed = resolve));
    armedHold = (res, issued) => {
      res.once('close', () => {
        if (!res.writableEnded) clientAborted = true;
      });
      const end = res.end;
      // Koa finishes with res.end(body); until release() that call is kept, with the headers not yet sent.
      res.end = function heldEnd(this: ServerResponse, ...args: unknown[]) {
        release = () => {
          res.end = end;
          if (!clientAborted && !res.destroyed) (end as (...a: unknown[]) => ServerResponse).apply(res, args);
        };
        resolveProcessed({ status: res.statusCode, issued });
        if (released) release();
        return res;
      } as ServerResponse['end'];
    };
    return {
      processed,
      release() {
        released = true;
        release();
      },
      get clientAborted() {
        return clientAborted;
      },
    };
  }
  provider.on('grant.revoked', (_ctx: ProviderContext, grantId: string) => {
    counts.grantsRevoked++;
    revokedGrants.add(grantId);
    log.push({ type: 'grant.revoked', at: Date.now(), grantId });
  });
  provider.on('end_session.success', () => {
    counts.endSessions++;
  });
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    console.error('[oidcServer] provider server_error', err);
  });

  // ---- protected API ----
  const jwks = createLocalJWKSet(keys.publicJwks);

  /** jose validates signature, alg, typ, iss, aud and exp; the rest is what only this server knows. */
  async function verifyAccessToken(
    authorization: string | undefined,
  ): Promise<{ ok: true; sub: string; jti: string; newest: boolean; token: string; scheme: string; jkt: string | undefined } | { ok: false; reason: string }> {
    const match = /^(Bearer|DPoP)\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[2]) return { ok: false, reason: 'missing bearer token' };
    let payload: { sub?: string; jti?: string; cnf?: { jkt?: string } };
    try {
      ({ payload } = await jwtVerify(match[2], jwks, { issuer, audience: resource, typ: 'at+jwt', algorithms: ['RS256'] }));
    } catch (error) {
      return { ok: false, reason: joseReason(error) };
    }
    const issued = payload.jti ? issuedAccessTokens.get(payload.jti) : undefined;
    if (!issued || !payload.jti) return { ok: false, reason: 'unknown token' };
    if (issued.grantId && revokedGrants.has(issued.grantId)) return { ok: false, reason: 'grant revoked' };
    const newest = issued.grantId ? newestAccessToken.get(issued.grantId) === payload.jti : true;
    return {
      ok: true,
      sub: payload.sub ?? issued.sub ?? '',
      jti: payload.jti,
      newest,
      token: match[2],
      scheme: match[1]!.toLowerCase(),
      jkt: payload.cnf?.jkt,
    };
  }

  /**
   * DPoP at /api/me (RFC 9449 section 7): a bound token only with the DPoP scheme and a proof of its key; a bearer
   * token only with the Bearer scheme. Answers `{ pass }` when the request may pass, with the next nonce when the proof
   * carried an older one (like oidc-provider's token endpoint, so a renewed nonce reaches the client on a success).
   */
  async function checkDpop(
    req: IncomingMessage,
    token: { token: string; scheme: string; jkt: string | undefined },
  ): Promise<{ pass: true; nonce?: string } | { pass: false; error: string; reason: string; nonce?: string }> {
    if (!token.jkt) return token.scheme === 'bearer' ? { pass: true } : { pass: false, error: 'invalid_token', reason: 'not a DPoP-bound token' };
    if (token.scheme !== 'dpop' || !resourceDpop) return { pass: false, error: 'invalid_token', reason: 'DPoP-bound token sent as a bearer token' };
    const proof = typeof req.headers.dpop === 'string' ? req.headers.dpop : null;
    const check = await resourceDpop.verify(proof, { htm: req.method ?? 'GET', htu: new URL(req.url ?? '/', origin).href, accessToken: token.token });
    if (!check.ok) {
      return { pass: false, error: check.error, reason: check.description, ...(check.error === 'use_dpop_nonce' ? { nonce: resourceDpop.nonce } : {}) };
    }
    if (check.jkt !== token.jkt) return { pass: false, error: 'invalid_token', reason: 'DPoP proof key is not the token binding' };
    return check.nonce === resourceDpop.nonce ? { pass: true } : { pass: true, nonce: resourceDpop.nonce };
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse) {
    const cors = corsHeaders(req);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    counts.apiCalls++;
    const verified = await verifyAccessToken(req.headers.authorization);
    const dpopCheck = verified.ok && (dpop || verified.scheme !== 'bearer') ? await checkDpop(req, verified) : null;
    const refused = dpopCheck && !dpopCheck.pass ? dpopCheck : null;
    if (refused) {
      counts.apiUnauthorized++;
      if (refused.error === 'use_dpop_nonce') dpopCounts.apiNonceChallenges++;
      else dpopCounts.apiDpopRejected++;
      log.push({ type: 'api', at: Date.now(), status: 401, reason: `${refused.error}: ${refused.reason}` });
      sendJson(
        res,
        401,
        { error: refused.error, error_description: refused.reason },
        {
          ...cors,
          'www-authenticate': `DPoP error="${refused.error}", error_description="${refused.reason}"`,
          ...(refused.nonce ? { 'dpop-nonce': refused.nonce } : {}),
          'access-control-expose-headers': 'www-authenticate, dpop-nonce',
        },
      );
      return;
    }
    const result = verified;
    if (!result.ok) {
      counts.apiUnauthorized++;
      log.push({ type: 'api', at: Date.now(), status: 401, reason: result.reason });
      sendJson(
        res,
        401,
        { error: 'invalid_token', error_description: result.reason },
        {
          ...cors,
          'www-authenticate': `Bearer error="invalid_token", error_description="${result.reason}"`,
          'access-control-expose-headers': 'www-authenticate',
        },
      );
      return;
    }
    if (!result.newest) counts.apiStale++;
    log.push({ type: 'api', at: Date.now(), status: 200, sub: result.sub, jti: result.jti, newest: result.newest });
    sendJson(
      res,
      200,
      { sub: result.sub, jti: result.jti, newest: result.newest },
      { ...cors, ...(dpopCheck?.nonce ? { 'dpop-nonce': dpopCheck.nonce } : {}) },
    );
  }

  // ---- static files ----
  const staticDirs: Array<{ dir: string; cacheControl: string; routes: Set<string> }> = [];
  function tryStatic(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || staticDirs.length === 0) return false;
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return false;
    }
    for (const { dir, cacheControl, routes } of staticDirs) {
      let file = resolvePath(dir, routes.has(decoded) ? './index.html' : `.${decoded}`);
      if (file !== dir && !file.startsWith(dir + sep)) continue;
      let stat = statSync(file, { throwIfNoEntry: false });
      if (stat?.isDirectory()) {
        file = resolvePath(file, 'index.html');
        stat = statSync(file, { throwIfNoEntry: false });
      }
      if (!stat?.isFile()) continue;
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': stat.size,
        'cache-control': cacheControl,
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
      return true;
    }
    return false;
  }

  // ---- routing ----
  const providerCallback = provider.callback();
  const tokenLock = createLock();

  let hold: { arm: () => void; released: Promise<void> } | null = null;
  /** Defers `res.end` while a hold is armed (the provider's work, rotation included, is already done). */
  function holdResponse(res: ServerResponse) {
    const current = hold;
    if (!current) return;
    hold = null;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    (res as { end: (...args: unknown[]) => ServerResponse }).end = (...args: unknown[]) => {
      current.arm();
      void current.released.then(() => end(...args));
      return res;
    };
  }

  const extraRoutes: Array<{ prefix: string; handler: (req: IncomingMessage, res: ServerResponse) => void }> = [];
  handler = (req, res) => {
    const pathname = new URL(req.url ?? '/', origin).pathname;
    const extra = extraRoutes.find((route) => pathname.startsWith(route.prefix));
    if (extra) return extra.handler(req, res);

    if (pathname === '/api/me') {
      handleApi(req, res).catch((error: unknown) => {
        console.error('[oidcServer] /api/me failed', error);
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      });
      return;
    }
    if (tryStatic(req, res, pathname)) return;
    if (pathname === '/callback') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!doctype html><title>callback</title><p>authorization response received</p>');
      return;
    }

    if (req.method === 'POST' && pathname === '/token/revocation') {
      res.once('finish', () => {
        if (res.statusCode === 200) counts.revocations++;
        log.push({ type: 'revocation', at: Date.now(), status: res.statusCode });
      });
    }

    if (req.method === 'POST' && (pathname === '/token' || pathname === '/token/revocation')) {
      if (pathname === '/token') counts.tokenRequests++;
      // Serialise token endpoint work so a reused refresh token is always detected: the memory
      // adapter's find/consume are not atomic across concurrent requests.
      tokenLock((release) => {
        if (res.destroyed || res.writableEnded) {
          release(); // the client went away while queued: never reaches the provider
          return;
        }
        res.once('finish', release);
        res.once('close', release);
        if (pathname === '/token') holdResponse(res);
        providerCallback(req, res);
      });
      return;
    }

    providerCallback(req, res);
  };

  // ---- authorization code + PKCE flow ----
  async function obtainInitialTokens({
    sub = 'user-1',
    scope = SCOPE,
    dpopJkt,
    exchange,
  }: { sub?: string; scope?: string } & DpopLogin = {}): Promise<TokenResponseBody> {
    const jar = new Map<string, { value: string; path: string }>();
    const cookieHeader = (url: URL) =>
      [...jar.entries()]
        .filter(([, c]) => {
          const base = c.path.replace(/\/+$/, '');
          return base === '' || url.pathname === base || url.pathname.startsWith(`${base}/`);
        })
        .map(([key, c]) => `${key.slice(0, key.indexOf('\n'))}=${c.value}`)
        .join('; ');
    const storeCookies = (response: Response) => {
      for (const line of response.headers.getSetCookie()) {
        const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq);
        const value = pair.slice(eq + 1);
        let path = '/';
        let expired = false;
        for (const attribute of attributes) {
          const [k = '', v = ''] = attribute.split('=');
          if (k.toLowerCase() === 'path') path = v || '/';
          if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
          if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        }
        const key = `${name}\n${path}`;
        if (expired || value === '') jar.delete(key);
        else jar.set(key, { value, path });
      }
    };
    const request = async (url: URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      const cookie = cookieHeader(url);
      if (cookie) headers.set('cookie', cookie);
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      storeCookies(response);
      return response;
    };

    const verifier = base64url(randomBytes(32));
    const challenge = base64url(createHash('sha256').update(verifier).digest());
    const state = base64url(randomBytes(12));
    const nonce = base64url(randomBytes(12));
    const authUrl = new URL('/auth', origin);
    authUrl.search = new URLSearchParams({
      client_id: CLIENT_ID,
      response_type: 'code',
      scope,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
      ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}),
    }).toString();

    let response = await request(authUrl);
    let code: string | undefined;
    let callbackUrl = '';
    for (let step = 0; step < 20 && !code; step++) {
      if (response.status >= 300 && response.status < 400) {
        await response.arrayBuffer();
        const location = new URL(response.headers.get('location') ?? '', response.url || origin);
        if (location.origin + location.pathname === redirectUri) {
          if (location.searchParams.get('state') !== state) throw new Error('obtainInitialTokens: state mismatch');
          const error = location.searchParams.get('error');
          if (error) throw new Error(`obtainInitialTokens: ${error}: ${location.searchParams.get('error_description')}`);
          code = location.searchParams.get('code') ?? undefined;
          callbackUrl = location.href;
          break;
        }
        response = await request(location);
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) throw new Error(`obtainInitialTokens: unexpected ${response.status} at ${response.url}: ${html.slice(0, 500)}`);
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!prompt || !action) throw new Error(`obtainInitialTokens: no interaction form at ${response.url}`);
      const form = new URLSearchParams({ prompt });
      if (prompt === 'login') {
        form.set('login', sub);
        form.set('password', 'any');
      }
      response = await request(new URL(action.replace(/&amp;/g, '&'), origin), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
    }
    if (!code) throw new Error('obtainInitialTokens: no authorization code');
    if (exchange) return exchange({ callbackUrl, codeVerifier: verifier, nonce, state, redirectUri });

    const tokenResponse = await fetch(new URL('/token', origin), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: CLIENT_ID,
        code_verifier: verifier,
      }),
    });
    const body = (await tokenResponse.json()) as TokenResponseBody & { error?: string; error_description?: string };
    if (!tokenResponse.ok) throw new Error(`obtainInitialTokens: token endpoint ${tokenResponse.status} ${body.error}: ${body.error_description}`);
    if (!body.refresh_token) throw new Error('obtainInitialTokens: no refresh token issued');
    return body;
  }

  return {
    origin,
    issuer,
    authorizationEndpoint: `${origin}/auth`,
    tokenEndpoint: `${origin}/token`,
    revocationEndpoint: `${origin}/token/revocation`,
    endSessionEndpoint: `${origin}/session/end`,
    redirectUri,
    postLogoutRedirectUri,
    clientId: CLIENT_ID,
    resource,
    accessTokenTtlSeconds,
    apiUrl,
    counters: () => ({ ...counts }),
    dpopCounters: () => ({ ...dpopCounts }),
    events: () => [...log],
    obtainInitialTokens,
    holdNextTokenResponse() {
      let arm!: () => void;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (arm = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      hold = { arm, released };
      return { held, release };
    },
    handle(pathPrefix, routeHandler) {
      extraRoutes.push({ prefix: pathPrefix, handler: routeHandler });
    },
    serveStatic(dir: string, staticOptions: { cacheControl?: string; routes?: string[] } = {}) {
      staticDirs.unshift({ dir: resolvePath(dir), cacheControl: staticOptions.cacheControl ?? 'no-store', routes: new Set(staticOptions.routes ?? []) });
    },
    resetCounters() {
      counts = zero();
      dpopCounts = zeroDpop();
      log = [];
    },
    rotateResourceNonce() {
      resourceDpop?.rotateNonce();
    },
    holdNextRefresh,
    close: () =>
      new Promise<void>((resolveClose, rejectClose) => {
        server.close((err) => (err ? rejectClose(err) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}
