'use client';
import { useCallback, useDebugValue, useEffect, useState, useSyncExternalStore } from 'react';

/**
 * `useSyncExternalStore` with a selector, written here rather than taken from the `use-sync-external-store` package
 * (React 19 has no built-in selector form, and tabauth adds no dependency for 60 lines). Same contract as the shim:
 *
 * - the selection is memoised per snapshot object, so React's "getSnapshot must be cached" check holds even for
 *   selectors that build new objects;
 * - when the snapshot changes but `isEqual(previous, next)` holds, the previous selection is returned, so
 *   `useSyncExternalStore` sees the same value and the component does not re-render;
 * - the last rendered selection survives a new selector identity (an inline arrow on every render).
 *
 * Unlike the shim, it is written for the React Compiler: the memo lives in an object created once per component
 * (`useState`) and changed only through its own methods, so nothing React tracks is mutated or reassigned after
 * render (the shim reassigns closure variables of a `useMemo`, which makes the compiler skip the component).
 */
export function useSyncExternalStoreWithSelector<Snapshot, Selection>(
  subscribe: (onStoreChange: () => void) => () => void,
  getSnapshot: () => Snapshot,
  getServerSnapshot: () => Snapshot,
  selector: (snapshot: Snapshot) => Selection,
  isEqual: (a: Selection, b: Selection) => boolean = Object.is,
): Selection {
  const [memo] = useState(createSelectionMemo<Snapshot, Selection>);
  const getSelection = useCallback(() => memo.select(getSnapshot(), selector, isEqual), [memo, getSnapshot, selector, isEqual]);
  const getServerSelection = useCallback(() => memo.selectServer(getServerSnapshot(), selector), [memo, getServerSnapshot, selector]);
  const value = useSyncExternalStore(subscribe, getSelection, getServerSelection);
  useEffect(() => memo.commit(value), [memo, value]);
  useDebugValue(value);
  return value;
}

interface SelectionMemo<Snapshot, Selection> {
  /** The selection of `snapshot`: the memoised one for the same snapshot and selector, else a new or an equal old one. */
  select(snapshot: Snapshot, selector: (snapshot: Snapshot) => Selection, isEqual: (a: Selection, b: Selection) => boolean): Selection;
  /** The server snapshot is constant, so memoising it separately keeps hydration from re-running the selector. */
  selectServer(snapshot: Snapshot, selector: (snapshot: Snapshot) => Selection): Selection;
  /** Records what was rendered, for a later selector identity to compare against. */
  commit(selection: Selection): void;
}

function createSelectionMemo<Snapshot, Selection>(): SelectionMemo<Snapshot, Selection> {
  type Selector = (snapshot: Snapshot) => Selection;
  type IsEqual = (a: Selection, b: Selection) => boolean;
  let last: { snapshot: Snapshot; selector: Selector; isEqual: IsEqual; selection: Selection } | null = null;
  let committed: { selection: Selection } | null = null;
  let server: { snapshot: Snapshot; selector: Selector; selection: Selection } | null = null;
  return {
    select(snapshot, selector, isEqual) {
      const sameFunctions = last !== null && last.selector === selector && last.isEqual === isEqual;
      if (sameFunctions && Object.is(last!.snapshot, snapshot)) return last!.selection;
      const next = selector(snapshot);
      // With the same functions the previous selection is the last one computed; with new ones (an inline selector
      // on every render) it is the last one rendered.
      const previous = sameFunctions ? { selection: last!.selection } : committed;
      const selection = previous !== null && isEqual(previous.selection, next) ? previous.selection : next;
      last = { snapshot, selector, isEqual, selection };
      return selection;
    },
    selectServer(snapshot, selector) {
      if (server !== null && server.selector === selector && Object.is(server.snapshot, snapshot)) return server.selection;
      server = { snapshot, selector, selection: selector(snapshot) };
      return server.selection;
    },
    commit(selection) {
      committed = { selection };
    },
  };
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
