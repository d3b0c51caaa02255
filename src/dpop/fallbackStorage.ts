import { AuthError, StorageError } from 'tabauth';
import { createMemoryStorage } from 'tabauth';
import type { AuthStorage } from 'tabauth';

/**
 * The key's storage: the given one (IndexedDB by default) until it fails once, then this tab's memory for good. A
 * browser without a usable IndexedDB (some private modes) still gets working proofs, with a key that this tab alone
 * holds; `onFallback` reports it (a `dpop-storage-fallback` event).
 */
export function withMemoryFallback(primary: AuthStorage, onFallback: (errorCode: string) => void): AuthStorage {
  let active = primary;
  const attempt = async <T>(work: (storage: AuthStorage) => Promise<T>): Promise<T> => {
    const used = active;
    try {
      return await work(used);
    } catch (error) {
      if (used !== primary) throw error;
      if (active === primary) {
        active = createMemoryStorage();
        onFallback(error instanceof AuthError ? error.code : new StorageError('storage failed').code);
      }
      return work(active);
    }
  };
  return {
    get kind() {
      return active.kind;
    },
    get: (key) => attempt((storage) => storage.get(key)),
    update: (key, updater) => attempt((storage) => storage.update(key, updater)),
    delete: (key) => attempt((storage) => storage.delete(key)),
  };
}
