import type { DpopHandle } from '../core/dpop';
import type { TokenSet } from '../core/types';

/**
 * The DPoP part of an authed request. Small on purpose: proofs, keys and nonce sharing live in the handle
 * (`tabauth/dpop`); this file only decides which headers a request gets and reads the server's answer.
 */

/** `Authorization: DPoP <token>` and a proof for this request, or null for a Bearer token (a login without DPoP). */
export async function dpopHeaders(dpop: DpopHandle, tokens: TokenSet, method: string, target: URL): Promise<Record<string, string> | null> {
  if (tokens.tokenType.toLowerCase() !== 'dpop') return null;
  if (target.hostname.endsWith('.tabauth.invalid')) {
    throw new TypeError('authedFetch: a DPoP proof needs the absolute request URL: pass baseUrl (there is no page location here)');
  }
  const nonce = await dpop.nonceFor(target.origin);
  const proof = await dpop.proof(method, target.href, { accessToken: tokens.accessToken, nonce });
  return { Authorization: `DPoP ${tokens.accessToken}`, DPoP: proof };
}

/** Any answer may carry the resource server's next nonce (RFC 9449 section 9); every tab gets it. */
export async function rememberResourceNonce(dpop: DpopHandle, target: URL, response: Response): Promise<void> {
  const nonce = response.headers.get('DPoP-Nonce');
  if (nonce !== null) await dpop.rememberNonce(target.origin, nonce, 'resource').catch(() => {});
}

/**
 * A resource server's nonce challenge (RFC 9449 section 9): 401, `WWW-Authenticate: DPoP error="use_dpop_nonce"`,
 * and the nonce in `DPoP-Nonce`. Without the header there is nothing to retry with.
 */
export function isDpopNonceChallenge(response: Response): boolean {
  if (response.status !== 401 || !response.headers.get('DPoP-Nonce')) return false;
  const challenge = response.headers.get('WWW-Authenticate') ?? '';
  return /(^|[\s,])dpop(\s|,|$)/i.test(challenge) && /\berror\s*=\s*"?use_dpop_nonce"?/i.test(challenge);
}
