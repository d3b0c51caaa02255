/**
 * Retry policy for transient refresh failures (network, 5xx, 429, timeouts).
 */
export interface RetryOptions {
  /** Total attempts including the first. Default 5. */
  attempts?: number;
  /** Base delay: the wait before retry n is based on baseDelayMs * 2^n. Default 1000. */
  baseDelayMs?: number;
  /** Upper bound for a single wait. Default 30000. */
  maxDelayMs?: number;
  /**
   * 'additive' (default, the classic recipe): min(2^n + random(0..1), 30) seconds.
   * 'full' (AWS "full jitter"): random(0 .. min(2^n, 30)) seconds; spreads many clients further apart.
   */
  jitter?: 'additive' | 'full';
}

/** `RetryOptions` with every default filled in (what `resolveRetryOptions` returns). */
export interface ResolvedRetryOptions {
  /** Total attempts including the first, at least 1. */
  attempts: number;
  /** Base of the exponential wait, in milliseconds. */
  baseDelayMs: number;
  /** Upper bound for a single wait, in milliseconds. */
  maxDelayMs: number;
  /** How randomness is added to the wait (see `RetryOptions.jitter`). */
  jitter: 'additive' | 'full';
}

/** Fills in the defaults of `RetryOptions` (5 attempts, 1 s base, 30 s cap, additive jitter) and clamps bad values. */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    attempts: Math.max(1, Math.floor(options.attempts ?? 5)),
    baseDelayMs: Math.max(0, options.baseDelayMs ?? 1000),
    maxDelayMs: Math.max(0, options.maxDelayMs ?? 30_000),
    jitter: options.jitter ?? 'additive',
  };
}

/** Wait after failed attempt number `attempt` (1-based) before the next one. */
export function backoffDelayMs(attempt: number, options: ResolvedRetryOptions, random: () => number): number {
  const exponential = options.baseDelayMs * 2 ** attempt;
  if (options.jitter === 'full') return Math.min(options.maxDelayMs, exponential) * random();
  return Math.min(options.maxDelayMs, exponential + random() * options.baseDelayMs);
}
