import { type Counter, decodeJwtClaims, type TokenSet } from 'tabauth';
import type { DevtoolsClaims, DevtoolsCounters, DevtoolsTokenSummary } from './protocol';
import { emptyCounters } from './tabList';

/**
 * What this tab tells the others about its pair and its counters: fingerprints and display claims, never a token.
 */

/** Core metric names (see the README's counter list) and the devtools field each one is summed into. */
const METRICS: Record<string, keyof DevtoolsCounters> = {
  refresh_token_requests: 'refreshRequests',
  refresh_token_successes: 'refreshSuccesses',
  refresh_token_failures: 'refreshFailures',
  refresh_token_skipped: 'refreshSkipped',
  leadership_gained: 'leadershipGained',
  tab_messages_dropped: 'messagesDropped',
  sign_outs: 'signOuts',
  storage_errors: 'storageErrors',
};

/** Sums `client.metrics()` over their labels. */
export function countersFrom(metrics: readonly Counter[], adoptions: number): DevtoolsCounters {
  const counters = emptyCounters();
  counters.adoptions = adoptions;
  for (const metric of metrics) {
    const key = Object.prototype.hasOwnProperty.call(METRICS, metric.name) ? METRICS[metric.name] : undefined;
    if (key && Number.isSafeInteger(metric.value) && metric.value >= 0) counters[key] += metric.value;
  }
  return counters;
}

const shortText = (value: unknown, max = 256): string | null => (typeof value === 'string' ? value.slice(0, max) : null);
const numeric = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Decodes display claims (id token first, like `useAuth().claims`); null for opaque or malformed tokens. */
export function displayClaims(tokens: TokenSet): DevtoolsClaims | null {
  const candidates = [
    ['id-token', tokens.idToken],
    ['access-token', tokens.accessToken],
  ] as const;
  for (const [from, token] of candidates) {
    if (!token) continue;
    let claims: Record<string, unknown>;
    try {
      claims = decodeJwtClaims(token);
    } catch {
      continue;
    }
    const aud = Array.isArray(claims.aud) ? claims.aud.filter((value) => typeof value === 'string').join(' ') : claims.aud;
    return { from, sub: shortText(claims.sub), iss: shortText(claims.iss), aud: shortText(aud), exp: numeric(claims.exp), iat: numeric(claims.iat) };
  }
  return null;
}

/**
 * The summary of a pair: fingerprints (async: Web Crypto), claims, expiry. `expiredAt` is set when the tab's own
 * clock says the pair has expired (snapshot.expired, e.g. after "Expire"): that moment is shown as its expiry.
 */
export async function summarizeTokens(
  tokens: TokenSet,
  fingerprint: (token: string) => Promise<string>,
  expiredAt: number | null = null,
): Promise<DevtoolsTokenSummary> {
  const [accessFingerprint, refreshFingerprint, idFingerprint] = await Promise.all([
    fingerprint(tokens.accessToken),
    tokens.refreshToken ? fingerprint(tokens.refreshToken) : null,
    tokens.idToken ? fingerprint(tokens.idToken) : null,
  ]);
  return {
    accessFingerprint,
    refreshFingerprint,
    idFingerprint,
    tokenType: /^[A-Za-z0-9_.:-]{1,64}$/.test(tokens.tokenType) ? tokens.tokenType : 'other',
    scope: tokens.scope?.slice(0, 512) ?? null,
    expiresAt: expiredAt !== null ? Math.min(expiredAt, tokens.expiresAt ?? expiredAt) : tokens.expiresAt,
    receivedAt: tokens.receivedAt,
    claims: displayClaims(tokens),
  };
}
