import { useEffect, useState, useSyncExternalStore } from 'react';
import type { AuthEvent } from 'tabauth';

export type Tone = 'good' | 'bad' | 'leader' | 'warn' | 'info';

export interface LogLine {
  id: number;
  at: number;
  text: string;
  tone: Tone;
}

/** A small external store for a tab's event log (newest first), fed from outside React (client events). */
export class EventLog {
  private lines: LogLine[] = [];
  private listeners = new Set<() => void>();
  private next = 1;

  constructor(private readonly limit = 60) {}

  push = (text: string, tone: Tone = 'info') => {
    this.lines = [{ id: this.next++, at: Date.now(), text, tone }, ...this.lines].slice(0, this.limit);
    for (const listener of [...this.listeners]) listener();
  };

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = () => this.lines;
}

export function useLogLines(log: EventLog): LogLine[] {
  return useSyncExternalStore(log.subscribe, log.get, log.get);
}

/** One line of plain language per tabauth event. */
export function describeEvent(event: AuthEvent): { text: string; tone: Tone } {
  switch (event.type) {
    case 'refresh-started':
      return { text: `refreshing v${event.version} (${event.trigger}${event.attempt > 1 ? `, attempt ${event.attempt}` : ''})`, tone: 'info' };
    case 'refresh-succeeded':
      return { text: `refreshed v${event.fromVersion} → v${event.version}`, tone: 'good' };
    case 'refresh-failed':
      return {
        text: `refresh of v${event.version} failed: ${event.oauthError ?? event.errorCode}${event.willRetry && event.retryInMs !== null ? `, retry in ${(event.retryInMs / 1000).toFixed(1)} s` : ''}`,
        tone: event.reason === 'terminal' ? 'bad' : 'warn',
      };
    case 'refresh-skipped':
      return { text: `no request needed for v${event.version}: ${event.reason.replace(/-/g, ' ')}`, tone: 'info' };
    case 'leadership-gained':
      return { text: '★ this tab is now the leader', tone: 'leader' };
    case 'leadership-lost':
      return { text: 'no longer the leader', tone: 'info' };
    case 'signed-in':
      return { text: `signed in (v${event.version}${event.source === 'other-tab' ? ', from another tab' : ''})`, tone: 'good' };
    case 'signed-out':
      return { text: `signed out: ${event.reason ?? 'unknown'}${event.source === 'other-tab' ? ' (in another tab)' : ''}`, tone: 'bad' };
    case 'state-adopted':
      return { text: `got v${event.version} from ${event.source === 'channel' ? 'another tab' : 'storage'}`, tone: 'info' };
    case 'storage-fallback':
      return { text: `IndexedDB unavailable, memory only (${event.errorCode})`, tone: 'warn' };
    case 'storage-error':
      return { text: `storage ${event.operation} failed (${event.errorCode})`, tone: 'warn' };
    case 'message-dropped':
      return { text: `ignored a tab message (${event.reason})`, tone: 'warn' };
    case 'revocation-failed':
      return { text: `revocation failed (${event.errorCode})`, tone: 'warn' };
    case 'token-response-repaired':
      return { text: `kept v${event.version} despite mistyped ${event.fields.join(', ')}`, tone: 'warn' };
    case 'dpop-key-created':
      return { text: `created the DPoP key (${event.algorithm}, ${event.reason === 'login' ? 'new login' : 'none stored yet'})`, tone: 'good' };
    case 'dpop-key-adopted':
      return { text: `using the DPoP key ${event.source === 'race' ? 'another tab stored first' : 'every tab shares'}`, tone: 'info' };
    case 'dpop-key-deleted':
      return { text: `DPoP key deleted${event.source === 'other-tab' ? ' (in another tab)' : ''}`, tone: 'info' };
    case 'dpop-nonce-retry':
      return { text: `${event.server === 'authorization' ? 'token endpoint' : 'API'} asked for a DPoP nonce: sent again at once`, tone: 'warn' };
    case 'dpop-nonce-updated':
      return {
        text: `new DPoP nonce for the ${event.server === 'authorization' ? 'token endpoint' : 'API'}${event.source === 'this-tab' ? '' : ` (from ${event.source === 'storage' ? 'storage' : 'another tab'})`}`,
        tone: 'info',
      };
    case 'dpop-storage-fallback':
      return { text: `IndexedDB unavailable: DPoP key in this tab only (${event.errorCode})`, tone: 'warn' };
    case 'coordination-worker':
      return { text: 'the SharedWorker refreshes for this tab', tone: 'info' };
    case 'coordination-fallback':
      return { text: `leader-tab election instead of the SharedWorker (${event.reason})`, tone: 'warn' };
  }
}

/** The current time, re-read every `intervalMs`. */
export function useNow(intervalMs = 250): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function clockTime(at: number): string {
  const date = new Date(at);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3).slice(0, 1)}`;
}

export function seconds(ms: number): string {
  return `${(Math.abs(ms) / 1000).toFixed(1)} s`;
}
