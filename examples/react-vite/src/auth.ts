import { createAuthClient } from 'tabauth';
import { createOidcLogin } from 'tabauth/oidc';

// `npm run example` serves this app and the OpenID provider (oidc-provider) from one origin on 127.0.0.1.
const origin = window.location.origin;

export const oidc = createOidcLogin({
  issuer: origin,
  clientId: 'tabauth-e2e',
  redirectUri: `${origin}/callback`,
  postLogoutRedirectUri: `${origin}/`,
  scope: 'openid offline_access profile',
});

// One client per tab; the tabs elect a leader, and only the leader refreshes.
export const authClient = createAuthClient({ namespace: 'react-vite-example', refresh: oidc.refresh, revoke: oidc.revoke });
