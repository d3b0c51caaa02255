/**
 * The React mode: the same client as the core mode, used through tabauth/react (<AuthProvider>, useAuth,
 * useAccessToken) and tabauth/query (createAuthedQueryClient, whose default query function is authedFetch), under
 * StrictMode. The API loop is a `useQuery` with `refetchInterval`; sign-out is a button that calls
 * `useAuth().signOut`. The state the tests read is what React committed, not the client's own snapshot.
 */
import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { lazy, StrictMode, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider, useAccessToken, useAuth } from 'tabauth/react';
import { createAuthedQueryClient } from 'tabauth/query';
import { jwtId, type ApiCallRecord, type PageConfig } from '../api';
import { now, type ModeDriver, type Recorder } from '../recorder';
import { createTabauthClient, tabauthDriver } from './tabauth';

interface Rendered {
  status: 'loading' | 'authenticated' | 'signed-out';
  version: number;
  isLeader: boolean;
  accessToken: string | null;
  signedOutReason: string | null;
  subject: string | null;
  commits: number;
  /** The AuthProvider's current `key` (the remount button gives it a new one) and how many times its subtree mounted. */
  providerKey: number;
  providerMounts: number;
}

/** A tiny external store for the API loop's interval (0 = stopped), so React re-renders when the harness sets it. */
function createLoopStore() {
  let interval = 0;
  const listeners = new Set<() => void>();
  return {
    get: () => interval,
    set(next: number) {
      interval = next;
      for (const listener of [...listeners]) listener();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

// The page is a production build, so the devtools come from the production entry, loaded only when asked for (the
// pattern the README recommends for inspecting a production build).
const TabauthDevtools = lazy(() => import('tabauth/devtools/production').then((module) => ({ default: module.TabauthDevtools })));

export async function startReact(config: PageConfig, recorder: Recorder): Promise<ModeDriver> {
  const client = createTabauthClient(config, recorder);
  const rendered: Rendered = {
    status: 'loading',
    version: 0,
    isLeader: false,
    accessToken: null,
    signedOutReason: null,
    subject: null,
    commits: 0,
    providerKey: 0,
    providerMounts: 0,
  };
  const loop = createLoopStore();

  // The fetch authedFetch sends with: it only observes, recording each API call and the token it carried.
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url !== config.apiUrl) return fetch(input, init);
    const token = new Headers(init?.headers).get('authorization')?.replace(/^Bearer\s+/i, '') ?? null;
    const jti = jwtId(token);
    const record: ApiCallRecord = {
      seq: ++recorder.seq,
      version: recorder.held.find((h) => h.jti === jti)?.version ?? -1,
      jti,
      requestedAt: now(), // authedFetch asked for the token before this fetch: its wait is not seen here
      obtainedAt: now(),
      sentAt: now(),
      doneAt: 0,
      status: 0,
      newest: null,
      error: null,
    };
    try {
      const response = await fetch(input, init);
      record.status = response.status;
      const body = (await response
        .clone()
        .json()
        .catch(() => ({}))) as { newest?: boolean; error_description?: string };
      if (response.status === 200) record.newest = body.newest === true;
      else record.error = body.error_description ?? `HTTP ${response.status}`;
      return response;
    } catch (error) {
      record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw error;
    } finally {
      record.doneAt = now();
      recorder.apiCalls.push(record);
    }
  };
  const queryClient = createAuthedQueryClient(client, { fetch: recordingFetch, defaultOptions: { queries: { retry: false } } });

  function ApiPoller() {
    const interval = useSyncExternalStore(loop.subscribe, loop.get);
    const { status } = useAccessToken();
    const query = useQuery({
      queryKey: [config.apiUrl],
      enabled: interval > 0 && status === 'authenticated',
      refetchInterval: interval > 0 ? interval : false,
      refetchIntervalInBackground: true,
      staleTime: 0,
      gcTime: Infinity,
    });
    return <output id="api">{query.data ? JSON.stringify(query.data) : query.error ? String(query.error) : ''}</output>;
  }

  function Probe({ providerKey }: { providerKey: number }) {
    const auth = useAuth();
    const token = useAccessToken();
    useEffect(() => {
      rendered.providerKey = providerKey;
      rendered.providerMounts++;
    }, [providerKey]);
    useEffect(() => {
      rendered.status = auth.status;
      rendered.version = token.version;
      rendered.isLeader = auth.isLeader;
      rendered.accessToken = token.accessToken;
      rendered.signedOutReason = auth.signedOutReason;
      rendered.subject = typeof auth.claims?.sub === 'string' ? auth.claims.sub : null;
      rendered.commits++;
    });
    return (
      <main>
        <dl>
          <dt>status</dt>
          <dd id="status">{auth.status}</dd>
          <dt>version</dt>
          <dd id="version">{token.version}</dd>
          <dt>leader</dt>
          <dd id="leader">{String(auth.isLeader)}</dd>
          <dt>subject</dt>
          <dd id="subject">{auth.claims?.sub ?? ''}</dd>
        </dl>
        <button id="sign-out" type="button" disabled={auth.status !== 'authenticated'} onClick={() => void auth.signOut({ revoke: true })}>
          Sign out
        </button>
        <ApiPoller />
      </main>
    );
  }

  /**
   * The remount button gives the AuthProvider a new `key`: React unmounts the provider (the client's mount count drops
   * to 0) and mounts a new one in the same commit, as a route or layout change or HMR does.
   */
  function App() {
    const [providerKey, setProviderKey] = useState(0);
    return (
      <>
        <button id="remount" type="button" onClick={() => setProviderKey((key) => key + 1)}>
          Remount the auth provider
        </button>
        <AuthProvider key={providerKey} client={client}>
          <QueryClientProvider client={queryClient}>
            <Probe providerKey={providerKey} />
          </QueryClientProvider>
          {config.devtools ? (
            <Suspense fallback={null}>
              <TabauthDevtools initialIsOpen />
            </Suspense>
          ) : null}
        </AuthProvider>
      </>
    );
  }

  const root = document.getElementById('root');
  if (!root) throw new Error('test page: no #root element');
  // The providers mount the auth client and the QueryClient (in effects); this page never calls client.mount().
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
  await client.ready();
  const driver = tabauthDriver(client, recorder);
  if (client.getSnapshot().status === 'authenticated') void driver.getAccessToken().catch((error) => recorder.error(error));

  const waitIdle = async () => {
    while (queryClient.isFetching() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  return {
    ...driver,
    state: () => ({
      status: rendered.status,
      version: rendered.version,
      leader: rendered.isLeader,
      jti: jwtId(rendered.accessToken),
      signedOutReason: rendered.signedOutReason,
    }),
    startApiLoop: (intervalMs) => loop.set(intervalMs),
    async stopApiLoop() {
      loop.set(0);
      await waitIdle();
    },
    async callApi() {
      const before = recorder.apiCalls.length;
      await queryClient.fetchQuery({ queryKey: [config.apiUrl], staleTime: 0 }).catch(() => {});
      return recorder.apiCalls[recorder.apiCalls.length - 1] ?? recorder.apiCalls[before]!;
    },
    extra: () => {
      const queries = queryClient.getQueryCache().getAll();
      const snapshot = client.getSnapshot();
      return {
        clientVersion: snapshot.version,
        clientStatus: snapshot.status,
        renderedSubject: rendered.subject,
        commits: rendered.commits,
        providerKey: rendered.providerKey,
        providerMounts: rendered.providerMounts,
        domStatus: document.getElementById('status')?.textContent ?? null,
        domVersion: Number(document.getElementById('version')?.textContent ?? NaN),
        cachedQueries: queries.length,
        queriesWithData: queries.filter((query) => query.state.data !== undefined).length,
      };
    },
  };
}
