import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock';
import { ServerClock } from '../../src/core/serverClock';
import type { TokenSet } from '../../src/core/types';

/** A tab's clocks: a wall clock `wallOffset` off the server's, and a monotonic clock from its own origin. */
function tabClock(wallOffsetMs: number) {
  let t = 1_900_000_000_000; // the server's time
  const clock: Clock & { advance(ms: number): void; jumpWall(ms: number): void; server(): number } = {
    now: () => t + wallOffsetMs,
    monotonic: () => t - 1_899_999_000_000,
    setTimeout: () => 0 as never,
    clearTimeout: () => {},
    advance: (ms) => void (t += ms),
    jumpWall: (ms) => void (wallOffsetMs += ms),
    server: () => t,
  };
  return clock;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (iat: number, exp: number) => `${b64({ alg: 'RS256' })}.${b64({ iat, exp, sub: 'u' })}.c2ln`;

/** A pair as the refresher stores it: lifetime from `receivedAt` (the request's send time, wall clock). */
function pair(accessToken: string, receivedAt: number, lifetimeMs: number): TokenSet {
  return {
    accessToken,
    refreshToken: 'r',
    idToken: null,
    tokenType: 'Bearer',
    scope: null,
    expiresAt: receivedAt + lifetimeMs,
    receivedAt,
    serverVersion: null,
  };
}

describe('ServerClock: a pair issue time on this tab’s monotonic clock, from the access token’s iat', () => {
  it('knows nothing before this tab’s own refresh, nor for opaque tokens', () => {
    const clock = tabClock(0);
    const server = new ServerClock(clock);
    expect(server.issuedAtMono(jwt(1_900_000_000, 1_900_000_030))).toBeNull();
    server.learn(pair(jwt(1_900_000_000, 1_900_000_030), clock.now(), 30_000), clock.monotonic!());
    expect(server.issuedAtMono('opaque-token')).toBeNull();
  });

  it('never dates a token later than it was issued, and no more than a second and a round trip earlier, whatever the wall clock says', () => {
    const clock = tabClock(-7_800_000); // this tab's wall clock is 2 h 10 min behind the server's
    const server = new ServerClock(clock);
    // This tab's refresh: sent now, issued 40 ms later at server time 1_900_000_000.400 s, answered 80 ms after sending.
    const sentMono = clock.monotonic!();
    const sentWall = clock.now();
    clock.advance(400);
    const issuedMono = clock.monotonic!();
    const iat = Math.floor(clock.server() / 1000);
    clock.advance(40);
    server.learn(pair(jwt(iat, iat + 30), sentWall, 30_000), sentMono);

    // Another tab's pair, issued 12.7 s later (server time), read here 3 s after that.
    clock.advance(12_300);
    const otherIssuedMono = clock.monotonic!();
    const otherIat = Math.floor(clock.server() / 1000);
    clock.advance(3_000);
    const estimate = server.issuedAtMono(jwt(otherIat, otherIat + 30))!;
    expect(estimate).toBeLessThanOrEqual(otherIssuedMono);
    expect(otherIssuedMono - estimate).toBeLessThanOrEqual(2_000 + (issuedMono - sentMono));
  });

  it('learns nothing from a replayed answer (its lifetime is shorter than exp - iat: it was issued before the request)', () => {
    const clock = tabClock(0);
    const server = new ServerClock(clock);
    const iat = Math.floor(clock.server() / 1000) - 20;
    server.learn(pair(jwt(iat, iat + 30), clock.now(), 10_000), clock.monotonic!());
    expect(server.issuedAtMono(jwt(iat, iat + 30))).toBeNull();
  });

  it('drops what it learned when the wall clock moves against the monotonic one (a jump, or a sleep that stopped the monotonic clock)', () => {
    const clock = tabClock(0);
    const server = new ServerClock(clock);
    const iat = Math.floor(clock.server() / 1000);
    server.learn(pair(jwt(iat, iat + 30), clock.now(), 30_000), clock.monotonic!());
    expect(server.issuedAtMono(jwt(iat, iat + 30))).not.toBeNull();
    clock.jumpWall(60_000);
    expect(server.issuedAtMono(jwt(iat, iat + 30))).toBeNull();
  });
});
