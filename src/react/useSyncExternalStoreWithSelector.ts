'use client';
import { useDebugValue, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';

/**
 * `useSyncExternalStore` with a selector, written here rather than taken from the `use-sync-external-store` package
 * (React 19 has no built-in selector form, and tabauth adds no dependency for 60 lines). Same contract as the shim:
 *
 * - the selection is memoised per snapshot object, so React's "getSnapshot must be cached" check holds even for
 *   selectors that build new objects;
 * - when the snapshot changes but `isEqual(previous, next)` holds, the previous selection is returned, so
 *   `useSyncExternalStore` sees the same value and the component does not re-render;
 * - the last rendered selection survives a new selector identity (an inline arrow on every render).
 */
export function useSyncExternalStoreWithSelector<Snapshot, Selection>(
  subscribe: (onStoreChange: () => void) => () => void,
  getSnapshot: () => Snapshot,
  getServerSnapshot: () => Snapshot,
  selector: (snapshot: Snapshot) => Selection,
  isEqual: (a: Selection, b: Selection) => boolean = Object.is,
): Selection {
  // What was last committed; read by a freshly created memo so a new selector identity keeps an equal old value.
  const committed = useRef<{ hasValue: boolean; value: Selection | undefined }>({ hasValue: false, value: undefined });

  const [getSelection, getServerSelection] = useMemo(() => {
    let hasMemo = false;
    let memoSnapshot: Snapshot;
    let memoSelection: Selection;
    const select = (snapshot: Snapshot): Selection => {
      if (hasMemo && Object.is(memoSnapshot, snapshot)) return memoSelection;
      const next = selector(snapshot);
      const previous: { has: boolean; value: Selection | undefined } = hasMemo
        ? { has: true, value: memoSelection }
        : { has: committed.current.hasValue, value: committed.current.value };
      hasMemo = true;
      memoSnapshot = snapshot;
      memoSelection = previous.has && isEqual(previous.value as Selection, next) ? (previous.value as Selection) : next;
      return memoSelection;
    };
    // The server snapshot is constant, so memoising it separately keeps hydration from re-running the selector.
    let serverMemo: { snapshot: Snapshot; selection: Selection } | null = null;
    const selectServer = (): Selection => {
      const snapshot = getServerSnapshot();
      if (serverMemo && Object.is(serverMemo.snapshot, snapshot)) return serverMemo.selection;
      serverMemo = { snapshot, selection: selector(snapshot) };
      return serverMemo.selection;
    };
    return [() => select(getSnapshot()), selectServer];
  }, [getSnapshot, getServerSnapshot, selector, isEqual]);

  const value = useSyncExternalStore(subscribe, getSelection, getServerSelection);
  useEffect(() => {
    committed.current = { hasValue: true, value };
  }, [value]);
  useDebugValue(value);
  return value;
}

/** Shallow comparison of two values: equal primitives, or plain objects/arrays whose own keys hold `Object.is` values. */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}
