import type { AuthClient, TokenSet } from 'tabauth';

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
    const url = headers.has('authorization') ? null : tokenTarget(input, origins, options.baseUrl);
    if (!url) return send(input, init);
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const dpop = client.dpop ?? null;

    const signal = init?.signal ?? request?.signal ?? null;
    signal?.throwIfAborted();
    const retryable = !(typeof ReadableStream !== 'undefined' && init?.body instanceof ReadableStream);
    // A Request's body is a stream that can be read once: keep an untouched copy to clone for each retry.
    const spare = retryable && request?.body ? request.clone() : request;
    let sends = 0;
    /** One request with the given auth headers; every send after the first gets a fresh copy of a Request body. */
    const sendWith = (auth: Record<string, string>) => {
      const withToken = new Headers(headers);
      for (const [name, value] of Object.entries(auth)) withToken.set(name, value);
      const target = sends++ === 0 ? input : spare?.body ? spare.clone() : (spare ?? input);
      return send(target, { ...init, headers: withToken });
    };
    const attempt = (tokens: TokenSet): Promise<Response> => {
      if (!dpop || tokens.tokenType.toLowerCase() !== 'dpop') return sendWith({ Authorization: `Bearer ${tokens.accessToken}` });
      if (url.hostname.endsWith('.tabauth.invalid')) {
        throw new TypeError('authedFetch: DPoP needs an absolute URL (pass baseUrl)');
      }
      // DPoP-bound token: the handle adds the proof and sends again at once, once, on a use_dpop_nonce challenge.
      const request = { htm: method, htu: url.href, server: 'resource' as const, accessToken: tokens.accessToken, once: !retryable };
      return untilAborted(dpop.fetchWithProof(request, sendWith), signal);
    };

    let held = await untilAborted(client.getTokens(), signal);
    const response = await attempt(held.tokens);
    // A nonce challenge left after the handle's retry is the server's last word for this token: no refresh for it.
    if (response.status !== 401 || !retryable || /use_dpop_nonce/i.test(response.headers.get('WWW-Authenticate') ?? '')) return response;
    discard(response);
    held = await untilAborted(client.refresh({ rejectedVersion: held.version }), signal);
    return attempt(held.tokens);
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
