import type { QueryClient } from '@tanstack/react-query';
import { decodeJwtClaims, type AuthClient, type AuthSnapshot, type TokenSet } from 'tabauth';

/**
 * Ties a QueryClient's cache to the signed-in user, and returns a function that undoes it:
 *
 * - sign-out (in any tab: the core pushes it to every tab, so every tab clears): in-flight queries are cancelled and
 *   the query and mutation caches cleared;
 * - sign-in of a different subject (`sub` claim of the id token, else of the access token) than the last one seen,
 *   whether or not a sign-out came between: cleared the same way;
 * - a plain refresh (same subject, new token): nothing. Cached data stays valid and nothing refetches.
 *
 * Clearing removes queries from the cache; a mounted `useQuery` picks up a fresh (empty) query on its next render.
 * Render signed-out UI from `useAuth().status` so authenticated views unmount. With opaque tokens (no decodable
 * `sub`), only sign-out clears.
 */
export function attachAuthToQueryClient(queryClient: QueryClient, client: AuthClient): () => void {
  let previous: AuthSnapshot = client.getSnapshot();
  const subjects = subjectReader();
  // undefined: no authenticated state seen yet (the first load is not a user switch).
  let lastSubject: string | null | undefined = previous.status === 'authenticated' ? subjects(previous.tokens) : undefined;

  const clear = () => {
    // Cancel first so a response for the old session cannot land after the cache was cleared.
    void queryClient.cancelQueries().catch(() => {});
    queryClient.clear();
  };

  return client.subscribe(() => {
    const next = client.getSnapshot();
    if (next === previous) return;
    const before = previous;
    previous = next;
    if (next.status === 'signed-out' && before.status === 'authenticated') {
      clear();
      return;
    }
    if (next.status === 'authenticated') {
      const subject = subjects(next.tokens);
      if (lastSubject !== undefined && subject !== lastSubject) clear();
      lastSubject = subject;
    }
  });
}

/** `sub` of the id token, else of the access token; decoded once per token string. */
function subjectReader(): (tokens: TokenSet | null) => string | null {
  let key: string | null = null;
  let subject: string | null = null;
  const subOf = (token: string | null): string | null => {
    if (!token) return null;
    try {
      const sub = decodeJwtClaims<{ sub?: unknown }>(token).sub;
      return typeof sub === 'string' ? sub : null;
    } catch {
      return null;
    }
  };
  return (tokens) => {
    if (!tokens) return null;
    const nextKey = `${tokens.idToken ?? ''} ${tokens.accessToken}`;
    if (nextKey !== key) {
      key = nextKey;
      subject = subOf(tokens.idToken) ?? subOf(tokens.accessToken);
    }
    return subject;
  };
}
