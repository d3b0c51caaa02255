import { describe, expect, it } from 'vitest';
import { TransientRefreshError } from '../../../src/core';
import { parts, record } from './parts';

describe('VersionWaiters (waits for a newer version)', () => {
  it('resolve on a newer transition, on an announced failure, on timeout, on abort, and on dispose', async () => {
    const p = parts();
    const newer = p.waiters.wait(1, 1_000);
    const failed = p.waiters.wait(1, 1_000);
    p.state.adopt(record(1, 0), 'channel'); // not newer than 1
    p.state.adopt(record(2, 0), 'channel');
    expect(await newer).toMatchObject({ kind: 'state', state: { version: 2 } });
    p.waiters.failed(2, new TransientRefreshError('server', 'down'));
    expect((await failed).kind).toBe('state'); // resolved by version 2 already
    const late = p.waiters.wait(2, 1_000);
    p.waiters.failed(2, new TransientRefreshError('server', 'down'));
    expect((await late).kind).toBe('failed');
    const timing = p.waiters.wait(2, 500);
    await p.clock.advance(500);
    expect((await timing).kind).toBe('timeout');
    const controller = new AbortController();
    const aborted = p.waiters.wait(2, 10_000, controller.signal);
    controller.abort();
    expect((await aborted).kind).toBe('timeout');
    const disposed = p.waiters.wait(2, 10_000);
    p.waiters.disposeAll();
    expect((await disposed).kind).toBe('disposed');
    expect(p.waiters.size).toBe(0);
    expect(p.clock.pendingTimers()).toBe(0);
  });
});
