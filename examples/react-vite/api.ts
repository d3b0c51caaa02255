/**
 * The example's resource server: GET /api/todos returns the caller's todos. It trusts nothing but a JWT access token
 * that jose validates against the provider's published keys (jwks_uri): signature, issuer, audience, expiry, type.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

export interface TodosApi {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Requests answered, by status. */
  readonly calls: { ok: number; unauthorized: number };
}

export function createTodosApi(options: { issuer: string; audience: string; jwksUri: string }): TodosApi {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const calls = { ok: 0, unauthorized: 0 };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  return {
    calls,
    handle(req, res) {
      void (async () => {
        const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
        try {
          if (!token) throw new Error('no bearer token');
          const { payload } = await jwtVerify(token, jwks, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt' });
          calls.ok++;
          send(res, 200, { user: payload.sub, todos: todosOf(String(payload.sub)) });
        } catch {
          calls.unauthorized++;
          send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
        }
      })();
    },
  };
}

function todosOf(user: string) {
  return [
    { id: 1, title: `Say hello to ${user}`, done: true },
    { id: 2, title: 'Open this app in a second tab', done: false },
    { id: 3, title: 'Watch one refresh serve every tab', done: false },
    { id: 4, title: 'Log out in any tab: all of them follow', done: false },
  ];
}
