import {
  DEVTOOLS_PROTOCOL,
  MAX_ENTRIES_PER_MESSAGE,
  parseDevtoolsMessage,
  type DevtoolsTabReport,
  type DevtoolsTimelineEntry,
} from '../../src/devtools/core/protocol';
import { seededRandom } from '../sim/helpers';

const NS = 'app';
const FROM = 'tab1abc';
const envelope = { protocol: DEVTOOLS_PROTOCOL, namespace: NS, from: FROM };

const entry = (overrides: Partial<DevtoolsTimelineEntry> = {}): DevtoolsTimelineEntry => ({
  tabId: FROM,
  seq: 1,
  at: 1_900_000_000_000,
  kind: 'refresh-succeeded',
  version: 3,
  toVersion: 4,
  detail: null,
  ...overrides,
});

const report = (): DevtoolsTabReport => ({
  tabId: FROM,
  startedAt: 1_900_000_000_000,
  seq: 7,
  sentAt: 1_900_000_000_500,
  label: 'Tab 1',
  status: 'authenticated',
  isLeader: true,
  version: 4,
  visibility: 'visible',
  storage: 'persistent',
  signedOutReason: null,
  errorCode: null,
  lastEvent: entry(),
  token: {
    accessFingerprint: '0a1b2c3d',
    refreshFingerprint: 'ffee0011',
    idFingerprint: null,
    tokenType: 'Bearer',
    scope: 'openid profile',
    expiresAt: 1_900_000_060_000,
    receivedAt: 1_900_000_000_000,
    claims: { from: 'id-token', sub: 'user-1', iss: 'https://id.example', aud: 'spa', exp: 1_900_000_060, iat: 1_900_000_000 },
  },
  counters: {
    refreshRequests: 1,
    refreshSuccesses: 1,
    refreshFailures: 0,
    refreshSkipped: 0,
    adoptions: 2,
    leadershipGained: 1,
    messagesDropped: 0,
    signOuts: 0,
    storageErrors: 0,
  },
  canExpire: true,
});

/** One valid message of every type. */
const valid = (): Array<Record<string, unknown>> => [
  { ...envelope, type: 'hello' },
  { ...envelope, type: 'bye' },
  { ...envelope, type: 'report', report: report() },
  { ...envelope, type: 'entries', entries: [entry(), entry({ seq: 2, kind: 'state-adopted', version: 5, toVersion: null, detail: 'channel' })] },
  { ...envelope, type: 'command', to: 'tab2xyz', id: 'c1abc', command: 'refresh' },
  { ...envelope, type: 'command-result', to: 'tab2xyz', id: 'c1abc', command: 'expire', result: { ok: false, version: null, errorCode: 'signed_out' } },
];

describe('devtools message validation', () => {
  it.each(valid().map((message) => [message.type, message]))('accepts a valid %s message unchanged', (_type, message) => {
    expect(parseDevtoolsMessage(structuredClone(message), NS)).toEqual(message);
  });

  it('rebuilds every object from the fields it checked: nothing else gets through', () => {
    const poisoned = {
      ...envelope,
      type: 'report',
      accessToken: 'eyJ.secret.x',
      report: { ...report(), accessToken: 'eyJ.secret.x', token: { ...report().token, raw: 'eyJ.secret.x' } },
    };
    const parsed = parseDevtoolsMessage(poisoned, NS);
    expect(JSON.stringify(parsed)).not.toContain('secret');
    expect(parsed).toEqual({ ...envelope, type: 'report', report: report() });
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['a number', 42],
    ['an array', [envelope]],
    ['an object without protocol', { type: 'hello', namespace: NS, from: FROM }],
    ["the core's own tab protocol", { protocol: 'tabauth/1', namespace: NS, from: FROM, type: 'leader-hello' }],
    ['a future protocol version', { ...envelope, protocol: 'tabauth-devtools/2', type: 'hello' }],
  ])('drops %s as foreign', (_what, raw) => {
    expect(parseDevtoolsMessage(raw, NS)).toEqual({ dropped: 'foreign' });
  });

  it('drops another namespace', () => {
    expect(parseDevtoolsMessage({ ...envelope, namespace: 'other', type: 'hello' }, NS)).toEqual({ dropped: 'other-namespace' });
  });

  it('drops oversized messages before reading them', () => {
    expect(parseDevtoolsMessage({ ...envelope, type: 'hello', padding: 'x'.repeat(70_000) }, NS)).toEqual({ dropped: 'oversized' });
  });

  const malformed: Array<[string, () => unknown]> = [
    ['no namespace', () => ({ protocol: DEVTOOLS_PROTOCOL, from: FROM, type: 'hello' })],
    ['an empty sender', () => ({ ...envelope, from: '', type: 'hello' })],
    ['a sender id with spaces', () => ({ ...envelope, from: 'a b', type: 'hello' })],
    ['an unknown type', () => ({ ...envelope, type: 'sign-out' })],
    ['a report for another tab', () => ({ ...envelope, type: 'report', report: { ...report(), tabId: 'someoneelse' } })],
    ['a negative version', () => ({ ...envelope, type: 'report', report: { ...report(), version: -1 } })],
    ['a fractional seq', () => ({ ...envelope, type: 'report', report: { ...report(), seq: 1.5 } })],
    ['an unknown status', () => ({ ...envelope, type: 'report', report: { ...report(), status: 'hacked' } })],
    ['isLeader as a string', () => ({ ...envelope, type: 'report', report: { ...report(), isLeader: 'true' } })],
    ['a long label', () => ({ ...envelope, type: 'report', report: { ...report(), label: 'x'.repeat(81) } })],
    [
      'a fingerprint that is a token',
      () => ({ ...envelope, type: 'report', report: { ...report(), token: { ...report().token, accessFingerprint: 'eyJhbGciOi.payload.sig' } } }),
    ],
    [
      'an upper-case fingerprint',
      () => ({ ...envelope, type: 'report', report: { ...report(), token: { ...report().token, accessFingerprint: '0A1B2C3D' } } }),
    ],
    ['a missing counter', () => ({ ...envelope, type: 'report', report: { ...report(), counters: { ...report().counters, adoptions: undefined } } })],
    ['an error code with spaces', () => ({ ...envelope, type: 'report', report: { ...report(), errorCode: 'not a code' } })],
    ['a last event of another tab', () => ({ ...envelope, type: 'report', report: { ...report(), lastEvent: entry({ tabId: 'other' }) } })],
    ['no entries', () => ({ ...envelope, type: 'entries', entries: [] })],
    ['too many entries', () => ({ ...envelope, type: 'entries', entries: Array.from({ length: MAX_ENTRIES_PER_MESSAGE + 1 }, (_, i) => entry({ seq: i })) })],
    ['an entry of an unknown kind', () => ({ ...envelope, type: 'entries', entries: [entry({ kind: 'eval' as never })] })],
    ['an entry with a NaN time', () => ({ ...envelope, type: 'entries', entries: [entry({ at: Number.NaN })] })],
    ['an unknown command', () => ({ ...envelope, type: 'command', to: 'tab2', id: 'c1', command: 'sign-out' })],
    ['a command without id', () => ({ ...envelope, type: 'command', to: 'tab2', command: 'refresh' })],
    ['a result without ok', () => ({ ...envelope, type: 'command-result', to: 'tab2', id: 'c1', command: 'refresh', result: { version: 1, errorCode: null } })],
    [
      'a cyclic object',
      () => {
        const cyclic: Record<string, unknown> = { ...envelope, type: 'hello' };
        cyclic.self = cyclic;
        return cyclic;
      },
    ],
    ['a BigInt', () => ({ ...envelope, type: 'hello', n: 1n })],
    [
      'a throwing getter',
      () => ({
        ...envelope,
        type: 'command',
        to: 'tab2',
        id: 'c1',
        get command() {
          throw new Error('boom');
        },
      }),
    ],
  ];
  it.each(malformed)('drops a message with %s as malformed', (_what, make) => {
    expect(parseDevtoolsMessage(make(), NS)).toEqual({ dropped: 'malformed' });
  });

  it('300 random mutations of valid messages never throw, and anything accepted is itself valid', () => {
    const random = seededRandom(13);
    const junk = [null, -1, 1.5, '', 'x'.repeat(300), 'has space', true, [], {}, Number.NaN, 'eyJ.token.like', 2 ** 60];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const paths = (value: unknown, prefix: string[] = []): string[][] =>
      value !== null && typeof value === 'object' ? Object.entries(value).flatMap(([key, child]) => [[...prefix, key], ...paths(child, [...prefix, key])]) : [];
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const message = structuredClone(pick(valid()));
      const path = pick(paths(message));
      let holder = message as Record<string, unknown>;
      for (const key of path.slice(0, -1)) holder = holder[key] as Record<string, unknown>;
      const key = path.at(-1)!;
      if (random() < 0.2) delete holder[key];
      else holder[key] = pick(junk);
      const result = parseDevtoolsMessage(message, NS);
      if ('dropped' in result) continue;
      accepted++;
      expect(parseDevtoolsMessage(result, NS)).toEqual(result); // what passes is a fixed point of the parser
    }
    expect(accepted).toBeLessThan(300);
  });
});
