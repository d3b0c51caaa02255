import type { AuthEventType, AuthStatus, SignOutReason } from 'tabauth';
/**
 * The devtools protocol: what tabs with tabauth/devtools tell each other over their own BroadcastChannel
 * (`tabauth-devtools:<namespace>`), never over the core's channel. Like the core's tab protocol, every incoming message
 * is validated and anything foreign, malformed, oversized or of another namespace is dropped and counted, never thrown.
 * The parser rebuilds every object from the fields it checked, so a field nobody asked for (a token string, say)
 * never reaches the panel.
 */
export const DEVTOOLS_PROTOCOL = 'tabauth-devtools/1';

/** The channel the devtools of one namespace share. */
export function devtoolsChannelName(namespace: string): string {
  return `tabauth-devtools:${namespace}`;
}

/** Timeline kinds: every core event, plus the two devtools commands a tab carried out. */
export type DevtoolsEntryKind = AuthEventType | 'devtools-refresh' | 'devtools-expire';

const ENTRY_KINDS: ReadonlySet<string> = new Set<DevtoolsEntryKind>([
  'refresh-started',
  'refresh-succeeded',
  'refresh-failed',
  'refresh-skipped',
  'leadership-gained',
  'leadership-lost',
  'signed-in',
  'signed-out',
  'state-adopted',
  'storage-fallback',
  'storage-error',
  'message-dropped',
  'revocation-failed',
  'token-response-repaired',
  'dpop-key-created',
  'dpop-key-adopted',
  'dpop-key-deleted',
  'dpop-nonce-retry',
  'dpop-nonce-updated',
  'dpop-storage-fallback',
  'coordination-worker',
  'coordination-fallback',
  'devtools-refresh',
  'devtools-expire',
]);

/** One thing that happened in one tab. Built from a core event (which never carries a token string). */
export interface DevtoolsTimelineEntry {
  /** The tab it happened in. */
  tabId: string;
  /** Per tab, strictly increasing: together with `tabId` it identifies the entry. */
  seq: number;
  /** Epoch ms in the tab it happened in (never earlier than that tab's previous entry). */
  at: number;
  /** What happened: the core event's type, or the devtools command carried out. */
  kind: DevtoolsEntryKind;
  /** The version the event is about (the one refreshed, adopted, signed in or out), when it has one. */
  version: number | null;
  /** refresh-succeeded: the new version. */
  toVersion: number | null;
  /** A short code: the trigger, reason, source or error code. */
  detail: string | null;
}

/** Non-reversible fingerprints and display claims of the pair a tab holds. Never a token string. */
export interface DevtoolsTokenSummary {
  /** First 8 hex digits of SHA-256 of the access token (see `tokenFingerprint`). */
  accessFingerprint: string;
  /** Fingerprint of the refresh token, computed like `accessFingerprint`; null when there is none. */
  refreshFingerprint: string | null;
  /** Fingerprint of the id token, computed like `accessFingerprint`; null when there is none. */
  idFingerprint: string | null;
  /** The token type the server named, e.g. Bearer. */
  tokenType: string;
  /** The granted scope, when the server sent one. */
  scope: string | null;
  /** Local epoch ms; null for an opaque token of unknown lifetime. */
  expiresAt: number | null;
  /** When the pair arrived (local epoch ms). */
  receivedAt: number;
  /** Claims of the id token, else of the access token (decoded, not verified; null for opaque tokens). */
  claims: DevtoolsClaims | null;
}

/** A few claims of a JWT, for display only (decoded, not verified). */
export interface DevtoolsClaims {
  /** Which token the claims were decoded from. */
  from: 'id-token' | 'access-token';
  /** The subject (the user), if the token names one. */
  sub: string | null;
  /** The issuer, if the token names one. */
  iss: string | null;
  /** The audience, if the token names one. */
  aud: string | null;
  /** Seconds since the epoch, as in the JWT. */
  exp: number | null;
  /** When the token was issued: seconds since the epoch, as in the JWT. */
  iat: number | null;
}

/** Counters of one tab (from `client.metrics()`, summed over labels; `adoptions` counted since its devtools started). */
export interface DevtoolsCounters {
  /** Refreshes sent to the server. */
  refreshRequests: number;
  /** Refreshes that succeeded. */
  refreshSuccesses: number;
  /** Refreshes that failed. */
  refreshFailures: number;
  /** Refreshes not needed or left to another tab. */
  refreshSkipped: number;
  /** Times this tab took over state another tab had stored. */
  adoptions: number;
  /** Times this tab became the leader. */
  leadershipGained: number;
  /** Core tab messages dropped by validation. */
  messagesDropped: number;
  /** Sign-outs, for any reason. */
  signOuts: number;
  /** Failed reads or writes of the storage. */
  storageErrors: number;
}

/** The names of the counters, in the order the panel shows them. */
export const COUNTER_KEYS = [
  'refreshRequests',
  'refreshSuccesses',
  'refreshFailures',
  'refreshSkipped',
  'adoptions',
  'leadershipGained',
  'messagesDropped',
  'signOuts',
  'storageErrors',
] as const satisfies ReadonlyArray<keyof DevtoolsCounters>;

/** What one tab reports about itself. */
export interface DevtoolsTabReport {
  /** The reporting tab. */
  tabId: string;
  /** When this tab's devtools started (epoch ms); a restart with a later time replaces the older reports. */
  startedAt: number;
  /** Increases with every report of one devtools instance. */
  seq: number;
  /** When the report was sent (epoch ms). */
  sentAt: number;
  /** The name the app gave this tab (`label` option), if any. */
  label: string | null;
  /** The client's status. */
  status: AuthStatus;
  /** This tab is the leader of the namespace. */
  isLeader: boolean;
  /** The version of the state this tab holds. */
  version: number;
  /** Whether the tab is shown or in the background. */
  visibility: 'visible' | 'hidden';
  /** Where the client keeps its state: lasting storage, or memory only. */
  storage: 'persistent' | 'memory';
  /** Why the client is signed out, when it is. */
  signedOutReason: SignOutReason | null;
  /** Code of the snapshot's error (`AuthError.code`), if any. */
  errorCode: string | null;
  /** The tab's latest timeline entry, if any. */
  lastEvent: DevtoolsTimelineEntry | null;
  /** Fingerprints and claims of the pair the tab holds; null when signed out. */
  token: DevtoolsTokenSummary | null;
  /** The tab's counters. */
  counters: DevtoolsCounters;
  /** The client has the `markExpired` hook, so "Expire" works on this tab. */
  canExpire: boolean;
}

/** What the panel can ask a tab to do. */
export type DevtoolsCommand = 'refresh' | 'expire';

/** A tab's answer to a command. */
export interface DevtoolsCommandResult {
  /** The command succeeded. */
  ok: boolean;
  /** refresh: the version now held; expire: the version marked. */
  version: number | null;
  /** Why it failed: an `AuthError` code, 'no-answer', 'no-channel', 'unsupported', 'signed_out', 'unknown-tab'. */
  errorCode: string | null;
}

/** The fields every devtools message carries. */
export interface DevtoolsEnvelope {
  /** Marks the message as the devtools protocol (and its version). */
  protocol: typeof DEVTOOLS_PROTOCOL;
  /** The namespace of the sending tab's client. */
  namespace: string;
  /** The sending tab's id (the client's `tabId`). */
  from: string;
}

/** A devtools instance started: every tab answers with its report and its recent entries. */
export interface HelloMessage extends DevtoolsEnvelope {
  /** The kind of message. */
  type: 'hello';
}
/** A tab's report about itself, sent on change and as a heartbeat. */
export interface ReportMessage extends DevtoolsEnvelope {
  /** The kind of message. */
  type: 'report';
  /** The sending tab's report. */
  report: DevtoolsTabReport;
}
/** New timeline entries of the sending tab. */
export interface EntriesMessage extends DevtoolsEnvelope {
  /** The kind of message. */
  type: 'entries';
  /** The entries, oldest first. */
  entries: DevtoolsTimelineEntry[];
}
/** The tab is going away (devtools stopped, or the page is hidden for good). */
export interface ByeMessage extends DevtoolsEnvelope {
  /** The kind of message. */
  type: 'bye';
}
/** A panel asks one tab to carry out a command. */
export interface CommandMessage extends DevtoolsEnvelope {
  /** The kind of message. */
  type: 'command';
  /** The tab that should carry it out. */
  to: string;
  /** Identifies the command, so the answer can be matched to it. */
  id: string;
  /** What the tab should do. */
  command: DevtoolsCommand;
}
/** A tab's answer to a command, sent back to the panel that asked. */
export interface CommandResultMessage extends DevtoolsEnvelope {
  /** The kind of message. */
  type: 'command-result';
  /** The tab whose panel sent the command. */
  to: string;
  /** The id of the command answered. */
  id: string;
  /** The command answered. */
  command: DevtoolsCommand;
  /** How it went. */
  result: DevtoolsCommandResult;
}

/** Every devtools message, validated on arrival by `parseDevtoolsMessage`. */
export type DevtoolsMessage = HelloMessage | ReportMessage | EntriesMessage | ByeMessage | CommandMessage | CommandResultMessage;

/** A message before the envelope fields are added. */
export type DevtoolsMessageBody = DevtoolsMessage extends infer M ? (M extends DevtoolsMessage ? Omit<M, keyof DevtoolsEnvelope> : never) : never;

/** Why a devtools message was dropped (counted in the panel, never thrown). */
export type DevtoolsDropReason = 'foreign' | 'malformed' | 'oversized' | 'other-namespace';

/** A report is a few hundred bytes and one message carries at most MAX_ENTRIES entries; anything bigger is not ours. */
export const MAX_DEVTOOLS_MESSAGE_CHARS = 64 * 1024;
/** The most timeline entries one message may carry. */
export const MAX_ENTRIES_PER_MESSAGE = 50;

class Malformed extends Error {}

const fail = (): never => {
  throw new Malformed();
};

type Fields = Record<string, unknown>;

function object(value: unknown): Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : fail();
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const FINGERPRINT = /^[0-9a-f]{8}$/;

function id(value: unknown): string {
  return typeof value === 'string' && ID.test(value) ? value : fail();
}
function code(value: unknown): string {
  return typeof value === 'string' && CODE.test(value) ? value : fail();
}
function nullable<T>(value: unknown, check: (value: unknown) => T): T | null {
  return value === null ? null : check(value);
}
function text(max: number) {
  return (value: unknown): string => (typeof value === 'string' && value.length <= max ? value : fail());
}
function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fail();
}
function time(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fail();
}
function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fail();
}
function bool(value: unknown): boolean {
  return typeof value === 'boolean' ? value : fail();
}
function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: unknown): T => (typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fail());
}
function fingerprint(value: unknown): string {
  return typeof value === 'string' && FINGERPRINT.test(value) ? value : fail();
}

const STATUSES = ['loading', 'authenticated', 'signed-out'] as const;
const SIGN_OUT_REASONS = ['user', 'refresh-rejected', 'no-refresh-token'] as const;
const COMMANDS = ['refresh', 'expire'] as const;

/** Validates one timeline entry sent by tab `from` and rebuilds it; throws when it is malformed. */
export function parseEntry(value: unknown, from: string): DevtoolsTimelineEntry {
  const raw = object(value);
  const tabId = id(raw.tabId);
  if (tabId !== from) fail(); // a tab speaks for itself only
  const kind = raw.kind;
  if (typeof kind !== 'string' || !ENTRY_KINDS.has(kind)) fail();
  return {
    tabId,
    seq: count(raw.seq),
    at: time(raw.at),
    kind: kind as DevtoolsEntryKind,
    version: nullable(raw.version, count),
    toVersion: nullable(raw.toVersion, count),
    detail: nullable(raw.detail, code),
  };
}

function parseClaims(value: unknown): DevtoolsClaims {
  const raw = object(value);
  return {
    from: oneOf(['id-token', 'access-token'] as const)(raw.from),
    sub: nullable(raw.sub, text(256)),
    iss: nullable(raw.iss, text(256)),
    aud: nullable(raw.aud, text(256)),
    exp: nullable(raw.exp, finite),
    iat: nullable(raw.iat, finite),
  };
}

function parseToken(value: unknown): DevtoolsTokenSummary {
  const raw = object(value);
  return {
    accessFingerprint: fingerprint(raw.accessFingerprint),
    refreshFingerprint: nullable(raw.refreshFingerprint, fingerprint),
    idFingerprint: nullable(raw.idFingerprint, fingerprint),
    tokenType: code(raw.tokenType),
    scope: nullable(raw.scope, text(512)),
    expiresAt: nullable(raw.expiresAt, finite),
    receivedAt: time(raw.receivedAt),
    claims: nullable(raw.claims, parseClaims),
  };
}

function parseCounters(value: unknown): DevtoolsCounters {
  const raw = object(value);
  const counters = {} as DevtoolsCounters;
  for (const key of COUNTER_KEYS) counters[key] = count(raw[key]);
  return counters;
}

/** Validates the report sent by tab `from` and rebuilds it; throws when it is malformed. */
export function parseReport(value: unknown, from: string): DevtoolsTabReport {
  const raw = object(value);
  const tabId = id(raw.tabId);
  if (tabId !== from) fail();
  return {
    tabId,
    startedAt: time(raw.startedAt),
    seq: count(raw.seq),
    sentAt: time(raw.sentAt),
    label: nullable(raw.label, text(80)),
    status: oneOf(STATUSES)(raw.status),
    isLeader: bool(raw.isLeader),
    version: count(raw.version),
    visibility: oneOf(['visible', 'hidden'] as const)(raw.visibility),
    storage: oneOf(['persistent', 'memory'] as const)(raw.storage),
    signedOutReason: nullable(raw.signedOutReason, oneOf(SIGN_OUT_REASONS)),
    errorCode: nullable(raw.errorCode, code),
    lastEvent: nullable(raw.lastEvent, (entry) => parseEntry(entry, from)),
    token: nullable(raw.token, parseToken),
    counters: parseCounters(raw.counters),
    canExpire: bool(raw.canExpire),
  };
}

function parseResult(value: unknown): DevtoolsCommandResult {
  const raw = object(value);
  return { ok: bool(raw.ok), version: nullable(raw.version, count), errorCode: nullable(raw.errorCode, code) };
}

/** Returns the message (rebuilt from its validated fields) or the reason it is dropped. Never throws. */
export function parseDevtoolsMessage(raw: unknown, namespace: string): DevtoolsMessage | { dropped: DevtoolsDropReason } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { dropped: 'foreign' };
  const message = raw as Fields;
  if (message.protocol !== DEVTOOLS_PROTOCOL) return { dropped: 'foreign' };
  let size: number;
  try {
    size = JSON.stringify(raw).length;
  } catch {
    return { dropped: 'malformed' };
  }
  if (size > MAX_DEVTOOLS_MESSAGE_CHARS) return { dropped: 'oversized' };
  if (typeof message.namespace !== 'string') return { dropped: 'malformed' };
  if (message.namespace !== namespace) return { dropped: 'other-namespace' };
  try {
    const from = id(message.from);
    const envelope = { protocol: DEVTOOLS_PROTOCOL, namespace, from } as const;
    switch (message.type) {
      case 'hello':
      case 'bye':
        return { ...envelope, type: message.type };
      case 'report':
        return { ...envelope, type: 'report', report: parseReport(message.report, from) };
      case 'entries': {
        const entries = message.entries;
        if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES_PER_MESSAGE) fail();
        return { ...envelope, type: 'entries', entries: (entries as unknown[]).map((entry) => parseEntry(entry, from)) };
      }
      case 'command':
        return { ...envelope, type: 'command', to: id(message.to), id: id(message.id), command: oneOf(COMMANDS)(message.command) };
      case 'command-result':
        return {
          ...envelope,
          type: 'command-result',
          to: id(message.to),
          id: id(message.id),
          command: oneOf(COMMANDS)(message.command),
          result: parseResult(message.result),
        };
      default:
        return { dropped: 'malformed' };
    }
  } catch {
    // A failed check (Malformed), or a getter of a hand-made object that throws: either way not a usable message.
    return { dropped: 'malformed' };
  }
}

/** Tells whether `parseDevtoolsMessage` dropped the message. */
export function isDroppedDevtoolsMessage(result: DevtoolsMessage | { dropped: DevtoolsDropReason }): result is { dropped: DevtoolsDropReason } {
  return 'dropped' in result;
}
