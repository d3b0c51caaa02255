import type { TokenSet } from './types';

/** The expiry policy: when a pair is due for refresh, and when it has expired. */

export interface RefreshPolicy {
  /** Minimum time before expiry at which a refresh is due, in ms. */
  leewayMs: number;
  /** Fraction of the token lifetime reserved before expiry (0.1 = refresh in the last 10%). */
  lifetimeRatio: number;
}

/**
 * How long before expiry a token is refreshed: the larger of the fixed leeway and the lifetime ratio, capped at
 * half the lifetime so that very short tokens (1 s in tests) do not refresh the moment they arrive.
 */
export function refreshBufferMs(tokens: TokenSet, policy: RefreshPolicy): number {
  if (tokens.expiresAt === null) return 0;
  const lifetime = Math.max(0, tokens.expiresAt - tokens.receivedAt);
  return Math.min(Math.max(policy.leewayMs, lifetime * policy.lifetimeRatio), lifetime / 2);
}

/** The moment (local ms) at which the pair should be refreshed, or null for tokens of unknown lifetime. */
export function refreshDueAt(tokens: TokenSet, policy: RefreshPolicy): number | null {
  if (tokens.expiresAt === null) return null;
  return tokens.expiresAt - refreshBufferMs(tokens, policy);
}

/** True when the access token is missing its lifetime margin: expired or inside the refresh buffer. */
export function needsRefresh(tokens: TokenSet, now: number, policy: RefreshPolicy): boolean {
  const due = refreshDueAt(tokens, policy);
  return due !== null && now >= due;
}

export function isExpired(tokens: TokenSet, now: number): boolean {
  return tokens.expiresAt !== null && now >= tokens.expiresAt;
}

