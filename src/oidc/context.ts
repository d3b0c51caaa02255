import type * as oauth from 'oauth4webapi';
import type { DpopHandle } from 'tabauth';
import type { AttemptStore } from './attemptStore';
import type { Discovery, HttpOptions } from './discovery';
import type { OidcBrowser } from './types';

/** Everything the parts of one login share, resolved once by createOidcLogin. */
export interface OidcContext {
  clientId: string;
  /** oauth4webapi's client metadata: a public client (token_endpoint_auth_method none) with the clock tolerance. */
  oauthClient: oauth.Client;
  discovery: Discovery;
  attempts: AttemptStore;
  http: HttpOptions;
  browser: OidcBrowser;
  scope: string;
  /** 'openid' is in the scope: a nonce is sent and an ID token is required. */
  openid: boolean;
  redirectUri: string;
  popupRedirectUri: string;
  postLogoutRedirectUri: string | null;
  extraParams: Record<string, string>;
  attemptMaxAgeMs: number;
  clockToleranceSeconds: number;
  now: () => number;
  /** `options.dpop`: a login makes a new key, binds the code to it (`dpop_jkt`) and signs the code exchange. */
  dpop: DpopHandle | null;
}
