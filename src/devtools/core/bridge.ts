import { type AuthClient, systemClock, type Clock, type TimerHandle, isAuthError, type AuthEvent } from 'tabauth';
import { nativeDevtoolsChannel, type DevtoolsChannel, type DevtoolsChannelFactory } from './channel';
import { createFingerprintCache, fnv1a32 } from './fingerprint';
import { browserPage, type DevtoolsPage } from './page';
import {
  DEVTOOLS_PROTOCOL,
  MAX_ENTRIES_PER_MESSAGE,
  devtoolsChannelName,
  isDroppedDevtoolsMessage,
  parseDevtoolsMessage,
  type DevtoolsCommand,
  type DevtoolsCommandResult,
  type DevtoolsCounters,
  type DevtoolsDropReason,
  type DevtoolsMessageBody,
  type DevtoolsTabReport,
  type DevtoolsTimelineEntry,
} from './protocol';
import { forgetSilentTabs, listTabs, mergeReport, removeTab, sumCounters, type DevtoolsTab, type KnownTab } from './tabList';
import { countersFrom, summarizeTokens } from './tabReport';
import { asCode, entryFromEvent, mergeEntries } from './timeline';

/** Options of `createDevtoolsBridge`; every one has a default. */
export interface DevtoolsBridgeOptions {
  /** How this tab is named in every tab's panel (default: its id). At most 80 characters are sent. */
  label?: string;
  /** Time for the heartbeat, silence and command time-outs. Default: the real clock. */
  clock?: Clock;
  /** The channel to the other tabs; null for this tab only. Default: the browser's BroadcastChannel, if any. */
  channel?: DevtoolsChannelFactory | null;
  /** Visibility and page lifecycle. Default: the real document. */
  page?: DevtoolsPage;
  /** Every tab re-sends its report this often, so a crashed tab can be told from a quiet one. Default 5 s. */
  heartbeatMs?: number;
  /** A tab not heard from for this long is shown as silent. Default 15 s. */
  silentAfterMs?: number;
  /** ... and dropped from the list after this long (background tabs may be throttled to a timer per minute). Default 150 s. */
  forgetAfterMs?: number;
  /** How long a command waits for the chosen tab to answer. Default 60 s (a refresh may be retrying). */
  commandTimeoutMs?: number;
  /** Timeline entries kept. Default 200. */
  timelineLimit?: number;
}

/** A command sent from this panel to a tab, and how it went. */
export interface DevtoolsCommandRecord {
  /** Identifies the command, so its answer can be matched to it. */
  id: string;
  /** What the tab was asked to do. */
  command: DevtoolsCommand;
  /** The tab it was sent to. */
  target: string;
  /** When it was sent (epoch ms). */
  startedAt: number;
  /** Still waiting for the answer, answered, or failed (including no answer in time). */
  status: 'pending' | 'done' | 'failed';
  /** The tab's answer; null while pending. */
  result: DevtoolsCommandResult | null;
}

/** What a panel renders. A new frozen object on every change (for `useSyncExternalStore`). */
export interface DevtoolsState {
  /** This tab's id, as the devtools protocol knows it. */
  tabId: string;
  /** The client's namespace, shared by all tabs listed. */
  namespace: string;
  /** The bridge has been started and not yet stopped. */
  running: boolean;
  /** There is a channel to the other tabs (false: this tab only). */
  connected: boolean;
  /** This tab first, then in the order their devtools started. */
  tabs: readonly DevtoolsTab[];
  /** This tab's own report (its snapshot, fingerprints, claims, counters), once built. */
  self: DevtoolsTab | null;
  /** Every tab's entries, oldest first. */
  timeline: readonly DevtoolsTimelineEntry[];
  /** Counters of the listed tabs added up. */
  totals: DevtoolsCounters;
  /** The last commands sent from this panel, newest first. */
  commands: readonly DevtoolsCommandRecord[];
  /** Devtools messages dropped by validation, by reason. */
  dropped: Readonly<Record<DevtoolsDropReason, number>>;
}

/**
 * The framework-free devtools of one tab: reports this tab's client to the other tabs of its namespace, collects
 * theirs, and carries out the panel's commands. Creating it has no side effects; `start()` (reference counted, like
 * `client.mount()`) opens the channel and `stop` closes it.
 */
export interface DevtoolsBridge {
  /** This tab's id, as the devtools protocol knows it. */
  readonly tabId: string;
  /** The client's namespace. */
  readonly namespace: string;
  /** Starts the bridge (reference counted); returns the function that stops it again. */
  start(): () => void;
  /** The current state, for `useSyncExternalStore`. */
  getSnapshot(): DevtoolsState;
  /** The state before anything started: the same on a server and in the first client render. */
  getServerSnapshot(): DevtoolsState;
  /** Calls `listener` after every change of the state; returns the function that unsubscribes it. */
  subscribe(listener: () => void): () => void;
  /** `client.refresh()` in the chosen tab (this one or another). */
  refresh(tabId: string): Promise<DevtoolsCommandResult>;
  /** `client.markExpired()` in the chosen tab: its next getAccessToken() refreshes through the leader. */
  expire(tabId: string): Promise<DevtoolsCommandResult>;
}

interface Session {
  channel: DevtoolsChannel | null;
  cleanups: Array<() => void>;
  heartbeat: TimerHandle | undefined;
  pending: Map<string, (result: DevtoolsCommandResult) => void>;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const COMMANDS_KEPT = 5;

const failure = (errorCode: string): DevtoolsCommandResult => ({ ok: false, version: null, errorCode });

/** Creates the devtools of one tab for `client` (nothing happens until `start()`). */
export function createDevtoolsBridge(client: AuthClient, options: DevtoolsBridgeOptions = {}): DevtoolsBridge {
  const clock = options.clock ?? systemClock;
  const channelFactory = options.channel === undefined ? nativeDevtoolsChannel() : options.channel;
  const page = options.page ?? browserPage();
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const silentAfterMs = options.silentAfterMs ?? 15_000;
  const forgetAfterMs = options.forgetAfterMs ?? 150_000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 60_000;
  const timelineLimit = options.timelineLimit ?? 200;
  const namespace = client.namespace;
  // The core's ids fit the protocol; another AuthClient implementation's might not, so such an id is hashed.
  const tabId = ID.test(client.tabId) ? client.tabId : `h${fnv1a32(client.tabId)}`;
  const label = options.label === undefined ? null : options.label.slice(0, 80);
  const fingerprint = createFingerprintCache();

  let tabs: ReadonlyMap<string, KnownTab> = new Map();
  let timeline: readonly DevtoolsTimelineEntry[] = [];
  /** This tab's own recent entries, replayed to a tab whose devtools start later. */
  let history: DevtoolsTimelineEntry[] = [];
  let commands: DevtoolsCommandRecord[] = [];
  const dropped: Record<DevtoolsDropReason, number> = { foreign: 0, malformed: 0, oversized: 0, 'other-namespace': 0 };
  let lastEvent: DevtoolsTimelineEntry | null = null;
  let adoptions = 0;
  let entrySeq = 0;
  let reportSeq = 0;
  let lastEntryAt = 0;
  let startedAt = 0;
  let commandCount = 0;
  let session: Session | null = null;
  let starts = 0;
  const listeners = new Set<() => void>();

  const buildState = (): DevtoolsState => {
    const list = listTabs(tabs, tabId, clock.now(), silentAfterMs);
    return Object.freeze({
      tabId,
      namespace,
      running: session !== null,
      connected: session?.channel != null,
      tabs: list,
      self: list.find((tab) => tab.self) ?? null,
      timeline,
      totals: sumCounters(list),
      commands,
      dropped: { ...dropped },
    });
  };
  const serverState = buildState();
  let state = serverState;
  const changed = () => {
    state = buildState();
    for (const listener of [...listeners]) listener();
  };

  const post = (body: DevtoolsMessageBody) => session?.channel?.post({ ...body, protocol: DEVTOOLS_PROTOCOL, namespace, from: tabId });

  // ------------------------------------------------------------------ this tab's report

  /** When this tab first saw its held pair as expired (snapshot.expired), per version. */
  let expiredSince: { version: number; at: number } | null = null;
  const buildReport = async (): Promise<DevtoolsTabReport> => {
    const snapshot = client.getSnapshot();
    if (!snapshot.expired) expiredSince = null;
    else if (expiredSince?.version !== snapshot.version) expiredSince = { version: snapshot.version, at: clock.now() };
    const token = snapshot.tokens ? await summarizeTokens(snapshot.tokens, fingerprint, expiredSince?.at ?? null) : null;
    return {
      tabId,
      startedAt,
      seq: ++reportSeq,
      sentAt: clock.now(),
      label,
      status: snapshot.status,
      isLeader: snapshot.isLeader,
      version: snapshot.version,
      visibility: page.isVisible() ? 'visible' : 'hidden',
      storage: snapshot.storage,
      signedOutReason: snapshot.signedOutReason,
      errorCode: snapshot.error ? asCode(snapshot.error.code) : null,
      lastEvent,
      token,
      counters: countersFrom(client.metrics(), adoptions),
      canExpire: typeof client.markExpired === 'function',
    };
  };

  // One report in the making at a time; changes meanwhile ask for one more. Reports are numbered when built, so the
  // order they are posted in is the order of their numbers.
  let building = false;
  let dirty = false;
  const scheduleReport = () => {
    if (!session) return;
    dirty = true;
    if (!building) void reportLoop();
  };
  const reportLoop = async () => {
    building = true;
    try {
      while (dirty && session) {
        dirty = false;
        const report = await buildReport();
        if (!session) break;
        tabs = mergeReport(tabs, report, clock.now());
        post({ type: 'report', report });
        changed();
      }
    } catch {
      // A client that throws from getSnapshot/metrics: the devtools stay quiet rather than break the page.
    } finally {
      building = false;
    }
  };

  // ------------------------------------------------------------------ timeline

  /** This tab's clock for entries, never going back, so this tab's entries keep their order everywhere. */
  const stamp = () => (lastEntryAt = Math.max(lastEntryAt, clock.now()));

  const addOwnEntry = (entry: DevtoolsTimelineEntry) => {
    lastEvent = entry;
    history = [...history, entry].slice(-MAX_ENTRIES_PER_MESSAGE);
    timeline = mergeEntries(timeline, [entry], timelineLimit);
    post({ type: 'entries', entries: [entry] });
    changed();
    scheduleReport();
  };

  const onEvent = (event: AuthEvent) => {
    if (event.type === 'state-adopted') adoptions++;
    addOwnEntry(entryFromEvent(event, tabId, ++entrySeq, stamp()));
  };

  // ------------------------------------------------------------------ commands

  const execute = async (command: DevtoolsCommand, requestedBy: string): Promise<DevtoolsCommandResult> => {
    const detail = requestedBy === tabId ? 'this-tab' : `from:${requestedBy}`.slice(0, 64);
    const version = client.getSnapshot().version;
    if (command === 'expire') {
      if (typeof client.markExpired !== 'function') return failure('unsupported');
      const marked = client.markExpired();
      if (marked === null) return failure('signed_out');
      addOwnEntry({ tabId, seq: ++entrySeq, at: stamp(), kind: 'devtools-expire', version: marked, toVersion: null, detail });
      return { ok: true, version: marked, errorCode: null };
    }
    addOwnEntry({ tabId, seq: ++entrySeq, at: stamp(), kind: 'devtools-refresh', version, toVersion: null, detail });
    try {
      const result = await client.refresh();
      return { ok: true, version: result.version, errorCode: null };
    } catch (error) {
      return failure((isAuthError(error) ? asCode(error.code) : null) ?? 'failed');
    }
  };

  const ask = (target: string, command: DevtoolsCommand, id: string): Promise<DevtoolsCommandResult> => {
    const active = session;
    if (!active) return Promise.resolve(failure('not-started'));
    const channel = active.channel;
    if (!channel) return Promise.resolve(failure('no-channel'));
    if (!tabs.has(target)) return Promise.resolve(failure('unknown-tab'));
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        active.pending.delete(id);
        resolve(failure('no-answer'));
      }, commandTimeoutMs);
      active.pending.set(id, (result) => {
        clock.clearTimeout(timer);
        active.pending.delete(id);
        resolve(result);
      });
      post({ type: 'command', to: target, id, command });
    });
  };

  const send = async (target: string, command: DevtoolsCommand): Promise<DevtoolsCommandResult> => {
    const id = `c${(++commandCount).toString(36)}${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
    const record: DevtoolsCommandRecord = { id, command, target, startedAt: clock.now(), status: 'pending', result: null };
    commands = [record, ...commands].slice(0, COMMANDS_KEPT);
    changed();
    const result = target === tabId ? await execute(command, tabId) : await ask(target, command, id);
    commands = commands.map((entry) => (entry.id === id ? { ...entry, status: result.ok ? 'done' : 'failed', result } : entry));
    changed();
    return result;
  };

  // ------------------------------------------------------------------ messages from other tabs

  const onMessage = (raw: unknown) => {
    const message = parseDevtoolsMessage(raw, namespace);
    if (isDroppedDevtoolsMessage(message)) {
      dropped[message.dropped]++;
      changed();
      return;
    }
    if (!session || message.from === tabId) return;
    switch (message.type) {
      case 'hello':
        scheduleReport();
        if (history.length > 0) post({ type: 'entries', entries: history });
        return;
      case 'report':
        tabs = mergeReport(tabs, message.report, clock.now());
        changed();
        return;
      case 'entries':
        timeline = mergeEntries(timeline, message.entries, timelineLimit);
        changed();
        return;
      case 'bye':
        tabs = removeTab(tabs, message.from);
        changed();
        return;
      case 'command': {
        if (message.to !== tabId) return;
        const { from, id, command } = message;
        void execute(command, from).then((result) => post({ type: 'command-result', to: from, id, command, result }));
        return;
      }
      case 'command-result':
        if (message.to === tabId) session.pending.get(message.id)?.(message.result);
        return;
    }
  };

  // ------------------------------------------------------------------ lifecycle

  const beat = () => {
    const active = session;
    if (!active) return;
    tabs = forgetSilentTabs(tabs, tabId, clock.now(), forgetAfterMs);
    scheduleReport();
    changed(); // silence is a matter of time
    active.heartbeat = clock.setTimeout(beat, heartbeatMs);
  };

  const onPage = (change: 'visibility' | 'hide' | 'show') => {
    if (change === 'hide') post({ type: 'bye' });
    if (change === 'show') post({ type: 'hello' });
    scheduleReport();
  };

  const openChannel = (): DevtoolsChannel | null => {
    try {
      return channelFactory ? channelFactory(devtoolsChannelName(namespace)) : null;
    } catch {
      return null; // e.g. a sandboxed iframe where BroadcastChannel throws: this tab only
    }
  };

  const begin = () => {
    // A restart must count as newer even within the same millisecond.
    startedAt = Math.max(clock.now(), startedAt + 1);
    const channel = openChannel();
    const active: Session = { channel, cleanups: [], heartbeat: undefined, pending: new Map() };
    session = active;
    if (channel) active.cleanups.push(channel.subscribe(onMessage));
    active.cleanups.push(client.on(onEvent), client.subscribe(scheduleReport), page.subscribe(onPage));
    post({ type: 'hello' });
    scheduleReport();
    active.heartbeat = clock.setTimeout(beat, heartbeatMs);
    changed();
  };

  const end = () => {
    const active = session;
    if (!active) return;
    post({ type: 'bye' });
    session = null;
    if (active.heartbeat !== undefined) clock.clearTimeout(active.heartbeat);
    active.cleanups.forEach((cleanup) => cleanup());
    for (const resolve of [...active.pending.values()]) resolve(failure('stopped'));
    active.channel?.close();
    tabs = removeTabsExcept(tabs, tabId);
    changed();
  };

  return {
    tabId,
    namespace,
    start() {
      if (++starts === 1) begin();
      let undone = false;
      return () => {
        if (undone) return;
        undone = true;
        if (--starts === 0) end();
      };
    },
    getSnapshot: () => state,
    getServerSnapshot: () => serverState,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    refresh: (target) => send(target, 'refresh'),
    expire: (target) => send(target, 'expire'),
  };
}

/** After a stop, only this tab is known for sure; the others report again on the next start (hello). */
function removeTabsExcept(tabs: ReadonlyMap<string, KnownTab>, keep: string): ReadonlyMap<string, KnownTab> {
  const own = tabs.get(keep);
  return own ? new Map([[keep, own]]) : new Map();
}
