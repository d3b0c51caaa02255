import type { TabChannel } from 'tabauth';
import type { WebLocksLike } from 'tabauth';
import type { DpopAlgorithm, DpopEvent, DpopHandle, DpopKey } from 'tabauth';
import { createIndexedDbStorage } from 'tabauth';
import type { AuthStorage } from 'tabauth';
import { withMemoryFallback } from './fallbackStorage';
import { ALGORITHMS, createDpopKeyStore, type StoredDpopKey } from './keyStore';
import { broadcastChannelFactory, DPOP_PROTOCOL, parseDpopMessage, type DpopMessageBody } from './messages';
import { NonceBook } from './nonces';
import { requireWebCrypto, signProof } from './proofs';
import { fetchWithProof } from './requests';
import { SharedKey } from './sharedKey';

/** Options of `createDpop`. Every one has a default: `createDpop({ namespace })` is the usual call. */
export interface DpopOptions {
  /** Must be the auth client's namespace (createAuthClient checks it). Default 'default'. */
  namespace?: string;
  /** Algorithm of the keys this handle creates. Default 'ES256'. A stored key of another algorithm is used as it is. */
  algorithm?: DpopAlgorithm;
  /**
   * Where the key pair and the nonces are kept. Default: IndexedDB through idb-keyval (database 'tabauth', like the
   * auth client's default), falling back to this tab's memory when IndexedDB is unusable. It must store CryptoKeys by
   * structured clone: IndexedDB or `createMemoryStorage()` (a Map shared by simulated tabs).
   */
  storage?: AuthStorage;
  /** Web Locks for key creation. Default `navigator.locks` where it exists; null relies on compare-and-set alone. */
  locks?: WebLocksLike | null;
  /** How to reach the other tabs. Default: BroadcastChannel `tabauth:<namespace>:dpop`; null: storage only. */
  channel?: ((name: string) => TabChannel) | null;
  /** Time for nonce ordering and key records. Default Date.now. */
  now?: () => number;
  /** Registers real asynchronous work with a simulated clock (`tabauth/testing` passes `clock.track`). */
  track?: <T>(work: Promise<T>) => Promise<T>;
}

/** The DPoP handle a client exposes, plus what this entry adds for tests and tools. */
export interface Dpop extends DpopHandle {
  /** Stops sharing with other tabs for good (the client's `connect()` reference counts otherwise). */
  close(): void;
}

/**
 * DPoP (RFC 9449) for an auth client: `createAuthClient({ refresh, dpop: createDpop() })`. Every tab of the namespace
 * signs with one non-extractable key kept in IndexedDB, created once however many tabs start at the same moment,
 * and learns every server nonce any tab received.
 */
export function createDpop(options: DpopOptions = {}): Dpop {
  const namespace = options.namespace ?? 'default';
  const algorithm = options.algorithm ?? 'ES256';
  if (typeof namespace !== 'string' || namespace.length === 0) throw new TypeError('createDpop: namespace must be a non-empty string');
  if (!ALGORITHMS.includes(algorithm)) throw new TypeError(`createDpop: algorithm must be one of ${ALGORITHMS.join(', ')}`);
  const now = options.now ?? Date.now;
  const track = options.track ?? (<T>(work: Promise<T>) => work);
  const listeners = new Set<Parameters<DpopHandle['subscribe']>[0]>();
  const emit = (event: DpopEvent) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // A throwing listener must not break signing.
      }
    }
  };
  const storage = withMemoryFallback(options.storage ?? createIndexedDbStorage(), (errorCode) => emit({ type: 'dpop-storage-fallback', errorCode }));
  const locks = options.locks === undefined ? defaultLocks() : options.locks;
  const channelFactory = options.channel === undefined ? broadcastChannelFactory() : options.channel;
  const tabId = Math.random().toString(36).slice(2) + now().toString(36);

  let channel: TabChannel | null = null;
  let connections = 0;
  let stopListening: (() => void) | null = null;
  const post = (body: DpopMessageBody) => {
    channel?.post({ ...body, protocol: DPOP_PROTOCOL, namespace, from: tabId }).catch(() => {});
  };

  const key = new SharedKey({
    store: createDpopKeyStore(storage, namespace),
    algorithm,
    lockName: `tabauth:${namespace}:dpop-key`,
    locks,
    now,
    track,
    post,
    emit,
  });
  const nonces = new NonceBook({ storage, namespace, now, post, emit });

  const onMessage = (raw: unknown) => {
    const message = parseDpopMessage(raw, namespace);
    if (!message || message.from === tabId) return;
    if (message.type === 'nonce') nonces.received({ origin: message.origin, nonce: message.nonce, server: message.server, at: message.at });
    else key.received(message);
  };
  const disconnect = () => {
    stopListening?.();
    stopListening = null;
    const closing = channel;
    channel = null;
    void closing?.close().catch(() => {});
  };

  const toKey = (record: StoredDpopKey): DpopKey => ({ keyPair: record.keyPair, thumbprint: record.thumbprint, algorithm: record.algorithm });

  const handle: Dpop = {
    namespace,
    algorithm,
    async proof(htm, htu, proofOptions = {}) {
      requireWebCrypto();
      const keyPair = proofOptions.key ? proofOptions.key.keyPair : (proofOptions.rereadKey ? await key.reread() : await key.get()).keyPair;
      return track(signProof(keyPair, htm, htu, proofOptions.nonce, proofOptions.accessToken));
    },
    thumbprint: async () => (await key.get()).thumbprint,
    key: async () => toKey(await key.get()),
    nonceFor: async (origin, server) => nonces.nonceFor(originOf(origin), server),
    rememberNonce: async (origin, nonce, server) => nonces.remember(originOf(origin), nonce, server),
    fetchWithProof(request, send) {
      return fetchWithProof(handle, request, send, () => emit({ type: 'dpop-nonce-retry', server: request.server, origin: originOf(request.htu) }));
    },
    newKeyForLogin: async () => toKey(await key.newPendingForLogin(PENDING_MAX_AGE_MS)),
    loginKey: async (thumbprint) => {
      const record = await key.forLogin(thumbprint);
      return record ? toKey(record) : null;
    },
    promoteLoginKey: (thumbprint) => key.promote(thumbprint),
    deleteKey: () => key.delete(),
    connect() {
      if (connections++ === 0 && channelFactory) {
        try {
          channel = channelFactory(`tabauth:${namespace}:dpop`);
          stopListening = channel.subscribe(onMessage);
        } catch {
          channel = null; // No channel: the tabs still share through storage.
        }
      }
      let undone = false;
      return () => {
        if (undone) return;
        undone = true;
        if (connections > 0 && --connections === 0) disconnect(); // close() may have reset the count already
      };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      connections = 0;
      disconnect();
    },
  };
  return handle;
}

/**
 * Counter names of DPoP events (the client's telemetry counts them from the events, labelled with the client type
 * like every other counter; `dpop_keys_created{reason}`, `dpop_nonce_retries{server}`).
 */
export const DPOP_COUNTERS = {
  keysCreated: 'dpop_keys_created',
  nonceRetries: 'dpop_nonce_retries',
} as const;

/**
 * A pending login key older than this is an abandoned login's: the next login drops it. Longer than tabauth/oidc's
 * default attempt lifetime (10 minutes), after which that login's callback is refused anyway.
 */
const PENDING_MAX_AGE_MS = 15 * 60_000;

function defaultLocks(): WebLocksLike | null {
  const locks = typeof navigator === 'undefined' ? undefined : (navigator as { locks?: WebLocksLike }).locks;
  return locks && typeof locks.request === 'function' ? locks : null;
}

function originOf(value: string): string {
  try {
    const origin = new URL(value).origin;
    if (origin !== 'null') return origin;
  } catch {
    // fall through
  }
  throw new TypeError('DPoP: a server origin must be an absolute http(s) URL');
}
