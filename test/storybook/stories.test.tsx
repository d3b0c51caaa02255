// @vitest-environment jsdom
/**
 * Portable stories (composeStories) in jsdom, for the parts jsdom can run: the demo page (controls, counters, tab
 * windows; jsdom does not load the tab iframes), one tab rendered in the same window as its hub (fake IndexedDB,
 * BroadcastChannel, fallback leader election), and the naive client's race against the strict mock server.
 * The real multi-tab behaviour is tested in Chromium: storybook.browser.test.ts.
 */
import 'fake-indexeddb/auto';
import { composeStories, setProjectAnnotations } from '@storybook/react-vite';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { createMockTokenServer } from 'tabauth/testing';
import previewAnnotations from '../../.storybook/preview';
import * as coordinatedStories from '../../stories/CoordinatedTabs.stories';
import * as offlineStories from '../../stories/OfflineAndSignOut.stories';
import * as raceStories from '../../stories/RaceUnprotected.stories';
import * as stormStories from '../../stories/Storm401.stories';
import * as tabStories from '../../stories/Tab.stories';
import { DemoHub, type DemoConfig } from '../../stories/support/demoHub';
import { createNaiveClient } from '../../stories/support/naiveClient';

setProjectAnnotations(previewAnnotations);

const { CoordinatedTabs } = composeStories(coordinatedStories);
const { Unprotected } = composeStories(raceStories);
const { Storm401 } = composeStories(stormStories);
const { OfflineAndBack } = composeStories(offlineStories);
const { Tab } = composeStories(tabStories);

const counter = (id: string) => Number(screen.getByTestId(`counter-${id}`).getAttribute('data-value'));

afterEach(() => {
  cleanup();
  localStorage.clear();
});

describe('demo pages (portable stories)', () => {
  it('Coordinated tabs: signs in, opens one iframe per tab on the hidden tab story, counters at zero', async () => {
    render(<CoordinatedTabs tabs={3} />);
    await waitFor(() => expect(screen.getByTestId('demo-lab').getAttribute('data-ready')).toBe('true'));
    const windows = screen.getAllByTestId('tab-window');
    expect(windows).toHaveLength(3);
    const key = screen.getByTestId('demo-lab').getAttribute('data-demo-key');
    const frame = within(windows[0]!).getByTitle('Tab 1') as HTMLIFrameElement;
    expect(frame.getAttribute('src')).toBe(`/iframe.html?id=internal-tab--tab&viewMode=story&args=demo:${key};tab:t1`);
    for (const id of ['refresh-requests', 'rotations', 'reuse-detections', 'sign-outs', 'api-calls', 'api-failed']) expect(counter(id)).toBe(0);
    expect(counter('refresh-requests')).toBe(0);
    expect(screen.getByText('What to watch')).toBeTruthy();
  });

  it('Coordinated tabs: the page adds and closes tabs, and Restart starts a new run', async () => {
    render(<CoordinatedTabs tabs={2} />);
    await waitFor(() => expect(screen.getAllByTestId('tab-window')).toHaveLength(2));
    const firstKey = screen.getByTestId('demo-lab').getAttribute('data-demo-key');
    // jsdom loads no iframe: the two tabs run in this window, and "+ Add tab" waits until both are ready.
    render(<Tab demo={firstKey!} tab="t1" />);
    render(<Tab demo={firstKey!} tab="t2" />);
    const addTab = screen.getByTestId('add-tab') as HTMLButtonElement;
    await waitFor(() => expect(addTab.disabled).toBe(false), { timeout: 10_000 });
    fireEvent.click(addTab);
    await waitFor(() => expect(screen.getAllByTestId('tab-window')).toHaveLength(3));
    expect(addTab.disabled).toBe(true); // the new tab is starting
    expect(screen.getByTestId('starting-tabs').textContent).toBe('Starting tabs… 2 of 3 ready');
    fireEvent.click(screen.getByLabelText('Close Tab 1'));
    await waitFor(() => expect(screen.getAllByTestId('tab-window').map((w) => w.getAttribute('data-tab-id'))).toEqual(['t2', 't3']));
    fireEvent.click(screen.getByTestId('restart'));
    await waitFor(() => expect(screen.getByTestId('demo-lab').getAttribute('data-demo-key')).not.toBe(firstKey));
    await waitFor(() => expect(screen.getAllByTestId('tab-window')).toHaveLength(2));
    expect(window.__tabauthDemo?.[firstKey!]).toBeUndefined(); // the old run unregistered itself
  });

  it('The race, unprotected: naive mode stores the first pair in localStorage for the tabs', async () => {
    render(<Unprotected />);
    await waitFor(() => expect(screen.getByTestId('demo-lab').getAttribute('data-ready')).toBe('true'));
    expect(screen.getAllByTestId('tab-window')).toHaveLength(2);
    expect(screen.getByText('naive clients')).toBeTruthy();
    const namespace = Object.values(window.__tabauthDemo ?? {})[0]?.namespace;
    expect(localStorage.getItem(`naive-demo:${namespace}:pair`)).toContain('refreshToken');
  });

  it('401 storm: has its storm button and the queries counter', async () => {
    render(<Storm401 />);
    await waitFor(() => expect(screen.getByTestId('demo-lab').getAttribute('data-ready')).toBe('true'));
    expect(screen.getByTestId('storm').textContent).toContain('fire 12 queries');
    expect(counter('queries-ok')).toBe(0);
  });
});

describe('page controls wait for the tabs', () => {
  // jsdom never loads the tab iframes, so the tab is rendered into the same window, where it finds the hub too:
  // until then the page must keep its controls disabled, because a click would reach no tab.
  it.each([
    ['401 storm', 'storm', () => <Storm401 tabs={1} lifetimeSeconds={300} latencyMs={0} queriesPerTab={2} />],
    ['Offline and back', 'toggle-network', () => <OfflineAndBack tabs={1} lifetimeSeconds={300} latencyMs={0} />],
  ])(
    '%s: disabled with "starting tabs" until the tab is ready, then enabled, and a click reaches the tab',
    async (_name, control, page) => {
      render(page());
      await waitFor(() => expect(screen.getByTestId('demo-lab').getAttribute('data-ready')).toBe('true'));
      const key = screen.getByTestId('demo-lab').getAttribute('data-demo-key')!;
      const hub = window.__tabauthDemo![key]!;
      const button = screen.getByTestId(control) as HTMLButtonElement;
      // Every change of the button's disabled state, with whether the tab was ready at that moment.
      const transitions: Array<{ disabled: boolean; tabReady: boolean }> = [{ disabled: button.disabled, tabReady: hub.tabRecord('t1')!.ready }];
      const observer = new MutationObserver(() => {
        const last = transitions[transitions.length - 1]!;
        if (last.disabled !== button.disabled) transitions.push({ disabled: button.disabled, tabReady: hub.tabRecord('t1')!.ready });
      });
      observer.observe(button, { attributes: true, attributeFilter: ['disabled'] });
      try {
        expect(button.disabled).toBe(true);
        expect((screen.getByTestId('add-tab') as HTMLButtonElement).disabled).toBe(true);
        expect((screen.getByTestId('restart') as HTMLButtonElement).disabled).toBe(false); // the way out of a stuck start
        expect(screen.getByTestId('starting-tabs').textContent).toBe('Starting tabs… 0 of 1 ready');
        expect(screen.getByTestId('demo-lab').getAttribute('data-tabs-ready')).toBe('false');
        fireEvent.click(button); // a disabled button drops the click: nothing may happen
        expect(hub.getSnapshot().online).toBe(true);

        render(<Tab demo={key} tab="t1" />);
        await waitFor(() => expect(button.disabled).toBe(false), { timeout: 10_000 });
        expect(screen.queryByTestId('starting-tabs')).toBeNull();
        expect(screen.getByTestId('demo-lab').getAttribute('data-tabs-ready')).toBe('true');
        expect(transitions).toEqual([
          { disabled: true, tabReady: false },
          { disabled: false, tabReady: true },
        ]);
        expect(hub.tabRecord('t1')).toMatchObject({ status: 'authenticated', ready: true });

        fireEvent.click(button);
        if (control === 'storm') {
          await waitFor(() => expect(hub.getSnapshot().counters).toMatchObject({ queriesOk: 2, queriesFailed: 0, refreshRequests: 1 }), { timeout: 10_000 });
        } else {
          await waitFor(() => expect(hub.getSnapshot().online).toBe(false));
          await waitFor(() => expect(screen.getByTestId('event-log').textContent).toContain('network lost: offline'));
        }
      } finally {
        observer.disconnect();
      }
    },
    20_000,
  );
});

describe('one tab (portable story) in the same window as its hub', () => {
  const config: DemoConfig = {
    mode: 'coordinated',
    scenario: 'coordinated',
    tabs: 1,
    lifetimeSeconds: 600,
    latencyMs: 0,
    autoApiMs: 0,
    queriesPerTab: 3,
    gracePeriodMs: 0,
  };

  it('signs in from shared storage, becomes leader, calls the API, signs out and in again', async () => {
    const hub = new DemoHub(config);
    await hub.start();
    try {
      render(<Tab demo={hub.key} tab="t1" />);
      await waitFor(() => expect(screen.getByTestId('tab-app').getAttribute('data-role')).toBe('leader'), { timeout: 10_000 });
      expect(screen.getByText('Token v1')).toBeTruthy();

      fireEvent.click(screen.getByTestId('call-api'));
      await waitFor(() => expect(screen.getByTestId('api-line').textContent).toContain('HTTP 200'));
      expect(hub.getSnapshot().counters).toMatchObject({ apiCalls: 1, apiFailed: 0, refreshRequests: 0 });

      // "Expire token now": the API rejects the token, the tab refreshes once and the retried call succeeds.
      fireEvent.click(screen.getByTestId('expire-token'));
      await waitFor(() => expect(screen.getByText('Token v2')).toBeTruthy());
      await waitFor(() => expect(hub.getSnapshot().counters).toMatchObject({ refreshRequests: 1, rotations: 1, apiFailed: 1, reuseDetections: 0 }));

      fireEvent.click(screen.getByTestId('sign-out'));
      await waitFor(() => expect(screen.getByTestId('signed-out-panel')).toBeTruthy());
      await waitFor(() => expect(hub.getSnapshot().counters.signOuts).toBe(1));

      fireEvent.click(screen.getByTestId('sign-in'));
      await waitFor(() => expect(screen.getByTestId('tab-app').getAttribute('data-role')).toBe('leader'));
      expect(hub.getSnapshot().counters.logins).toBe(2);
    } finally {
      cleanup();
      await act(() => hub.dispose());
    }
  }, 20_000);

  it('renders a hint instead of a tab when opened on its own', () => {
    render(<Tab demo="nope" tab="t1" />);
    expect(screen.getByTestId('tab-orphan').textContent).toContain('Demos');
  });
});

describe('the naive client of "The race, unprotected"', () => {
  it('two tabs refreshing on their own timers send the same refresh token: reuse detected, both signed out', async () => {
    const server = createMockTokenServer({ latencyMs: 30, accessTokenTtlSeconds: 60 });
    const login = server.issueTokens();
    localStorage.setItem('race', JSON.stringify({ accessToken: login.access_token, refreshToken: login.refresh_token, expiresAt: Date.now() + 60_000 }));
    const make = () =>
      createNaiveClient({ storageKey: 'race', tokenEndpoint: server.tokenEndpoint, clientId: 'tabauth-demo', fetch: server.fetch, refreshBeforeMs: 1000 });
    const a = make();
    const b = make();
    a.start();
    b.start();
    // Both timers fire "now" (same stored expiry): each re-reads storage, finds the same pair, and refreshes.
    const [pairA, pairB] = await Promise.all([a.refresh('timer'), b.refresh('timer')]);
    expect(pairA).not.toBeNull();
    expect(pairB).toBeNull();
    expect(server.counters).toMatchObject({ refreshRequests: 2, successes: 1, reuseDetections: 1, familiesRevoked: 1 });
    expect(b.getState().status).toBe('signed-out');

    // The winner's new pair belongs to the revoked family: its next API call fails and so does its refresh.
    const api: typeof fetch = async (_input, init) => {
      const token = new Headers(init?.headers).get('Authorization')?.replace(/^Bearer /, '') ?? '';
      return new Response(null, { status: server.validateAccessToken(token).valid ? 200 : 401 });
    };
    const response = await a.callApi(api, 'https://api.mock.test/me');
    expect(response?.status).toBe(401);
    expect(a.getState().status).toBe('signed-out');
    a.stop();
    b.stop();
  });
});
