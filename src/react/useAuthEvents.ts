'use client';
import { useEffect, useRef } from 'react';
import type { AuthEventListener } from 'tabauth';
import { useAuthClientFrom } from './context';

/**
 * Calls `listener` with every event of the provider's client (`signed-in`, `signed-out`, `refresh-failed`...), from
 * mount to unmount. The newest listener is always the one called, so an inline arrow does not resubscribe.
 */
export function useAuthEvents(listener: AuthEventListener): void {
  const client = useAuthClientFrom('useAuthEvents');
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => client.on((event) => latest.current(event)), [client]);
}
