import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createAuthedQueryClient } from 'tabauth/query';
import { AuthProvider } from 'tabauth/react';
import { App } from './App';
import { authClient, oidc } from './auth';

// Queries call the API with the access token; a 401 refreshes once (through the leader tab) and retries.
const queryClient = createAuthedQueryClient(authClient);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AuthProvider client={authClient} login={oidc}>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </AuthProvider>
  </StrictMode>,
);
