import { act, render, type RenderResult } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import { sleep } from '../../src/core/clock';
import { AuthProvider } from '../../src/react';
import type { SimTab, TabSimulation } from '../../src/testing';
import { strictSimulation } from '../sim/helpers';

export { strictSimulation };

/** Moves simulated time inside act(), so React renders what the clients did before the test looks. */
export async function advance(sim: TabSimulation, ms: number): Promise<void> {
  await act(async () => {
    await sim.advance(ms);
  });
}

/** Opens a tab whose client is mounted by its own <AuthProvider>, rendered into its own container. */
export function renderTab(sim: TabSimulation, ui: ReactNode, options: { name?: string; strict?: boolean } = {}): RenderResult & { tab: SimTab } {
  const tab = sim.openTab({ name: options.name, mount: false });
  const tree = <AuthProvider client={tab.client}>{ui}</AuthProvider>;
  const result = render(options.strict ? <StrictMode>{tree}</StrictMode> : tree);
  return Object.assign(result, { tab });
}

/**
 * The app's API for the tests: answers 200 JSON to a bearer token the mock token server says is valid, 401 otherwise.
 * Responds after `latencyMs` of simulated time (a function of the call index spreads responses out), checking the
 * token on arrival like a real resource server.
 */
export function createApi(sim: TabSimulation, options: { latencyMs?: number | ((callIndex: number) => number); status?: (url: string) => number | null } = {}) {
  const calls: Array<{ url: string; method: string; token: string | null; status: number; body: string | null }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const header = new Headers(init?.headers).get('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : null;
    const forced = options.status?.(url) ?? null;
    const status = forced ?? (token && sim.server.validateAccessToken(token).valid ? 200 : 401);
    const body = typeof init?.body === 'string' ? init.body : null;
    calls.push({ url, method: init?.method ?? 'GET', token, status, body });
    const latencyMs = typeof options.latencyMs === 'function' ? options.latencyMs(calls.length - 1) : (options.latencyMs ?? 10);
    if (latencyMs > 0) await sleep(sim.clock, latencyMs, init?.signal ?? undefined);
    if (status === 401) return Response.json({ error: 'invalid_token' }, { status, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    if (status >= 400) return Response.json({ error: 'failed', status }, { status });
    return Response.json({ url, method: init?.method ?? 'GET', body: body === null ? null : JSON.parse(body) });
  };
  return { fetch, calls, count: (status?: number) => calls.filter((call) => status === undefined || call.status === status).length };
}

/** An unsigned JWT (the hooks decode claims, they never verify signatures). */
export function unsignedJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.c2ln`;
}
