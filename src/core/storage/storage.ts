/**
 * Storage is a small async key-value interface. Every write that matters goes through `update`, which runs the
 * updater inside one atomic read-modify-write (one IndexedDB readwrite transaction), so compare-and-set on the
 * state's version holds across tabs.
 */
export interface AuthStorage {
  /** 'persistent' survives reloads and is shared by every tab of the origin; 'memory' lives in this tab only. */
  readonly kind: 'persistent' | 'memory';
  /** The value stored under `key`, or undefined when there is none. */
  get(key: string): Promise<unknown>;
  /** Optional: the values of several keys in one read (one IndexedDB transaction); else `get` runs per key. */
  getMany?(keys: string[]): Promise<unknown[]>;
  /**
   * Atomically replaces the value with `updater(current)`. The updater must be synchronous (no awaiting inside an
   * IndexedDB transaction). Returning `undefined` deletes the key.
   */
  update(key: string, updater: (current: unknown) => unknown): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
}

/** Keys are namespaced so two apps, or two auth clients, on one origin never read each other's state. */
export function storageKeys(namespace: string) {
  return {
    state: `tabauth:${namespace}:state`,
    lease: `tabauth:${namespace}:refresh-lease`,
    /** The version a lock holder is rotating (SharedRecord.markRotation): no token, only a version and a random id. */
    rotation: `tabauth:${namespace}:rotation`,
    /** Shared by every namespace: it identifies the browser, not the client. */
    deviceId: 'tabauth:device-id',
  } as const;
}
