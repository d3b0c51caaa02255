import * as oauth from 'oauth4webapi';
import type { AuthClient, DpopHandle, DpopKey } from 'tabauth';
import { MalformedTokenResponseError, type TokenResponse } from 'tabauth';
import type { LoginAttempt } from './attemptStore';
import type { OidcContext } from './context';
import type { HttpOptions } from './discovery';
import { IdTokenValidationError, LoginCallbackError, type CallbackFailure } from './errors';
import { authorizationResponseError, tokenExchangeError } from './errorMapping';

/** Parameters of an authorization response; removed from the address bar once the callback ran. */
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

/**
 * Completes one login from its authorization response URL: finds and consumes this tab's attempt, lets oauth4webapi
 * validate the response (state, iss, error), exchange the code with the PKCE verifier and validate the ID token
 * (iss, aud, azp, nonce, exp), checks that `iat` is not in the future, and hands the token response to
 * `client.signIn`, which stores it at a new version and pushes it to every tab.
 *
 * Whatever the outcome, every pending attempt of this tab is deleted afterwards. On any failure nothing was given to
 * `signIn`, so nothing is stored and no tab changes.
 */
export async function completeCallback(ctx: OidcContext, client: AuthClient, url: URL, mode: 'redirect' | 'popup'): Promise<string> {
  // Held while signing in: a state pushed by an unmounted client reaches no other tab. Reference counted, so the
  // provider's own mount (which React runs after this child's effect) simply shares it.
  const release = client.mount();
  try {
    const attempt = takeAttempt(ctx, url);
    const as = await ctx.discovery.get();
    let parameters: URLSearchParams;
    try {
      parameters = oauth.validateAuthResponse(as, ctx.oauthClient, url.searchParams, attempt.state);
    } catch (error) {
      throw authorizationResponseError(error);
    }
    const dpop = ctx.dpop ?? client.dpop ?? null;
    const loginKey = dpop ? await keyOfLogin(dpop, attempt) : null;
    const http = dpop && loginKey ? withProofs(ctx, dpop, loginKey) : ctx.http;
    let result: oauth.TokenEndpointResponse;
    try {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        ctx.oauthClient,
        oauth.None(),
        parameters,
        attempt.redirectUri,
        attempt.codeVerifier,
        http,
      );
      result = await oauth.processAuthorizationCodeResponse(
        as,
        ctx.oauthClient,
        response,
        attempt.nonce === null ? {} : { expectedNonce: attempt.nonce, requireIdToken: true },
      );
    } catch (error) {
      throw tokenExchangeError(error);
    }
    // oauth4webapi lower-cases token_type. A server that ignored the proof hands out a bearer token: keeping it would
    // silently give up the sender constraint (the refresh grant refuses the same).
    if (dpop && result.token_type !== 'dpop') {
      throw new MalformedTokenResponseError(`Token endpoint answered token_type "${result.token_type.slice(0, 20)}" to a DPoP proof, not "DPoP"`, {
        status: null,
      });
    }
    checkIssuedAt(ctx, result);
    await client.ready();
    // The login's key becomes every tab's before its tokens are stored, never after: a refresh of the new tokens
    // signed with the old key would be refused (invalid_grant) and sign every tab out.
    if (dpop && loginKey && !(await dpop.promoteLoginKey(loginKey.thumbprint))) throw keyChanged();
    await client.signIn(toTokenResponse(result));
    return attempt.returnTo;
  } finally {
    ctx.attempts.clear();
    release();
    if (mode === 'redirect') cleanAddressBar(ctx, url);
  }
}

/**
 * The key this login's code is bound to (`dpop_jkt`): its pending key, or the current one for an attempt saved
 * without a thumbprint. Gone (a sign-out, or abandoned logins cleaned up) means the code cannot be redeemed.
 */
async function keyOfLogin(dpop: DpopHandle, attempt: LoginAttempt): Promise<DpopKey> {
  if (attempt.dpopJkt === undefined) return dpop.key();
  const key = await dpop.loginKey(attempt.dpopJkt);
  if (!key) throw keyChanged();
  return key;
}

function keyChanged(): LoginCallbackError {
  return new LoginCallbackError(
    'dpop-key-changed',
    'The DPoP key this login was bound to is gone (a sign-out, or a login abandoned long ago); start a new login',
  );
}

/**
 * The code exchange's fetch with DPoP: a proof signed with the login's key on the request, and the token endpoint's
 * nonce challenge (400 use_dpop_nonce) sent again at once, once, with its nonce, which every tab then knows (the
 * handle's `fetchWithProof`, the same rule as the refresh grant's).
 */
function withProofs(ctx: OidcContext, dpop: DpopHandle, key: DpopKey): HttpOptions {
  const send = ctx.http[oauth.customFetch]!;
  return {
    ...ctx.http,
    [oauth.customFetch]: (url, init) =>
      dpop.fetchWithProof({ htm: init.method ?? 'POST', htu: url, server: 'authorization', key }, (headers) =>
        send(url, { ...init, headers: { ...init.headers, ...headers } }),
      ),
  };
}

function takeAttempt(ctx: OidcContext, url: URL): LoginAttempt {
  const params = url.searchParams;
  const fail = (reason: CallbackFailure, message: string): never => {
    throw new LoginCallbackError(reason, message);
  };
  for (const name of ['state', 'code', 'error', 'iss']) {
    if (params.getAll(name).length > 1) fail('duplicate-parameter', `Callback URL repeats the "${name}" parameter`);
  }
  const state = params.get('state');
  const hasCode = params.get('code') !== null;
  const hasError = params.get('error') !== null;
  if (hasCode && hasError) fail('code-and-error', 'Callback URL has both "code" and "error": an authorization response is one or the other');
  if (!state) fail('missing-state', 'Callback URL has no "state" parameter: it does not answer a login started by tabauth');
  if (!hasCode && !hasError) fail('missing-code', 'Callback URL has neither "code" nor "error"');
  const taken = ctx.attempts.take(state!);
  if ('failure' in taken) {
    const messages: Record<typeof taken.failure, string> = {
      'unknown-state': 'Callback state matches no login started in this tab (forged, from another tab or browser, or its storage was cleared)',
      replayed: 'This callback URL was already used: an authorization response works once',
      'expired-attempt': `The login was started more than ${Math.round(ctx.attemptMaxAgeMs / 60_000)} minutes ago; start a new one`,
    };
    fail(taken.failure, messages[taken.failure]);
  }
  const attempt = (taken as { attempt: LoginAttempt }).attempt;
  const expected = new URL(attempt.redirectUri);
  if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
    fail('redirect-mismatch', 'Callback arrived at another URL than the redirect_uri of its login');
  }
  return attempt;
}

/**
 * oauth4webapi validates exp, nbf and auth_time but, for the code flow, leaves `iat` to the client (OIDC Core 3.1.3.7
 * allows rejecting tokens issued too far from now). A token issued in the future means a broken server clock or a
 * forged token; either way it is refused rather than stored.
 */
function checkIssuedAt(ctx: OidcContext, result: oauth.TokenEndpointResponse): void {
  const claims = oauth.getValidatedIdTokenClaims(result);
  if (!claims) return;
  const now = Math.floor(Date.now() / 1000);
  if (claims.iat > now + ctx.clockToleranceSeconds) {
    throw new IdTokenValidationError('issued-in-future', `ID token "iat" is ${claims.iat - now} s in the future (tolerance ${ctx.clockToleranceSeconds} s)`, {
      claim: 'iat',
    });
  }
}

function toTokenResponse(result: oauth.TokenEndpointResponse): TokenResponse {
  // oauth4webapi lower-cases token_type; a DPoP pair is stored as RFC 9449 spells it (what authedFetch sends).
  const response: TokenResponse = { access_token: result.access_token, token_type: result.token_type === 'dpop' ? 'DPoP' : result.token_type };
  if (result.expires_in !== undefined) response.expires_in = result.expires_in;
  if (result.refresh_token !== undefined) response.refresh_token = result.refresh_token;
  if (result.id_token !== undefined) response.id_token = result.id_token;
  if (result.scope !== undefined) response.scope = result.scope;
  return response;
}

/** A reload of the callback page must not run the callback again, and the code should not linger in history. */
function cleanAddressBar(ctx: OidcContext, url: URL): void {
  let current: URL;
  try {
    current = new URL(ctx.browser.currentUrl());
  } catch {
    return;
  }
  if (current.href !== url.href) return;
  for (const name of RESPONSE_PARAMS) current.searchParams.delete(name);
  try {
    ctx.browser.replaceUrl(current.href);
  } catch {
    // No history API (a worker, an unusual embedding): the attempt is gone anyway, so a reload fails cleanly.
  }
}
