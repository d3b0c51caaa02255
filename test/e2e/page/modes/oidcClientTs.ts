/**
 * oidc-client-ts 3.x as its users configure it for refresh tokens: UserManager with automaticSilentRenew (which
 * renews with the refresh token when the user has one) and a WebStorageStateStore on localStorage, so that every tab
 * of the origin shares one user record. The app code around it is the common pattern:
 * - before each API call: `await userManager.getUser()` and send `user.access_token`;
 * - on `silentRenewError` with invalid_grant: the session is gone, `removeUser()` (the app would show its login).
 * Nothing here coordinates the tabs: oidc-client-ts has no cross-tab refresh coordination.
 *
 * The page only observes: a wrapper around window.fetch counts the token endpoint requests this tab sends, and the
 * `storage` event tells when another tab's new user record becomes visible here.
 */
import { Log, User, UserManager, WebStorageStateStore, type UserManagerSettings } from 'oidc-client-ts';
import { jwtId, type PageConfig } from '../api';
import type { ModeDriver, Recorder } from '../recorder';

export async function startOidcClientTs(config: PageConfig, recorder: Recorder): Promise<ModeDriver> {
  Log.setLogger(console);
  Log.setLevel(Log.NONE);
  const prefix = `oidc.${config.namespace}.`;
  const reasonKey = `${prefix}signed-out-reason`;
  const settings: UserManagerSettings = {
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: `${location.origin}/callback`,
    response_type: 'code',
    scope: 'openid offline_access',
    userStore: new WebStorageStateStore({ store: window.localStorage, prefix }),
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: config.oidcNotifySeconds,
    loadUserInfo: false,
    monitorSession: false,
    filterProtocolClaims: true,
  };

  // Observe this tab's token endpoint traffic (the library's own requests).
  const originalFetch = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = init?.body instanceof URLSearchParams || typeof init?.body === 'string' ? String(init.body) : '';
    const isRefresh = url === config.tokenEndpoint && body.includes('grant_type=refresh_token');
    if (!isRefresh) return originalFetch(input, init);
    const call = recorder.startRefresh(-1);
    try {
      const response = await originalFetch(input, init);
      if (response.ok) {
        call.outcome = 'ok';
        // The moment the new pair reached this tab (before oidc-client-ts validates and stores it).
        const answer = (await response
          .clone()
          .json()
          .catch(() => ({}))) as { access_token?: string };
        if (answer.access_token) recorder.receive(answer.access_token);
      } else {
        const answer = (await response
          .clone()
          .json()
          .catch(() => ({}))) as { error?: string };
        call.outcome = answer.error === 'invalid_grant' ? 'invalid_grant' : 'error';
        if (answer.error === 'invalid_grant') recorder.invalidGrants++;
      }
      return response;
    } catch (error) {
      call.outcome = 'error';
      throw error;
    }
  };

  let user: User | null = null;
  let signedOutReason: string | null = null;
  const setUser = (next: User | null, source: 'this-tab' | 'storage' | 'sign-in', reason: string | null) => {
    const had = user !== null;
    user = next;
    if (next) {
      signedOutReason = null;
      const expiresAt = next.expires_at === undefined ? null : next.expires_at * 1000;
      const dueAt = expiresAt === null ? null : expiresAt - config.oidcNotifySeconds * 1000;
      recorder.hold(next.access_token, -1, source, expiresAt, dueAt);
      recorder.markUsable();
    } else {
      signedOutReason = reason;
      if (had && reason !== 'user') recorder.forcedSignOuts++;
    }
  };

  const manager = new UserManager(settings);
  manager.events.addUserLoaded((loaded) => {
    // Raised after a renewal in this tab (the seeded sign-in below does not raise it).
    setUser(loaded, 'this-tab', null);
  });
  manager.events.addSilentRenewError(async (error) => {
    recorder.error(error);
    if ((error as { error?: unknown }).error === 'invalid_grant') {
      localStorage.setItem(reasonKey, 'refresh-rejected');
      await manager.removeUser();
      setUser(null, 'this-tab', 'refresh-rejected');
    }
  });
  window.addEventListener('storage', (event) => {
    if (!event.key?.startsWith(`${prefix}user:`)) return;
    if (event.newValue) setUser(User.fromStorageString(event.newValue), 'storage', null);
    else setUser(null, 'storage', localStorage.getItem(reasonKey) ?? 'unknown');
  });

  const load = async () => {
    const loaded = await manager.getUser();
    if (loaded && loaded.access_token !== user?.access_token) setUser(loaded, 'storage', null);
    if (!loaded && user) setUser(null, 'storage', localStorage.getItem(reasonKey) ?? 'unknown');
    return loaded;
  };
  // The page is 'ready' once the stored user (if any) was read, as an app renders after getUser() on load.
  await load().catch((error) => recorder.error(error));

  return {
    state: () => ({
      status: user ? 'authenticated' : 'signed-out',
      version: -1,
      leader: false,
      jti: user ? jwtId(user.access_token) : null,
      signedOutReason,
    }),
    async tokenForCall() {
      const loaded = await load();
      return loaded ? { token: loaded.access_token, version: -1 } : null;
    },
    async getAccessToken() {
      const loaded = await load();
      if (!loaded) throw new Error('signed out');
      return loaded.access_token;
    },
    async signIn(body) {
      const idToken = String(body.id_token ?? '');
      const profile = JSON.parse(atob((idToken.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as User['profile'];
      const seeded = new User({
        id_token: idToken,
        session_state: null,
        access_token: String(body.access_token),
        refresh_token: String(body.refresh_token),
        token_type: String(body.token_type ?? 'Bearer'),
        scope: typeof body.scope === 'string' ? body.scope : undefined,
        profile,
        expires_at: Math.floor(Date.now() / 1000) + Number(body.expires_in),
      });
      localStorage.removeItem(reasonKey);
      await manager.storeUser(seeded);
      setUser(seeded, 'sign-in', null);
      await manager.getUser(); // arms this tab's renew timers, as a page load after a login does
    },
    async signOut(options) {
      localStorage.setItem(reasonKey, 'user');
      if (options?.revoke) await manager.revokeTokens(['refresh_token']).catch((error) => recorder.error(error));
      await manager.removeUser();
      setUser(null, 'this-tab', 'user');
    },
  };
}
