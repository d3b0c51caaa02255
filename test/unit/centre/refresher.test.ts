import { describe, expect, it } from 'vitest';
import { OAuthError, type RefreshContext } from '../../../src/core';
import { parts, record } from './parts';

describe('Refresher (one refresh of the shared pair)', () => {
  it('concurrent calls for one version share one request; the pair is stored, published once and returned', async () => {
    const sent: RefreshContext[] = [];
    const p = parts({
      refresh: async (context) => (sent.push(context), { access_token: 'access-2-xxxxxxxx', refresh_token: 'refresh-2-xxxxxxxx', expires_in: 60 }),
    });
    p.state.adopt(record(1, p.clock.now()), 'this-tab');
    const calls = [1, 2, 3].map(() => p.refresher.refresh({ version: 1, force: true, trigger: 'rejected-token' }));
    const results = await Promise.all(calls);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ refreshToken: 'refresh-1-xxxxxxxx', version: 1, deviceId: 'device-1' });
    expect(results.map((result) => result?.version)).toEqual([2, 2, 2]);
    expect((await p.shared.read()).state?.version).toBe(2);
    expect(p.lockRuns).toHaveLength(1);
  });

  it('re-reads storage inside the lock: a newer stored pair means no request at all', async () => {
    const backing = new Map<string, unknown>();
    let sent = 0;
    const p = parts({ backing, refresh: async () => (sent++, { access_token: 'x-xxxxxxxxxxxx' }) });
    p.state.adopt(record(1, p.clock.now()), 'this-tab');
    backing.set('tabauth:ns:state', record(2, p.clock.now()));
    const result = await p.refresher.refresh({ version: 1, force: true, trigger: 'follower-request' });
    expect(result?.version).toBe(2);
    expect(sent).toBe(0);
    expect(p.events).toContainEqual({ type: 'refresh-skipped', version: 1, reason: 'newer-pair-available' });
  });

  it('an unmount while the request is at the server does not abort it: the rotation is stored', async () => {
    let answer!: (body: unknown) => void;
    const p = parts({ refresh: (context) => new Promise((resolve) => ((answer = resolve as (body: unknown) => void), void context)) });
    p.state.adopt(record(1, p.clock.now()), 'this-tab');
    const flight = p.refresher.refresh({ version: 1, force: true, trigger: 'rejected-token' });
    await p.clock.settle();
    p.lifetime.abort(); // the mount ends
    expect(p.inflight.size).toBe(1);
    answer({ access_token: 'access-2-xxxxxxxx', refresh_token: 'refresh-2-xxxxxxxx', expires_in: 60 });
    expect((await flight)?.version).toBe(2);
    expect((await p.shared.read()).state?.tokens?.refreshToken).toBe('refresh-2-xxxxxxxx');
    await p.inflight.drained();
  });

  it('terminal errors sign every tab out; the error it rethrows carries no token the tab held', async () => {
    const p = parts({
      refresh: async ({ refreshToken }) => Promise.reject(new OAuthError('invalid_grant', { status: 400, errorDescription: `token ${refreshToken} was used` })),
    });
    p.state.adopt(record(1, p.clock.now()), 'this-tab');
    const error = (await p.refresher.refresh({ version: 1, force: true, trigger: 'rejected-token' }).catch((caught: unknown) => caught)) as OAuthError;
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.errorDescription).not.toContain('refresh-1-xxxxxxxx');
    expect(p.state.getSnapshot()).toMatchObject({ status: 'signed-out', signedOutReason: 'refresh-rejected' });
  });

  it('a rotated 2xx without an access token keeps the new refresh token and fails the attempt', async () => {
    let sent = 0;
    const p = parts({ refresh: async () => (sent++, { access_token: 42, refresh_token: 'refresh-2-xxxxxxxx' }) as never });
    p.state.adopt(record(1, p.clock.now()), 'this-tab');
    const outcome = p.refresher.refresh({ version: 1, force: true, trigger: 'rejected-token' }).catch((caught: unknown) => caught);
    await p.clock.advance(100);
    // The failed attempt is retried at once; the retry finds the stored rotation (version 2) and sends nothing.
    expect(await outcome).toMatchObject({ version: 2 });
    expect(sent).toBe(1);
    expect(p.events).toContainEqual(expect.objectContaining({ type: 'refresh-failed', reason: 'malformed', willRetry: true, retryInMs: 0 }));
    expect(p.state.record?.tokens?.refreshToken).toBe('refresh-2-xxxxxxxx');
    expect(p.events).toContainEqual({ type: 'token-response-repaired', version: 2, fields: ['access_token'] });
  });
});
