/**
 * The contract between the OIDC e2e page (served by the test OIDC server at its own origin, with '/callback' as a
 * client-side route) and the tests. Types only, plus the JWT claim reader both sides use.
 */

export interface OidcPageSnapshot {
  /** Random per page load: unchanged means the tab was not reloaded. */
  loadId: string;
  /** 'elsewhere' (reported by the test helper) while the tab shows another page, such as the provider's. */
  route: 'home' | 'callback' | 'elsewhere';
  status: 'loading' | 'authenticated' | 'signed-out';
  version: number;
  leader: boolean;
  signedOutReason: string | null;
  /** `sub` of the ID token and of the access token this tab holds: equal unless two logins were mixed. */
  idSub: string | null;
  accessSub: string | null;
  /** `jti` of the access token, and the refresh token itself (a test page: the runner compares pairs). */
  jti: string | null;
  refreshToken: string | null;
  /** What React rendered. */
  renderedStatus: string | null;
  renderedName: string | null;
  /** The typed error of a refused callback or a failed login call. */
  error: { name: string; code: string | null; reason: string | null; message: string } | null;
}

/** A login this tab completed: the pair its own callback stored. */
export interface OwnLogin {
  jti: string | null;
  refreshToken: string | null;
  sub: string | null;
}

/** With DPoP on (`localStorage['e2e:dpop'] === '1'`): the key as IndexedDB holds it and the token's binding. */
export interface OidcDpopInfo {
  thumbprint: string;
  /** DPoP key records in tabauth's IndexedDB store (the namespace's key; pending login keys are kept apart). */
  storedKeys: number;
  storedThumbprint: string | null;
  /** `cnf.jkt` of the access token the tab holds. */
  tokenJkt: string | null;
}

export interface OidcTestApi {
  snapshot(): OidcPageSnapshot;
  /** Present when the page runs with DPoP. */
  dpopInfo?: () => Promise<OidcDpopInfo>;
  logins: OwnLogin[];
  events: Array<{ type: string } & Record<string, unknown>>;
}

declare global {
  interface Window {
    oidcTest?: OidcTestApi;
  }
}

/** A claim of a JWT (no verification: the page only reports what it holds). */
export function claimOf(token: string | null | undefined, claim: string): string | null {
  const part = token?.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const value = (JSON.parse(json) as Record<string, unknown>)[claim];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}
