import { describe, expect, it } from 'vitest';
import { MalformedJwtError, MalformedTokenResponseError } from '../../src/core/errors';
import { decodeJwtClaims } from '../../src/core/jwt';
import { needsRefresh, refreshBufferMs } from '../../src/core/refreshPolicy';
import { validateStoredState } from '../../src/core/storedRecord';
import { computeExpiresAt, MAX_LIFETIME_MS, parseTokenResponse, readTokenResponse } from '../../src/core/tokenResponse';
import { CorruptedStateError } from '../../src/core/errors';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: object) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJl`;
const NOW = Date.UTC(2030, 0, 1);

describe('expiry', () => {
  it('uses expires_in relative to the local receive time', () => {
    expect(computeExpiresAt('opaque', 300, NOW)).toBe(NOW + 300_000);
  });
  it('falls back to JWT exp - iat applied to the receive time (cancels server clock skew)', () => {
    // The server clock is 1 hour ahead of ours: exp and iat are both shifted, the lifetime is not.
    const serverNow = NOW / 1000 + 3600;
    expect(computeExpiresAt(jwt({ iat: serverNow, exp: serverNow + 120 }), undefined, NOW)).toBe(NOW + 120_000);
  });
  it("never trusts expires_in longer than a JWT access token's own exp (a huge or stale expires_in)", () => {
    const serverNow = NOW / 1000 + 3600;
    expect(computeExpiresAt(jwt({ iat: serverNow, exp: serverNow + 60 }), 1e306, NOW)).toBe(NOW + 60_000);
    expect(computeExpiresAt(jwt({ exp: NOW / 1000 + 60 }), 3600, NOW)).toBe(NOW + 60_000);
    // A shorter expires_in still wins, and an opaque token keeps expires_in.
    expect(computeExpiresAt(jwt({ iat: serverNow, exp: serverNow + 60 }), 30, NOW)).toBe(NOW + 30_000);
    expect(computeExpiresAt('opaque', 1e306, NOW)).toBe(NOW + MAX_LIFETIME_MS);
  });
  it('uses the absolute exp when there is no iat', () => {
    expect(computeExpiresAt(jwt({ exp: NOW / 1000 + 60 }), undefined, NOW)).toBe(NOW + 60_000);
  });
  it('treats opaque and malformed tokens as unknown lifetime', () => {
    expect(computeExpiresAt('2YotnFZFEjr1zCsicMWpAA', undefined, NOW)).toBeNull();
    expect(computeExpiresAt('aaa.bbb.ccc', undefined, NOW)).toBeNull();
    expect(computeExpiresAt(jwt({ exp: 'tomorrow' }), undefined, NOW)).toBeNull();
  });
  it('refresh buffer: max(leeway, 10% of lifetime), capped at half the lifetime', () => {
    const tokens = (lifetimeMs: number) => parseTokenResponse({ access_token: 'x', expires_in: lifetimeMs / 1000 }, NOW);
    const policy = { leewayMs: 30_000, lifetimeRatio: 0.1 };
    expect(refreshBufferMs(tokens(3_600_000), policy)).toBe(360_000);
    expect(refreshBufferMs(tokens(120_000), policy)).toBe(30_000);
    expect(refreshBufferMs(tokens(1_000), policy)).toBe(500);
    const hour = tokens(3_600_000);
    expect(needsRefresh(hour, NOW + 3_600_000 - 360_001, policy)).toBe(false);
    expect(needsRefresh(hour, NOW + 3_600_000 - 360_000, policy)).toBe(true);
    expect(needsRefresh(parseTokenResponse({ access_token: 'opaque' }, NOW), NOW + 10 ** 10, policy)).toBe(false);
  });
});

describe('parseTokenResponse', () => {
  it('keeps the previous refresh token and scope when the server omits them (no rotation)', () => {
    const previous = parseTokenResponse({ access_token: 'a1', refresh_token: 'r1', scope: 'openid' }, NOW);
    const next = parseTokenResponse({ access_token: 'a2', expires_in: '60' }, NOW, previous);
    expect(next).toMatchObject({ accessToken: 'a2', refreshToken: 'r1', scope: 'openid', tokenType: 'Bearer', expiresAt: NOW + 60_000 });
  });
  it.each([
    ['not an object', 'access_token=abc'],
    ['no access_token', { token_type: 'Bearer' }],
    ['empty access_token', { access_token: '' }],
    ['numeric access_token and no refresh_token', { access_token: 5 }],
  ])('rejects %s with MalformedTokenResponseError, never echoing values', (_label, body) => {
    let caught: unknown;
    try {
      parseTokenResponse(body, NOW);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MalformedTokenResponseError);
    expect((caught as Error).message).not.toMatch(/abc|Bearer/);
  });
  // Issue #9, scenario 3: a rotated 2xx with a mistyped optional field used to be thrown away, and the retry then sent
  // the spent refresh token (family revoked). The pair is kept now; each bad field is dropped or repaired and listed.
  it.each([
    ['negative expires_in', { expires_in: -1 }, ['expires_in'], { expiresAt: null }],
    ['text expires_in', { expires_in: '3600s' }, ['expires_in'], { expiresAt: null }],
    ['scope as an array', { scope: ['openid', 'email'] }, ['scope'], { scope: 'openid email' }],
    ['scope as an object', { scope: { a: 1 } }, ['scope'], { scope: 'openid' }],
    ['id_token as an object', { id_token: {} }, ['id_token'], { idToken: 'id-1' }],
    ['numeric token_type', { token_type: 5 }, ['token_type'], { tokenType: 'Bearer' }],
    ['object version', { version: {} }, ['version'], { serverVersion: null }],
    ['huge expires_in', { expires_in: 1e306 }, ['expires_in'], { expiresAt: NOW + MAX_LIFETIME_MS }],
  ])('keeps a rotated pair whose %s is mistyped, and says which field it repaired', (_label, field, repaired, expected) => {
    const previous = parseTokenResponse({ access_token: 'a1', refresh_token: 'r1', scope: 'openid', id_token: 'id-1' }, NOW - 1000);
    const read = readTokenResponse({ access_token: 'opaque-a2', refresh_token: 'r2', ...field }, NOW, previous);
    expect(read.tokens).toMatchObject({ accessToken: 'opaque-a2', refreshToken: 'r2', ...expected });
    expect(read.repaired).toEqual(repaired);
    expect(read.accessTokenUnusable).toBe(false);
    expect(Number.isFinite(read.tokens.expiresAt ?? 0)).toBe(true);
  });
  it('a body with a new refresh token but no usable access token keeps the rotation, access token marked expired', () => {
    const previous = parseTokenResponse({ access_token: 'a1', refresh_token: 'r1', expires_in: 60 }, NOW - 1000);
    const read = readTokenResponse({ access_token: 42, refresh_token: 'r2', expires_in: 60 }, NOW, previous);
    expect(read).toMatchObject({ accessTokenUnusable: true, repaired: ['access_token'] });
    expect(read.tokens).toMatchObject({ accessToken: 'a1', refreshToken: 'r2', expiresAt: NOW });
    expect(() => parseTokenResponse({ access_token: 42, refresh_token: 'r2' }, NOW, previous)).toThrow(MalformedTokenResponseError);
  });
  it('clamps every lifetime to MAX_LIFETIME_MS (expires_in, JWT exp - iat, absolute exp)', () => {
    const far = 1e300;
    expect(computeExpiresAt('opaque', far, NOW)).toBe(NOW + MAX_LIFETIME_MS);
    expect(computeExpiresAt(jwt({ iat: 0, exp: far }), undefined, NOW)).toBe(NOW + MAX_LIFETIME_MS);
    expect(computeExpiresAt(jwt({ exp: far }), undefined, NOW)).toBe(NOW + MAX_LIFETIME_MS);
  });
  it('stores the server version for optimistic concurrency', () => {
    expect(parseTokenResponse({ access_token: 'a', version: 7 }, NOW).serverVersion).toBe(7);
  });
});

describe('decodeJwtClaims', () => {
  it('decodes a JWT payload', () => {
    expect(decodeJwtClaims(jwt({ sub: 'user-1' }))).toMatchObject({ sub: 'user-1' });
  });
  it('throws MalformedJwtError without the token in the message', () => {
    const token = 'not-a-jwt-but-a-secret-value';
    expect(() => decodeJwtClaims(token)).toThrow(MalformedJwtError);
    try {
      decodeJwtClaims(token);
    } catch (error) {
      expect(JSON.stringify(error) + String(error) + String((error as Error).cause)).not.toContain(token);
    }
  });
});

describe('validateStoredState', () => {
  it('accepts valid records and nothing', () => {
    expect(validateStoredState(undefined)).toBeNull();
    expect(validateStoredState(null)).toBeNull();
    const state = { schema: 1, version: 3, tokens: null, signedOutReason: 'user', updatedAt: NOW };
    expect(validateStoredState(state)).toBe(state);
    const tokens = { ...parseTokenResponse({ access_token: 'a1', refresh_token: 'r1', expires_in: 60 }, NOW), pageReceivedAt: NOW - 5 };
    const stamped = { schema: 1, version: 4, tokens, signedOutReason: null, updatedAt: NOW };
    expect(validateStoredState(stamped)).toBe(stamped);
  });
  it.each<[string, unknown]>([
    ['a string', 'corrupt'],
    ['wrong schema', { schema: 2, version: 1, tokens: null, signedOutReason: null, updatedAt: 0 }],
    ['fractional version', { schema: 1, version: 1.5, tokens: null, signedOutReason: null, updatedAt: 0 }],
    ['bad tokens', { schema: 1, version: 1, tokens: { accessToken: '' }, signedOutReason: null, updatedAt: 0 }],
    ['unknown sign-out reason', { schema: 1, version: 1, tokens: null, signedOutReason: 'hacked', updatedAt: 0 }],
    ...['soon', Number.NaN, null].map((pageReceivedAt): [string, unknown] => [
      `a page-clock stamp of ${String(pageReceivedAt)}`,
      { schema: 1, version: 1, tokens: { ...parseTokenResponse({ access_token: 'a1' }, NOW), pageReceivedAt }, signedOutReason: null, updatedAt: 0 },
    ]),
  ])('rejects %s with CorruptedStateError', (_label, value) => {
    expect(() => validateStoredState(value)).toThrow(CorruptedStateError);
  });
});

describe('id token across refreshes', () => {
  it('keeps the previous id token when a refresh response omits it', () => {
    const previous = parseTokenResponse({ access_token: 'a1', refresh_token: 'r1', id_token: jwt({ sub: 'user-1' }) }, NOW);
    expect(parseTokenResponse({ access_token: 'a2', refresh_token: 'r2' }, NOW, previous).idToken).toBe(previous.idToken);
    expect(parseTokenResponse({ access_token: 'a3', id_token: jwt({ sub: 'user-1', n: 2 }) }, NOW, previous).idToken).not.toBe(previous.idToken);
  });
});

describe('empty optional fields', () => {
  it('an empty scope, id_token, token_type or refresh_token reads as absent, not as malformed', () => {
    const previous = parseTokenResponse({ access_token: 'a1', refresh_token: 'r1' }, NOW);
    const tokens = parseTokenResponse({ access_token: 'a2', scope: '', id_token: '', token_type: '', refresh_token: '' }, NOW, previous);
    expect(tokens).toMatchObject({ scope: null, idToken: null, tokenType: 'Bearer', refreshToken: 'r1' });
  });
});
