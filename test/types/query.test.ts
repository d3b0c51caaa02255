// Type tests for tabauth/query: checked by `tsc -p tsconfig.json` (functions holding calls are never run).
import type { QueryClient, QueryClientConfig } from '@tanstack/react-query';
import { describe, expectTypeOf, it } from 'vitest';
import type { AuthClient } from '../../src/core';
import {
  attachAuthToQueryClient,
  authedFetch,
  createAuthedQueryClient,
  type HttpError,
  isHttpError,
  readResponse,
  shouldRetryQuery,
  type AuthedFetch,
  type AuthedFetchOptions,
  type AuthedQueryClientConfig,
} from '../../src/query';

declare const client: AuthClient;

function fetchTypes() {
  const fetcher = authedFetch(client);
  expectTypeOf(fetcher).toEqualTypeOf<AuthedFetch>();
  expectTypeOf(fetcher).parameters.toEqualTypeOf<[input: RequestInfo | URL, init?: RequestInit]>();
  expectTypeOf(fetcher).returns.toEqualTypeOf<Promise<Response>>();
  // Usable wherever a fetch-like function is expected.
  const useAsFetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> = fetcher;
  void useAsFetch;
  expectTypeOf<AuthedFetchOptions>().toEqualTypeOf<{ fetch?: typeof fetch; origins?: readonly string[]; baseUrl?: string | URL }>();
  // @ts-expect-error origins are strings
  authedFetch(client, { origins: [/api/] });
}

function queryClientTypes() {
  createAuthedQueryClient(client, { fetch, origins: ['https://api.example'], clearOnAuthChange: false, defaultOptions: { queries: { staleTime: 1 } } });
  // @ts-expect-error not a QueryClientConfig field
  createAuthedQueryClient(client, { queryFnn: () => null });
}

describe('tabauth/query types', () => {
  it('authedFetch is fetch-compatible', () => {
    expectTypeOf(fetchTypes).toBeFunction();
  });

  it('createAuthedQueryClient takes a QueryClientConfig plus fetch options and returns a QueryClient', () => {
    expectTypeOf(queryClientTypes).toBeFunction();
    expectTypeOf(createAuthedQueryClient).parameter(1).toEqualTypeOf<AuthedQueryClientConfig | undefined>();
    expectTypeOf<AuthedQueryClientConfig>().toExtend<QueryClientConfig>();
    expectTypeOf<AuthedQueryClientConfig>().toExtend<AuthedFetchOptions>();
    expectTypeOf<AuthedQueryClientConfig['clearOnAuthChange']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf(createAuthedQueryClient).returns.toEqualTypeOf<QueryClient>();
    expectTypeOf(attachAuthToQueryClient).toEqualTypeOf<(queryClient: QueryClient, client: AuthClient) => () => void>();
    expectTypeOf(shouldRetryQuery).toEqualTypeOf<(failureCount: number, error: unknown) => boolean>();
  });

  it('HttpError is an Error with a status, and isHttpError narrows', () => {
    expectTypeOf<HttpError>().toExtend<Error>();
    expectTypeOf<HttpError['status']>().toEqualTypeOf<number>();
    expectTypeOf<HttpError['body']>().toEqualTypeOf<unknown>();
    const error: unknown = null;
    if (isHttpError(error)) expectTypeOf(error).toEqualTypeOf<HttpError>();
    expectTypeOf(readResponse<{ id: number }>).returns.toEqualTypeOf<Promise<{ id: number }>>();
  });
});
