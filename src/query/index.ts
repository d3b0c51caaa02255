/**
 * tabauth/query: an authenticated fetch and TanStack Query integration. A 401 anywhere, in any tab, turns into one
 * refresh through the leader tab; sign-out in any tab clears every tab's query cache.
 */
export { authedFetch, type AuthedFetch, type AuthedFetchOptions } from './authedFetch';
export { createAuthedQueryClient, shouldRetryQuery, type AuthedQueryClientConfig } from './createAuthedQueryClient';
export { attachAuthToQueryClient } from './attachAuthToQueryClient';
export { HttpError, isHttpError, readResponse } from './httpError';
