import { QueryClient, type MutationFunctionContext, type QueryClientConfig, type QueryFunctionContext, type QueryKey } from '@tanstack/react-query';
import { isAuthError, type AuthClient } from 'tabauth';
import { attachAuthToQueryClient } from './attachAuthToQueryClient';
import { authedFetch, type AuthedFetch, type AuthedFetchOptions } from './authedFetch';
import { HttpError, readResponse } from './httpError';

/** `QueryClientConfig` plus the options of the authed fetch the default functions use. */
export interface AuthedQueryClientConfig extends QueryClientConfig, AuthedFetchOptions {
  /**
   * Clear the cache on sign-out and when the signed-in subject changes (see `attachAuthToQueryClient`), while the
   * QueryClient is mounted (`QueryClientProvider` mounts it; call `queryClient.mount()` yourself without one).
   * Default true.
   */
  clearOnAuthChange?: boolean;
}

/**
 * The retry rule of `createAuthedQueryClient`: a 4xx other than 408/429 (401 and 403 included) or an auth error (signed out, disposed,
 * refresh failed after the core's own retries) is final; anything else (network errors, 5xx) is retried up to 3 times.
 * A 401 has already been refreshed and retried once by the authed fetch when it reaches this rule.
 */
export function shouldRetryQuery(failureCount: number, error: unknown): boolean {
  // 4xx will not change by retrying, except a timeout (408) or rate limit (429), which ask for exactly that.
  if (error instanceof HttpError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) return false;
  if (isAuthError(error) || error instanceof MissingUrlError) return false;
  return failureCount < 3;
}

/**
 * A QueryClient whose default `queryFn` and `mutationFn` call the API through `authedFetch(client)`:
 *
 * - queries: the URL is `meta.url` when set, else the first element of the query key, which must then be a string;
 *   a plain object as the second element becomes the query string (`['/api/todos', { page: 2 }]` fetches
 *   `/api/todos?page=2`). GET, `Accept: application/json`, the query's AbortSignal.
 * - mutations: the URL is `meta.url`, else the first element of the mutation key; the method is `meta.method`
 *   (default POST); the variables, unless undefined, are sent as a JSON body.
 * - responses: JSON (or text) on 2xx, `null` when empty; `HttpError` with the status otherwise.
 * - retries: `shouldRetryQuery` for queries; mutations keep TanStack's default (no retry).
 *
 * Your own `defaultOptions` win over these defaults, field by field.
 */
export function createAuthedQueryClient(client: AuthClient, config: AuthedQueryClientConfig = {}): QueryClient {
  const { fetch, origins, baseUrl, clearOnAuthChange = true, ...queryClientConfig } = config;
  const fetcher = authedFetch(client, { fetch, origins, baseUrl });
  const defaults = queryClientConfig.defaultOptions ?? {};
  const options: QueryClientConfig = {
    ...queryClientConfig,
    defaultOptions: {
      ...defaults,
      queries: { queryFn: defaultQueryFn(fetcher), retry: shouldRetryQuery, ...defaults.queries },
      mutations: { mutationFn: defaultMutationFn(fetcher), ...defaults.mutations },
    },
  };
  return clearOnAuthChange ? new AuthedQueryClient(client, options) : new QueryClient(options);
}

/** Attaches the cache clearing while mounted, like QueryClient's own focus and online listeners. */
class AuthedQueryClient extends QueryClient {
  readonly #auth: AuthClient;
  #mounts = 0;
  #detach: (() => void) | null = null;

  constructor(auth: AuthClient, config: QueryClientConfig) {
    super(config);
    this.#auth = auth;
  }

  override mount(): void {
    super.mount();
    if (++this.#mounts === 1) this.#detach = attachAuthToQueryClient(this, this.#auth);
  }

  override unmount(): void {
    super.unmount();
    if (--this.#mounts === 0) {
      this.#detach?.();
      this.#detach = null;
    }
  }
}

function defaultQueryFn(fetcher: AuthedFetch) {
  return async (context: QueryFunctionContext): Promise<unknown> => {
    const url = urlFor('query', context.queryKey, context.meta?.url);
    const response = await fetcher(url, { method: 'GET', headers: { Accept: 'application/json' }, signal: context.signal });
    return readResponse(response, url);
  };
}

function defaultMutationFn(fetcher: AuthedFetch) {
  return async (variables: unknown, context?: MutationFunctionContext): Promise<unknown> => {
    if (!context) {
      throw new Error('tabauth/query: this version of TanStack Query passes no context to mutationFn; give the mutation its own mutationFn.');
    }
    const url = urlFor('mutation', context.mutationKey, context.meta?.url);
    const method = typeof context.meta?.method === 'string' ? context.meta.method : 'POST';
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (variables !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetcher(url, { method, headers, body: variables === undefined ? undefined : JSON.stringify(variables) });
    return readResponse(response, url);
  };
}

function urlFor(kind: 'query' | 'mutation', key: QueryKey | undefined, metaUrl: unknown): string {
  if (typeof metaUrl === 'string') return metaUrl;
  const [first, params] = key ?? [];
  if (typeof first !== 'string') {
    throw new MissingUrlError(
      `tabauth/query: the default ${kind} function needs a URL: make the first element of the ${kind} key a string URL, or set meta.url.`,
    );
  }
  if (!isPlainObject(params)) return first;
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  const query = search.toString();
  if (!query) return first;
  return `${first}${first.includes('?') ? '&' : '?'}${query}`;
}

/** A programming error, not a network one: a TypeError like fetch's own URL errors, but never retried. */
class MissingUrlError extends TypeError {
  override name = 'MissingUrlError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
