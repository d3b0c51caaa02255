import { monotonicNow, type Clock } from './clock';
import { decodeJwtClaims, looksLikeJwt } from './jwt';
import type { TokenSet } from './types';

/** How far the wall clock may drift from the monotonic one since a sample before the sample is dropped. */
const DRIFT_MS = 1_000;
/** Recent samples kept: the server's clock and ours may drift apart over days, so old ones are let go. */
const SAMPLES = 8;

interface Sample {
  /** A lower bound of (monotonic time of an issue) - (the server's time of that issue), in ms. */
  offsetMs: number;
  monoAt: number;
  wallAt: number;
}

/**
 * The one clock every tab shares with the tab that wrote a record: the server's, as the access token's `iat` shows
 * it. A tab whose wall clock is hours off the writer's cannot tell a stored pair's age from `receivedAt` (a pair from
 * "the future" may be any age, one from "the past" looks expired), so with every message lost two such tabs took
 * turns refreshing each other's fresh pairs (found by the chaos runs, seeds 188 and 270). Each refresh this tab makes
 * itself relates the server's clock to its monotonic one: the token was issued after the request was sent and less
 * than a second after its whole-second `iat`. With that, any JWT access token's issue time is known on this tab's
 * monotonic clock, never later than it was (so its age never comes out too young), within a second and a round
 * trip. Opaque tokens, tokens without `iat`, and a tab that has not refreshed yet give nothing: the wall clock decides
 * as before.
 */
export class ServerClock {
  private readonly samples: Sample[] = [];

  constructor(private readonly clock: Clock) {}

  /**
   * A pair this tab's own refresh received, `sentAtMono` being when its request was sent. Only a pair the server
   * issued for that request tells the offset: one whose lifetime is the JWT's full `exp - iat` (a grace-period replay
   * of an earlier answer carries the time left, and its `iat` is from before the request).
   */
  learn(tokens: TokenSet, sentAtMono: number): void {
    // Without a monotonic clock there is nothing to relate the server's clock to (the wall clock can jump).
    const claims = this.clock.monotonic ? issueClaims(tokens.accessToken) : null;
    if (!claims || tokens.expiresAt === null) return;
    const lifetimeMs = tokens.expiresAt - tokens.receivedAt;
    if (Math.abs(lifetimeMs - (claims.exp - claims.iat) * 1000) > 2_000) return;
    this.samples.push({ offsetMs: sentAtMono - claims.iat * 1000 - 1_000, monoAt: monotonicNow(this.clock), wallAt: this.clock.now() });
    if (this.samples.length > SAMPLES) this.samples.shift();
  }

  /**
   * The earliest monotonic time at which the access token can have been issued, or null when unknown. Samples taken
   * before the wall clock moved against the monotonic one are not used: a jump of the wall clock says nothing about
   * the server's, but a monotonic clock that stood still in system sleep (some platforms) would make every age short.
   */
  issuedAtMono(accessToken: string): number | null {
    if (this.samples.length === 0) return null;
    const claims = issueClaims(accessToken);
    if (!claims) return null;
    const mono = monotonicNow(this.clock);
    const wall = this.clock.now();
    let offset: number | null = null;
    for (const sample of this.samples) {
      if (Math.abs(wall - sample.wallAt - (mono - sample.monoAt)) > DRIFT_MS) continue;
      offset = offset === null ? sample.offsetMs : Math.max(offset, sample.offsetMs);
    }
    return offset === null ? null : claims.iat * 1000 + offset;
  }
}

function issueClaims(accessToken: string): { iat: number; exp: number } | null {
  if (!looksLikeJwt(accessToken)) return null;
  try {
    const { iat, exp } = decodeJwtClaims<{ iat?: unknown; exp?: unknown }>(accessToken);
    return Number.isSafeInteger(iat) && Number.isSafeInteger(exp) && (exp as number) >= (iat as number) ? { iat: iat as number, exp: exp as number } : null;
  } catch {
    return null;
  }
}
