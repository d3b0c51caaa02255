import { COUNTERS, CounterSet, type Counter } from './counters';
import type { AuthEvent, AuthEventListener } from './events';
import type { Transition } from './tabState';

/**
 * Events and counters in one place: every counter is derived from the event it counts (`count` below), so no module
 * increments a counter next to an emit, and the two can never disagree.
 */
export class Telemetry {
  private readonly listeners = new Set<AuthEventListener>();
  private readonly counters: CounterSet;

  constructor(clientType: string, onEvent?: AuthEventListener) {
    this.counters = new CounterSet({ client_type: clientType });
    if (onEvent) this.listeners.add(onEvent);
  }

  on(listener: AuthEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: AuthEvent): void {
    count(this.counters, event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A throwing listener must not break token handling.
      }
    }
  }

  /** The events a new record means: signed in, signed out, adopted from another tab. */
  transition({ previous, record, source }: Transition): void {
    const origin = source === 'this-tab' ? 'this-tab' : 'other-tab';
    if (record.tokens && !previous?.tokens) this.emit({ type: 'signed-in', version: record.version, source: origin });
    if (!record.tokens && previous?.tokens) {
      this.emit({ type: 'signed-out', version: record.version, reason: record.signedOutReason, source: origin });
    }
    if (source !== 'this-tab') this.emit({ type: 'state-adopted', version: record.version, source });
  }

  metrics(): Counter[] {
    return this.counters.list();
  }
}

function count(counters: CounterSet, event: AuthEvent): void {
  switch (event.type) {
    case 'refresh-started':
      return counters.increment(COUNTERS.refreshRequests);
    case 'refresh-succeeded':
      return counters.increment(COUNTERS.refreshSuccesses);
    case 'refresh-failed':
      return counters.increment(COUNTERS.refreshFailures, { reason: event.reason });
    case 'refresh-skipped':
      return counters.increment(COUNTERS.refreshSkipped, { reason: event.reason });
    case 'message-dropped':
      return counters.increment(COUNTERS.messagesDropped, { reason: event.reason });
    case 'leadership-gained':
      return counters.increment(COUNTERS.leadershipGained);
    case 'storage-fallback':
      return counters.increment(COUNTERS.storageFallbacks);
    case 'storage-error':
      return counters.increment(COUNTERS.storageErrors, { operation: event.operation });
    case 'token-response-repaired':
      return counters.increment(COUNTERS.tokenResponseRepairs);
    case 'coordination-fallback':
      return counters.increment(COUNTERS.coordinationFallbacks, { reason: event.reason });
    case 'signed-out':
      return counters.increment(COUNTERS.signOuts, { reason: event.reason ?? 'unknown' });
    case 'dpop-key-created':
      return counters.increment(COUNTERS.dpopKeysCreated, { reason: event.reason });
    case 'dpop-nonce-retry':
      return counters.increment(COUNTERS.dpopNonceRetries, { server: event.server });
    default:
      return;
  }
}
