/**
 * tabauth through its public core entry only: createAuthClient + oauth2RefreshGrant + oauth2Revoke.
 */
import {
  createAuthClient,
  describeRefreshGrant,
  oauth2RefreshGrant,
  oauth2Revoke,
  refreshDueAt,
  type AuthClient,
  type AuthEvent,
  type RefreshFunction,
  type TokenResponse,
} from 'tabauth';
import { createDpop } from 'tabauth/dpop';
import { sharedWorkerCoordination } from 'tabauth/worker';
import { jwtId, type HeldRecord, type PageConfig } from '../api';
import { now, type ModeDriver, type Recorder } from '../recorder';

export function createTabauthClient(config: PageConfig, recorder: Recorder): AuthClient {
  const grant = oauth2RefreshGrant({ tokenEndpoint: config.tokenEndpoint, clientId: config.clientId });
  // The wrapper only observes: when the request leaves this tab and when its response arrives here.
  const refresh: RefreshFunction = async (context) => {
    const call = recorder.startRefresh(context.version);
    try {
      const body = await grant(context);
      call.outcome = 'ok';
      recorder.receive(body.access_token);
      return body;
    } catch (error) {
      const oauth = (error as { error?: unknown }).error;
      call.outcome = oauth === 'invalid_grant' ? 'invalid_grant' : 'error';
      if (oauth === 'invalid_grant') recorder.invalidGrants++;
      throw error;
    }
  };
  // The wrapper is a new function: give it the grant's plain description, so the prebuilt worker can rebuild the
  // grant (the symbol oauth2RefreshGrant uses; an app passes oauth2RefreshGrant(...) itself and needs none of this).
  Object.defineProperty(refresh, Symbol.for('tabauth.oauth2RefreshGrant'), { value: describeRefreshGrant(grant) });
  const sourceOfVersion = new Map<number, HeldRecord['source']>();
  const policy = { leewayMs: config.leewayMs, lifetimeRatio: config.ratio };
  const client = createAuthClient({
    namespace: config.namespace,
    refresh,
    revoke: oauth2Revoke({ revocationEndpoint: config.revocationEndpoint, clientId: config.clientId }),
    refreshLeewayMs: config.leewayMs,
    refreshLifetimeRatio: config.ratio,
    ...(config.coordination === 'shared-worker' ? { coordination: sharedWorkerCoordination() } : {}),
    // Short waits so that the tests never sit on a default 5 s follower retry.
    followerRetryMs: 2_000,
    ...(config.dpop ? { dpop: createDpop({ namespace: config.namespace, ...(config.dpopLocks === false ? { locks: null } : {}) }) } : {}),
    onEvent: (event: AuthEvent) => {
      recorder.events.push({ at: now(), event: { ...event } });
      if (event.type === 'state-adopted') sourceOfVersion.set(event.version, event.source);
      if (event.type === 'signed-in' && event.source === 'this-tab') sourceOfVersion.set(event.version, 'sign-in');
      if (event.type === 'leadership-gained') recorder.leadershipAt.push(now());
      if (event.type === 'signed-out' && event.reason !== 'user') recorder.forcedSignOuts++;
    },
  });
  let lastVersion = -1;
  const onSnapshot = () => {
    const snapshot = client.getSnapshot();
    if (snapshot.version === lastVersion) return;
    lastVersion = snapshot.version;
    if (snapshot.tokens) {
      const tokens = snapshot.tokens;
      recorder.hold(tokens.accessToken, snapshot.version, sourceOfVersion.get(snapshot.version) ?? 'this-tab', tokens.expiresAt, refreshDueAt(tokens, policy));
    }
  };
  client.subscribe(onSnapshot);
  return client;
}

export function tabauthDriver(client: AuthClient, recorder: Recorder): ModeDriver {
  return {
    state() {
      const snapshot = client.getSnapshot();
      return {
        status: snapshot.status,
        version: snapshot.version,
        leader: snapshot.isLeader,
        jti: snapshot.tokens ? jwtId(snapshot.tokens.accessToken) : null,
        signedOutReason: snapshot.signedOutReason,
      };
    },
    async tokenForCall() {
      try {
        const { tokens, version } = await client.getTokens();
        recorder.markUsable();
        return { token: tokens.accessToken, version };
      } catch (error) {
        recorder.error(error);
        return null;
      }
    },
    async getAccessToken() {
      const token = await client.getAccessToken();
      recorder.markUsable();
      return token;
    },
    signIn: (body) => client.signIn(body as TokenResponse),
    signOut: (options) => client.signOut(options),
    metrics() {
      const totals: Record<string, number> = {};
      for (const counter of client.metrics()) totals[counter.name] = (totals[counter.name] ?? 0) + counter.value;
      return totals;
    },
    async onUnauthorized(version) {
      await client.refresh({ rejectedVersion: version });
    },
    async forceRefresh() {
      await client.refresh();
    },
    dispose: () => client.dispose(),
  };
}

export async function startTabauth(config: PageConfig, recorder: Recorder): Promise<ModeDriver> {
  const client = createTabauthClient(config, recorder);
  client.mount();
  const driver = tabauthDriver(client, recorder);
  if (config.dpop) {
    const { dpopApiFetch, dpopTestApi } = await import('./tabauthDpop');
    driver.fetchApi = dpopApiFetch(client);
    driver.dpop = dpopTestApi(client, config);
    // A DPoP app needs its key before its first request: every tab asks at start, or all at once on the signal.
    if (config.dpopStart === 'signal') {
      new BroadcastChannel(`e2e-start:${config.namespace}`).onmessage = () => void client.dpop!.thumbprint().catch((error) => recorder.error(error));
    } else await client.dpop!.thumbprint();
  }
  await client.ready();
  // A tab opened while signed in: the time to its first usable token is one of the bench figures.
  if (client.getSnapshot().status === 'authenticated') void driver.getAccessToken().catch((error) => recorder.error(error));
  return driver;
}
