import type { DpopHandle, DpopRequest } from 'tabauth';
import { isValidNonce } from './nonces';

/**
 * One request with a DPoP proof, and the one immediate retry a nonce challenge calls for (RFC 9449 sections 8 and 9).
 * Both the refresh grant and authedFetch go through here, so the rule is the same for authorization and resource
 * servers: never a second retry, never through the refresher's backoff, every received nonce shared with every tab.
 */
export async function fetchWithProof(
  dpop: Pick<DpopHandle, 'proof' | 'nonceFor' | 'rememberNonce'>,
  request: DpopRequest,
  send: (headers: Record<string, string>) => Promise<Response>,
  onRetry: () => void,
): Promise<Response> {
  const origin = new URL(request.htu).origin;
  for (let attempt = 1; ; attempt++) {
    const nonce = await dpop.nonceFor(origin, request.server);
    const proof = await dpop.proof(request.htm, request.htu, { nonce, accessToken: request.accessToken, rereadKey: request.rereadKey, key: request.key });
    const headers: Record<string, string> = { DPoP: proof };
    if (request.accessToken !== undefined) headers.Authorization = `DPoP ${request.accessToken}`;
    const response = await send(headers);
    const fresh = response.headers.get('DPoP-Nonce');
    if (fresh === null || !isValidNonce(fresh)) return response;
    await dpop.rememberNonce(origin, fresh, request.server).catch(() => {});
    if (attempt > 1 || request.once || fresh === nonce || !(await isNonceChallenge(response, request.server))) return response;
    discard(response);
    onRetry();
  }
}

/**
 * A nonce challenge: an authorization server answers 400 `{"error":"use_dpop_nonce"}` (section 8), a resource server
 * 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` (section 9). The body is read from a copy, so the
 * response stays whole for whoever handles it when it is not one.
 */
export async function isNonceChallenge(response: Response, server: DpopRequest['server']): Promise<boolean> {
  if (server === 'resource') {
    if (response.status !== 401) return false;
    const challenge = response.headers.get('WWW-Authenticate') ?? '';
    return /(^|[\s,])dpop(\s|,|$)/i.test(challenge) && /\berror\s*=\s*"?use_dpop_nonce"?/i.test(challenge);
  }
  if (response.status !== 400) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown } | null;
    return body?.error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}

function discard(response: Response): void {
  try {
    response.body?.cancel().catch(() => {});
  } catch {
    // Locked or already consumed: nothing to release.
  }
}
