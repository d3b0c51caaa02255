'use client';
import { useEffect, useState, type ReactNode } from 'react';
import { createAuthClient, type AuthClient } from '../core/authClient';
import type { AuthClientOptions } from '../core/options';
import type { AuthLogin } from '../oidc/types';
import { AuthClientContext } from './context';
import { AuthLoginContext } from './loginContext';

interface ProviderChildren {
  children?: ReactNode;
  /**
   * How users log in and out (e.g. `createOidcLogin` from "tabauth/oidc"): enables `useAuth().login/logout`,
   * `<AuthCallback>` and `withAuthenticationRequired`.
   */
  login?: AuthLogin;
}

/**
 * Either a `client` created outside React (recommended: like a QueryClient, create it once at module scope), or
 * `options` for a client the provider creates, mounts and disposes itself.
 */
export type AuthProviderProps =
  | (ProviderChildren & {
      /** A client from `createAuthClient`. The provider mounts it while rendered; it never disposes it. */
      client: AuthClient;
      options?: never;
    })
  | (ProviderChildren & {
      /**
       * Options for a client the provider creates on first render and disposes when it unmounts. Read once: changing
       * them later has no effect (give the provider a new `key` to start over with new options).
       */
      options: AuthClientOptions;
      client?: never;
    });

/** A client this provider created, with the bookkeeping needed to dispose it exactly once. */
interface OwnedClient {
  client: AuthClient;
  options: AuthClientOptions;
  /** Effects currently holding a mount; disposal waits until it has stayed 0 past the current task. */
  mounts: number;
  disposed: boolean;
}

const own = (options: AuthClientOptions): OwnedClient => ({ client: createAuthClient(options), options, mounts: 0, disposed: false });

/**
 * Puts an auth client in context and keeps it mounted while the provider is. Mounting happens in an effect, so a
 * server render (where effects never run) starts nothing and every hook sees the 'loading' server snapshot.
 */
export function AuthProvider(props: AuthProviderProps): ReactNode {
  const external = props.client ?? null;
  // Created during render rather than in an effect so that children can subscribe on their first render. Creating a
  // client has no side effects (everything starts in mount()), so the extra instance StrictMode may create and
  // discard, or one created during a server render, costs nothing.
  const [owned, setOwned] = useState<OwnedClient | null>(() => (external ? null : own(requireOptions(props.options))));
  const client = external ?? owned?.client ?? null;

  useEffect(() => {
    if (external) return external.mount();
    if (!owned) {
      // Switched from `client` to `options` without a new key: create the client now.
      setOwned(own(requireOptions(props.options)));
      return;
    }
    if (owned.disposed) {
      // Effects re-ran after a real unmount (for example an <Activity> boundary shown again): a disposed client
      // cannot mount again, so start a fresh one with the same options.
      setOwned(own(owned.options));
      return;
    }
    owned.mounts++;
    const unmount = owned.client.mount();
    return () => {
      unmount();
      owned.mounts--;
      // StrictMode runs cleanup and setup again within the same task; disposing at once would kill the client the
      // second setup needs. mount() is reference counted, so the channel already closed above: only the final
      // dispose waits for the microtask that tells a real unmount apart from a StrictMode replay.
      queueMicrotask(() => {
        if (owned.mounts > 0 || owned.disposed) return;
        owned.disposed = true;
        void owned.client.dispose();
      });
    };
    // props.options is read only when no client exists yet; it is deliberately not a dependency.
  }, [external, owned]);

  if (!client) return null; // Only during the render that follows a switch from `client` to `options`.
  return (
    <AuthClientContext.Provider value={client}>
      <AuthLoginContext.Provider value={props.login ?? null}>{props.children}</AuthLoginContext.Provider>
    </AuthClientContext.Provider>
  );
}

function requireOptions(options: AuthClientOptions | undefined): AuthClientOptions {
  if (!options) throw new Error('tabauth: <AuthProvider> needs either a `client` or `options` prop.');
  return options;
}
