import { AuthError, StorageError } from './errors';
import { storageKeys, type AuthStorage } from './storage/storage';
import { validateStoredState } from './tokenState';
import type { StoredAuthState } from './types';

/**
 * Reads and writes the namespaced state record. All writes are compare-and-set on `version` inside one storage
 * transaction, so no tab ever overwrites a newer pair with an older one.
 */
export type ReadResult = { state: StoredAuthState | null; corrupted: boolean };

export type CasResult = { written: true; state: StoredAuthState } | { written: false; current: StoredAuthState };

export class StateStore {
  private readonly keys;
  constructor(
    private storage: AuthStorage,
    namespace: string,
  ) {
    this.keys = storageKeys(namespace);
  }

  get kind(): AuthStorage['kind'] {
    return this.storage.kind;
  }

  get leaseKey(): string {
    return this.keys.lease;
  }

  get backing(): AuthStorage {
    return this.storage;
  }

  /** Switches to another backend (the memory fallback); the caller re-seeds it with its in-memory state. */
  replaceStorage(storage: AuthStorage): void {
    this.storage = storage;
  }

  /** Reads the record. A corrupted record reads as "nothing stored" (and is left in place, not destroyed). */
  async read(): Promise<ReadResult> {
    const raw = await this.storage.get(this.keys.state);
    try {
      return { state: validateStoredState(raw), corrupted: false };
    } catch {
      return { state: null, corrupted: true };
    }
  }

  /**
   * Writes `next` only if the stored version is not newer than `expectedVersion`. A stored version lower than
   * expected (storage was cleared, or a read came back empty) is repaired by the write.
   */
  async compareAndSet(expectedVersion: number, next: StoredAuthState): Promise<CasResult> {
    let outcome: CasResult | undefined;
    await this.storage.update(this.keys.state, (raw) => {
      const current = safeValidate(raw);
      if (current && current.version > expectedVersion) {
        outcome = { written: false, current };
        return raw;
      }
      outcome = { written: true, state: next };
      return next;
    });
    if (!outcome) throw new StorageError('storage update did not run');
    return outcome;
  }

  /**
   * Writes a state built from whatever is stored now (sign-in and sign-out always win, at a version above both
   * the stored one and the caller's).
   */
  async writeAbove(localVersion: number, build: (version: number) => StoredAuthState): Promise<StoredAuthState> {
    let written: StoredAuthState | undefined;
    await this.storage.update(this.keys.state, (raw) => {
      const current = safeValidate(raw);
      written = build(Math.max(current?.version ?? 0, localVersion) + 1);
      return written;
    });
    if (!written) throw new StorageError('storage update did not run');
    return written;
  }

  /** The per-browser device id, created once and shared by every namespace. */
  async deviceId(create: () => string): Promise<string> {
    let id: string | undefined;
    await this.storage.update(this.keys.deviceId, (raw) => {
      id = typeof raw === 'string' && raw.length > 0 && raw.length <= 200 ? raw : create();
      return id;
    });
    if (!id) throw new StorageError('storage update did not run');
    return id;
  }

  async deleteLease(): Promise<void> {
    await this.storage.delete(this.keys.lease);
  }
}

function safeValidate(raw: unknown): StoredAuthState | null {
  try {
    return validateStoredState(raw);
  } catch (error) {
    if (error instanceof AuthError) return null;
    throw error;
  }
}
