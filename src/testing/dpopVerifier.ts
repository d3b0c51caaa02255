/**
 * Server-side DPoP proof checks (RFC 9449 section 4.3) for the mock token server and its resource-server helper,
 * with jose (`jwtVerify` + `EmbeddedJWK`, `calculateJwkThumbprint`), the library oidc-provider itself uses.
 *
 * jose is an optional peer dependency of tabauth: it is imported only when a mock server is created with DPoP on, so
 * `tabauth/testing` keeps working without it for everything else.
 */
// A type-only import is erased: jose itself is still loaded on demand (loadJose below).
import type * as JoseModule from 'jose';

export type DpopCheck =
  { ok: true; jkt: string; jti: string; nonce: string | undefined } | { ok: false; error: 'invalid_dpop_proof' | 'use_dpop_nonce'; description: string };

export interface DpopVerifierOptions {
  /** Reject proofs without the server's current (or previous) nonce with `use_dpop_nonce`. */
  requireNonce: boolean;
  /**
   * Source of nonce values. Default random; a seeded one keeps simulations reproducible. Nonces are what the server
   * hands out; a proof's `iat` is checked against the real clock (WebCrypto-based proof libraries stamp real time).
   */
  random: () => number;
  /** Accepted distance of `iat` from now, in seconds. Default 300 (oidc-provider's window). */
  iatWindowSeconds?: number;
}

export interface DpopVerifier {
  verify(proof: string | null, request: { htm: string; htu: string; accessToken?: string }): Promise<DpopCheck>;
  /** The nonce the server hands out now. */
  readonly nonce: string;
  /** Issues a new nonce; the previous one stays accepted until the next rotation (like oidc-provider's window). */
  rotateNonce(): void;
}

type Jose = typeof JoseModule;
let josePromise: Promise<Jose> | undefined;

function loadJose(): Promise<Jose> {
  josePromise ??= import('jose').catch((error: unknown) => {
    josePromise = undefined;
    throw new Error('tabauth/testing: the mock server needs the "jose" package for DPoP (npm install --save-dev jose)', { cause: error });
  });
  return josePromise;
}

const ALGORITHMS = ['ES256', 'Ed25519', 'EdDSA', 'RS256', 'PS256'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  const window = options.iatWindowSeconds ?? 300;
  // Replay detection: proofs are single use. Entries older than the iat window can never be accepted again anyway.
  const seen = new Map<string, number>();
  const newNonce = () => {
    let out = '';
    for (let i = 0; i < 32; i++) out += ALPHABET.charAt(Math.floor(options.random() * 64) & 63);
    return out;
  };
  let current = newNonce();
  let previous: string | null = null;

  const forget = (nowSeconds: number) => {
    for (const [jti, iat] of seen) {
      if (iat >= nowSeconds - window) break;
      seen.delete(jti);
    }
  };

  return {
    get nonce() {
      return current;
    },
    rotateNonce() {
      previous = current;
      current = newNonce();
    },
    async verify(proof, request) {
      if (!proof) return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof missing' };
      const jose = await loadJose();
      let payload: Record<string, unknown>;
      let jwk: JoseModule.JWK;
      try {
        const verified = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ALGORITHMS });
        payload = verified.payload as Record<string, unknown>;
        jwk = verified.protectedHeader.jwk as JoseModule.JWK;
      } catch {
        return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof signature or header invalid' };
      }
      const nowSeconds = Math.floor(Date.now() / 1000);
      if (typeof payload.jti !== 'string' || payload.jti.length === 0) return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof without jti' };
      if (typeof payload.iat !== 'number' || Math.abs(nowSeconds - payload.iat) > window)
        return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof iat out of window' };
      if (payload.htm !== request.htm) return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof htm mismatch' };
      if (typeof payload.htu !== 'string' || stripQuery(payload.htu) !== stripQuery(request.htu))
        return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof htu mismatch' };
      if (request.accessToken !== undefined) {
        const ath = jose.base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(request.accessToken))));
        if (payload.ath !== ath) return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof ath mismatch' };
      }
      const nonce = typeof payload.nonce === 'string' ? payload.nonce : undefined;
      if (nonce === undefined ? options.requireNonce : nonce !== current && nonce !== previous) {
        return { ok: false, error: 'use_dpop_nonce', description: nonce === undefined ? 'nonce is required in the DPoP proof' : 'invalid nonce in DPoP proof' };
      }
      forget(nowSeconds);
      if (seen.has(payload.jti)) return { ok: false, error: 'invalid_dpop_proof', description: 'DPoP proof replayed' };
      seen.set(payload.jti, payload.iat);
      return { ok: true, jkt: await jose.calculateJwkThumbprint(jwk), jti: payload.jti, nonce };
    },
  };
}

function stripQuery(url: string): string | null {
  try {
    const parsed = new URL(url);
    parsed.search = '';
    parsed.hash = '';
    return parsed.href;
  } catch {
    return null;
  }
}
