import type { AuthClient } from '../../src/core/authClient';
import type { DevtoolsChannelFactory } from '../../src/devtools/core/channel';
import type { DevtoolsPage } from '../../src/devtools/core/page';
import type { TabSimulation } from '../../src/testing';

/**
 * An in-memory twin of the devtools' BroadcastChannel for tests: every endpoint of one name receives what the others
 * post (structured clones, in a later microtask, never echoed), and the test can read every message ever posted,
 * inject raw messages, and mute a sender (a crashed tab that neither speaks nor hears).
 */
export function createMemoryDevtoolsNetwork() {
  interface Endpoint {
    name: string;
    /** The tab using it, learnt from the first message it posts. */
    owner: string | null;
    listeners: Set<(message: unknown) => void>;
    closed: boolean;
  }
  const endpoints = new Set<Endpoint>();
  const sent: unknown[] = [];
  const muted = new Set<string>();
  const senderOf = (message: unknown) => (typeof message === 'object' && message !== null ? String((message as { from?: unknown }).from) : '');
  const deliver = (name: string, message: unknown, except?: Endpoint) => {
    for (const endpoint of endpoints) {
      if (endpoint === except || endpoint.closed || endpoint.name !== name) continue;
      if (endpoint.owner !== null && muted.has(endpoint.owner)) continue; // a dead tab hears nothing
      const copy = structuredClone(message);
      queueMicrotask(() => {
        if (!endpoint.closed) for (const listener of [...endpoint.listeners]) listener(copy);
      });
    }
  };
  const factory: DevtoolsChannelFactory = (name) => {
    const endpoint: Endpoint = { name, owner: null, listeners: new Set(), closed: false };
    endpoints.add(endpoint);
    return {
      post(message) {
        if (endpoint.closed) return;
        endpoint.owner ??= senderOf(message);
        sent.push(structuredClone(message));
        if (!muted.has(endpoint.owner)) deliver(name, message, endpoint);
      },
      subscribe(listener) {
        endpoint.listeners.add(listener);
        return () => void endpoint.listeners.delete(listener);
      },
      close() {
        endpoint.closed = true;
        endpoints.delete(endpoint);
      },
    };
  };
  return {
    factory,
    /** Every message posted, in order (clones). */
    sent,
    /** Delivers a raw message to every endpoint of `name`, as if another script had posted it. */
    inject: (name: string, message: unknown) => deliver(name, message),
    /** The tab stops sending and receiving, without a word (a crash). */
    mute: (tabId: string) => void muted.add(tabId),
    openEndpoints: () => endpoints.size,
  };
}

export type MemoryDevtoolsNetwork = ReturnType<typeof createMemoryDevtoolsNetwork>;

/** A page that is always visible and never unloads, unless the test says so. */
export function fakePage(): DevtoolsPage & { setVisible(visible: boolean): void; hide(): void } {
  let visible = true;
  const listeners = new Set<(change: 'visibility' | 'hide' | 'show') => void>();
  return {
    isVisible: () => visible,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    setVisible(next) {
      visible = next;
      for (const listener of [...listeners]) listener('visibility');
    },
    hide() {
      for (const listener of [...listeners]) listener('hide');
    },
  };
}

/** Every token string a client ever held (access, refresh, id), recorded on every snapshot change. */
export function recordTokens(clients: AuthClient[]): Set<string> {
  const tokens = new Set<string>();
  for (const client of clients) {
    const record = () => {
      const held = client.getSnapshot().tokens;
      for (const token of [held?.accessToken, held?.refreshToken, held?.idToken]) if (token) tokens.add(token);
    };
    record();
    client.subscribe(record);
  }
  return tokens;
}

/** The strings that must never appear: each token, and each JWT segment of 16 or more characters. */
export function secretsOf(tokens: Iterable<string>): string[] {
  const secrets = new Set<string>();
  for (const token of tokens) {
    secrets.add(token);
    for (const part of token.split('.')) if (part.length >= 16) secrets.add(part);
  }
  return [...secrets];
}

/**
 * Advances simulated time in small steps, letting real async work (Web Crypto digests) finish in between, until the
 * condition holds. Asserts nothing about how long that took; gives up after `maxSteps`.
 */
export async function until(sim: TabSimulation, condition: () => boolean, what: string, maxSteps = 400): Promise<void> {
  for (let step = 0; step < maxSteps; step++) {
    if (condition()) return;
    await sim.advance(10);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (!condition()) throw new Error(`condition never held: ${what}`);
}
