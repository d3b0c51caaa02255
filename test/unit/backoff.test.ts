import { describe, expect, it } from 'vitest';
import { backoffDelayMs, resolveRetryOptions } from '../../src/core/refresh/backoff';

describe('backoff', () => {
  it('default: min(2^n s + random * 1 s, 30 s), 5 attempts', () => {
    const options = resolveRetryOptions();
    expect(options.attempts).toBe(5);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, options, () => 0))).toEqual([2_000, 4_000, 8_000, 16_000, 30_000]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, options, () => 0.999))).toEqual([2_999, 4_999, 8_999, 16_999, 30_000]);
  });
  it('full jitter: random(0 .. min(2^n s, 30 s))', () => {
    const options = resolveRetryOptions({ jitter: 'full' });
    expect(backoffDelayMs(3, options, () => 0.5)).toBe(4_000);
    expect(backoffDelayMs(9, options, () => 1)).toBe(30_000);
  });
  it('is configurable', () => {
    const options = resolveRetryOptions({ attempts: 2, baseDelayMs: 10, maxDelayMs: 25 });
    expect(options.attempts).toBe(2);
    expect(backoffDelayMs(1, options, () => 0)).toBe(20);
    expect(backoffDelayMs(2, options, () => 0)).toBe(25);
  });
});

describe('systemClock', () => {
  it('clamps very long delays instead of letting the runtime fire them at once', async () => {
    const { systemClock } = await import('../../src/core/clock');
    let fired = false;
    const handle = systemClock.setTimeout(
      () => {
        fired = true;
      },
      90 * 24 * 3600_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    systemClock.clearTimeout(handle);
    expect(fired).toBe(false);
  });
});
