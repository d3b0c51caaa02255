// @vitest-environment node
/**
 * The login side of DPoP in tabauth/oidc: `createOidcLogin({ dpop })` makes a new key per login, binds the code to it
 * (`dpop_jkt`), and the code exchange carries a proof signed with it, with the token endpoint's nonce challenge
 * retried at once, once (the same handle rule as the refresh grant), and the nonce then known to the refresh.
 *
 * The fake provider sits behind a DPoP gate: its token endpoint checks every proof with jose (the mock server's
 * verifier), requires its nonce, checks the proof key against the code's `dpop_jkt`, and answers `token_type: DPoP`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  broadcastChannelCoordination,
  createAuthClient,
  createMemoryStorage,
  MalformedTokenResponseError,
  type AuthClient,
  type AuthEvent,
} from '../../src/core';
import { createDpop, dpopKeyStorageKey, type Dpop } from '../../src/dpop';
import { dpopPendingKeyStorageKey } from '../../src/dpop/keyStore';
import { createOidcLogin, LoginCallbackError, type OidcLogin } from '../../src/oidc';
import { createDpopVerifier, type DpopVerifier } from '../../src/testing/dpopVerifier';
import { CLIENT_ID, createFakeProvider, fakePage, ISSUER, REDIRECT_URI, rejectionOf, type FakePage, type FakeProvider } from './support';

const TOKEN_ENDPOINT = `${ISSUER}/token`;

interface Gate {
  fetch: typeof fetch;
  /** Token endpoint requests in order: grant type, whether a proof came with it, and the answer's status. */
  requests: Array<{ grantType: string | null; proof: boolean; status: number }>;
  /** dpop_jkt of each code, from the authorization request. */
  jktOfCode: Map<string, string>;
  /** Answer bearer tokens although the proof was fine (a server that ignores DPoP). */
  ignoreProofs: boolean;
  /** Thumbprint of the proof key of every refresh grant that passed the proof check, in order. */
  refreshJkts: string[];
}

function dpopGate(provider: FakeProvider, verifier: DpopVerifier): Gate {
  const gate: Gate = {
    requests: [],
    jktOfCode: new Map(),
    ignoreProofs: false,
    refreshJkts: [],
    fetch: async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!url.startsWith(TOKEN_ENDPOINT)) return provider.fetch(input, init);
      const params = new URLSearchParams(String(init?.body ?? ''));
      const proof = new Headers(init?.headers).get('DPoP');
      const record = (status: number) => gate.requests.push({ grantType: params.get('grant_type'), proof: proof !== null, status });
      const check = await verifier.verify(proof, { htm: 'POST', htu: TOKEN_ENDPOINT });
      if (!check.ok) {
        record(400);
        const headers = check.error === 'use_dpop_nonce' ? { 'DPoP-Nonce': verifier.nonce } : undefined;
        return Response.json({ error: check.error, error_description: check.description }, { status: 400, headers });
      }
      if (params.get('grant_type') === 'refresh_token') gate.refreshJkts.push(check.jkt);
      const boundTo = params.get('grant_type') === 'authorization_code' ? gate.jktOfCode.get(params.get('code') ?? '') : undefined;
      if (boundTo !== undefined && boundTo !== check.jkt) {
        record(400);
        return Response.json({ error: 'invalid_grant', error_description: 'dpop_jkt mismatch' }, { status: 400 });
      }
      const answer = await provider.fetch(input, init);
      record(answer.status);
      if (answer.status !== 200 || gate.ignoreProofs) return answer;
      return Response.json({ ...((await answer.json()) as object), token_type: 'DPoP' }, { headers: { 'DPoP-Nonce': verifier.nonce } });
    },
  };
  return gate;
}

let provider: FakeProvider;
let gate: Gate;
let page: FakePage;
let dpop: Dpop;
let oidc: OidcLogin;
let client: AuthClient;
let events: AuthEvent[];
let backing: Map<string, unknown>;
let unmount: () => void;
const namespace = 'oidc-dpop';

/** Starts a login and answers it at the fake provider, remembering the code's dpop_jkt as the server would. */
async function callbackUrl(): Promise<string> {
  await oidc.login();
  const authorization = new URL(page.navigations.at(-1)!);
  const callback = provider.authorize(authorization.href);
  const jkt = authorization.searchParams.get('dpop_jkt');
  if (jkt) gate.jktOfCode.set(new URL(callback).searchParams.get('code')!, jkt);
  return callback;
}

beforeEach(async () => {
  provider = await createFakeProvider();
  gate = dpopGate(provider, createDpopVerifier({ requireNonce: true, random: Math.random }));
  page = fakePage();
  backing = new Map();
  dpop = createDpop({ namespace, storage: createMemoryStorage(backing), locks: null, channel: null });
  oidc = createOidcLogin({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: 'openid offline_access',
    fetch: gate.fetch,
    browser: page,
    dpop,
  });
  events = [];
  client = createAuthClient({
    namespace,
    refresh: oidc.refresh,
    revoke: oidc.revoke,
    dpop,
    storage: createMemoryStorage(backing),
    coordination: broadcastChannelCoordination({ channelOptions: { type: 'simulate' } }),
    onEvent: (event) => events.push(event),
  });
  unmount = client.mount();
  await client.ready();
});
afterEach(async () => {
  unmount();
  await client.dispose();
  dpop.close();
});

describe('tabauth/oidc with DPoP', () => {
  it('binds the code to a new key (dpop_jkt), exchanges it with a proof, retries the nonce challenge at once, and the refresh reuses the nonce', async () => {
    const url = await callbackUrl();
    const jkt = new URL(page.navigations[0]!).searchParams.get('dpop_jkt')!;
    expect((await dpop.loginKey(jkt))?.thumbprint).toBe(jkt); // pending: not yet the namespace's key
    expect(backing.has(dpopKeyStorageKey(namespace))).toBe(false);
    expect(events.filter((event) => event.type === 'dpop-key-created').map((event) => (event as { reason: string }).reason)).toEqual(['login']);

    await oidc.handleCallback(client, url);
    expect(await dpop.thumbprint()).toBe(jkt); // promoted with the sign-in
    // One challenge (no nonce yet), then the same exchange again with the nonce: two requests, both with a proof.
    expect(gate.requests).toEqual([
      { grantType: 'authorization_code', proof: true, status: 400 },
      { grantType: 'authorization_code', proof: true, status: 200 },
    ]);
    expect(client.getSnapshot().tokens?.tokenType).toBe('DPoP');
    expect(client.metrics().find((counter) => counter.name === 'dpop_nonce_retries')?.value).toBe(1);

    // The refresh grant signs with the same key and already carries the nonce the exchange learnt: one request.
    await client.refresh();
    expect(gate.requests.slice(2)).toEqual([{ grantType: 'refresh_token', proof: true, status: 200 }]);
    expect(client.metrics().find((counter) => counter.name === 'dpop_nonce_retries')?.value).toBe(1);
  });

  it('a new login makes a new key; signOut() deletes it', async () => {
    await oidc.handleCallback(client, await callbackUrl());
    const first = await dpop.thumbprint();
    await oidc.handleCallback(client, await callbackUrl());
    const second = new URL(page.navigations.at(-1)!).searchParams.get('dpop_jkt');
    expect(second).not.toBe(first);
    expect(client.getSnapshot().tokens?.tokenType).toBe('DPoP');

    expect(await dpop.thumbprint()).toBe(second);
    await client.signOut();
    expect(backing.has(dpopKeyStorageKey(namespace))).toBe(false);
    expect(backing.has(dpopPendingKeyStorageKey(namespace))).toBe(false);
    expect(events.filter((event) => event.type === 'dpop-key-deleted')).toHaveLength(1);
  });

  it('refuses a bearer answer to a proof (MalformedTokenResponseError) and stores nothing', async () => {
    gate.ignoreProofs = true;
    const error = await rejectionOf(oidc.handleCallback(client, await callbackUrl()));
    expect(error).toBeInstanceOf(MalformedTokenResponseError);
    expect(client.getSnapshot().status).toBe('signed-out');
  });

  it('a login started and abandoned while signed in leaves the session on its key: the refresh signs with it', async () => {
    await oidc.handleCallback(client, await callbackUrl());
    const session = await dpop.thumbprint();
    await oidc.login(); // re-authentication, or another account: started, never finished
    const abandoned = new URL(page.navigations.at(-1)!).searchParams.get('dpop_jkt');
    expect(abandoned).not.toBe(session);

    await client.refresh();
    await client.refresh();
    expect(await dpop.thumbprint()).toBe(session);
    expect(gate.refreshJkts).toEqual([session, session]);
    expect(gate.requests.filter((request) => request.grantType === 'refresh_token').map((request) => request.status)).toEqual([200, 200]);
    expect(client.getSnapshot().status).toBe('authenticated');
  });

  it('two logins in progress: the first one completes with its own key, the second one is not broken by it', async () => {
    const first = await callbackUrl();
    const second = await callbackUrl(); // another login started meanwhile (another tab)
    await oidc.handleCallback(client, first);
    const firstJkt = new URL(page.navigations[0]!).searchParams.get('dpop_jkt');
    expect(await dpop.thumbprint()).toBe(firstJkt);
    expect(client.getSnapshot().tokens?.tokenType).toBe('DPoP');
    // The attempts are per tab; the second one was cleared with the first callback, as for every login of one tab.
    expect(await rejectionOf(oidc.handleCallback(client, second))).toBeInstanceOf(LoginCallbackError);
    expect(await dpop.thumbprint()).toBe(firstJkt);
  });

  it('a callback whose pending key a sign-out deleted fails before any exchange (dpop-key-changed)', async () => {
    const stale = await callbackUrl();
    await client.signOut(); // deletes the namespace key and every pending login key
    const error = await rejectionOf(oidc.handleCallback(client, stale));
    expect(error).toBeInstanceOf(LoginCallbackError);
    expect((error as LoginCallbackError).reason).toBe('dpop-key-changed');
    expect(gate.requests).toEqual([]);
    expect(client.getSnapshot().status).toBe('signed-out');
  });

  it('never puts the key, a proof, a nonce or a token in an event or error', async () => {
    await oidc.handleCallback(client, await callbackUrl());
    const text = JSON.stringify(events);
    const tokens = client.getSnapshot().tokens!;
    for (const secret of [tokens.accessToken, tokens.refreshToken!, await dpop.thumbprint()]) expect(text).not.toContain(secret);
  });
});
