// Placeholders for the README snippets (test/package/readme.test.ts): the parts of the reader's own app that a
// snippet uses without defining them. Ambient, so no snippet needs to import them. Add new ones here, never in the
// README. tabauth, React and TanStack Query names are not placeholders: app-file snippets import them, and fragments
// get them imported automatically.
import type { JSX } from 'react';
import type { AuthClient, TokenResponse } from 'tabauth';
import type { OidcLogin } from 'tabauth/oidc';

declare global {
  // The reader's components.
  function App(): JSX.Element;
  function Spinner(): JSX.Element;
  function LoginPage(): JSX.Element;
  function Profile(): JSX.Element;
  function TodoList(props: { todos: Todo[] }): JSX.Element;
  interface Todo {
    id: number;
    title: string;
  }

  // The reader's values.
  /** The app's client, as created in the Quick start's auth.ts. */
  const authClient: AuthClient;
  /** The app's login, as created in the Quick start's auth.ts. */
  const oidc: OidcLogin;
  /** Whatever the app's login produced. */
  const tokenResponseFromYourLogin: TokenResponse;
  /** An id from the app's route. */
  const id: string;
  /** Settings of the app's identity provider, for the login-library recipes. */
  const authority: string;
  const redirect_uri: string;
  const domain: string;
  const clientId: string;

  // The test runner of the tabauth/testing example (vitest or jest).
  function expect(actual: unknown): { toBe(expected: unknown): void; toEqual(expected: unknown): void; toBeTruthy(): void; toBeNull(): void };
  function test(name: string, body: () => unknown): void;
}
