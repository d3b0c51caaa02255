/**
 * Sample summaries for the browser bench. Every timed figure is reported as p50 and p99 of its samples, never as
 * a single run, and next to a floor summarised the same way.
 */

export interface Summary {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentile (p99 of up to 100 samples is the largest one; the report says so). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (value: number | null, digits = 1): number | null => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : null),
  };
}

/** figure ÷ floor at p50, e.g. "1.8x"; null when either is missing or the floor is 0. */
export function ratio(figure: Summary, floor: Summary): number | null {
  if (figure.p50 === null || floor.p50 === null || floor.p50 <= 0) return null;
  return round(figure.p50 / floor.p50, 2);
}

const ms = (value: number | null) => (value === null ? 'n/a' : `${value} ms`);

/** "1.6 / 3.1 ms (n=20)" */
export function formatSummary(summary: Summary | null | undefined): string {
  if (!summary || summary.n === 0) return 'n/a';
  return `${summary.p50} / ${ms(summary.p99)} (n=${summary.n})`;
}

export const formatMs = ms;

export function formatRatio(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)}x`;
}
