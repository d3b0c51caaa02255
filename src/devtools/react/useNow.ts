'use client';
import { useSyncExternalStore } from 'react';

/**
 * The current time for "3 s ago" labels, as an external store: reading the clock during render would make the
 * render impure (and the React Compiler rightly refuses that). One shared timer runs while any panel is open.
 */
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (listeners.size === 1) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const notify of [...listeners]) notify();
    }, 1000);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

const read = () => now;
/** 0 on the server and while hydrating: labels then read "just now" instead of differing from the server's HTML. */
const readOnServer = () => 0;

/** The current time (epoch ms), re-rendering the component as it passes; 0 on the server. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, read, readOnServer);
}
