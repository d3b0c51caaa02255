// A small app compiled against the packed package (test/package/consumerTypes.test.ts), once with
// "moduleResolution": "NodeNext" and once with "Bundler", skipLibCheck off. Every @ts-expect-error below fails the
// compile if a type silently became `any` (an unresolved declaration under skipLibCheck would do exactly that).
import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { OAuthError, createAuthClient, oauth2RefreshGrant, oauth2Revoke, type AuthClient, type AuthError, type AuthSnapshot, type TokenSet } from 'tabauth';
import { createAuthedQueryClient, authedFetch, HttpError } from 'tabauth/query';
import { AuthProvider, useAccessToken, useAuth, type AuthState } from 'tabauth/react';
import { createMockTokenServer, createTabSimulation } from 'tabauth/testing';

export const authClient: AuthClient = createAuthClient({
  refresh: oauth2RefreshGrant({
    tokenEndpoint: 'https://auth.example.com/oauth/token',
    clientId: 'my-spa',
    headers: { 'X-Api-Key': 'public-gateway-key' },
    credentials: 'omit',
  }),
  revoke: oauth2Revoke({ revocationEndpoint: 'https://auth.example.com/oauth/revoke', clientId: 'my-spa' }),
});
// @ts-expect-error refresh must be a refresh function
createAuthClient({ refresh: 'https://auth.example.com/oauth/token' });

const snapshot: AuthSnapshot = authClient.getSnapshot();
const tokens: TokenSet | null = snapshot.tokens;
// @ts-expect-error a TokenSet has no refresh_token field (that is the raw TokenResponse)
export const raw = tokens?.refresh_token;

const queryClient = createAuthedQueryClient(authClient, { origins: ['https://api.example.com'] });
const api = authedFetch(authClient);
export const me: Promise<Response> = api('/api/me');

function Profile() {
  // The error of useAuth() is the core's AuthError: one declaration, shared by both entries.
  const error: AuthError | null = useAuth((state: AuthState) => state.error);
  const token = useAccessToken({ suspense: true });
  const todos = useQuery<string[]>({ queryKey: ['/api/todos'] });
  // @ts-expect-error suspense mode never returns 'loading'
  if (token.status === 'loading') return null;
  if (todos.error instanceof HttpError && todos.error.status === 404) return <p>none</p>;
  if (error instanceof OAuthError && error.terminal) return <p>signed out: {error.error}</p>;
  return <p>{token.status === 'authenticated' ? token.accessToken.length : 0}</p>;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AuthProvider client={authClient}>
      <QueryClientProvider client={queryClient}>
        <Profile />
      </QueryClientProvider>
    </AuthProvider>
  </StrictMode>,
);

// tabauth/testing: the simulated tabs use the same AuthClient type.
const sim = createTabSimulation({ server: createMockTokenServer({ accessTokenTtlSeconds: 1 }) });
export const simulatedClient: AuthClient = sim.openTab().client;
