/**
 * Counters in the Prometheus naming style. They are never written directly: Telemetry derives each one from an event.
 */

export interface Counter {
  /** The counter name, e.g. `refresh_token_failures`. */
  name: string;
  /** Its labels, `client_type` included. */
  labels: Record<string, string>;
  /** How many times it was counted. */
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

/** Counter names tabauth maintains (each derived from one event type in telemetry.ts). */
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
  tokenResponseRepairs: 'token_response_repairs',
  dpopKeysCreated: 'dpop_keys_created',
  dpopNonceRetries: 'dpop_nonce_retries',
  coordinationFallbacks: 'coordination_fallbacks',
} as const;
