/**
 * What runs inside one tab iframe: its own document, its own auth client (default coordination = broadcast-channel,
 * default IndexedDB storage, real clock) and its own React tree. Only the token server, the API and the network
 * switch come from the page (the demo hub), as they would come from outside the browser.
 */
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { browserEnvironment, createAuthClient, oauth2RefreshGrant } from 'tabauth';
import { AuthProvider, useAccessToken, useAuth, useAuthClient } from 'tabauth/react';
import { authedFetch, createAuthedQueryClient } from 'tabauth/query';
// The production entry: `tabauth/devtools` renders only when NODE_ENV is 'development', which `npm start` is but the
// static Storybook build (and its Chromium test) is not; the demos always show the panel.
import { TabauthDevtools } from 'tabauth/devtools/production';
import { API_ORIGIN, API_URL, findHub, naiveStorageKey, refreshMarginMs, type DemoHub } from './demoHub';
import { createDpop } from 'tabauth/dpop';
import { EventLog, clockTime, describeEvent, seconds, useLogLines, useNow, type LogLine, type Tone } from './eventLog';
import { createNaiveClient, fingerprint, type NaiveClient, type NaiveState } from './naiveClient';
import { useDemoTheme } from './theme';

export interface TabAppProps {
  /** Key of the demo hub in the parent window. */
  demo: string;
  /** This tab's id in the hub (t1, t2, ...). */
  tab: string;
}

export function TabApp({ demo, tab }: TabAppProps) {
  const hub = useMemo(() => findHub(demo), [demo]);
  if (!hub || !hub.tabRecord(tab)) {
    return (
      <div className="orphan" data-testid="tab-orphan">
        This story is one tab of a demo. Open one of the stories under <strong>Demos</strong>: they open these tabs for you.
      </div>
    );
  }
  return hub.currentConfig.mode === 'naive' ? <NaiveTab hub={hub} tabId={tab} /> : <CoordinatedTab hub={hub} tabId={tab} />;
}

// ------------------------------------------------------------------------------------------------ coordinated

interface ApiResult {
  at: number;
  ok: boolean;
  text: string;
}

function CoordinatedTab({ hub, tabId }: { hub: DemoHub; tabId: string }) {
  const [{ client, log }] = useState(() => {
    const log = new EventLog();
    const config = hub.currentConfig;
    const client = createAuthClient({
      namespace: hub.namespace,
      clientType: 'storybook-demo',
      refresh: oauth2RefreshGrant({ tokenEndpoint: hub.server.tokenEndpoint, clientId: hub.clientId, fetch: hub.tokenFetch(tabId) }),
      refreshLeewayMs: refreshMarginMs(config.lifetimeSeconds),
      followerRetryMs: 2000,
      retry: { attempts: 4, baseDelayMs: 500, maxDelayMs: 5000 },
      requestTimeoutMs: Math.max(10_000, config.latencyMs * 5),
      environment: hub.environmentFor(tabId, browserEnvironment()),
      // DPoP variant: this tab's handle reads the namespace's one key from IndexedDB (the login page created it).
      ...(config.dpop ? { dpop: createDpop({ namespace: hub.namespace }) } : {}),
      onEvent: (event) => {
        const { text, tone } = describeEvent(event);
        log.push(text, tone);
        if (event.type === 'dpop-key-created') hub.recordDpopKeyCreated();
      },
    });
    return { client, log };
  });
  useEffect(
    () => () => {
      void client.dispose();
    },
    [client],
  );
  const theme = useDemoTheme();
  return (
    <AuthProvider client={client}>
      <CoordinatedView hub={hub} tabId={tabId} log={log} />
      {/* Every tab runs the devtools, so the panel opened in any tab lists them all. */}
      <TabauthDevtools label={hub.tabRecord(tabId)?.label ?? tabId} theme={theme} />
    </AuthProvider>
  );
}

function CoordinatedView({ hub, tabId, log }: { hub: DemoHub; tabId: string; log: EventLog }) {
  const config = hub.currentConfig;
  const client = useAuthClient();
  const auth = useAuth();
  const token = useAccessToken();
  const now = useNow(200);
  const lines = useLogLines(log);
  const margin = refreshMarginMs(config.lifetimeSeconds);
  const refreshDueAt = token.expiresAt === null ? null : token.expiresAt - margin;

  useEffect(() => {
    hub.report(tabId, {
      status: auth.status,
      isLeader: auth.isLeader,
      version: auth.version,
      expiresAt: token.expiresAt,
      refreshDueAt,
      signedOutReason: auth.signedOutReason,
    });
  }, [hub, tabId, auth.status, auth.isLeader, auth.version, auth.signedOutReason, token.expiresAt, refreshDueAt]);

  // The API as this tab's app code would call it: through tabauth/query's authedFetch (token attached, one
  // refresh through the leader on 401, one retry).
  const [storm] = useState(createStormTally);
  const observedFetch = useMemo(() => {
    const base = hub.apiFetch();
    const observed: typeof fetch = async (input, init) => {
      const response = await base(input, init);
      if (response.status === 401 && !storm.countUnauthorized()) log.push('API said 401: asking for a new token', 'warn');
      return response;
    };
    return observed;
  }, [hub, log, storm]);
  // The API as this tab's app code calls it: through tabauth/query's authedFetch (token attached, on 401 one refresh
  // of exactly the rejected version, through the leader, and one retry).
  const api = useMemo(() => authedFetch(client, { fetch: observedFetch, origins: [API_ORIGIN] }), [client, observedFetch]);

  const [lastApi, setLastApi] = useState<ApiResult | null>(null);
  const apiBusy = useRef(false);
  const callApi = useCallback(
    async (manual: boolean) => {
      if (apiBusy.current && !manual) return;
      apiBusy.current = true;
      try {
        const response = await api(API_URL);
        const ok = response.ok;
        setLastApi({ at: Date.now(), ok, text: `HTTP ${response.status}` });
        if (manual || !ok) log.push(`API call: HTTP ${response.status}`, ok ? 'good' : 'bad');
      } catch (error) {
        const text = errorLabel(error);
        setLastApi({ at: Date.now(), ok: false, text });
        log.push(`API call failed: ${text}`, 'bad');
      } finally {
        apiBusy.current = false;
      }
    },
    [api, log],
  );

  const expireToken = useCallback(() => {
    const held = client.getSnapshot().tokens?.accessToken;
    if (!held) return;
    hub.expireAccessToken(held);
    log.push(`the API now rejects token v${client.getSnapshot().version}`, 'warn');
  }, [client, hub, log]);

  // 401 storm: many queries at once through the authed Query client and its default query function.
  const queryClient = useMemo(() => createAuthedQueryClient(client, { fetch: observedFetch, origins: [API_ORIGIN] }), [client, observedFetch]);
  useEffect(() => {
    queryClient.mount();
    return () => queryClient.unmount();
  }, [queryClient]);
  const [queries, setQueries] = useState<Array<'pending' | 'ok' | 'error'>>([]);
  const round = useRef(0);
  const fireQueries = useCallback(
    async (count: number) => {
      const thisRound = ++round.current;
      const stats = storm.start();
      let ok = 0;
      setQueries(Array.from({ length: count }, () => 'pending'));
      log.push(`firing ${count} queries at once`, 'info');
      const mark = (index: number, state: 'ok' | 'error') =>
        setQueries((previous) => (round.current === thisRound ? previous.map((value, i) => (i === index ? state : value)) : previous));
      await Promise.all(
        Array.from({ length: count }, (_, index) =>
          queryClient.fetchQuery({ queryKey: [API_URL, { tab: tabId, round: thisRound, query: index }] }).then(
            () => {
              ok++;
              mark(index, 'ok');
              hub.recordQuery(true);
            },
            () => {
              mark(index, 'error');
              hub.recordQuery(false);
            },
          ),
        ),
      );
      storm.end(stats);
      setLastApi({ at: Date.now(), ok: ok === count, text: `${ok} of ${count} queries OK` });
      log.push(`${count} queries: ${stats.unauthorized} got 401, ${ok} done with v${client.getSnapshot().version}`, ok === count ? 'good' : 'bad');
    },
    [client, hub, log, queryClient, tabId, storm],
  );

  // What the page's buttons can ask of this tab; attached again whenever one of the functions changes.
  useEffect(() => hub.attach(tabId, { callApi: () => void callApi(true), expireToken, fireQueries }), [hub, tabId, callApi, expireToken, fireQueries]);

  useEffect(
    () => hub.onNetwork(tabId, (online) => log.push(online ? 'network is back' : 'network lost: offline', online ? 'good' : 'warn')),
    [hub, tabId, log],
  );

  useEffect(() => {
    if (!config.autoApiMs) return;
    const timer = setInterval(() => {
      if (client.getSnapshot().status === 'authenticated') void callApi(false);
    }, config.autoApiMs);
    return () => clearInterval(timer);
  }, [client, callApi, config.autoApiMs]);

  // A new login gets a new key (DPoP): its thumbprint goes to the server as `dpop_jkt` and binds the new family. It
  // stays pending until the login's tokens are stored, so it is promoted to every tab's key just before signIn.
  const signIn = useCallback(async () => {
    const jkt = client.dpop ? (await client.dpop.newKeyForLogin()).thumbprint : undefined;
    const response = hub.login(jkt);
    if (client.dpop && jkt) await client.dpop.promoteLoginKey(jkt);
    await auth.signIn(response);
  }, [auth, client, hub]);
  const thumbprint = useDpopThumbprint(client, auth.status === 'authenticated' ? auth.version : -1);

  const role = auth.status === 'signed-out' ? 'signed-out' : auth.status === 'loading' ? 'loading' : auth.isLeader ? 'leader' : 'follower';
  const subject = typeof auth.claims?.sub === 'string' ? auth.claims.sub : null;

  return (
    <TabFrame
      tabId={tabId}
      label={hub.tabRecord(tabId)?.label ?? tabId}
      role={role}
      badge={role === 'leader' ? '★ Leader' : role === 'follower' ? 'Follower' : role === 'signed-out' ? 'Signed out' : 'Loading'}
      who={subject ? `signed in as ${subject}` : null}
      version={auth.version}
      offline={!hub.isOnline}
    >
      {auth.status === 'authenticated' ? (
        <TokenBox
          title={<>Token v{auth.version}</>}
          now={now}
          expiresAt={token.expiresAt}
          dueAt={refreshDueAt}
          lifetimeMs={config.lifetimeSeconds * 1000}
          dueText={auth.isLeader ? 'this tab refreshes' : 'the leader refreshes'}
        />
      ) : auth.status === 'signed-out' ? (
        <div className="signed-out-panel" data-testid="signed-out-panel">
          Signed out{auth.signedOutReason ? ` (${auth.signedOutReason})` : ''}. Every tab follows.
        </div>
      ) : (
        <div className="small-print">Loading the shared state…</div>
      )}
      <div className="tab-buttons">
        {auth.status === 'authenticated' ? (
          <>
            <button type="button" className="button small primary" data-testid="call-api" onClick={() => void callApi(true)}>
              Call API
            </button>
            <button
              type="button"
              className="button small"
              data-testid="expire-token"
              title="The API starts rejecting this access token (as if it had expired early); the next call gets 401"
              onClick={() => {
                expireToken();
                void callApi(true);
              }}
            >
              Expire token now
            </button>
            <button type="button" className="button small danger" data-testid="sign-out" onClick={() => void auth.signOut()}>
              Sign out
            </button>
          </>
        ) : (
          <button type="button" className="button small primary" data-testid="sign-in" disabled={auth.status === 'loading'} onClick={() => void signIn()}>
            Sign in again
          </button>
        )}
        <button type="button" className="button small" data-testid="close-tab" onClick={() => hub.closeTab(tabId)}>
          Close tab
        </button>
        {config.scenario === 'storm' && auth.status === 'authenticated' ? (
          <button type="button" className="button small" data-testid="fire-queries" onClick={() => void fireQueries(config.queriesPerTab)}>
            Fire {config.queriesPerTab} queries
          </button>
        ) : null}
      </div>
      {queries.length > 0 ? (
        <div className="query-dots" data-testid="query-dots" title="Queries of the last storm: blue pending, green done, red failed">
          {queries.map((state, index) => (
            <i key={index} data-state={state} />
          ))}
        </div>
      ) : null}
      {thumbprint ? (
        <div
          className="small-print"
          data-testid="dpop-key"
          data-thumbprint={thumbprint}
          title="JWK thumbprint of the DPoP key this tab signs with (the public half)"
        >
          DPoP key {thumbprint.slice(0, 10)}… (non-extractable, shared by every tab)
        </div>
      ) : null}
      <ApiLine result={lastApi} now={now} />
      <LogView lines={lines} />
    </TabFrame>
  );
}

/** The 401s of the storm in progress (one tally per press of the storm button), kept outside React's state. */
function createStormTally() {
  let current: { unauthorized: number } | null = null;
  return {
    start() {
      const tally = { unauthorized: 0 };
      current = tally;
      return tally;
    },
    end(tally: { unauthorized: number }) {
      if (current === tally) current = null;
    },
    /** Counts a 401 into the storm in progress; false when no storm is in progress. */
    countUnauthorized(): boolean {
      if (!current) return false;
      current.unauthorized++;
      return true;
    },
  };
}

/** The thumbprint (public) of the key this tab would sign with, re-read when the pair changes; null without DPoP. */
function useDpopThumbprint(client: ReturnType<typeof useAuthClient>, version: number): string | null {
  const [thumbprint, setThumbprint] = useState<string | null>(null);
  useEffect(() => {
    if (!client.dpop || version < 0) return;
    let live = true;
    client.dpop.thumbprint().then(
      (value) => live && setThumbprint(value),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client, version]);
  return thumbprint;
}

/** Errors may come from the page's window (the demo network), so classify by name, not instanceof. */
function errorLabel(error: unknown): string {
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name ?? '') : '';
  if (name === 'TypeError') return 'network error';
  if (name === 'SignedOutError') return 'signed out';
  return name || 'failed';
}

// ------------------------------------------------------------------------------------------------ naive

function naiveTone(line: string): Tone {
  if (/HTTP 4|invalid_grant|signed out|401/.test(line)) return 'bad';
  if (/new pair|signed in/.test(line)) return 'good';
  if (/network/.test(line)) return 'warn';
  return 'info';
}

function NaiveTab({ hub, tabId }: { hub: DemoHub; tabId: string }) {
  const config = hub.currentConfig;
  const margin = refreshMarginMs(config.lifetimeSeconds);
  const [{ client, log, subscribe }] = useState(() => {
    const log = new EventLog();
    const listeners = new Set<() => void>();
    const client: NaiveClient = createNaiveClient({
      storageKey: naiveStorageKey(hub.namespace),
      tokenEndpoint: hub.server.tokenEndpoint,
      clientId: hub.clientId,
      fetch: hub.tokenFetch(tabId),
      refreshBeforeMs: margin,
      onChange: () => listeners.forEach((listener) => listener()),
      onLog: (line) => log.push(line, naiveTone(line)),
    });
    const subscribe = (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    return { client, log, subscribe };
  });
  const state: NaiveState = useSyncExternalStore(subscribe, client.getState, client.getState);
  const now = useNow(200);
  const lines = useLogLines(log);

  useEffect(() => {
    client.start();
    return () => client.stop();
  }, [client]);

  const expiresAt = state.pair?.expiresAt ?? null;
  useEffect(() => {
    hub.report(tabId, {
      status: state.status,
      isLeader: false,
      version: state.generation,
      expiresAt,
      refreshDueAt: expiresAt === null ? null : expiresAt - margin,
      signedOutReason: state.signedOutReason,
    });
  }, [hub, tabId, state.status, state.generation, state.signedOutReason, expiresAt, margin]);

  const [lastApi, setLastApi] = useState<ApiResult | null>(null);
  const apiBusy = useRef(false);
  const callApi = useCallback(
    async (manual: boolean) => {
      if (apiBusy.current && !manual) return;
      apiBusy.current = true;
      try {
        const response = await client.callApi(hub.apiFetch(), API_URL);
        if (!response) return;
        setLastApi({ at: Date.now(), ok: response.ok, text: `HTTP ${response.status}` });
        if (manual || !response.ok) log.push(`API call: HTTP ${response.status}`, response.ok ? 'good' : 'bad');
      } catch {
        setLastApi({ at: Date.now(), ok: false, text: 'network error' });
      } finally {
        apiBusy.current = false;
      }
    },
    [client, hub, log],
  );

  useEffect(() => hub.attach(tabId, { callApi: () => void callApi(true) }), [hub, tabId, callApi]);
  useEffect(() => {
    if (!config.autoApiMs) return;
    const timer = setInterval(() => {
      if (client.getState().status === 'authenticated') void callApi(false);
    }, config.autoApiMs);
    return () => clearInterval(timer);
  }, [client, callApi, config.autoApiMs]);

  const role = state.status === 'authenticated' ? 'naive' : 'signed-out';
  return (
    <TabFrame
      tabId={tabId}
      label={hub.tabRecord(tabId)?.label ?? tabId}
      role={role}
      badge={state.status === 'authenticated' ? 'Naive client' : 'Signed out'}
      who={state.status === 'authenticated' ? 'signed in as user-1' : null}
      version={state.generation}
      offline={!hub.isOnline}
    >
      {state.pair ? (
        <TokenBox
          title={
            <>
              Refresh token <span className="mono">R·{fingerprint(state.pair.refreshToken)}</span>
            </>
          }
          now={now}
          expiresAt={state.pair.expiresAt}
          dueAt={state.pair.expiresAt - margin}
          lifetimeMs={config.lifetimeSeconds * 1000}
          dueText="this tab refreshes (every tab does)"
        />
      ) : (
        <div className="signed-out-panel" data-testid="signed-out-panel">
          Signed out{state.signedOutReason ? ` (${state.signedOutReason})` : ''}: back to the login page.
        </div>
      )}
      <div className="tab-buttons">
        {state.status === 'authenticated' ? (
          <>
            <button type="button" className="button small primary" data-testid="call-api" onClick={() => void callApi(true)}>
              Call API
            </button>
            <button type="button" className="button small" data-testid="refresh-now" onClick={() => void client.refresh('button')}>
              Refresh now
            </button>
          </>
        ) : (
          <button type="button" className="button small primary" data-testid="sign-in" onClick={() => client.signIn(hub.login())}>
            Sign in again
          </button>
        )}
        <button type="button" className="button small" data-testid="close-tab" onClick={() => hub.closeTab(tabId)}>
          Close tab
        </button>
      </div>
      <ApiLine result={lastApi} now={now} />
      <LogView lines={lines} />
    </TabFrame>
  );
}

// ------------------------------------------------------------------------------------------------ shared pieces

function TabFrame(props: {
  tabId: string;
  label: string;
  role: string;
  badge: string;
  who: string | null;
  version: number;
  offline: boolean;
  children: ReactNode;
}) {
  return (
    <div className="tab-app" data-testid="tab-app" data-tab-id={props.tabId} data-role={props.role} data-version={props.version}>
      <div className="tab-head">
        <span className="name">{props.label}</span>
        <span className="badge" data-role={props.role} data-testid="role-badge">
          {props.badge}
        </span>
        {props.offline ? (
          <span className="badge" data-role="offline">
            Offline
          </span>
        ) : null}
        {props.who ? <span className="who">{props.who}</span> : null}
      </div>
      {props.children}
    </div>
  );
}

function TokenBox(props: { title: ReactNode; now: number; expiresAt: number | null; dueAt: number | null; lifetimeMs: number; dueText: string }) {
  const { now, expiresAt, dueAt, lifetimeMs } = props;
  if (expiresAt === null) {
    return (
      <div className="token-box">
        <div className="token-version">{props.title}</div>
        <div className="small-print">Lifetime unknown: refreshed on 401 only.</div>
      </div>
    );
  }
  const left = expiresAt - now;
  const state = left <= 0 ? 'expired' : dueAt !== null && now >= dueAt ? 'due' : 'fresh';
  const fraction = Math.max(0, Math.min(1, left / lifetimeMs));
  const duePosition = dueAt === null ? null : Math.max(0, Math.min(1, (expiresAt - dueAt) / lifetimeMs));
  return (
    <div className="token-box" data-testid="token-box">
      <div className="token-line">
        <span className="token-version">{props.title}</span>
        <span className="countdown" data-state={state} data-testid="countdown">
          {left > 0 ? `expires in ${seconds(left)}` : `expired ${seconds(left)} ago`}
        </span>
      </div>
      <div className="meter" aria-hidden="true">
        <div className="fill" data-state={state} style={{ width: `${fraction * 100}%` }} />
        {duePosition !== null ? <div className="due" style={{ left: `${duePosition * 100}%` }} /> : null}
      </div>
      <div className="small-print">
        {dueAt !== null && now < dueAt
          ? `refresh due in ${seconds(dueAt - now)}: ${props.dueText}`
          : state === 'expired'
            ? 'expired: waiting for a new pair'
            : `refresh due now: ${props.dueText}`}
      </div>
    </div>
  );
}

function ApiLine({ result, now }: { result: ApiResult | null; now: number }) {
  return (
    <div className="api-line" data-testid="api-line">
      Last API call:{' '}
      {result ? (
        <>
          <strong data-ok={String(result.ok)}>{result.text}</strong> {seconds(now - result.at)} ago
        </>
      ) : (
        'none yet'
      )}
    </div>
  );
}

function LogView({ lines }: { lines: LogLine[] }) {
  return (
    <ul className="event-log" data-testid="event-log" aria-label="Event log, newest first">
      {lines.map((line) => (
        <li key={line.id}>
          <time>{clockTime(line.at)}</time>
          <span data-tone={line.tone}>{line.text}</span>
        </li>
      ))}
    </ul>
  );
}
