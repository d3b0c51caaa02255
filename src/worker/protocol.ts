import type { TransferableClientSettings, TransferableGrant } from 'tabauth';

/**
 * The two messages between a tab and the SharedWorker, over the worker's MessagePort. Everything else (refresh
 * requests, new pairs) travels over the BroadcastChannel every tab already uses, so the worker is one more peer.
 * Bumped when either side changes incompatibly: a worker answers an unknown protocol with `ok: false`, and the tab
 * runs the leader-tab election. 2: settings carry `dpop`; a protocol-1 worker would ignore it and refresh DPoP-bound
 * tokens without proofs, so it must refuse such tabs.
 */
export const WORKER_PROTOCOL = 2;

/** From a tab to the worker, once per connection. No token: the worker reads the pair from IndexedDB like any tab. */
export interface WorkerConnect {
  /** Names the message. */
  type: 'tabauth-worker:connect';
  /** The tab's WORKER_PROTOCOL. */
  protocol: number;
  /** The connecting client's plain settings (namespace, refresh policy, DPoP algorithm); null from a client without context. */
  settings: TransferableClientSettings | null;
  /** The client's oauth2RefreshGrant as plain options; null for any other refresh function. */
  grant: TransferableGrant | null;
}

/** From the worker to a tab: sent once the worker holds its liveness lock (or is queued for it behind another worker). */
export type WorkerHello =
  | { type: 'tabauth-worker:hello'; protocol: number; ok: true }
  | { type: 'tabauth-worker:hello'; protocol: number; ok: false; reason: 'not-transferable' | 'protocol' | 'settings' | 'dpop' };

/** The Web Lock a worker holds while it lives; tabs wait on it to learn that the worker went away. */
export function workerLockName(channelName: string): string {
  return `${channelName}:worker`;
}
