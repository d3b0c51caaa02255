import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../../src/core/telemetry';

describe('Telemetry (events, and counters derived from them)', () => {
  it('every counter comes from the event it counts, labelled with the client type; a throwing listener is contained', () => {
    const telemetry = new Telemetry('admin', () => {
      throw new Error('listener bug');
    });
    telemetry.emit({ type: 'refresh-started', version: 1, attempt: 1, trigger: 'proactive' });
    telemetry.emit({
      type: 'refresh-failed',
      version: 1,
      attempt: 1,
      reason: 'transient',
      errorCode: 'transient_refresh_failure',
      oauthError: null,
      willRetry: true,
      retryInMs: 1000,
    });
    telemetry.emit({ type: 'signed-out', version: 2, reason: null, source: 'this-tab' });
    const counters = telemetry.metrics().map(({ name, labels, value }) => [name, labels, value]);
    expect(counters).toEqual([
      ['refresh_token_requests', { client_type: 'admin' }, 1],
      ['refresh_token_failures', { client_type: 'admin', reason: 'transient' }, 1],
      ['sign_outs', { client_type: 'admin', reason: 'unknown' }, 1],
    ]);
  });
});
