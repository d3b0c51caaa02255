/**
 * The page of a demo story: what to watch, the controls, the counters, the tab iframes and the timeline.
 * One DemoHub per run; "Restart" or a changed control starts a new run with a fresh namespace.
 */
import { useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { DemoHub, type DemoConfig, type DemoSnapshot, type TabRecord } from './demoHub';
import { useNow } from './eventLog';
import { Timeline } from './Timeline';

export const TAB_STORY_ID = 'internal-tab--tab';

export interface DemoLabProps {
  config: DemoConfig;
  title: string;
  lead: ReactNode;
  watch: ReactNode[];
}

export function DemoLab(props: DemoLabProps) {
  const [run, setRun] = useState(0);
  // A new run (and so a new hub: namespace, token server and set of tabs) per restart and per change of the controls.
  return <DemoRun key={`${JSON.stringify(props.config)}#${run}`} {...props} onRestart={() => setRun((n) => n + 1)} />;
}

function DemoRun(props: DemoLabProps & { onRestart: () => void }) {
  const [hub] = useState(() => new DemoHub(props.config));
  useEffect(() => {
    void hub.start();
    return () => {
      void hub.dispose();
    };
  }, [hub]);
  const snapshot = useSyncExternalStore(hub.subscribe, hub.getSnapshot, hub.getSnapshot);
  const now = useNow(250);
  const openTabs = snapshot.tabs.filter((tab) => tab.closedAt === null);
  // Page controls act on the tabs, so they wait until every tab can act (a click before that would be lost).
  const starting = !snapshot.tabsReady;

  return (
    <div
      className="lab"
      data-testid="demo-lab"
      data-ready={String(snapshot.ready)}
      data-tabs-ready={String(snapshot.tabsReady)}
      data-demo-key={snapshot.key}
      data-scenario={snapshot.config.scenario}
    >
      <header className="lab-header">
        <div className="lab-intro">
          <h1 className="lab-title">{props.title}</h1>
          <p className="lab-lead">{props.lead}</p>
          <div className="lab-actions">
            <ScenarioActions hub={hub} snapshot={snapshot} disabled={starting} />
            <button type="button" className="button" data-testid="add-tab" disabled={starting} onClick={() => hub.addTab()}>
              + Add tab
            </button>
            {/* Always enabled: the way out of a start that never completes. */}
            <button type="button" className="button" data-testid="restart" onClick={props.onRestart}>
              ↻ Restart
            </button>
            {starting ? <StartingTabs tabs={openTabs} /> : null}
          </div>
          <p className="lab-meta">
            Server: access token <strong>{snapshot.config.lifetimeSeconds} s</strong>, latency <strong>{snapshot.config.latencyMs} ms</strong>, rotation with
            reuse detection
            {snapshot.config.gracePeriodMs > 0 ? (
              <>
                , grace period <strong>{snapshot.config.gracePeriodMs / 1000} s</strong>
              </>
            ) : null}
            . Tabs: {snapshot.config.mode === 'naive' ? <strong>naive clients</strong> : <strong>tabauth</strong>}.
          </p>
        </div>
        <aside className="lab-watch">
          <h2>What to watch</h2>
          <ol>
            {props.watch.map((item, index) => (
              <li key={index}>{item}</li>
            ))}
          </ol>
        </aside>
      </header>

      <Counters snapshot={snapshot} />
      <Verdict snapshot={snapshot} />
      {snapshot.error ? (
        <div className="verdict" data-tone="bad">
          {snapshot.error}
        </div>
      ) : null}

      <div className="tabs-grid" data-testid="tabs-grid">
        {snapshot.ready ? openTabs.map((tab) => <TabWindow key={tab.id} hub={hub} tab={tab} mode={snapshot.config.mode} />) : null}
        {snapshot.ready && openTabs.length === 0 ? <div className="tab-window closed-placeholder">All tabs are closed. Add one to sign in again.</div> : null}
      </div>

      <Timeline snapshot={snapshot} now={now} />
    </div>
  );
}

/** Shown next to the disabled controls while tabs start: how many of the open tabs can act already. */
function StartingTabs({ tabs }: { tabs: TabRecord[] }) {
  const ready = tabs.filter((tab) => tab.ready).length;
  return (
    <span className="starting-tabs" data-testid="starting-tabs" role="status" aria-live="polite">
      Starting tabs… {ready} of {tabs.length} ready
    </span>
  );
}

function ScenarioActions({ hub, snapshot, disabled }: { hub: DemoHub; snapshot: DemoSnapshot; disabled: boolean }) {
  const leader = snapshot.tabs.find((tab) => tab.isLeader && tab.closedAt === null);
  switch (snapshot.config.scenario) {
    case 'failover':
      return (
        <button
          type="button"
          className="button primary"
          data-testid="close-leader"
          disabled={disabled || !leader}
          onClick={() => leader && hub.closeTab(leader.id)}
        >
          Close the leader{leader ? ` (${leader.label})` : ''}
        </button>
      );
    case 'storm':
      return (
        <button
          type="button"
          className="button primary"
          data-testid="storm"
          disabled={disabled}
          onClick={() => {
            hub.forEachTab((handle) => handle.expireToken?.());
            hub.forEachTab((handle) => void handle.fireQueries?.(snapshot.config.queriesPerTab));
          }}
        >
          Expire the token and fire {snapshot.config.queriesPerTab} queries in every tab
        </button>
      );
    case 'offline':
      return (
        <button type="button" className="button primary" data-testid="toggle-network" disabled={disabled} onClick={() => hub.setOnline(!snapshot.online)}>
          {snapshot.online ? 'Go offline' : 'Back online'}
        </button>
      );
    default:
      return (
        <button
          type="button"
          className="button primary"
          data-testid="call-api-everywhere"
          disabled={disabled}
          onClick={() => hub.forEachTab((handle) => handle.callApi())}
        >
          Call the API in every tab
        </button>
      );
  }
}

function Counter(props: { id: string; label: string; value: number; tone?: 'good' | 'bad' | 'info'; hint?: ReactNode }) {
  return (
    <div className="counter" data-testid={`counter-${props.id}`} data-value={props.value} data-tone={props.tone ?? 'neutral'}>
      <div className="value">{props.value}</div>
      <div className="label">{props.label}</div>
      {props.hint ? <div className="hint">{props.hint}</div> : null}
    </div>
  );
}

function Counters({ snapshot }: { snapshot: DemoSnapshot }) {
  const c = snapshot.counters;
  const open = snapshot.tabs.filter((tab) => tab.closedAt === null);
  const signedOutTabs = open.filter((tab) => tab.status === 'signed-out').length;
  const duplicateRequests = c.refreshRequests - c.rotations;
  const scenario = snapshot.config.scenario;
  // Where sign-outs or failed API calls are the point of the demo, they are shown as information, not as alarms.
  const signOutTone = c.signOuts === 0 ? 'good' : scenario === 'signout' ? 'info' : 'bad';
  const apiFailedTone = c.apiFailed === 0 ? 'good' : scenario === 'storm' || scenario === 'offline' ? 'info' : 'bad';
  return (
    <div className="counters" data-testid="counters">
      <Counter
        id="refresh-requests"
        label="Refresh requests"
        value={c.refreshRequests}
        tone={c.refreshRequests === 0 ? undefined : duplicateRequests === 0 ? 'good' : 'bad'}
        hint={duplicateRequests === 0 ? 'one per rotation' : `${duplicateRequests} more than rotations`}
      />
      <Counter id="rotations" label="Rotations" value={c.rotations} tone="info" hint="new pairs minted" />
      <Counter
        id="reuse-detections"
        label="Reuse detected"
        value={c.reuseDetections}
        tone={c.reuseDetections > 0 ? 'bad' : 'good'}
        hint={c.familiesRevoked > 0 ? `${c.familiesRevoked} family revoked` : 'by the server'}
      />
      <Counter id="sign-outs" label="Sign-outs" value={c.signOuts} tone={signOutTone} hint={`${signedOutTabs} of ${open.length} tabs signed out`} />
      <Counter id="api-calls" label="API calls" value={c.apiCalls} tone="info" />
      <Counter
        id="api-failed"
        label="API calls failed"
        value={c.apiFailed}
        tone={apiFailedTone}
        hint={scenario === 'storm' ? 'the 401s of the storm' : scenario === 'offline' ? '401 or network (offline)' : '401 or network'}
      />
      {snapshot.config.scenario === 'storm' ? (
        <Counter
          id="queries-ok"
          label="Queries done"
          value={c.queriesOk}
          tone={c.queriesFailed > 0 ? 'bad' : c.queriesOk > 0 ? 'good' : undefined}
          hint={`${c.queriesFailed} failed`}
        />
      ) : null}
      {snapshot.config.dpop ? (
        <>
          <Counter
            id="dpop-keys"
            label="DPoP keys created"
            value={c.dpopKeysCreated}
            tone={c.dpopKeysCreated <= Math.max(1, c.logins) ? 'good' : 'bad'}
            hint="one per login, however many tabs"
          />
          <Counter
            id="nonce-retries"
            label="Nonce retries"
            value={c.nonceRetries}
            tone="info"
            hint={`${c.nonceChallengedRefreshes} at the token endpoint, sent again at once`}
          />
          <Counter
            id="key-mismatches"
            label="Key mismatches"
            value={c.keyMismatches}
            tone={c.keyMismatches > 0 ? 'bad' : 'good'}
            hint="a token used with another key"
          />
        </>
      ) : null}
      {snapshot.config.scenario === 'offline' ? (
        <Counter
          id="network-errors"
          label="Sent offline"
          value={c.networkErrors}
          tone={c.networkErrors > 0 ? 'bad' : 'good'}
          hint="refreshes into a dead network"
        />
      ) : null}
      {/* Machine-readable summary for tests: signed-out and leader state of the open tabs. */}
      <span
        hidden
        data-testid="tab-summary"
        data-open={open.length}
        data-signed-out={signedOutTabs}
        data-authenticated={open.filter((tab) => tab.status === 'authenticated').length}
        data-leaders={open
          .filter((tab) => tab.isLeader)
          .map((tab) => tab.id)
          .join(',')}
      />
    </div>
  );
}

function Verdict({ snapshot }: { snapshot: DemoSnapshot }) {
  const c = snapshot.counters;
  const open = snapshot.tabs.filter((tab) => tab.closedAt === null);
  const signedOut = open.filter((tab) => tab.status === 'signed-out').length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  let tone: 'good' | 'bad' | 'info' = 'info';
  let text: string;
  if (c.reuseDetections > 0) {
    tone = 'bad';
    text =
      signedOut === open.length && open.length > 0
        ? `Refresh token reuse detected: the server revoked the whole token family. All ${open.length} tabs are signed out.`
        : `Refresh token reuse detected: the server revoked the whole token family. ${signedOut} of ${open.length} tabs signed out so far…`;
  } else if (!snapshot.ready) {
    text = 'Signing in and opening the tabs…';
  } else if (!snapshot.online) {
    text = `Offline: ${plural(c.networkErrors, 'refresh request')} sent into the dead network. Expired tokens wait for the network to return.`;
  } else if (open.length > 0 && signedOut === open.length) {
    tone = snapshot.config.scenario === 'signout' ? 'good' : 'info';
    text = `Signed out in all ${open.length} tabs at once, without a single refresh request. “Sign in again” in any tab signs them all in.`;
  } else if (c.rotations > 0 && c.refreshRequests === c.rotations) {
    tone = 'good';
    text = `${plural(c.rotations, 'rotation')}, ${plural(c.refreshRequests, 'refresh request')}, no reuse: one tab refreshed and every tab got the new pair.`;
  } else {
    const dues = open.map((tab) => tab.refreshDueAt).filter((due): due is number => due !== null);
    const due = dues.length ? Math.min(...dues) : null;
    text = due !== null ? `Signed in. The first refresh is due at ${new Date(due).toLocaleTimeString()}.` : 'Waiting for the tabs…';
  }
  return (
    <div className="verdict" data-testid="verdict" data-tone={tone}>
      {text}
    </div>
  );
}

function TabWindow({ hub, tab, mode }: { hub: DemoHub; tab: TabRecord; mode: DemoConfig['mode'] }) {
  // The iframe loads the hidden tab story through Storybook's own iframe.html: same origin, its own document.
  const [src] = useState(() => {
    const url = new URL('iframe.html', window.location.href);
    url.search = `?id=${TAB_STORY_ID}&viewMode=story&args=demo:${hub.key};tab:${tab.id}`;
    return url.pathname + url.search;
  });
  const role =
    tab.status === 'signed-out' ? 'signed-out' : tab.status === 'loading' ? 'loading' : mode === 'naive' ? 'naive' : tab.isLeader ? 'leader' : 'follower';
  return (
    <section
      className="tab-window"
      data-testid="tab-window"
      data-tab-id={tab.id}
      data-role={role}
      data-status={tab.status}
      data-leader={String(tab.isLeader)}
      data-version={tab.version}
    >
      <div className="tab-titlebar">
        <span className="favicon" aria-hidden="true" />
        <span>{tab.label}</span>
        <span className="url">app.example/dashboard</span>
        <button type="button" className="close" aria-label={`Close ${tab.label}`} title="Close this tab" onClick={() => hub.closeTab(tab.id)}>
          ×
        </button>
      </div>
      <iframe title={tab.label} src={src} data-tab-id={tab.id} />
    </section>
  );
}
