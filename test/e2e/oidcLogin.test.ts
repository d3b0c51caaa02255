// @vitest-environment node
/**
 * tabauth/oidc in real Chromium tabs against oidc-provider, through its real login and consent pages (typed and
 * clicked). The app is test/e2e/oidcPage (tabauth/oidc + tabauth/react under StrictMode), served at the provider's
 * origin with '/callback' as its redirect URI. Each test gets a fresh browser context (IndexedDB, sessionStorage,
 * cookies). Assertions are about states and counts, never about how long anything took.
 */
import type { BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  events,
  giveConsent,
  logInThroughProvider,
  newContext,
  openAppTab,
  ownLogins,
  snapshot,
  startOidcWorld,
  storedAttempts,
  typeLogin,
  waitForApp,
  waitForTabs,
  type AppTab,
  type OidcWorld,
} from './support/oidcApp';
import { skipBrowserTests } from './support/session';
import { delay } from './support/tabs';

const TTL_SECONDS = 4;
const ROTATIONS = 3;

describe.skipIf(skipBrowserTests)('e2e: OpenID Connect login with tabauth/oidc in real Chromium tabs', () => {
  let world: OidcWorld;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    world = await startOidcWorld({ accessTokenTtlSeconds: TTL_SECONDS });
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await context?.close().catch(() => {});
    context = undefined;
  });

  async function openTabs(count: number): Promise<AppTab[]> {
    context = await newContext(world);
    const tabs: AppTab[] = [];
    for (let i = 1; i <= count; i++) tabs.push(await openAppTab(context, world, `tab${i}`));
    return tabs;
  }

  /** Whatever the provider asks (login, consent, or nothing when it remembers both) until the app's held callback. */
  async function passProvider(tab: AppTab, login: string) {
    for (;;) {
      const next = tab.page.locator('#held, input[name="login"], button[type="submit"]:has-text("Continue")').first();
      await next.waitFor({ timeout: 30_000 });
      if ((await next.getAttribute('id')) === 'held') return;
      const page = tab.page.url();
      if ((await next.getAttribute('name')) === 'login') await typeLogin(tab.page, login);
      else await giveConsent(tab.page);
      await tab.page.waitForURL((url) => url.href !== page, { timeout: 30_000 }); // every provider step has its own URL
    }
  }

  /** Clicks through a full login in `tab` and waits until every tab holds it. */
  async function logIn(tab: AppTab, all: AppTab[], login = 'user-1') {
    await logInThroughProvider(tab, login);
    const states = await waitForTabs(
      all,
      (s) => s.every((one) => one.status === 'authenticated' && one.idSub === login && one.route === 'home'),
      `${login} signed in everywhere`,
    );
    return states[0]!.version;
  }

  it('login in tab 1 signs tabs 2-4 in without a reload; the rotation then goes on with one refresh per rotation', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(4);
    const before = await Promise.all(tabs.map(snapshot));
    expect(before.map((s) => s.status)).toEqual(['signed-out', 'signed-out', 'signed-out', 'signed-out']);

    const v0 = await logIn(tabs[0]!, tabs, 'user-1');
    const signedIn = await Promise.all(tabs.map(snapshot));
    // Tabs 2-4 never reloaded (same page load) and React rendered the new session in each of them.
    expect(signedIn.slice(1).map((s) => s.loadId)).toEqual(before.slice(1).map((s) => s.loadId));
    for (const s of signedIn) {
      expect(s).toMatchObject({
        status: 'authenticated',
        version: v0,
        idSub: 'user-1',
        accessSub: 'user-1',
        renderedStatus: 'authenticated',
        renderedName: 'User 1',
      });
    }
    expect(new Set(signedIn.map((s) => s.jti)).size).toBe(1);
    expect(await tabs[0]!.page.evaluate(() => window.location.href)).toBe(`${world.server.origin}/`); // code and state gone
    expect(await storedAttempts(tabs[0]!)).toEqual([]);
    expect(world.server.counters().codeExchanges).toBe(1);

    const settled = await waitForTabs(tabs, (s) => s.every((one) => one.version >= v0 + ROTATIONS), `${ROTATIONS} rotations in every tab`, 90_000);
    const c = world.server.counters();
    const vNow = Math.min(...settled.map((s) => s.version));
    expect(c.refreshSuccesses).toBeGreaterThanOrEqual(vNow - v0);
    // Read the counters and the tabs once more, at rest between two rotations, to compare them exactly.
    const [final, counters] = await (async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const a = world.server.counters();
        const states = await Promise.all(tabs.map(snapshot));
        const b = world.server.counters();
        if (a.refreshSuccesses === b.refreshSuccesses && states.every((s) => s.version === v0 + b.refreshSuccesses)) return [states, b] as const;
        if (Date.now() > deadline) throw new Error('the tabs and the server never agreed between two rotations');
        await delay(20);
      }
    })();
    const rotations = final[0]!.version - v0;
    expect(rotations).toBeGreaterThanOrEqual(ROTATIONS);
    expect(counters.refreshSuccesses).toBe(rotations);
    expect(tabs.reduce((sum, tab) => sum + tab.refreshRequests, 0)).toBe(rotations);
    expect(counters).toMatchObject({ refreshErrors: 0, invalidGrant: 0, grantsRevoked: 0, codeExchanges: 1 });
    expect(final.every((s) => s.idSub === 'user-1' && s.accessSub === 'user-1')).toBe(true);
  }, 150_000);

  it('logout in tab 3 signs every tab out at once, revokes, and reaches the provider end-session endpoint', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(4);
    await logIn(tabs[0]!, tabs, 'user-1');
    const loads = (await Promise.all(tabs.map(snapshot))).map((s) => s.loadId);

    await tabs[2]!.page.locator('#logout').click();
    await tabs[2]!.page.waitForURL((url) => url.pathname === '/session/end');
    // Tab 3 is now on the provider's logout confirmation; the other tabs are already signed out.
    const others = [tabs[0]!, tabs[1]!, tabs[3]!];
    const out = await waitForTabs(
      others,
      (s) => s.every((one) => one.status === 'signed-out' && one.renderedStatus === 'signed-out'),
      'tabs 1, 2 and 4 signed out',
    );
    expect(out.map((s) => s.signedOutReason)).toEqual(['user', 'user', 'user']);
    expect(out.map((s) => s.loadId)).toEqual([loads[0], loads[1], loads[3]]);
    expect(new URL(tabs[2]!.page.url()).pathname).toBe('/session/end');
    expect(new URL(tabs[2]!.page.url()).searchParams.get('client_id')).toBe(world.server.clientId);

    await tabs[2]!.page.locator('button[value="yes"]').click();
    await tabs[2]!.page.waitForURL(`${world.server.origin}/`);
    await waitForApp(tabs[2]!);
    expect(await snapshot(tabs[2]!)).toMatchObject({ status: 'signed-out', signedOutReason: 'user', refreshToken: null });
    const c = world.server.counters();
    expect(c.endSessions).toBe(1);
    expect(c.revocations).toBe(1);
    expect(c.invalidGrant).toBe(0);
    // The provider session is gone too: the next login asks for the password again.
    await tabs[0]!.page.locator('#login').click();
    await typeLogin(tabs[0]!.page, 'user-2');
    await giveConsent(tabs[0]!.page);
    await waitForTabs(tabs, (s) => s.every((one) => one.status === 'authenticated' && one.idSub === 'user-2'), 'user-2 signed in everywhere');
  }, 120_000);

  it('a tampered state and then the untampered callback: typed errors, no code exchanged, nothing stored, verifier gone', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(2);
    const [tab] = tabs;
    // The app holds the next callback instead of completing it (a test-page switch), so it can be tampered with.
    await tab!.page.evaluate(() => sessionStorage.setItem('e2e:hold-callback', '1'));
    await tab!.page.locator('#login').click();
    await passProvider(tab!, 'user-1');
    const held = tab!.page.url();
    const original = new URL(held);
    const tampered = new URL(held);
    tampered.searchParams.set('state', `${original.searchParams.get('state')}x`);

    await tab!.page.goto(tampered.href, { waitUntil: 'domcontentloaded' });
    const refused = (await waitForTabs([tab!], ([s]) => s!.error !== null && s!.status !== 'loading', 'the tampered callback refused'))[0]!;
    expect(refused.error).toMatchObject({ name: 'LoginCallbackError', code: 'oidc_callback_invalid', reason: 'unknown-state' });
    expect(await storedAttempts(tab!)).toEqual([]);

    // The real response, afterwards: its verifier was deleted with the failed callback.
    await tab!.page.goto(original.href, { waitUntil: 'domcontentloaded' });
    const late = (await waitForTabs([tab!], ([s]) => s!.error !== null && s!.status !== 'loading', 'the late callback refused'))[0]!;
    expect(late.error).toMatchObject({ name: 'LoginCallbackError', reason: 'unknown-state' });
    for (const s of await Promise.all(tabs.map(snapshot))) expect(s).toMatchObject({ status: 'signed-out', version: 0 });
    expect(world.server.counters().codeExchanges).toBe(0);
    expect(JSON.stringify(late.error)).not.toContain(original.searchParams.get('code')!);
  }, 90_000);

  it('a wrong nonce: IdTokenValidationError, nothing stored, no tab signed in', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(2);
    const [tab] = tabs;
    await tab!.page.locator('#login').click();
    await tab!.page.locator('input[name="login"]').waitFor();
    // On the provider's page (same origin as the app): the attempt now expects another nonce than the one the
    // provider will put into the ID token, which is what an ID token injected from another login looks like.
    const attempts = await storedAttempts(tab!);
    expect(attempts).toHaveLength(1);
    await tab!.page.evaluate(
      ({ key, value }) => sessionStorage.setItem(key, JSON.stringify({ ...value, nonce: 'a-nonce-this-login-never-sent' })),
      attempts[0]!,
    );
    await typeLogin(tab!.page, 'user-1');
    await giveConsent(tab!.page);
    const refused = (await waitForTabs([tab!], ([s]) => s!.error !== null, 'the callback refused'))[0]!;
    expect(refused.error).toMatchObject({ name: 'IdTokenValidationError', code: 'oidc_id_token_invalid', reason: 'nonce-mismatch' });
    expect(await storedAttempts(tab!)).toEqual([]);
    // A page with nothing stored asks the open tabs before it says signed-out (peerQueryMs): wait for it to say so.
    const after = await waitForTabs(tabs, (all) => all.every((s) => s.status !== 'loading'), 'every tab loaded');
    for (const s of after) expect(s).toMatchObject({ status: 'signed-out', version: 0, refreshToken: null });
    expect(world.server.counters().codeExchanges).toBe(1); // the provider issued tokens; the client refused them
    expect(await ownLogins(tab!)).toEqual([]);
  }, 90_000);

  it('a replayed callback URL: LoginCallbackError(replayed), no second code exchange, the session unchanged', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(2);
    const v1 = await logIn(tabs[0]!, tabs, 'user-1');
    const used = tabs[0]!.callbacks.at(-1)!;
    const before = await Promise.all(tabs.map(snapshot));

    await tabs[0]!.page.goto(used, { waitUntil: 'domcontentloaded' });
    const replayed = (await waitForTabs([tabs[0]!], ([s]) => s!.error !== null, 'the replay refused'))[0]!;
    expect(replayed.error).toMatchObject({ name: 'LoginCallbackError', reason: 'replayed' });

    // Opened in another tab, the same URL matches no login of that tab at all.
    const stranger = await openAppTab(context!, world, 'stranger', new URL(used).pathname + new URL(used).search);
    const foreign = (await waitForTabs([stranger], ([s]) => s!.error !== null, 'the foreign callback refused'))[0]!;
    expect(foreign.error).toMatchObject({ name: 'LoginCallbackError', reason: 'unknown-state' });

    const after = await Promise.all([...tabs, stranger].map(snapshot));
    expect(after.map((s) => s.version)).toEqual([v1, v1, v1]);
    expect(after.map((s) => s.jti)).toEqual([before[0]!.jti, before[0]!.jti, before[0]!.jti]);
    expect(world.server.counters().codeExchanges).toBe(1);
    expect((await events(tabs[1]!)).filter((e) => e.type === 'signed-out')).toEqual([]);
  }, 90_000);

  // Both tabs start a login, each with its own attempt in its own sessionStorage; then both callbacks are opened at
  // once, so the two code exchanges and sign-ins race. (The provider steps run one after the other: oidc-provider
  // keeps one session per browser and refuses an interaction that another one finishing changed underneath it,
  // "interaction session and authentication session mismatch". test/oidc/session.test.ts races two different users
  // against a fake provider.)
  it('two tabs logging in at once end on one pair everywhere, the whole pair from one of the two logins', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(3);
    const [a, b] = tabs;
    const held: string[] = [];
    for (const tab of [a!, b!]) {
      await tab.page.evaluate(() => sessionStorage.setItem('e2e:hold-callback', '1'));
      await tab.page.locator('#login').click();
      await passProvider(tab, 'user-1');
      held.push(tab.page.url());
    }
    expect((await storedAttempts(a!)).length).toBe(1);
    expect((await storedAttempts(b!)).length).toBe(1);
    await Promise.all([a!.page.goto(held[0]!, { waitUntil: 'commit' }), b!.page.goto(held[1]!, { waitUntil: 'commit' })]);
    await waitForTabs([a!, b!], (s) => s.every((one) => one.route === 'home'), 'both callbacks done');
    const final = await waitForTabs(tabs, (s) => s.every((one) => one.version === 2 && one.jti === s[0]!.jti), 'one pair everywhere');

    const logins = [...(await ownLogins(a!)), ...(await ownLogins(b!))];
    expect(logins).toHaveLength(2);
    expect(logins[0]!.jti).not.toBe(logins[1]!.jti);
    expect(logins[0]!.refreshToken).not.toBe(logins[1]!.refreshToken);
    const winner = logins.find((login) => login.jti === final[0]!.jti)!;
    expect(winner).toBeDefined();
    for (const s of final) {
      // Access token, refresh token and ID token all come from the winning login.
      expect({ jti: s.jti, refreshToken: s.refreshToken, sub: s.idSub }).toEqual(winner);
      expect(s.accessSub).toBe(winner.sub);
    }
    expect(world.server.counters().codeExchanges).toBe(2);
    // The pair works as one: its refresh token refreshes, for the same user.
    const rotated = await waitForTabs(tabs, (s) => s.every((one) => one.version >= 3 && one.jti === s[0]!.jti), 'a rotation of the winning pair', 60_000);
    expect(rotated.every((s) => s.idSub === winner.sub && s.accessSub === winner.sub)).toBe(true);
    expect(world.server.counters()).toMatchObject({ invalidGrant: 0, grantsRevoked: 0 });
  }, 120_000);

  it('loginWithPopup: the popup logs in, hands the response back and closes; every tab is signed in', async () => {
    world.server.resetCounters();
    const tabs = await openTabs(2);
    const [popup] = await Promise.all([tabs[0]!.page.waitForEvent('popup'), tabs[0]!.page.locator('#login-popup').click()]);
    await typeLogin(popup, 'user-3');
    await giveConsent(popup);
    await popup.waitForEvent('close', { timeout: 30_000 });
    const states = await waitForTabs(tabs, (s) => s.every((one) => one.status === 'authenticated' && one.idSub === 'user-3'), 'user-3 signed in everywhere');
    expect(states.map((s) => s.route)).toEqual(['home', 'home']);
    expect(new URL(tabs[0]!.page.url()).pathname).toBe('/'); // the opener never navigated
    expect(await storedAttempts(tabs[0]!)).toEqual([]);
    expect(world.server.counters().codeExchanges).toBe(1);
  }, 90_000);
});
