// @vitest-environment node
/**
 * Regressions for core defects found by the real-server tests, reproduced against the same oidc-provider without a
 * browser. Both were caused by rejecting the `"scope": ""` oidc-provider sends (fixed in parseTokenResponse).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauth2RefreshGrant, parseTokenResponse } from '../../src/core/index';
import { startOidcServer, type OidcServer } from './support/oidcServer';

describe('core against the real token responses of oidc-provider', () => {
  let server: OidcServer;

  beforeAll(async () => {
    server = await startOidcServer({ accessTokenTtlSeconds: 60 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('oidc-provider (resource indicators on) answers "scope": "" in token responses', async () => {
    const tokens = await server.obtainInitialTokens();
    expect(tokens.scope).toBe('');
  });

  // parseTokenResponse (used by signIn and after every refresh) once rejected an empty `scope` string, so signIn of
  // this server's code-flow response threw. RFC 6749 scope is a space-delimited list; "" is an empty list (null).
  it('signIn input with "scope": "" is accepted (scope reads as null)', async () => {
    const tokens = await server.obtainInitialTokens();
    expect(parseTokenResponse(tokens, Date.now()).scope).toBeNull();
  });

  // Same cause, worse effect: oauth2RefreshGrant threw MalformedTokenResponseError for the 200 response AFTER the
  // server rotated the refresh token. The new pair was lost and the next refresh presented the consumed token again,
  // which the server treats as reuse and answers by revoking the whole grant (the test below shows that mechanism).
  it('a refresh answered with "scope": "" yields the new pair', async () => {
    const tokens = await server.obtainInitialTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: server.clientId });
    const body = await refresh({
      refreshToken: tokens.refresh_token,
      scope: null,
      deviceId: 'findings',
      version: 1,
      serverVersion: null,
      signal: new AbortController().signal,
    });
    expect(body.access_token).toEqual(expect.any(String));
  });

  it('why a lost 200 is fatal: the server rotated anyway, and presenting the old token again revokes the grant', async () => {
    server.resetCounters();
    const tokens = await server.obtainInitialTokens();
    const refresh = oauth2RefreshGrant({ tokenEndpoint: server.tokenEndpoint, clientId: server.clientId });
    const context = {
      refreshToken: tokens.refresh_token,
      scope: null,
      deviceId: 'findings',
      version: 1,
      serverVersion: null,
      signal: new AbortController().signal,
    };
    const outcome = await refresh(context).then(
      () => 'ok',
      (error: Error) => error.name,
    );
    // Whatever the client made of the response, the server issued a new pair for it...
    expect(server.counters().refreshSuccesses).toBe(1);
    // ...so the client's retry with the refresh token it still holds is reuse: the grant is revoked.
    await refresh(context).catch(() => {});
    expect(server.counters().reuseDetected).toBe(1);
    expect(server.counters().grantsRevoked).toBe(1);
    expect(outcome).toBe('ok');
  });
});
