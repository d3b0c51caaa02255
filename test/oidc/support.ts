/**
 * Test doubles for the tabauth/oidc unit tests, all injected (no module mocking):
 * - a fake OpenID provider behind a fetch function (discovery, authorization, token, revocation), signing its ID
 *   tokens with jose; each part can be replaced per test to produce the bad inputs;
 * - a per-tab page (URL, navigations, sessionStorage) for `createOidcLogin({ browser })`;
 * - tabs: real auth clients sharing one storage and a broadcast-channel 'simulate' network.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { broadcastChannelCoordination, createAuthClient, createMemoryStorage, type AuthClient, type AuthEvent } from '../../src/core';
import type { OidcBrowser, OidcLogin } from '../../src/oidc';

export const ISSUER = 'https://id.example.test';
export const APP = 'https://app.example.test';
export const CLIENT_ID = 'spa';
export const REDIRECT_URI = `${APP}/callback`;

interface AuthorizationRecord {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | null;
  scope: string;
  sub: string;
  used: boolean;
}

export interface TokenRequestContext {
  params: URLSearchParams;
  /** The default answer of the endpoint (what a correct server sends). */
  respond: () => Promise<Response>;
}

export interface FakeProvider {
  fetch: typeof fetch;
  metadata: Record<string, unknown>;
  /** The authorization endpoint: validates client and redirect, returns the callback URL with code, state and iss. */
  authorize(authorizationUrl: string, options?: { sub?: string; omitIss?: boolean }): string;
  /** Replace the discovery answer. */
  discovery: (() => Response | Promise<Response>) | null;
  /** Replace or wrap the token endpoint's answer. */
  token: ((context: TokenRequestContext) => Response | Promise<Response>) | null;
  /** Change the ID token claims before signing. */
  idTokenClaims: ((claims: JWTPayload) => JWTPayload) | null;
  requests: Array<{ method: string; url: string; body: string | null }>;
  /** Every access token, refresh token and ID token issued, for "no token in any message" checks. */
  issued: string[];
  /** Which login (sub + counter) each issued access / refresh token belongs to. */
  loginOf: Map<string, string>;
  count(path: string, grantType?: string): number;
}

const b64u = (buffer: Buffer) => buffer.toString('base64url');
const secret = (prefix: string) => `${prefix}-${b64u(randomBytes(24))}`;

export async function createFakeProvider(options: { issuer?: string; endSession?: boolean; revocation?: boolean } = {}): Promise<FakeProvider> {
  const issuer = options.issuer ?? ISSUER;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, AuthorizationRecord>();
  const refreshTokens = new Map<string, { login: string; sub: string; active: boolean }>();
  let logins = 0;

  const metadata: Record<string, unknown> = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    ...(options.revocation === false ? {} : { revocation_endpoint: `${issuer}/revoke` }),
    ...(options.endSession === false ? {} : { end_session_endpoint: `${issuer}/session/end` }),
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    id_token_signing_alg_values_supported: ['RS256'],
  };

  const provider: FakeProvider = {
    metadata,
    discovery: null,
    token: null,
    idTokenClaims: null,
    requests: [],
    issued: [],
    loginOf: new Map(),
    count: (path, grantType) =>
      provider.requests.filter(
        (r) => new URL(r.url).pathname === path && (grantType === undefined || new URLSearchParams(r.body ?? '').get('grant_type') === grantType),
      ).length,
    authorize(authorizationUrl, { sub = 'user-1', omitIss = false } = {}) {
      const url = new URL(authorizationUrl);
      const p = url.searchParams;
      if (url.origin + url.pathname !== metadata.authorization_endpoint) throw new Error('not the authorization endpoint');
      if (p.get('client_id') !== CLIENT_ID || p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256')
        throw new Error('bad authorization request');
      const code = secret('code');
      codes.set(code, {
        clientId: p.get('client_id')!,
        redirectUri: p.get('redirect_uri')!,
        codeChallenge: p.get('code_challenge')!,
        nonce: p.get('nonce'),
        scope: p.get('scope') ?? '',
        sub,
        used: false,
      });
      const callback = new URL(p.get('redirect_uri')!);
      callback.searchParams.set('code', code);
      callback.searchParams.set('state', p.get('state')!);
      if (!omitIss) callback.searchParams.set('iss', issuer);
      return callback.href;
    },
    fetch: async (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const body = typeof init?.body === 'string' ? init.body : init?.body instanceof URLSearchParams ? init.body.toString() : null;
      provider.requests.push({ method: init?.method ?? 'GET', url: url.href, body });
      if (url.origin !== issuer) throw new TypeError('fetch failed');
      switch (url.pathname) {
        case '/.well-known/openid-configuration':
          return provider.discovery ? provider.discovery() : Response.json(metadata);
        case '/jwks':
          return Response.json({ keys: [jwk] });
        case '/token': {
          const params = new URLSearchParams(body ?? '');
          const respond = () => tokenEndpoint(params);
          return provider.token ? provider.token({ params, respond }) : respond();
        }
        case '/revoke':
          return new Response(null, { status: 200 });
        default:
          return new Response('not found', { status: 404 });
      }
    },
  };

  const oauthError = (error: string, description = 'rejected') => Response.json({ error, error_description: description }, { status: 400 });

  async function issue(sub: string, login: string, nonce: string | null, scope: string) {
    const accessToken = secret('at');
    const refreshToken = secret('rt');
    const now = Math.floor(Date.now() / 1000);
    let claims: JWTPayload = { iss: issuer, sub, aud: CLIENT_ID, iat: now, exp: now + 300, ...(nonce ? { nonce } : {}) };
    if (provider.idTokenClaims) claims = provider.idTokenClaims(claims);
    const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).sign(privateKey);
    refreshTokens.set(refreshToken, { login, sub, active: true });
    provider.issued.push(accessToken, refreshToken, idToken);
    provider.loginOf.set(accessToken, login);
    provider.loginOf.set(refreshToken, login);
    return Response.json({ access_token: accessToken, token_type: 'Bearer', expires_in: 300, refresh_token: refreshToken, id_token: idToken, scope });
  }

  async function tokenEndpoint(params: URLSearchParams): Promise<Response> {
    if (params.get('client_id') !== CLIENT_ID) return oauthError('invalid_client');
    if (params.get('grant_type') === 'authorization_code') {
      const record = codes.get(params.get('code') ?? '');
      if (!record || record.used) return oauthError('invalid_grant', 'authorization code invalid or already used');
      record.used = true;
      if (record.redirectUri !== params.get('redirect_uri')) return oauthError('invalid_grant', 'redirect_uri mismatch');
      const challenge = b64u(
        createHash('sha256')
          .update(params.get('code_verifier') ?? '')
          .digest(),
      );
      if (challenge !== record.codeChallenge) return oauthError('invalid_grant', 'PKCE verification failed');
      return issue(record.sub, `${record.sub}#${++logins}`, record.nonce, record.scope);
    }
    if (params.get('grant_type') === 'refresh_token') {
      const token = refreshTokens.get(params.get('refresh_token') ?? '');
      if (!token?.active) return oauthError('invalid_grant', `refresh token ${params.get('refresh_token')} is invalid`);
      token.active = false;
      return issue(token.sub, token.login, null, '');
    }
    return oauthError('unsupported_grant_type');
  }

  return provider;
}

/** A Storage (sessionStorage) in memory. */
export function memorySessionStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  };
}

/** One tab's page: its address bar, its navigations and its own sessionStorage. */
export interface FakePage extends OidcBrowser {
  url: string;
  navigations: string[];
  storage: Storage;
}

export function fakePage(url = `${APP}/projects?tab=1#top`): FakePage {
  const storage = memorySessionStorage();
  const page: FakePage = {
    url,
    navigations: [],
    storage,
    currentUrl: () => page.url,
    navigate: (target) => void page.navigations.push(target),
    replaceUrl: (target) => void (page.url = target),
    sessionStorage: () => storage,
    openPopup: () => null,
  };
  return page;
}

export interface TestTab {
  client: AuthClient;
  events: AuthEvent[];
}

/** Auth clients that share one storage and a channel network, like tabs of one origin. All mounted. */
export function openTabs(count: number, login: Pick<OidcLogin, 'refresh' | 'revoke'>, namespace = `oidc-${Math.random().toString(36).slice(2)}`) {
  const backing = new Map<string, unknown>();
  const tabs: TestTab[] = [];
  const unmounts: Array<() => void> = [];
  for (let i = 0; i < count; i++) {
    const events: AuthEvent[] = [];
    const client = createAuthClient({
      namespace,
      refresh: login.refresh,
      revoke: login.revoke,
      storage: createMemoryStorage(backing),
      coordination: broadcastChannelCoordination({ channelOptions: { type: 'simulate' } }),
      onEvent: (event) => events.push(event),
    });
    unmounts.push(client.mount());
    tabs.push({ client, events });
  }
  return {
    tabs,
    backing,
    stored: () =>
      [...backing.entries()].find(([key]) => key.endsWith(':state'))?.[1] as
        { version: number; tokens: { accessToken: string; refreshToken: string } | null } | undefined,
    async ready() {
      await Promise.all(tabs.map((tab) => tab.client.ready()));
    },
    async dispose() {
      unmounts.forEach((unmount) => unmount());
      await Promise.all(tabs.map((tab) => tab.client.dispose()));
    },
  };
}

/** Polls until `predicate` holds; assertions are about states, never about how long they took. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
