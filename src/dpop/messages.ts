import type { DpopServer } from 'tabauth';
import type { TabChannel } from 'tabauth';
import { isValidNonce } from './nonces';

/**
 * What DPoP handles of one namespace tell each other. A message carries ids, origins and nonces (which servers send
 * in clear to anyone), never a key or a proof. Every incoming message is validated; anything else is ignored.
 */
export const DPOP_PROTOCOL = 'tabauth-dpop/1';

export type DpopMessageBody =
  /** The stored key changed (a new login): drop the cached one and read storage on the next use. */
  { type: 'key-changed'; id: string } | { type: 'key-deleted' } | { type: 'nonce'; origin: string; nonce: string; server: DpopServer; at: number };

export type DpopMessage = DpopMessageBody & { protocol: typeof DPOP_PROTOCOL; namespace: string; from: string };

export function parseDpopMessage(raw: unknown, namespace: string): DpopMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const message = raw as Record<string, unknown>;
  if (message.protocol !== DPOP_PROTOCOL || message.namespace !== namespace || typeof message.from !== 'string') return null;
  switch (message.type) {
    case 'key-changed':
      return typeof message.id === 'string' && message.id.length > 0 && message.id.length <= 100 ? (message as DpopMessage) : null;
    case 'key-deleted':
      return message as DpopMessage;
    case 'nonce':
      if (typeof message.origin !== 'string' || message.origin.length > 300) return null;
      if (message.server !== 'authorization' && message.server !== 'resource') return null;
      if (typeof message.at !== 'number' || !Number.isFinite(message.at)) return null;
      return isValidNonce(message.nonce) ? (message as DpopMessage) : null;
    default:
      return null;
  }
}

/**
 * The default channel: the browser's BroadcastChannel (every browser tabauth supports has it), or none, in which case
 * the tabs still share through storage and a tab learns a changed nonce from its own first challenge.
 */
export function broadcastChannelFactory(): ((name: string) => TabChannel) | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  return (name) => {
    const channel = new BroadcastChannel(name);
    const listeners = new Set<(message: unknown) => void>();
    channel.onmessage = (event: MessageEvent) => {
      for (const listener of [...listeners]) listener(event.data);
    };
    return {
      async post(message) {
        channel.postMessage(message);
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async close() {
        listeners.clear();
        channel.close();
      },
    };
  };
}
