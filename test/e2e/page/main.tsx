/**
 * The e2e / benchmark page. Its configuration comes from the URL (see `pageQuery` in ./api.ts); it exposes
 * `window.tabauthTest` for playwright. Each mode lives in its own chunk, so a tab loads only what its mode needs.
 * tabauth is used only through its public entry names ('tabauth', 'tabauth/react', 'tabauth/query').
 */
import { DEFAULT_CONFIG, type PageConfig, type PageMode } from './api';
import { Recorder, type ModeDriver } from './recorder';

const MODES: readonly PageMode[] = ['tabauth', 'react', 'naive', 'oidc-client-ts', 'idb-floor'];

function readConfig(): PageConfig {
  const params = new URLSearchParams(location.search);
  const text = (name: string, fallback?: string) => {
    const value = params.get(name) ?? fallback;
    if (value === undefined) throw new Error(`test page: missing URL parameter "${name}"`);
    return value;
  };
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name) ?? fallback);
    if (!Number.isFinite(value)) throw new Error(`test page: URL parameter "${name}" is not a number`);
    return value;
  };
  const mode = text('mode', DEFAULT_CONFIG.mode) as PageMode;
  if (!MODES.includes(mode)) throw new Error(`test page: unknown mode "${mode}"`);
  return {
    mode,
    issuer: text('issuer'),
    tokenEndpoint: text('token'),
    revocationEndpoint: text('revoke'),
    clientId: text('client'),
    apiUrl: text('api'),
    namespace: text('ns', DEFAULT_CONFIG.namespace),
    leewayMs: number('leeway', DEFAULT_CONFIG.leewayMs),
    ratio: number('ratio', DEFAULT_CONFIG.ratio),
    oidcNotifySeconds: number('notify', DEFAULT_CONFIG.oidcNotifySeconds),
    apiIntervalMs: number('apiMs', DEFAULT_CONFIG.apiIntervalMs),
    devtools: params.get('devtools') === '1',
    dpop: params.has('dpop'),
    dpopLocks: params.get('dpop') !== 'nolocks',
    dpopStart: params.get('dpopStart') === 'signal' ? 'signal' : 'load',
    coordination: params.get('coordination') === 'shared-worker' ? 'shared-worker' : 'native',
  };
}

async function start(config: PageConfig, recorder: Recorder): Promise<ModeDriver> {
  // Each mode's start runs the moment its chunk is there: recorder.modeStarted() splits a new tab's time into
  // loading (HTML, main chunk, mode chunk) and the mode's own work.
  switch (config.mode) {
    case 'tabauth': {
      const { startTabauth } = await import('./modes/tabauth');
      recorder.modeStarted();
      return startTabauth(config, recorder);
    }
    case 'react': {
      const { startReact } = await import('./modes/react');
      recorder.modeStarted();
      return startReact(config, recorder);
    }
    case 'naive': {
      const { startNaive } = await import('./modes/naive');
      recorder.modeStarted();
      return startNaive(config, recorder);
    }
    case 'oidc-client-ts': {
      const { startOidcClientTs } = await import('./modes/oidcClientTs');
      recorder.modeStarted();
      return startOidcClientTs(config, recorder);
    }
    case 'idb-floor': {
      const { startIdbFloor } = await import('./modes/idbFloor');
      recorder.modeStarted();
      return startIdbFloor(recorder);
    }
  }
}

async function main() {
  const config = readConfig();
  document.title = `tabauth e2e (${config.mode})`;
  const recorder = new Recorder(config);
  const driver = await start(config, recorder);
  recorder.install(driver);
  recorder.ready = true;
}

main().catch((error: unknown) => {
  window.tabauthTestError = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
  console.error(error);
});
