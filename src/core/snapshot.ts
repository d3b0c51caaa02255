import type { AuthError } from './errors';
import type { AuthSnapshot } from './types';

/**
 * Holds the snapshot `useSyncExternalStore` reads. A new object is created only when a field actually changes, so
 * React re-renders only for real changes; listeners are notified after the swap.
 */
export interface SnapshotStore {
  get(): AuthSnapshot;
  server(): AuthSnapshot;
  set(fields: Partial<Omit<AuthSnapshot, 'error' | 'storage'>>): void;
  setError(error: AuthError | null): void;
  setStorage(kind: AuthSnapshot['storage']): void;
  subscribe(listener: () => void): () => void;
}

const SERVER_SNAPSHOT: AuthSnapshot = Object.freeze({
  status: 'loading',
  tokens: null,
  version: 0,
  isLeader: false,
  error: null,
  storage: 'persistent',
  signedOutReason: null,
});

export function createSnapshotStore(storage: AuthSnapshot['storage']): SnapshotStore {
  let snapshot: AuthSnapshot = Object.freeze({ ...SERVER_SNAPSHOT, storage });
  const listeners = new Set<() => void>();

  const replace = (fields: Partial<AuthSnapshot>) => {
    let changed = false;
    for (const key of Object.keys(fields) as Array<keyof AuthSnapshot>) {
      if (!Object.is(snapshot[key], fields[key])) changed = true;
    }
    if (!changed) return;
    snapshot = Object.freeze({ ...snapshot, ...fields });
    for (const listener of [...listeners]) listener();
  };

  return {
    get: () => snapshot,
    server: () => SERVER_SNAPSHOT,
    set: (fields) => replace(fields),
    setError: (error) => replace({ error }),
    setStorage: (kind) => replace({ storage: kind }),
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
