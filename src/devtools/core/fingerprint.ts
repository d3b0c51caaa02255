/**
 * Short, non-reversible fingerprints of token strings: enough to see at a glance that two tabs hold the same token
 * (or that a refresh replaced it), never enough to recover or use it.
 *
 * SHA-256 through Web Crypto (`crypto.subtle`), first 8 hex digits (32 bits). Web Crypto exists only in secure
 * contexts (https, localhost); elsewhere (a dev server opened by LAN address over http) the fingerprint is a 32-bit
 * FNV-1a hash of the UTF-16 code units instead: just as short and just as impossible to invert, only not
 * collision-resistant, which a display label does not need.
 */
export async function tokenFingerprint(token: string): Promise<string> {
  const subtle = typeof crypto !== 'undefined' ? crypto.subtle : undefined;
  if (subtle && typeof subtle.digest === 'function') {
    try {
      const digest = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(token)));
      return [...digest.subarray(0, 4)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
    } catch {
      // Some embedded browsers expose subtle but refuse to digest: fall through to the plain hash.
    }
  }
  return fnv1a32(token);
}

/** 32-bit FNV-1a over UTF-16 code units, as 8 hex digits. */
export function fnv1a32(value: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** Remembers the last few fingerprints, so a report rebuilt for every event does not hash the same token again. */
export function createFingerprintCache(size = 6): (token: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (token) => {
    let fingerprint = cache.get(token);
    if (!fingerprint) {
      fingerprint = tokenFingerprint(token);
      cache.set(token, fingerprint);
      if (cache.size > size) cache.delete(cache.keys().next().value as string);
    }
    return fingerprint;
  };
}
