'use client';
import { useState, type ReactNode } from 'react';
import type { DevtoolsBridge, DevtoolsCommandRecord, DevtoolsState } from '../../devtools/core/bridge';
import type { DevtoolsCounters, DevtoolsTimelineEntry } from '../../devtools/core/protocol';
import type { DevtoolsTab } from '../../devtools/core/tabList';
import { describeEntry } from '../../devtools/core/timeline';
import { useNow } from './useNow';

/** How a tab is named in the panel: the app's label, else the start of its id. */
export function tabName(tab: { tabId: string; label: string | null } | undefined, tabId: string): string {
  return tab?.label ?? `#${tabId.slice(0, 6)}`;
}

/** A tab's role as the panel shows it: leader, follower, signed out or still loading. */
export function roleOf(tab: Pick<DevtoolsTab, 'status' | 'isLeader'>): 'leader' | 'follower' | 'signed-out' | 'loading' {
  if (tab.status === 'loading') return 'loading';
  if (tab.status === 'signed-out') return 'signed-out';
  return tab.isLeader ? 'leader' : 'follower';
}

const ROLE_TEXT = { leader: '★ leader', follower: 'follower', 'signed-out': 'signed out', loading: 'loading' } as const;

function ago(now: number, at: number): string {
  if (now === 0 || now - at < 1000) return 'just now';
  const seconds = Math.round((now - at) / 1000);
  return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

function inTime(now: number, at: number): string {
  if (now === 0) return '';
  const seconds = Math.round((at - now) / 1000);
  return seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago`;
}

function clock(at: number): string {
  const date = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Props of `DevtoolsPanel`. */
export interface DevtoolsPanelProps {
  /** The bridge the buttons send their commands through. */
  bridge: DevtoolsBridge;
  /** The bridge's current state, to render. */
  state: DevtoolsState;
  /** The panel element's id (for the toggle's aria-controls). */
  id?: string;
  /** Called when the panel's close button is pressed. */
  onClose?: () => void;
}

/** The panel: every tab of the namespace, this tab's pair, counters, the timeline, and the two buttons. */
export function DevtoolsPanel({ bridge, state, id, onClose }: DevtoolsPanelProps) {
  const now = useNow();
  const [chosen, setChosen] = useState<string | null>(null);
  const target = state.tabs.find((tab) => tab.tabId === chosen) ?? state.self ?? null;
  const byId = new Map(state.tabs.map((tab) => [tab.tabId, tab]));
  const nameOf = (tabId: string) => tabName(byId.get(tabId), tabId);
  const leaders = state.tabs.filter((tab) => tab.isLeader && tab.status !== 'loading').length;
  const pending = state.commands.some((command) => command.status === 'pending' && command.target === target?.tabId);
  const canAct = target !== null && target.status === 'authenticated' && !pending;

  return (
    <section
      className="tdt-panel"
      id={id}
      role="dialog"
      aria-label="tabauth devtools"
      data-testid="tabauth-devtools-panel"
      data-tabs={state.tabs.length}
      data-leaders={leaders}
    >
      <header className="tdt-head">
        <span className="tdt-title">tabauth</span>
        <span className="tdt-sub">
          devtools · namespace <span className="tdt-mono">{state.namespace}</span>
          {state.connected ? '' : ' · this tab only (no BroadcastChannel)'}
        </span>
        <span className="tdt-role">
          {state.tabs.length} {state.tabs.length === 1 ? 'tab' : 'tabs'}
        </span>
        {onClose ? (
          <button type="button" className="tdt-close" aria-label="Close tabauth devtools" onClick={onClose}>
            ×
          </button>
        ) : null}
      </header>
      <div className="tdt-body">
        <h3>Tabs</h3>
        <table className="tdt-tabs" data-testid="tabauth-devtools-tabs">
          <thead>
            <tr>
              <th scope="col">tab</th>
              <th scope="col">role</th>
              <th scope="col">version</th>
              <th scope="col">last event</th>
              <th scope="col">page</th>
            </tr>
          </thead>
          <tbody>
            {state.tabs.map((tab) => {
              const role = roleOf(tab);
              const selected = tab.tabId === target?.tabId;
              return (
                <tr
                  key={tab.tabId}
                  data-testid="tabauth-devtools-tab"
                  data-tab-id={tab.tabId}
                  data-role={role}
                  data-version={tab.version}
                  data-status={tab.status}
                  data-self={String(tab.self)}
                  data-selected={String(selected)}
                  data-silent={String(tab.silent)}
                  onClick={() => setChosen(tab.tabId)}
                >
                  <td>
                    <label>
                      <input
                        type="radio"
                        name={`${id ?? 'tabauth-devtools'}-target`}
                        checked={selected}
                        onChange={() => setChosen(tab.tabId)}
                        aria-label={`Act on ${tabName(tab, tab.tabId)}`}
                      />{' '}
                      {tabName(tab, tab.tabId)}
                      {tab.self ? <em className="tdt-self">this tab</em> : null}
                    </label>
                  </td>
                  <td>
                    <span className="tdt-role" data-role={role}>
                      {ROLE_TEXT[role]}
                    </span>
                  </td>
                  <td className="tdt-mono">v{tab.version}</td>
                  <td title={tab.lastEvent ? clock(tab.lastEvent.at) : undefined}>
                    {tab.lastEvent ? `${describeEntry(tab.lastEvent, nameOf)}, ${ago(now, tab.lastEvent.at)}` : <span className="tdt-empty">none yet</span>}
                  </td>
                  <td>
                    {tab.visibility}
                    {tab.silent ? `, silent ${ago(now, tab.lastHeardAt)}` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>

        <div className="tdt-actions">
          <span className="tdt-target">
            Acting on <strong>{target ? tabName(target, target.tabId) : 'no tab'}</strong> (pick another row to act on another tab)
          </span>
          <button
            type="button"
            className="tdt-button tdt-primary"
            data-testid="tabauth-devtools-refresh"
            disabled={!canAct}
            title="client.refresh() in that tab: one refresh through the leader"
            onClick={() => target && void bridge.refresh(target.tabId)}
          >
            Force refresh
          </button>
          <button
            type="button"
            className="tdt-button"
            data-testid="tabauth-devtools-expire"
            disabled={!canAct || !target?.canExpire}
            title="That tab treats its access token as expired: its next getAccessToken() refreshes through the leader"
            onClick={() => target && void bridge.expire(target.tabId)}
          >
            Expire token
          </button>
          <CommandLine command={state.commands[0]} tabs={byId} />
        </div>

        <h3>This tab</h3>
        <ThisTab tab={state.self} now={now} />

        <h3>Counters</h3>
        <Counters totals={state.totals} own={state.self?.counters ?? null} dropped={state.dropped} />

        <h3>Timeline ({state.timeline.length})</h3>
        <Timeline entries={state.timeline} nameOf={nameOf} />
      </div>
    </section>
  );
}

function CommandLine({ command, tabs }: { command: DevtoolsCommandRecord | undefined; tabs: Map<string, DevtoolsTab> }) {
  if (!command) return null;
  const name = tabName(tabs.get(command.target), command.target);
  let text: string;
  if (command.status === 'pending') text = `${command.command === 'refresh' ? 'Refreshing' : 'Expiring'} in ${name}…`;
  else if (!command.result?.ok) text = `${command.command} in ${name} failed: ${command.result?.errorCode ?? 'unknown'}`;
  else if (command.command === 'refresh') text = `${name} holds v${command.result.version}`;
  else text = `v${command.result.version} marked expired in ${name}: its next getAccessToken() refreshes through the leader`;
  return (
    <div className="tdt-result" data-testid="tabauth-devtools-result" data-status={command.status} role="status">
      {text}
    </div>
  );
}

function ThisTab({ tab, now }: { tab: DevtoolsTab | null; now: number }) {
  if (!tab) return <p className="tdt-empty">Reading this tab's client…</p>;
  const token = tab.token;
  const rows: Array<[string, ReactNode]> = [
    ['status', `${tab.status}${tab.signedOutReason ? ` (${tab.signedOutReason})` : ''}`],
    ['version', `v${tab.version}`],
    ['role', ROLE_TEXT[roleOf(tab)]],
    ['storage', tab.storage === 'memory' ? 'memory (IndexedDB unavailable)' : 'IndexedDB'],
    ['tab id', <span className="tdt-mono">{tab.tabId}</span>],
  ];
  if (tab.errorCode) rows.push(['error', <span className="tdt-mono">{tab.errorCode}</span>]);
  if (token) {
    rows.push(
      [
        'access token',
        <span className="tdt-mono" data-testid="tabauth-devtools-fingerprint" data-value={token.accessFingerprint}>
          {token.accessFingerprint}
        </span>,
      ],
      ['refresh token', <span className="tdt-mono">{token.refreshFingerprint ?? 'none'}</span>],
      ['id token', <span className="tdt-mono">{token.idFingerprint ?? 'none'}</span>],
      ['expires', token.expiresAt === null ? 'unknown (opaque: refreshed on 401)' : `${clock(token.expiresAt)} (${inTime(now, token.expiresAt)})`],
      ['received', clock(token.receivedAt)],
      ['type, scope', `${token.tokenType}${token.scope ? `, ${token.scope}` : ''}`],
    );
    const claims = token.claims;
    if (claims) {
      rows.push(['claims of', claims.from === 'id-token' ? 'the id token (decoded, not verified)' : 'the access token (decoded, not verified)']);
      if (claims.sub !== null) rows.push(['sub', claims.sub]);
      if (claims.iss !== null) rows.push(['iss', claims.iss]);
      if (claims.aud !== null) rows.push(['aud', claims.aud]);
      if (claims.exp !== null) rows.push(['exp', `${claims.exp} (${clock(claims.exp * 1000)})`]);
      if (claims.iat !== null) rows.push(['iat', `${claims.iat} (${clock(claims.iat * 1000)})`]);
    }
  }
  return (
    <dl className="tdt-kv" data-testid="tabauth-devtools-self">
      {rows.map(([label, value]) => (
        <Row key={label} label={label} value={value} />
      ))}
    </dl>
  );
}

function Row({ label, value }: { label: string; value: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

const COUNTER_LABELS: Array<[keyof DevtoolsCounters, string]> = [
  ['refreshRequests', 'refresh requests'],
  ['refreshSuccesses', 'refreshes succeeded'],
  ['refreshFailures', 'refresh attempts failed'],
  ['refreshSkipped', 'refreshes skipped (pair already newer)'],
  ['adoptions', 'pairs adopted from other tabs or storage'],
  ['leadershipGained', 'leadership gained'],
  ['signOuts', 'sign-outs'],
  ['messagesDropped', 'tab messages dropped'],
  ['storageErrors', 'storage errors'],
];

function Counters({ totals, own, dropped }: { totals: DevtoolsCounters; own: DevtoolsCounters | null; dropped: DevtoolsState['dropped'] }) {
  const droppedHere = dropped.foreign + dropped.malformed + dropped.oversized + dropped['other-namespace'];
  return (
    <div className="tdt-counters" data-testid="tabauth-devtools-counters">
      <span className="tdt-colhead" />
      <span className="tdt-colhead">all tabs</span>
      <span className="tdt-colhead">this tab</span>
      {COUNTER_LABELS.map(([key, label]) => (
        <CounterRow key={key} id={key} label={label} total={totals[key]} own={own?.[key] ?? 0} />
      ))}
      <CounterRow id="devtoolsDropped" label="devtools messages dropped" total={null} own={droppedHere} />
    </div>
  );
}

function CounterRow({ id, label, total, own }: { id: string; label: string; total: number | null; own: number }) {
  return (
    <>
      <span>{label}</span>
      <span data-testid={`tabauth-devtools-total-${id}`}>{total ?? ''}</span>
      <span>{own}</span>
    </>
  );
}

function Timeline({ entries, nameOf }: { entries: readonly DevtoolsTimelineEntry[]; nameOf: (tabId: string) => string }) {
  if (entries.length === 0) return <p className="tdt-empty">Nothing has happened yet.</p>;
  // Newest first; the panel shows the last 80 (the bridge keeps more).
  const shown = entries.slice(-80).reverse();
  return (
    <ol className="tdt-timeline" data-testid="tabauth-devtools-timeline">
      {shown.map((entry) => (
        <li key={`${entry.tabId}:${entry.seq}`} data-kind={entry.kind} data-tab-id={entry.tabId} data-testid="tabauth-devtools-entry">
          <span className="tdt-mono">{clock(entry.at)}</span>
          <span className="tdt-who">{nameOf(entry.tabId)}</span>
          <span className="tdt-what">{describeEntry(entry, nameOf)}</span>
        </li>
      ))}
    </ol>
  );
}
