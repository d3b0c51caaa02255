import { del, get, getMany, promisifyRequest, update, type UseStore } from 'idb-keyval';
import { StorageError } from '../errors';
import type { AuthStorage } from './storage';

/** Options of `createIndexedDbStorage`. */
export interface IndexedDbStorageOptions {
  /** Database name. Default 'tabauth'. */
  databaseName?: string;
  /** Object store name. Default 'keyval'. */
  storeName?: string;
  /** The IDBFactory to use. Default: the global `indexedDB`, read when the database is first opened. */
  indexedDB?: IDBFactory;
}

/**
 * IndexedDB storage through idb-keyval: shared by every tab of the origin, readable from workers, and preferred over
 * localStorage by the browser-based-apps BCP. Opening is lazy; any failure (private mode, quota, a missing API)
 * surfaces as a StorageError so the client can fall back to memory.
 */
export function createIndexedDbStorage(options: IndexedDbStorageOptions = {}): AuthStorage {
  const databaseName = options.databaseName ?? 'tabauth';
  const storeName = options.storeName ?? 'keyval';
  let database: Promise<IDBDatabase> | undefined;

  const open = (): Promise<IDBDatabase> => {
    const factory = options.indexedDB ?? (typeof indexedDB === 'undefined' ? undefined : indexedDB);
    if (!factory) return Promise.reject(new StorageError('IndexedDB is not available in this environment'));
    const request = factory.open(databaseName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    return promisifyRequest(request).then((db) => {
      // Another tab upgrading the database must not be blocked by this one.
      db.onversionchange = () => {
        db.close();
        database = undefined;
      };
      db.onclose = () => {
        database = undefined;
      };
      return db;
    });
  };

  const store: UseStore = (mode, callback) => {
    if (!database) {
      database = open();
      database.catch(() => {
        database = undefined;
      });
    }
    return database.then((db) => callback(db.transaction(storeName, mode).objectStore(storeName)));
  };

  const wrap = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw new StorageError(`IndexedDB ${operation} failed`, { cause });
    }
  };

  return {
    kind: 'persistent',
    get: (key) => wrap('read', () => get(key, store)),
    getMany: (keys) => wrap('read', () => getMany(keys, store)),
    update: (key, updater) =>
      wrap('write', () =>
        update(
          key,
          (current) => {
            const next = updater(current);
            // idb-keyval's update always puts; a delete inside the same transaction is not exposed, so store null.
            return next === undefined ? null : next;
          },
          store,
        ),
      ),
    delete: (key) => wrap('delete', () => del(key, store)),
  };
}
