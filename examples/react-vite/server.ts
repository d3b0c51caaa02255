/**
 * `npm run example`: oidc-provider (the e2e harness, with its real login and consent pages), the todos API and the
 * built app, all on one 127.0.0.1 origin. Options: --port <n> (default 5173; 0 = any free port), --ttl <seconds>
 * (access token lifetime, default 60).
 */
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startOidcServer, type OidcServer } from '../../test/e2e/support/oidcServer';
import { buildTestPage } from '../../test/e2e/support/page';
import { createTodosApi, type TodosApi } from './api';

const appDir = dirname(fileURLToPath(import.meta.url));

export interface Example {
  url: string;
  server: OidcServer;
  api: TodosApi;
  close(): Promise<void>;
}

export async function startExample(options: { port?: number; accessTokenTtlSeconds?: number } = {}): Promise<Example> {
  const [dir, server] = await Promise.all([
    buildTestPage(appDir),
    startOidcServer({ port: options.port ?? 0, accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 60 }),
  ]);
  const api = createTodosApi({ issuer: server.issuer, audience: server.resource, jwksUri: `${server.origin}/jwks` });
  server.handle('/api/todos', api.handle);
  server.serveStatic(dir, { routes: ['/callback', '/protected'] });
  return { url: `${server.origin}/`, server, api, close: () => server.close() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, fallback: number) => {
    const index = process.argv.indexOf(`--${name}`);
    const value = index === -1 ? fallback : Number(process.argv[index + 1]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
    return value;
  };
  const example = await startExample({ port: arg('port', 5173), accessTokenTtlSeconds: arg('ttl', 60) });
  console.log(`tabauth example running at ${example.url}  (open it in several tabs; Ctrl+C stops)`);
  process.on('SIGINT', () => void example.close().then(() => process.exit(0)));
}
