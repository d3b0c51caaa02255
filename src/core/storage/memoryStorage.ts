import type { AuthStorage } from './storage';

/**
 * In-memory storage. One instance per tab is the fallback when IndexedDB is unavailable; one instance shared by
 * several simulated tabs stands in for a shared IndexedDB in tests. Values are structured-cloned, like IndexedDB
 * does, so no tab can mutate another tab's object.
 */
export function createMemoryStorage(backing: Map<string, unknown> = new Map()): AuthStorage {
  const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));
  return {
    kind: 'memory',
    async get(key) {
      return clone(backing.get(key));
    },
    async getMany(keys) {
      return keys.map((key) => clone(backing.get(key)));
    },
    async update(key, updater) {
      const next = updater(clone(backing.get(key)));
      if (next === undefined) backing.delete(key);
      else backing.set(key, clone(next));
    },
    async delete(key) {
      backing.delete(key);
    },
  };
}
