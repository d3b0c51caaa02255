import type { DemoConfig, DemoMode, Scenario } from './demoHub';

/** The Storybook controls every demo has. */
export interface DemoArgs {
  /** Tabs opened at start (more can be added on the page). */
  tabs: number;
  /** Access-token lifetime the server issues, in seconds. */
  lifetimeSeconds: number;
  /** Token endpoint latency in milliseconds. */
  latencyMs: number;
  /** 401 storm only: queries each tab fires at once. */
  queriesPerTab?: number;
  /** Leader failover only: server grace period for a reused refresh token, in ms (0 = strict). */
  gracePeriodMs?: number;
}

export const demoArgTypes = {
  tabs: { control: { type: 'range', min: 1, max: 6, step: 1 }, description: 'Tabs opened at start (the page can add more)' },
  lifetimeSeconds: { control: { type: 'range', min: 3, max: 300, step: 1 }, description: 'Access-token lifetime issued by the server, in seconds' },
  latencyMs: { control: { type: 'range', min: 0, max: 2000, step: 50 }, description: 'Token endpoint latency, in milliseconds' },
} as const;

export function demoConfig(scenario: Scenario, mode: DemoMode, args: DemoArgs, autoApiMs: number, options: { dpop?: boolean } = {}): DemoConfig {
  return {
    dpop: options.dpop === true,
    scenario,
    mode,
    tabs: clamp(args.tabs, 1, 12),
    lifetimeSeconds: clamp(args.lifetimeSeconds, 2, 3600),
    latencyMs: clamp(args.latencyMs, 0, 10_000),
    autoApiMs,
    queriesPerTab: clamp(args.queriesPerTab ?? 12, 1, 100),
    gracePeriodMs: clamp(args.gracePeriodMs ?? 0, 0, 120_000),
  };
}

function clamp(value: number, min: number, max: number): number {
  const number = Number.isFinite(value) ? Math.round(value) : min;
  return Math.min(max, Math.max(min, number));
}
