// @vitest-environment node
/** Nonces shared by the tabs of a namespace: channel for live tabs, storage for later ones, one winner when they cross. */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStorage, type DpopEvent } from '../../src/core';
import { createDpop, isValidNonce, type Dpop } from '../../src/dpop';
import { createSimulatedClock, createSimulatedNetwork } from '../../src/testing';

const handles: Dpop[] = [];
afterEach(() => handles.splice(0).forEach((handle) => handle.close()));

function tabs(count: number) {
  const clock = createSimulatedClock();
  const network = createSimulatedNetwork({ clock, deliveryDelayMs: 5 });
  const shared = new Map<string, unknown>();
  const opened = Array.from({ length: count }, (_, index) => {
    const events: DpopEvent[] = [];
    let now = clock.now();
    const handle = createDpop({
      storage: createMemoryStorage(shared),
      locks: null,
      channel: (name) => network.coordination(`tab-${index}`)(name).channel,
      now: () => now,
    });
    handle.subscribe((event) => events.push(event));
    handle.connect();
    handles.push(handle);
    return { handle, events, setNow: (at: number) => (now = at) };
  });
  return { clock, opened, shared };
}

describe('shared nonces', () => {
  it('a nonce one tab learnt reaches the live tabs over the channel', async () => {
    const { clock, opened } = tabs(3);
    const [a, b] = opened;
    expect(await b!.handle.nonceFor('https://auth.example', 'authorization')).toBeUndefined(); // b has read storage already
    await a!.handle.rememberNonce('https://auth.example/token', 'nonce-1', 'authorization');
    expect(await b!.handle.nonceFor('https://auth.example', 'authorization')).toBeUndefined(); // not delivered yet
    await clock.advance(10);
    expect(await b!.handle.nonceFor('https://auth.example/anything', 'authorization')).toBe('nonce-1');
    expect(b!.events).toContainEqual({ type: 'dpop-nonce-updated', server: 'authorization', origin: 'https://auth.example', source: 'other-tab' });
  });

  it('a tab opened later reads the nonce from storage', async () => {
    const shared = new Map<string, unknown>();
    const first = createDpop({ storage: createMemoryStorage(shared), locks: null, channel: null });
    const late = createDpop({ storage: createMemoryStorage(shared), locks: null, channel: null });
    const events: DpopEvent[] = [];
    late.subscribe((event) => events.push(event));
    handles.push(first, late);
    await first.rememberNonce('https://api.example', 'n-api', 'resource');
    expect(await late.nonceFor('https://api.example', 'resource')).toBe('n-api');
    expect(events).toEqual([{ type: 'dpop-nonce-updated', server: 'resource', origin: 'https://api.example', source: 'storage' }]);
  });

  it('two tabs that learn different nonces at the same moment end with the same one (the later receipt wins)', async () => {
    const { clock, opened } = tabs(2);
    const [a, b] = opened;
    a!.setNow(1_000);
    b!.setNow(1_001);
    await Promise.all([
      a!.handle.rememberNonce('https://auth.example', 'from-a', 'authorization'),
      b!.handle.rememberNonce('https://auth.example', 'from-b', 'authorization'),
    ]);
    await clock.advance(20); // the two messages cross
    expect(await a!.handle.nonceFor('https://auth.example', 'authorization')).toBe('from-b');
    expect(await b!.handle.nonceFor('https://auth.example', 'authorization')).toBe('from-b');
  });

  it('values a server must not send are ignored: no storage, no message, no event', async () => {
    const { clock, opened, shared } = tabs(2);
    const [a, b] = opened;
    for (const bad of ['', 'with space', 'quote"', 'back\\slash', 'x'.repeat(513), 'ünicode']) {
      expect(isValidNonce(bad)).toBe(false);
      await a!.handle.rememberNonce('https://auth.example', bad, 'authorization');
    }
    await clock.advance(20);
    expect(await a!.handle.nonceFor('https://auth.example', 'authorization')).toBeUndefined();
    expect(await b!.handle.nonceFor('https://auth.example', 'authorization')).toBeUndefined();
    expect([...a!.events, ...b!.events]).toEqual([]);
    expect(shared.size).toBe(0);
  });

  it('forged or malformed channel messages are ignored', async () => {
    const clock = createSimulatedClock();
    const network = createSimulatedNetwork({ clock });
    const handle = createDpop({ storage: createMemoryStorage(), locks: null, channel: (name) => network.coordination('victim')(name).channel });
    handles.push(handle);
    handle.connect();
    const attacker = network.coordination('other')('tabauth:default:dpop').channel;
    const base = { protocol: 'tabauth-dpop/1', namespace: 'default', from: 'x' };
    for (const message of [
      { ...base, type: 'nonce', origin: 'https://auth.example', nonce: 'bad nonce', server: 'authorization', at: 1 },
      { ...base, type: 'nonce', origin: 'https://auth.example', nonce: 'ok', server: 'elsewhere', at: 1 },
      { ...base, namespace: 'other', type: 'nonce', origin: 'https://auth.example', nonce: 'ok', server: 'authorization', at: 1 },
      { ...base, type: 'key-changed', id: '' },
      'just a string',
    ])
      await attacker.post(message);
    await clock.advance(10);
    expect(await handle.nonceFor('https://auth.example', 'authorization')).toBeUndefined();
  });

  it('an authorization and a resource server on one origin keep nonces of their own', async () => {
    const handle = createDpop({ storage: createMemoryStorage(), locks: null, channel: null });
    handles.push(handle);
    await handle.rememberNonce('https://app.example/token', 'as-nonce', 'authorization');
    await handle.rememberNonce('https://app.example/api/me', 'rs-nonce', 'resource');
    expect(await handle.nonceFor('https://app.example', 'authorization')).toBe('as-nonce');
    expect(await handle.nonceFor('https://app.example', 'resource')).toBe('rs-nonce');
  });

  it('a server origin must be an absolute URL', async () => {
    const handle = createDpop({ storage: createMemoryStorage(), locks: null, channel: null });
    handles.push(handle);
    await expect(handle.nonceFor('/relative', 'resource')).rejects.toThrow(TypeError);
    await expect(handle.rememberNonce('mailto:x', 'n', 'resource')).rejects.toThrow(TypeError);
  });
});
