import * as oauth from 'oauth4webapi';
import type { OidcContext } from './context';
import type { LoginOptions } from './types';

/** Parameters tabauth sets itself; `extraParams` can never replace them. */
const RESERVED = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
  'request',
  'request_uri',
  'dpop_jkt',
]);

/**
 * Creates one login attempt (state, nonce and PKCE verifier from oauth4webapi, kept in this tab's sessionStorage)
 * and returns the authorization URL that starts it.
 */
export async function startLogin(ctx: OidcContext, options: LoginOptions, mode: 'redirect' | 'popup'): Promise<string> {
  const returnTo = resolveReturnTo(ctx.browser.currentUrl(), options.returnTo);
  const as = await ctx.discovery.get();
  const state = oauth.generateRandomState();
  const nonce = ctx.openid ? oauth.generateRandomNonce() : null;
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const redirectUri = mode === 'popup' ? ctx.popupRedirectUri : ctx.redirectUri;
  // DPoP: a new login gets a new key, pending until its tokens are stored (the current session keeps its own key),
  // and its code is bound to it by dpop_jkt
  // (RFC 9449 section 10), so a code intercepted on the way back cannot be redeemed with another key.
  const dpopJkt = ctx.dpop ? (await ctx.dpop.newKeyForLogin()).thumbprint : undefined;

  const url = new URL(as.authorization_endpoint!);
  for (const [name, value] of Object.entries({ ...ctx.extraParams, ...options.extraParams })) {
    if (typeof value === 'string' && !RESERVED.has(name)) url.searchParams.set(name, value);
  }
  url.searchParams.set('client_id', ctx.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', ctx.scope);
  url.searchParams.set('state', state);
  if (nonce !== null) url.searchParams.set('nonce', nonce);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  if (options.prompt) url.searchParams.set('prompt', options.prompt);
  if (options.loginHint) url.searchParams.set('login_hint', options.loginHint);
  if (dpopJkt !== undefined) url.searchParams.set('dpop_jkt', dpopJkt);

  // Stored last: a failure above leaves no attempt behind.
  ctx.attempts.save({
    schema: 1,
    state,
    nonce,
    codeVerifier,
    redirectUri,
    returnTo,
    mode,
    createdAt: ctx.now(),
    ...(dpopJkt !== undefined ? { dpopJkt } : {}),
  });
  return url.href;
}

/**
 * `returnTo` as a same-origin path. The value comes back from sessionStorage, never from the callback URL, and must
 * stay on this origin: an app that forwards a `?next=` parameter must not turn the login into an open redirect.
 */
export function resolveReturnTo(currentUrl: string, returnTo: string | undefined): string {
  const current = new URL(currentUrl);
  if (returnTo === undefined) return current.pathname + current.search + current.hash;
  let target: URL;
  try {
    target = new URL(returnTo, current);
  } catch {
    throw new TypeError('login: returnTo is not a valid URL or path');
  }
  if (target.origin !== current.origin) throw new TypeError('login: returnTo must be a path or URL on this origin');
  return target.pathname + target.search + target.hash;
}
