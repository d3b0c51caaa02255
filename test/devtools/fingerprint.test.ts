import { createHash } from 'node:crypto';
import { createMockTokenServer } from '../../src/testing';
import { createFingerprintCache, fnv1a32, tokenFingerprint } from '../../src/devtools/core/fingerprint';
import { countersFrom, displayClaims, summarizeTokens } from '../../src/devtools/core/tabReport';
import { parseTokenResponse } from '../../src/core/tokenResponse';
import { seededRandom } from '../sim/helpers';

const sha256Prefix = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 8);

function randomTokens(count: number): string[] {
  const random = seededRandom(7);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  return Array.from({ length: count }, () => {
    const length = 9 + Math.floor(random() * 1200);
    let token = '';
    for (let i = 0; i < length; i++) token += alphabet[Math.floor(random() * alphabet.length)];
    return token;
  });
}

describe('token fingerprints', () => {
  it('are the first 8 hex digits of SHA-256 (Web Crypto)', async () => {
    const server = createMockTokenServer();
    const { access_token, refresh_token } = server.issueTokens();
    await expect(tokenFingerprint(access_token)).resolves.toBe(sha256Prefix(access_token));
    await expect(tokenFingerprint(refresh_token!)).resolves.toBe(sha256Prefix(refresh_token!));
    await expect(tokenFingerprint('ünïcødé ✓')).resolves.toBe(sha256Prefix('ünïcødé ✓'));
  });

  it('fall back to FNV-1a without Web Crypto (insecure contexts)', async () => {
    vi.stubGlobal('crypto', {});
    try {
      await expect(tokenFingerprint('a')).resolves.toBe('e40c292c'); // FNV-1a 32 test vector
      await expect(tokenFingerprint('')).resolves.toBe('811c9dc5');
      await expect(tokenFingerprint('foobar')).resolves.toBe('bf9cf968');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('never equal or contain the token, and tell 1000 tokens apart', async () => {
    const tokens = randomTokens(1000);
    const fingerprints = await Promise.all(tokens.map(tokenFingerprint));
    tokens.forEach((token, i) => {
      const fingerprint = fingerprints[i]!;
      expect(fingerprint).toMatch(/^[0-9a-f]{8}$/);
      expect(fingerprint).not.toBe(token);
      expect(fingerprint.includes(token)).toBe(false);
      expect(fnv1a32(token)).not.toBe(token);
    });
    expect(new Set(fingerprints).size).toBe(tokens.length);
  });

  it('are cached per token string', async () => {
    const fingerprint = createFingerprintCache(2);
    const first = fingerprint('token-one-xxxxxxxx');
    expect(fingerprint('token-one-xxxxxxxx')).toBe(first);
    await expect(first).resolves.toBe(sha256Prefix('token-one-xxxxxxxx'));
  });
});

describe('token summaries', () => {
  it('carry fingerprints, expiry and display claims, never a token string', async () => {
    const server = createMockTokenServer();
    const response = server.issueTokens({ subject: 'user-42', scope: 'openid api' });
    const tokens = parseTokenResponse(response, 1_900_000_000_000);
    const summary = await summarizeTokens(tokens, tokenFingerprint);
    expect(summary).toMatchObject({
      accessFingerprint: sha256Prefix(tokens.accessToken),
      refreshFingerprint: sha256Prefix(tokens.refreshToken!),
      tokenType: 'Bearer',
      expiresAt: tokens.expiresAt,
      receivedAt: tokens.receivedAt,
    });
    expect(summary.claims?.sub).toBe('user-42');
    expect(typeof summary.claims?.exp).toBe('number');
    const text = JSON.stringify(summary);
    for (const token of [tokens.accessToken, tokens.refreshToken!, ...tokens.accessToken.split('.').filter((part) => part.length >= 16)]) {
      expect(text.includes(token)).toBe(false);
    }
  });

  it('have no claims for opaque tokens, and keep only display claims of JWTs', () => {
    const base = { refreshToken: null, idToken: null, tokenType: 'Bearer', scope: null, expiresAt: null, receivedAt: 0, serverVersion: null };
    expect(displayClaims({ ...base, accessToken: 'opaque-token-value' })).toBeNull();
    const payload = Buffer.from(JSON.stringify({ sub: 's', aud: ['a', 'b', 3], exp: 10, email: 'x@y', nonce: 'n' })).toString('base64url');
    expect(displayClaims({ ...base, accessToken: `e30.${payload}.sig` })).toEqual({
      from: 'access-token',
      sub: 's',
      iss: null,
      aud: 'a b',
      exp: 10,
      iat: null,
    });
  });

  it('sum the core metrics over their labels', () => {
    const metric = (name: string, value: number, labels: Record<string, string> = {}) => ({ name, value, labels: { client_type: 'web', ...labels } });
    const counters = countersFrom(
      [
        metric('refresh_token_requests', 3),
        metric('refresh_token_failures', 1, { reason: 'transient' }),
        metric('refresh_token_failures', 2, { reason: 'terminal' }),
        metric('sign_outs', 1, { reason: 'user' }),
        metric('something_else', 99),
      ],
      4,
    );
    expect(counters).toMatchObject({ refreshRequests: 3, refreshFailures: 3, signOuts: 1, adoptions: 4, refreshSuccesses: 0 });
  });
});
