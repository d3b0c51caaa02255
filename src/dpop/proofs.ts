import { calculateThumbprint, generateKeyPair, generateProof } from 'dpop';
import type { DpopAlgorithm } from 'tabauth';
import { UnsupportedEnvironmentError } from 'tabauth';

/**
 * Proofs and keys come from panva's `dpop` package (RFC 9449 JWS, `jti`, `iat`, `ath`, JWK thumbprints): tabauth
 * only decides which key signs and which nonce goes in.
 */

/** `htu` is the request URI without query and fragment (RFC 9449 section 4.2). */
export function proofUri(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('DPoP proof: htu must be an absolute http(s) URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('DPoP proof: htu must be an absolute http(s) URL');
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function proofMethod(method: string): string {
  if (typeof method !== 'string' || !METHOD.test(method)) throw new TypeError('DPoP proof: htm must be an HTTP method');
  return method.toUpperCase();
}

export function signProof(keyPair: CryptoKeyPair, htm: string, htu: string, nonce: string | undefined, accessToken: string | undefined): Promise<string> {
  return generateProof(keyPair, proofUri(htu), proofMethod(htm), nonce, accessToken);
}

/** A non-extractable key pair (the public half stays extractable: it goes into every proof's `jwk` header). */
export async function createKeyPair(algorithm: DpopAlgorithm): Promise<{ keyPair: CryptoKeyPair; thumbprint: string }> {
  requireWebCrypto();
  const keyPair = await generateKeyPair(algorithm, { extractable: false });
  return { keyPair, thumbprint: await calculateThumbprint(keyPair.publicKey) };
}

export function requireWebCrypto(): void {
  if (typeof crypto === 'undefined' || typeof crypto.subtle === 'undefined') {
    throw new UnsupportedEnvironmentError('DPoP needs WebCrypto (crypto.subtle), which browsers offer only in secure contexts (https or localhost)');
  }
}
