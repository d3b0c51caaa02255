/**
 * The OIDC e2e page: a small app on tabauth/oidc + tabauth/react, served from the test OIDC server's own origin.
 * '/' shows the session and the login / popup login / logout buttons; '/callback' is the redirect URI and renders
 * <AuthCallback>. `window.oidcTest` reports what the tab holds and what React rendered.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createAuthClient, isAuthError, type AuthClient, type TokenResponse } from 'tabauth';
import { createDpop } from 'tabauth/dpop';
import { createOidcLogin } from 'tabauth/oidc';
import { jktOf, storedKeys } from '../page/modes/tabauthDpop';
import { AuthCallback, AuthProvider, SignedIn, SignedOut, useAuth } from 'tabauth/react';
import { claimOf, type OidcPageSnapshot, type OwnLogin } from './api';

const origin = window.location.origin;
// DPoP is switched on per browser context by the test (an init script), so it holds across the login's redirects.
const dpop = localStorage.getItem('e2e:dpop') === '1' ? createDpop({ namespace: 'oidc-e2e' }) : undefined;
const oidc = createOidcLogin({
  ...(dpop ? { dpop } : {}),
  issuer: origin,
  clientId: 'tabauth-e2e',
  redirectUri: `${origin}/callback`,
  postLogoutRedirectUri: `${origin}/`,
  scope: 'openid offline_access profile',
});
const events: Array<{ type: string } & Record<string, unknown>> = [];
const client = createAuthClient({
  namespace: 'oidc-e2e',
  refresh: oidc.refresh,
  revoke: oidc.revoke,
  refreshLeewayMs: 0,
  refreshLifetimeRatio: 0.5,
  followerRetryMs: 2_000,
  onEvent: (event) => events.push({ ...event }),
  ...(dpop ? { dpop } : {}),
});

// Observes the pairs this tab's own callbacks store (a wrapper: the app code below sees a normal client).
const logins: OwnLogin[] = [];
const observed: AuthClient = {
  ...client,
  async signIn(response: TokenResponse) {
    await client.signIn(response);
    logins.push({ jti: claimOf(response.access_token, 'jti'), refreshToken: response.refresh_token ?? null, sub: claimOf(response.id_token, 'sub') });
  },
};

let lastError: OidcPageSnapshot['error'] = null;
const report = (error: unknown) => {
  lastError = {
    name: error instanceof Error ? error.name : 'unknown',
    code: isAuthError(error) ? error.code : null,
    reason: typeof (error as { reason?: unknown })?.reason === 'string' ? (error as { reason: string }).reason : null,
    message: error instanceof Error ? error.message : String(error),
  };
};

function Home() {
  const auth = useAuth();
  return (
    <main>
      <p>
        status <output id="status">{auth.status}</output> · version <output id="version">{auth.version}</output>
      </p>
      <SignedIn fallback={<p id="loading">loading</p>}>
        <p>
          Hello <output id="name">{String(auth.claims?.name ?? '')}</output>
        </p>
        <button id="logout" type="button" onClick={() => auth.logout({ revoke: true }).catch(report)}>
          Log out
        </button>
      </SignedIn>
      <SignedOut>
        <button id="login" type="button" onClick={() => auth.login().catch(report)}>
          Log in
        </button>
        <button id="login-popup" type="button" onClick={() => auth.loginWithPopup().catch(report)}>
          Log in with a popup
        </button>
      </SignedOut>
    </main>
  );
}

function App() {
  const [route, setRoute] = useState<'home' | 'callback'>(window.location.pathname === '/callback' ? 'callback' : 'home');
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    currentRoute = route;
  }, [route]);
  if (route === 'home') return <Home />;
  if (held) return <p id="held">callback held for the test</p>;
  return (
    <AuthCallback
      onSuccess={(returnTo) => {
        window.history.replaceState(null, '', returnTo);
        setRoute('home');
      }}
      onError={(error) => {
        report(error);
        setFailed(true);
      }}
    >
      <p id="callback">{failed ? `login refused: ${lastError?.name}` : 'completing the login'}</p>
    </AuthCallback>
  );
}

let currentRoute: 'home' | 'callback' = 'home';
// A test switch: the next callback page only shows its URL, so the test can tamper with it and open it itself.
const held = window.location.pathname === '/callback' && sessionStorage.getItem('e2e:hold-callback') === '1';
if (held) sessionStorage.removeItem('e2e:hold-callback');
const loadId = Math.random().toString(36).slice(2);
window.oidcTest = {
  logins,
  events,
  ...(dpop
    ? {
        async dpopInfo() {
          const stored = await storedKeys();
          const token = client.getSnapshot().tokens?.accessToken;
          return {
            thumbprint: await dpop.thumbprint(),
            storedKeys: stored.length,
            storedThumbprint: stored[0]?.thumbprint ?? null,
            tokenJkt: token ? jktOf(token) : null,
          };
        },
      }
    : {}),
  snapshot() {
    const snapshot = client.getSnapshot();
    return {
      loadId,
      route: currentRoute,
      status: snapshot.status,
      version: snapshot.version,
      leader: snapshot.isLeader,
      signedOutReason: snapshot.signedOutReason,
      idSub: claimOf(snapshot.tokens?.idToken, 'sub'),
      accessSub: claimOf(snapshot.tokens?.accessToken, 'sub'),
      jti: claimOf(snapshot.tokens?.accessToken, 'jti'),
      refreshToken: snapshot.tokens?.refreshToken ?? null,
      renderedStatus: document.getElementById('status')?.textContent ?? null,
      renderedName: document.getElementById('name')?.textContent ?? null,
      error: lastError,
    };
  },
};

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AuthProvider client={observed} login={oidc}>
      <App />
    </AuthProvider>
  </StrictMode>,
);
