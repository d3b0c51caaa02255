import type { AuthClient } from 'tabauth';
import type { OidcContext } from './context';
import type { LogoutOptions } from './types';

/**
 * Signs every tab out (the core's tombstone, pushed to every tab), revokes the refresh token when asked, then ends
 * the session at the server by RP-initiated logout: a redirect to `end_session_endpoint` with `id_token_hint`.
 */
export async function logout(ctx: OidcContext, client: AuthClient, options: LogoutOptions = {}): Promise<void> {
  const release = client.mount(); // the sign-out must reach the other tabs even when no provider mounted the client
  let idToken: string | null;
  try {
    await client.ready();
    idToken = client.getSnapshot().tokens?.idToken ?? null;
    await client.signOut({ revoke: options.revoke === true });
  } finally {
    release();
  }
  if (options.endSession === false) return;
  const as = await ctx.discovery.get();
  if (typeof as.end_session_endpoint !== 'string') return; // nothing more to end: the local sign-out is the logout
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', ctx.clientId);
  if (idToken) url.searchParams.set('id_token_hint', idToken);
  const postLogoutRedirectUri = options.postLogoutRedirectUri ?? ctx.postLogoutRedirectUri;
  if (postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
  if (options.state) url.searchParams.set('state', options.state);
  ctx.browser.navigate(url.href);
}
