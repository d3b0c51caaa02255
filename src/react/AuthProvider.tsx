'use client';
import { useCallback, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { createAuthClient, type AuthClient, type AuthClientOptions } from 'tabauth';
import type { AuthLogin } from 'tabauth/oidc';
import { AuthClientContext } from './context';
import { AuthLoginContext } from './loginContext';

/** Props every `<AuthProvider>` accepts, whichever way it gets its client: its children and how users log in. */
export interface AuthProviderLoginProps {
  /** The tree that reads the auth client through the hooks. */
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
export type AuthProviderProps = AuthProviderLoginProps &
  (
    | {
        children?: ReactNode;
        /** A client from `createAuthClient`. The provider mounts it while rendered; it never disposes it. */
        client: AuthClient;
        options?: never;
      }
    | {
        children?: ReactNode;
        /**
         * Options for a client the provider creates on first render and disposes when it unmounts. Read once: changing
         * them later has no effect (give the provider a new `key` to start over with new options).
         */
        options: AuthClientOptions;
        client?: never;
      }
  );

/**
 * The client a provider creates from `options`, kept outside React's state so that nothing React tracks is ever
 * mutated (the React Compiler requires that): the provider reads it as an external store and changes it only
 * through these methods.
 */
interface ClientOwner {
  subscribe(onChange: () => void): () => void;
  /** The current client, created from `options` on the first call (creating one has no side effects). */
  current(options: AuthClientOptions | undefined): AuthClient;
  /**
   * Mounts the current client, first replacing it if it was disposed (a provider shown again by `<Activity>`), and
   * returns the release function. The last release disposes the client, one microtask later.
   */
  mount(): () => void;
}

function createClientOwner(): ClientOwner {
  let options: AuthClientOptions | null = null;
  let client: AuthClient | null = null;
  let disposed = false;
  let mounts = 0;
  const listeners = new Set<() => void>();
  const create = (from: AuthClientOptions) => {
    options = from; // Read once: later options are ignored, as documented (a new `key` starts over).
    client = createAuthClient(from);
    disposed = false;
    return client;
  };
  return {
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    current(from) {
      if (client && !disposed) return client;
      return create(options ?? requireOptions(from));
    },
    mount() {
      let mounted = client;
      if (!mounted || disposed) {
        // Effects re-ran after the client was disposed (an <Activity> boundary shown again): a disposed client cannot
        // mount again, so start a fresh one with the same options and tell the provider to render it.
        mounted = create(requireOptions(options ?? undefined));
        for (const listener of [...listeners]) listener();
      }
      const owned = mounted;
      mounts++;
      const unmount = owned.mount();
      return () => {
        unmount();
        mounts--;
        // StrictMode runs cleanup and setup again within the same task; disposing at once would kill the client the
        // second setup needs. mount() is reference counted, so the channel already closed above: only the final
        // dispose waits for the microtask that tells a real unmount apart from a StrictMode replay.
        queueMicrotask(() => {
          if (mounts > 0 || client !== owned || disposed) return;
          disposed = true;
          void owned.dispose();
        });
      };
    },
  };
}

/**
 * Puts an auth client in context and keeps it mounted while the provider is. Mounting happens in an effect, so a
 * server render (where effects never run) starts nothing and every hook sees the 'loading' server snapshot.
 */
export function AuthProvider(props: AuthProviderProps): ReactNode {
  const external = props.client ?? null;
  const options = props.options;
  // A client from `options` is created during render rather than in an effect so that children can subscribe on
  // their first render. Creating a client has no side effects (everything starts in mount()), so the extra instance
  // StrictMode may create and discard, or one created during a server render, costs nothing.
  const [owner] = useState(createClientOwner);
  const getOwned = useCallback(() => (external ? null : owner.current(options)), [owner, external, options]);
  const owned = useSyncExternalStore(owner.subscribe, getOwned, getOwned);
  const client = external ?? owned;

  useEffect(() => (external ? external.mount() : owner.mount()), [external, owner]);

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
