import type { DropReason } from './coordination/tabMessages';
import type { SignOutReason } from './types';

/**
 * Typed events. They carry versions, reasons and error codes; never a token string.
 */
export type RefreshTrigger = 'proactive' | 'get-access-token' | 'rejected-token' | 'follower-request' | 'wake';
export type RefreshFailureReason = 'transient' | 'terminal' | 'malformed' | 'timeout' | 'unknown';

export type AuthEvent =
  | { type: 'refresh-started'; version: number; attempt: number; trigger: RefreshTrigger }
  | { type: 'refresh-succeeded'; fromVersion: number; version: number; attempts: number }
  | {
      type: 'refresh-failed';
      version: number;
      attempt: number;
      reason: RefreshFailureReason;
      errorCode: string;
      /** The OAuth `error` value when the server sent one (e.g. "invalid_grant"). */
      oauthError: string | null;
      willRetry: boolean;
      retryInMs: number | null;
    }
  /** The shared-cache check found a newer pair: no network call was made. */
  | { type: 'refresh-skipped'; version: number; reason: 'newer-pair-available' | 'still-fresh' | 'signed-out' }
  | { type: 'leadership-gained' }
  | { type: 'leadership-lost' }
  | { type: 'signed-in'; version: number; source: 'this-tab' | 'other-tab' }
  | { type: 'signed-out'; version: number; reason: SignOutReason | null; source: 'this-tab' | 'other-tab' }
  | { type: 'state-adopted'; version: number; source: 'channel' | 'storage' }
  | { type: 'storage-fallback'; errorCode: string }
  | { type: 'storage-error'; operation: 'read' | 'write'; errorCode: string }
  | { type: 'message-dropped'; reason: DropReason }
  | { type: 'revocation-failed'; errorCode: string }
  /* [dpop hook] */ | import('./dpop').DpopEvent;

export type AuthEventType = AuthEvent['type'];
export type AuthEventListener = (event: AuthEvent) => void;

export interface Counter {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Counters in the Prometheus naming style, each labelled with the configured client type so that a dashboard can
 * alert on `refresh_token_failures{client_type}` per app.
 */
export class CounterSet {
  private readonly values = new Map<string, Counter>();
  constructor(private readonly baseLabels: Record<string, string>) {}

  increment(name: string, labels: Record<string, string> = {}, by = 1): void {
    const all = { ...this.baseLabels, ...labels };
    const key = `${name}{${Object.entries(all)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}="${v}"`)
      .join(',')}}`;
    const existing = this.values.get(key);
    if (existing) existing.value += by;
    else this.values.set(key, { name, labels: all, value: by });
  }

  /** Sum of a counter over all label sets. */
  total(name: string): number {
    let sum = 0;
    for (const counter of this.values.values()) if (counter.name === name) sum += counter.value;
    return sum;
  }

  list(): Counter[] {
    return [...this.values.values()].map((counter) => ({ ...counter, labels: { ...counter.labels } }));
  }
}

/** Counter names tabauth maintains. */
export const COUNTERS = {
  refreshRequests: 'refresh_token_requests',
  refreshSuccesses: 'refresh_token_successes',
  refreshFailures: 'refresh_token_failures',
  refreshSkipped: 'refresh_token_skipped',
  messagesDropped: 'tab_messages_dropped',
  leadershipGained: 'leadership_gained',
  storageFallbacks: 'storage_fallbacks',
  storageErrors: 'storage_errors',
  signOuts: 'sign_outs',
} as const;
