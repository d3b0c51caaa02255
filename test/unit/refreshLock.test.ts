import { describe, expect, it } from 'vitest';
import { leaseRefreshLock, webLocksRefreshLock, type WebLocksLike } from '../../src/core/coordination/refreshLock';
import { createMemoryStorage } from '../../src/core/storage/memoryStorage';
import { createSimulatedClock } from '../../src/testing/simulatedClock';

describe('lease refresh lock (browsers without Web Locks)', () => {
  it('serialises holders across tabs sharing storage', async () => {
    const clock = createSimulatedClock();
    const backing = new Map<string, unknown>();
    const order: string[] = [];
    const lock = (owner: string) => leaseRefreshLock({ storage: createMemoryStorage(backing), key: 'lease', owner, clock, ttlMs: 10_000, retryDelayMs: 50 });
    const work = (name: string) => async () => {
      order.push(`${name}:start`);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 200));
      order.push(`${name}:end`);
    };
    const runs = [lock('a').run(work('a')), lock('b').run(work('b')), lock('c').run(work('c'))];
    await clock.advance(2_000);
    await Promise.all(runs);
    // No two holders overlap: every start is followed by its own end.
    for (let i = 0; i < order.length; i += 2) expect(order[i]!.split(':')[0]).toBe(order[i + 1]!.split(':')[0]);
    expect(order).toHaveLength(6);
    expect(backing.get('lease')).toBeUndefined();
  });

  it("queues one tab's runs across lock objects (a client makes one per mount period), also past an aborted waiter", async () => {
    const clock = createSimulatedClock();
    const storage = createMemoryStorage(new Map<string, unknown>());
    const options = { storage, key: 'lease', owner: 'tab-a', clock, ttlMs: 10_000, retryDelayMs: 50 };
    const order: string[] = [];
    const work = (name: string, ms: number) => async () => {
      order.push(`${name}:start`);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
      order.push(`${name}:end`);
    };
    const firstPeriod = leaseRefreshLock(options);
    const inFlight = firstPeriod.run(work('in-flight', 1_000));
    // A run of the same period waiting behind it, aborted by the unmount (seed 11148: it dropped the queue).
    const unmount = new AbortController();
    const waiter = firstPeriod.run(work('waiter', 10), unmount.signal);
    unmount.abort(new Error('unmounted'));
    await expect(waiter).rejects.toThrow('unmounted');
    // The next mount period's lock: its run takes the lease only once the in-flight one has released it.
    const nextPeriod = leaseRefreshLock(options).run(work('next', 10));
    await clock.advance(2_000);
    await Promise.all([inFlight, nextPeriod]);
    expect(order).toEqual(['in-flight:start', 'in-flight:end', 'next:start', 'next:end']);
  });

  it('takes over the lease of a holder that died (after its ttl)', async () => {
    const clock = createSimulatedClock();
    const backing = new Map<string, unknown>([['lease', { owner: 'dead-tab', expiresAt: clock.now() + 1_000 }]]);
    const lock = leaseRefreshLock({ storage: createMemoryStorage(backing), key: 'lease', owner: 'b', clock, ttlMs: 10_000, retryDelayMs: 100 });
    let ran = false;
    const run = lock.run(async () => {
      ran = true;
    });
    await clock.advance(500);
    expect(ran).toBe(false);
    await clock.advance(600);
    await run;
    expect(ran).toBe(true);
  });

  it('runs the work when storage fails (leadership is then the only guard) and reports it', async () => {
    const clock = createSimulatedClock();
    const failures: unknown[] = [];
    const storage = { ...createMemoryStorage(), update: async () => Promise.reject(new Error('quota')) };
    const lock = leaseRefreshLock({ storage, key: 'lease', owner: 'a', clock, ttlMs: 1_000, onStorageFailure: (error) => failures.push(error) });
    expect(await lock.run(async () => 'done')).toBe('done');
    expect(failures).toHaveLength(1);
  });
});

describe('Web Locks refresh lock', () => {
  it('requests an exclusive lock under the given name', async () => {
    const calls: Array<[string, unknown]> = [];
    const locks: WebLocksLike = {
      request: (name, options, callback) => {
        calls.push([name, options]);
        return callback({ name });
      },
    };
    expect(await webLocksRefreshLock('tabauth:ns:refresh', locks).run(async () => 42)).toBe(42);
    expect(calls).toEqual([['tabauth:ns:refresh', { mode: 'exclusive' }]]);
  });
});
