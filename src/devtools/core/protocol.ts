import type { AuthEventType } from '../../core/events';
import type { AuthStatus, SignOutReason } from '../../core/types';

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
  'devtools-refresh',
  'devtools-expire',
]);

/** One thing that happened in one tab. Built from a core event (which never carries a token string). */
export interface DevtoolsTimelineEntry {
  tabId: string;
  /** Per tab, strictly increasing: together with `tabId` it identifies the entry. */
  seq: number;
  /** Epoch ms in the tab it happened in (never earlier than that tab's previous entry). */
  at: number;
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
  refreshFingerprint: string | null;
  idFingerprint: string | null;
  tokenType: string;
  scope: string | null;
  /** Local epoch ms; null for an opaque token of unknown lifetime. */
  expiresAt: number | null;
  receivedAt: number;
  /** Claims of the id token, else of the access token (decoded, not verified; null for opaque tokens). */
  claims: DevtoolsClaims | null;
}

export interface DevtoolsClaims {
  /** Which token the claims were decoded from. */
  from: 'id-token' | 'access-token';
  sub: string | null;
  iss: string | null;
  aud: string | null;
  /** Seconds since the epoch, as in the JWT. */
  exp: number | null;
  iat: number | null;
}

/** Counters of one tab (from `client.metrics()`, summed over labels; `adoptions` counted since its devtools started). */
export interface DevtoolsCounters {
  refreshRequests: number;
  refreshSuccesses: number;
  refreshFailures: number;
  refreshSkipped: number;
  adoptions: number;
  leadershipGained: number;
  messagesDropped: number;
  signOuts: number;
  storageErrors: number;
}

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
  tabId: string;
  /** When this tab's devtools started (epoch ms); a restart with a later time replaces the older reports. */
  startedAt: number;
  /** Increases with every report of one devtools instance. */
  seq: number;
  sentAt: number;
  /** The name the app gave this tab (`label` option), if any. */
  label: string | null;
  status: AuthStatus;
  isLeader: boolean;
  version: number;
  visibility: 'visible' | 'hidden';
  storage: 'persistent' | 'memory';
  signedOutReason: SignOutReason | null;
  /** Code of the snapshot's error (`AuthError.code`), if any. */
  errorCode: string | null;
  lastEvent: DevtoolsTimelineEntry | null;
  token: DevtoolsTokenSummary | null;
  counters: DevtoolsCounters;
  /** The client has the `markExpired` hook, so "Expire" works on this tab. */
  canExpire: boolean;
}

export type DevtoolsCommand = 'refresh' | 'expire';

export interface DevtoolsCommandResult {
  ok: boolean;
  /** refresh: the version now held; expire: the version marked. */
  version: number | null;
  /** Why it failed: an `AuthError` code, 'no-answer', 'no-channel', 'unsupported', 'signed_out', 'unknown-tab'. */
  errorCode: string | null;
}

interface Envelope {
  protocol: typeof DEVTOOLS_PROTOCOL;
  namespace: string;
  /** The sending tab's id (the client's `tabId`). */
  from: string;
}

/** A devtools instance started: every tab answers with its report and its recent entries. */
export interface HelloMessage extends Envelope {
  type: 'hello';
}
export interface ReportMessage extends Envelope {
  type: 'report';
  report: DevtoolsTabReport;
}
export interface EntriesMessage extends Envelope {
  type: 'entries';
  entries: DevtoolsTimelineEntry[];
}
/** The tab is going away (devtools stopped, or the page is hidden for good). */
export interface ByeMessage extends Envelope {
  type: 'bye';
}
export interface CommandMessage extends Envelope {
  type: 'command';
  to: string;
  id: string;
  command: DevtoolsCommand;
}
export interface CommandResultMessage extends Envelope {
  type: 'command-result';
  to: string;
  id: string;
  command: DevtoolsCommand;
  result: DevtoolsCommandResult;
}

export type DevtoolsMessage = HelloMessage | ReportMessage | EntriesMessage | ByeMessage | CommandMessage | CommandResultMessage;

/** A message before the envelope fields are added. */
export type DevtoolsMessageBody = DevtoolsMessage extends infer M ? (M extends DevtoolsMessage ? Omit<M, keyof Envelope> : never) : never;

export type DevtoolsDropReason = 'foreign' | 'malformed' | 'oversized' | 'other-namespace';

/** A report is a few hundred bytes and one message carries at most MAX_ENTRIES entries; anything bigger is not ours. */
export const MAX_DEVTOOLS_MESSAGE_CHARS = 64 * 1024;
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

export function isDroppedDevtoolsMessage(result: DevtoolsMessage | { dropped: DevtoolsDropReason }): result is { dropped: DevtoolsDropReason } {
  return 'dropped' in result;
}
