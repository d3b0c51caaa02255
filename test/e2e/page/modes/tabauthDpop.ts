/**
 * The DPoP parts of the tabauth mode: the API through tabauth/query's authedFetch (proofs, nonce retries, refresh
 * on 401), the login seam with oauth4webapi (the seam tabauth/oidc uses: `DPoP(client, keyPair)` on the pair tabauth
 * keeps, `dpop_jkt` from its thumbprint), and inspection of the key in IndexedDB.
 */
import * as oauth from 'oauth4webapi';
import type { AuthClient } from 'tabauth';
import { isStoredDpopKey } from 'tabauth/dpop';
import { authedFetch } from 'tabauth/query';
import type { DpopInfo, DpopTestApi, PageConfig } from '../api';

export function dpopApiFetch(client: AuthClient): (url: string) => Promise<Response> {
  const api = authedFetch(client);
  return (url) => api(url, { cache: 'no-store' });
}

export function dpopTestApi(client: AuthClient, config: PageConfig): DpopTestApi {
  const dpop = client.dpop!;
  // Times every proof the tab signs for its own requests (authedFetch and the refresh call the handle's proof()).
  const timings: number[] = [];
  const sign = dpop.proof.bind(dpop);
  (dpop as { proof: typeof dpop.proof }).proof = async (...args) => {
    const start = performance.now();
    try {
      return await sign(...args);
    } finally {
      timings.push(performance.now() - start);
    }
  };
  let loginThumbprint: string | null = null;
  return {
    proofTimings: () => [...timings],
    startTogether() {
      new BroadcastChannel(`e2e-start:${config.namespace}`).postMessage('start');
      return dpop.thumbprint();
    },
    async measureProofs(samples) {
      const token = client.getSnapshot().tokens?.accessToken ?? 'x'.repeat(800);
      const { privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
      const payload = new TextEncoder().encode('e'.repeat((await sign('GET', config.apiUrl, { accessToken: token, nonce: 'n'.repeat(43) })).lastIndexOf('.')));
      const proofMs: number[] = [];
      const signMs: number[] = [];
      for (let i = 0; i < samples; i++) {
        let start = performance.now();
        await sign('GET', config.apiUrl, { accessToken: token, nonce: 'n'.repeat(43) });
        proofMs.push(performance.now() - start);
        start = performance.now();
        await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, payload);
        signMs.push(performance.now() - start);
      }
      return { proofMs, signMs };
    },
    async newKeyForLogin() {
      loginThumbprint = (await dpop.newKeyForLogin()).thumbprint;
      return loginThumbprint;
    },
    async exchange(callback) {
      const issuer = new URL(config.issuer);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
      const oauthClient: oauth.Client = { client_id: config.clientId };
      // The login's key is pending until its tokens are stored: the exchange signs with it, not the current one.
      const { keyPair } = (loginThumbprint ? await dpop.loginKey(loginThumbprint) : null) ?? (await dpop.key());
      const handle = oauth.DPoP(oauthClient, keyPair);
      const params = oauth.validateAuthResponse(as, oauthClient, new URL(callback.callbackUrl), callback.state);
      const redeem = () =>
        oauth.authorizationCodeGrantRequest(as, oauthClient, oauth.None(), params, callback.redirectUri, callback.codeVerifier, {
          DPoP: handle,
          [oauth.allowInsecureRequests]: true,
        });
      let response = await redeem();
      let result: oauth.TokenEndpointResponse;
      try {
        result = await oauth.processAuthorizationCodeResponse(as, oauthClient, response, { expectedNonce: callback.nonce });
      } catch (error) {
        // The token endpoint requires its nonce: oauth4webapi's handle has stored it, send again once.
        if (!oauth.isDPoPNonceError(error)) throw error;
        response = await redeem();
        result = await oauth.processAuthorizationCodeResponse(as, oauthClient, response, { expectedNonce: callback.nonce });
      }
      const body = { ...result } as Record<string, unknown>;
      if (loginThumbprint) await dpop.promoteLoginKey(loginThumbprint);
      await client.signIn(body as never);
      return body;
    },
    async info(): Promise<DpopInfo> {
      const stored = await storedKeys();
      const record = stored[0] ?? null;
      const exportError = record
        ? await crypto.subtle.exportKey('jwk', record.keyPair.privateKey).then(
            () => 'none',
            (error: unknown) => (error instanceof Error ? error.name : String(error)),
          )
        : 'no key';
      const token = client.getSnapshot().tokens?.accessToken;
      return {
        thumbprint: await dpop.thumbprint(),
        storedKeys: stored.length,
        storedThumbprint: record?.thumbprint ?? null,
        privateKeyExtractable: record ? record.keyPair.privateKey.extractable : null,
        exportError,
        tokenJkt: token ? jktOf(token) : null,
        refreshToken: client.getSnapshot().tokens?.refreshToken ?? null,
      };
    },
  };
}

/** Every value in tabauth's IndexedDB store that holds a DPoP key record (pending login keys are not such values). */
export async function storedKeys() {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('tabauth');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    const values = await new Promise<unknown[]>((resolve, reject) => {
      const request = db.transaction('keyval').objectStore('keyval').getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return values.filter(isStoredDpopKey);
  } finally {
    db.close();
  }
}

export function jktOf(token: string): string | null {
  try {
    const part = token.split('.')[1]!;
    const claims = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { cnf?: { jkt?: string } };
    return claims.cnf?.jkt ?? null;
  } catch {
    return null;
  }
}
