'use client';
import * as React from 'react';
import { DisposedError } from 'tabauth';
import { sameTokenState, viewOf, type AccessTokenState, type ClientView, type ResolvedAccessTokenState } from './clientView';
import { useAuthClientFrom } from './context';
import { useSyncExternalStoreWithSelector } from './useSyncExternalStoreWithSelector';

/** Options of `useAccessToken`. */
export interface UseAccessTokenOptions {
  /**
   * Suspend (throw to the nearest `<Suspense>`) until the stored state is loaded, so `status` is never 'loading'.
   * The `<Suspense>` boundary must be inside `<AuthProvider>`: the provider mounts the client, which is what ends
   * the loading. On a server the hook throws instead, so the boundary renders its fallback there and the client
   * renders the content.
   */
  suspense?: boolean;
}

// React 19's use(); React 18 has none, and there the promise is thrown (the pre-19 Suspense protocol).
const reactUse = (React as { use?: <T>(usable: Promise<T>) => T }).use;

/**
 * The access token of this tab: `{ status, accessToken, expiresAt, version, getAccessToken }`. Re-renders when the
 * token or the status changes, never for leadership or error changes. Read `accessToken` for rendering; call
 * `getAccessToken()` right before a request, which refreshes through the leader tab when the token is due.
 */
export function useAccessToken(options: UseAccessTokenOptions & { suspense: true }): ResolvedAccessTokenState;
/**
 * The access token of this tab (see the overload above); `status` is 'loading' until the stored state is read
 * unless `suspense: true` is passed.
 *
 * @example
 * ```tsx
 * const token = useAccessToken();
 * if (token.status === 'authenticated') connect(`wss://api.example.com/feed?access_token=${token.accessToken}`);
 * ```
 */
export function useAccessToken(options?: UseAccessTokenOptions): AccessTokenState;
export function useAccessToken(options: UseAccessTokenOptions = {}): AccessTokenState {
  const client = useAuthClientFrom('useAccessToken');
  const view = viewOf(client);
  const state = useSyncExternalStoreWithSelector(view.subscribe, view.getSnapshot, view.getServerSnapshot, view.tokenState, sameTokenState);
  return options.suspense ? resolveSuspended(view, state) : state;
}

function resolveSuspended(view: ClientView, state: AccessTokenState): ResolvedAccessTokenState {
  if (typeof window === 'undefined') {
    // A server never mounts the client, so waiting would hang a streaming render. Throwing inside <Suspense> makes
    // React render the fallback on the server and render the content on the client (React's "client-only" pattern).
    throw new Error('tabauth: useAccessToken({ suspense: true }) renders on the client only; the server renders the <Suspense> fallback.');
  }
  // The store's own snapshot, not the hook's value: during hydration the hook reads the server snapshot ('loading')
  // although the client may have loaded already.
  const live = state.status === 'loading' ? view.tokenState(view.getSnapshot()) : state;
  if (live.status !== 'loading') view.markLoaded();
  if (reactUse) {
    // Called on every render in suspense mode, loaded or not: React requires the render that replays a suspension to
    // call use() again. A settled promise is marked, so this returns at once.
    reactUse(view.loaded);
  } else if (view.loaded.status !== 'fulfilled') {
    throw view.loaded;
  }
  const loaded = live.status === 'loading' ? view.tokenState(view.getSnapshot()) : live;
  // `loaded` settles without a loaded snapshot only when the client was disposed before it ever loaded.
  if (loaded.status === 'loading') throw new DisposedError('The auth client was disposed before it loaded');
  return loaded;
}
