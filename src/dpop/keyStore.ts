import type { DpopAlgorithm } from 'tabauth';
import type { AuthStorage } from 'tabauth';

/**
 * The stored DPoP key of a namespace: one record holding the CryptoKeyPair itself. IndexedDB stores CryptoKeys by
 * structured clone, so the non-extractable private key is usable by every tab of the origin and readable by none
 * (`exportKey` throws). Every write is one atomic read-modify-write (`AuthStorage.update`), which is what makes the
 * compare-and-set of `putIfAbsent` hold across tabs.
 */
/** The stored form of a namespace's key (IndexedDB, by structured clone): what every tab reads. */
export interface StoredDpopKey {
  /** Version of this record's shape. */
  schema: 1;
  /** Random id of this key (compared across tabs; not derived from the key). */
  id: string;
  /** The key's JWS algorithm. */
  algorithm: DpopAlgorithm;
  /** Epoch ms of creation. */
  createdAt: number;
  /** Private key non-extractable (no tab can read it), public key extractable (it goes into every proof). */
  keyPair: CryptoKeyPair;
  /** JWK SHA-256 thumbprint of the public key (public, the `jkt` the server binds tokens to). */
  thumbprint: string;
}

export interface DpopKeyStore {
  read(): Promise<StoredDpopKey | null>;
  /** Stores `record` unless a valid key is stored already; resolves with the key stored afterwards. */
  putIfAbsent(record: StoredDpopKey): Promise<StoredDpopKey>;
  /** Stores `record` in place of whatever is stored (a new login). */
  replace(record: StoredDpopKey): Promise<void>;
  delete(): Promise<void>;
  /**
   * Keys of logins in progress, not yet the namespace's key (a second slot: `tabauth:<ns>:dpop-key:pending`). Adds
   * `record` and drops pending keys created more than `maxAgeMs` before it (abandoned logins), keeping the newest few.
   */
  addPending(record: StoredDpopKey, maxAgeMs: number): Promise<void>;
  /** The pending key of that thumbprint, if any. */
  readPending(thumbprint: string): Promise<StoredDpopKey | null>;
  /** Removes the pending key of that thumbprint (it was promoted). */
  removePending(thumbprint: string): Promise<void>;
  /** Deletes every pending key (sign-out). */
  deletePending(): Promise<void>;
}

/** At most this many logins in progress keep a pending key (tabs of one browser rarely have more than one). */
const MAX_PENDING = 4;

export const ALGORITHMS: readonly DpopAlgorithm[] = ['ES256', 'Ed25519', 'RS256', 'PS256'];

/** The storage key under which a namespace's DPoP key is kept (for tests and tools that inspect storage). */
export function dpopKeyStorageKey(namespace: string): string {
  return `tabauth:${namespace}:dpop-key`;
}

/** The storage key of a namespace's pending login keys (see `DpopKeyStore.addPending`). */
export function dpopPendingKeyStorageKey(namespace: string): string {
  return `tabauth:${namespace}:dpop-key:pending`;
}

export function createDpopKeyStore(storage: AuthStorage, namespace: string): DpopKeyStore {
  const key = dpopKeyStorageKey(namespace);
  const pendingKey = dpopPendingKeyStorageKey(namespace);
  const pendingOf = (value: unknown): StoredDpopKey[] => (Array.isArray(value) ? value.filter(isStoredDpopKey) : []);
  return {
    async read() {
      const raw = await storage.get(key);
      return isStoredDpopKey(raw) ? raw : null;
    },
    async putIfAbsent(record) {
      let winner: StoredDpopKey = record;
      await storage.update(key, (current) => {
        if (isStoredDpopKey(current)) {
          winner = current;
          return current;
        }
        // Nothing stored, or a record that is not a usable key (foreign or corrupted): ours replaces it.
        winner = record;
        return record;
      });
      return winner;
    },
    async replace(record) {
      await storage.update(key, () => record);
    },
    async delete() {
      await storage.delete(key);
    },
    async addPending(record, maxAgeMs) {
      await storage.update(pendingKey, (current) => {
        const kept = pendingOf(current).filter((old) => record.createdAt - old.createdAt <= maxAgeMs);
        return [...kept, record].slice(-MAX_PENDING);
      });
    },
    async readPending(thumbprint) {
      return pendingOf(await storage.get(pendingKey)).find((record) => record.thumbprint === thumbprint) ?? null;
    },
    async removePending(thumbprint) {
      await storage.update(pendingKey, (current) => pendingOf(current).filter((record) => record.thumbprint !== thumbprint));
    },
    async deletePending() {
      await storage.delete(pendingKey);
    },
  };
}

/** A record written by this module, holding a usable key pair (checked by shape: CryptoKey is per realm). */
export function isStoredDpopKey(value: unknown): value is StoredDpopKey {
  if (!isRecord(value)) return false;
  if (value.schema !== 1 || typeof value.id !== 'string' || value.id.length === 0) return false;
  if (!ALGORITHMS.includes(value.algorithm as DpopAlgorithm)) return false;
  if (typeof value.createdAt !== 'number' || typeof value.thumbprint !== 'string' || value.thumbprint.length === 0) return false;
  const pair = value.keyPair;
  if (!isRecord(pair)) return false;
  return isKey(pair.privateKey, 'private', 'sign') && isKey(pair.publicKey, 'public', 'verify') && (pair.publicKey as CryptoKey).extractable;
}

function isKey(value: unknown, type: KeyType, usage: KeyUsage): boolean {
  if (!isRecord(value)) return false;
  return value.type === type && Array.isArray(value.usages) && (value.usages as unknown[]).includes(usage) && isRecord(value.algorithm);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
