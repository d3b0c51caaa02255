import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type MouseEvent } from 'react';
import { AuthCallback, SignedIn, SignedOut, useAccessToken, useAuth, useAuthEvents, withAuthenticationRequired } from 'tabauth/react';
import { useLocation } from './useLocation';

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

export function App() {
  const [path, navigate] = useLocation();
  const [callbackError, setCallbackError] = useState<string | null>(null);
  const link = (to: string) => ({
    href: to,
    'aria-current': path === to ? ('page' as const) : undefined,
    onClick: (event: MouseEvent) => {
      event.preventDefault();
      navigate(to);
    },
  });
  return (
    <>
      <Header link={link} />
      <div className="layout">
        <main className="card">
          {path === '/callback' ? (
            <AuthCallback onSuccess={(returnTo) => navigate(returnTo, { replace: true })} onError={(error) => setCallbackError(String(error))}>
              <p id="callback">{callbackError ? <span className="error">{callbackError}</span> : 'Completing the login…'}</p>
            </AuthCallback>
          ) : path === '/protected' ? (
            <ProtectedTodos />
          ) : (
            <Home link={link} />
          )}
        </main>
        <SessionPanel />
      </div>
    </>
  );
}

type Link = (to: string) => { href: string; onClick: (event: MouseEvent) => void };

function Header({ link }: { link: Link }) {
  const auth = useAuth();
  return (
    <header>
      <strong>tabauth example</strong>
      <nav>
        <a {...link('/')}>Home</a>
        <a {...link('/protected')}>Todos (protected)</a>
      </nav>
      <SignedIn>
        <span id="user">{String(auth.claims?.name ?? auth.claims?.sub)}</span>
        <button id="logout" className="secondary" type="button" onClick={() => void auth.logout({ revoke: true })}>
          Log out
        </button>
      </SignedIn>
      <SignedOut>
        <button id="login" type="button" onClick={() => void auth.login()}>
          Log in
        </button>
      </SignedOut>
    </header>
  );
}

function Home({ link }: { link: Link }) {
  return (
    <>
      <h1>One login, every tab</h1>
      <p>
        Open this page in several tabs. Log in in one of them: every tab is signed in at once, without a reload. One tab is elected leader and refreshes the
        token for all of them; the panel on the right counts it.
      </p>
      <SignedIn fallback={<p className="muted">Loading the session…</p>}>
        <p>
          You are signed in. <a {...link('/protected')}>See your todos</a>, served by an API that validates the JWT access token with jose.
        </p>
      </SignedIn>
      <SignedOut>
        <p className="muted">You are signed out. Any login works at the provider's page (the password is not checked).</p>
      </SignedOut>
    </>
  );
}

const ProtectedTodos = withAuthenticationRequired(Todos, { onRedirecting: () => <p className="muted">Sending you to the login…</p> });

function Todos() {
  // GET /api/todos with "Authorization: Bearer <access token>" (createAuthedQueryClient's default query function).
  const todos = useQuery<{ user: string; todos: Todo[] }>({ queryKey: ['/api/todos'], refetchInterval: 5_000 });
  if (todos.isPending) return <p className="muted">Loading todos…</p>;
  if (todos.isError) return <p className="error">{String(todos.error)}</p>;
  return (
    <>
      <h1>Todos of {todos.data.user}</h1>
      <ul className="todos" id="todos">
        {todos.data.todos.map((todo) => (
          <li key={todo.id} className={todo.done ? 'done' : undefined}>
            {todo.title}
          </li>
        ))}
      </ul>
    </>
  );
}

function SessionPanel() {
  const auth = useAuth();
  const token = useAccessToken();
  const [refreshedHere, setRefreshedHere] = useState(0);
  const [received, setReceived] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  useAuthEvents((event) => {
    if (event.type === 'refresh-succeeded') setRefreshedHere((count) => count + 1);
    if (event.type === 'state-adopted' && event.source === 'channel') setReceived((count) => count + 1);
  });
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  const expiresIn = token.status === 'authenticated' && token.expiresAt !== null ? Math.max(0, Math.round((token.expiresAt - now) / 1000)) : null;
  return (
    <aside className="card">
      <h2>This tab</h2>
      <dl>
        <dt>Status</dt>
        <dd id="status">{auth.status}</dd>
        <dt>Role</dt>
        <dd>{auth.isLeader ? <span className="badge leader">leader: refreshes for all tabs</span> : <span className="badge">follower</span>}</dd>
        <dt>Pair version</dt>
        <dd id="version">{auth.version}</dd>
        <dt>Token expires in</dt>
        <dd>{expiresIn === null ? '—' : `${expiresIn} s`}</dd>
        <dt>Refreshed here</dt>
        <dd id="refreshed-here">{refreshedHere}</dd>
        <dt>Pairs from others</dt>
        <dd id="received">{received}</dd>
      </dl>
    </aside>
  );
}
