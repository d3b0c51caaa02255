import type { AuthClient } from '../core/authClient';
import type { TokenSet } from '../core/types';
import { dpopHeaders, isDpopNonceChallenge, rememberResourceNonce } from './dpopRequest';

/** Options of `authedFetch`. */
export interface AuthedFetchOptions {
  /** The fetch to send requests with. Default: the global `fetch`, read at call time. */
  fetch?: typeof fetch;
  /**
   * Other origins that get the bearer token too, e.g. `['https://api.example.com']`. Compared by exact origin
   * (scheme, host and port). Same-origin and relative URLs always get it; every other origin never does.
   */
  origins?: readonly string[];
  /**
   * The page URL that relative URLs resolve against and that defines "same origin". Default: `location.href`. Without
   * either (Node, a test), only relative URLs count as same-origin.
   */
  baseUrl?: string | URL;
}

/** A `fetch`-compatible function that carries the access token. */
export type AuthedFetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Stands in for the page origin when there is none: the `.invalid` TLD (RFC 2606) can never be a real host. */
const NO_PAGE_ORIGIN = 'https://same-origin.tabauth.invalid/';

/**
 * Wraps `fetch` so requests to the app's own API carry `Authorization: Bearer <access token>`.
 *
 * - The token comes from `client.getTokens()`, which refreshes through the leader tab when it is due.
 * - On a 401 it calls `client.refresh({ rejectedVersion })` with the version of the token it sent, so 401s from any
 *   number of requests in any number of tabs cause one refresh (a newer pair is used without a network call), then
 *   retries once. A second 401 is returned as the Response, like any other status: never a loop.
 * - Requests that already have an `Authorization` header, and requests to other origins, pass through untouched.
 * - The signal of the request aborts the wait for a token and the request itself (rejecting with its reason).
 * - When no token can be had it rejects with the core's typed error (`SignedOutError`, `DisposedError`, or the
 *   refresh failure), without sending the request.
 * - A body that can be read only once (a ReadableStream) is sent once: its 401 is returned without a retry.
 * - With DPoP on the client (`createDpop()`) and a DPoP-bound token, the request carries `Authorization: DPoP <token>`
 *   and a fresh `DPoP` proof with `ath`. A `use_dpop_nonce` 401 is sent again at once with the server's nonce (shared
 *   with every tab), without a refresh; any other 401 takes the refresh path above. At most one refresh per call.
 */
export function authedFetch(client: AuthClient, options: AuthedFetchOptions = {}): AuthedFetch {
  const origins = new Set((options.origins ?? []).map((origin) => new URL(origin).origin));
  const send = (input: RequestInfo | URL, init?: RequestInit) => (options.fetch ?? globalThis.fetch)(input, init);

  return async (input, init) => {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : null;
    const headers = new Headers(init?.headers ?? request?.headers);
    const target = headers.has('authorization') ? null : tokenTarget(input, origins, options.baseUrl);
    if (!target) return send(input, init);
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const dpop = client.dpop;

    const signal = init?.signal ?? request?.signal ?? null;
    signal?.throwIfAborted();
    const retryable = !(typeof ReadableStream !== 'undefined' && init?.body instanceof ReadableStream);
    // A Request's body is a stream that can be read once: keep an untouched copy to clone for each retry.
    const spare = retryable && request?.body ? request.clone() : request;
    let sends = 0;
    const attempt = async (tokens: TokenSet) => {
      const withToken = new Headers(headers);
      const bound = dpop ? await untilAborted(dpopHeaders(dpop, tokens, method, target), signal) : null;
      if (bound) for (const [name, value] of Object.entries(bound)) withToken.set(name, value);
      else withToken.set('Authorization', `Bearer ${tokens.accessToken}`);
      const resend = sends++ > 0;
      const response = await send(resend ? (spare?.body ? spare.clone() : (spare ?? input)) : input, { ...init, headers: withToken });
      if (bound && dpop) await rememberResourceNonce(dpop, target, response);
      return response;
    };

    let held = await untilAborted(client.getTokens(), signal);
    let response = await attempt(held.tokens);
    if (!retryable) return response;
    let refreshed = false;
    let nonceRetried = false;
    while (response.status === 401) {
      if (dpop && isDpopNonceChallenge(response)) {
        // The server wants its nonce (stored and shared with every tab by now): the same token, a new proof. Twice
        // in a row for one token means the nonce is not the problem.
        if (nonceRetried) return response;
        nonceRetried = true;
        dpop.recordNonceRetry(target.origin, 'resource');
      } else {
        if (refreshed) return response;
        refreshed = true;
        nonceRetried = false; // the new token may meet a nonce that changed meanwhile
        discard(response);
        held = await untilAborted(client.refresh({ rejectedVersion: held.version }), signal);
      }
      discard(response);
      response = await attempt(held.tokens);
    }
    return response;
  };
}

/** The absolute URL of a request that gets the token, or null for one that does not. */
function tokenTarget(input: RequestInfo | URL, origins: ReadonlySet<string>, baseUrl: string | URL | undefined): URL | null {
  const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const page = baseUrl?.toString() ?? (typeof location === 'undefined' ? undefined : location.href);
  let target: URL;
  try {
    // Resolving against a base (a sentinel when there is no page) keeps "//other.host/x" from passing as relative.
    target = new URL(raw, page ?? NO_PAGE_ORIGIN);
  } catch {
    return null; // fetch will reject it anyway.
  }
  return target.origin === new URL(page ?? NO_PAGE_ORIGIN).origin || origins.has(target.origin) ? target : null;
}

/** Waits for `work`, or rejects with the signal's reason as soon as it aborts (the shared work itself goes on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | null): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Releases the connection of a response nobody will read. */
function discard(response: Response): void {
  try {
    response.body?.cancel().catch(() => {});
  } catch {
    // A locked or already consumed body: nothing to release.
  }
}
