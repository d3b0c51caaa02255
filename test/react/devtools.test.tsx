// @vitest-environment jsdom
/**
 * <TabauthDevtools> in jsdom: nothing at all outside development (no element, no channel), the production entry
 * always, two simulated tabs finding each other over Node's BroadcastChannel, the buttons acting on the chosen tab,
 * no token string anywhere in the DOM.
 */
import { act, cleanup, fireEvent, render, waitFor, within } from '@testing-library/react';
import { StrictMode, type ComponentType } from 'react';
import { TabauthDevtools } from '../../src/devtools/production';
import type { TabauthDevtoolsProps } from '../../src/devtools/react/TabauthDevtools';
import { recordTokens, secretsOf } from '../devtools/support';
import { advance, renderTab, strictSimulation } from './support';

const NativeBroadcastChannel = globalThis.BroadcastChannel;
let opened: string[] = [];
const open = new Set<BroadcastChannel>();

/** Counts the devtools channels opened and still open. */
class SpyBroadcastChannel extends NativeBroadcastChannel {
  constructor(name: string) {
    super(name);
    if (name.startsWith('tabauth-devtools:')) {
      opened.push(name);
      open.add(this);
    }
  }
  override close() {
    open.delete(this);
    super.close();
  }
}

// Reports arrive over a real BroadcastChannel and digests from real Web Crypto, outside any act() scope; the tests wait
// for what they render (waitFor), so React's "not wrapped in act" warning would only be noise here.
const actEnvironment = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean };
let previousActEnvironment: boolean | undefined;

beforeEach(() => {
  opened = [];
  vi.stubGlobal('BroadcastChannel', SpyBroadcastChannel);
  previousActEnvironment = actEnvironment.IS_REACT_ACT_ENVIRONMENT;
  actEnvironment.IS_REACT_ACT_ENVIRONMENT = false;
});

afterEach(() => {
  actEnvironment.IS_REACT_ACT_ENVIRONMENT = previousActEnvironment;
  cleanup();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.resetModules();
});

/** The `tabauth/devtools` entry as an app bundled with this NODE_ENV sees it (the switch is read at module load). */
async function devtoolsEntryFor(nodeEnv: string): Promise<ComponentType<TabauthDevtoolsProps>> {
  vi.stubEnv('NODE_ENV', nodeEnv);
  vi.resetModules();
  return (await import('../../src/devtools/index')).TabauthDevtools;
}

const rows = (container: HTMLElement) => within(container).queryAllByTestId('tabauth-devtools-tab');

describe('<TabauthDevtools> from tabauth/devtools', () => {
  it.each(['production', 'test'])('renders nothing and opens no channel when NODE_ENV is %s', async (nodeEnv) => {
    const Devtools = await devtoolsEntryFor(nodeEnv);
    const sim = strictSimulation();
    try {
      const tab = sim.openTab();
      const { container } = render(<Devtools client={tab.client} initialIsOpen />);
      await act(async () => {
        await sim.advance(100);
      });
      expect(container.innerHTML).toBe('');
      expect(opened).toEqual([]);
    } finally {
      await sim.dispose();
    }
  });

  it('renders the toggle in development, and the panel once clicked', async () => {
    const Devtools = await devtoolsEntryFor('development');
    const sim = strictSimulation();
    try {
      const tab = sim.openTab();
      const { container } = render(<Devtools client={tab.client} />);
      const toggle = within(container).getByTestId('tabauth-devtools-toggle');
      expect(toggle.getAttribute('aria-expanded')).toBe('false');
      expect(within(container).queryByTestId('tabauth-devtools-panel')).toBeNull();
      fireEvent.click(toggle);
      expect(within(container).getByTestId('tabauth-devtools-panel')).toBeTruthy();
      expect(toggle.getAttribute('aria-expanded')).toBe('true');
      await waitFor(() => expect(rows(container)).toHaveLength(1));
      expect(opened).toEqual(['tabauth-devtools:default']);
    } finally {
      await sim.dispose();
    }
  });
});

describe('<TabauthDevtools> from tabauth/devtools/production', () => {
  it('two tabs find each other: both panels list 2 tabs, one leader, one version, one fingerprint; no token in the DOM', async () => {
    const sim = strictSimulation({ ttlSeconds: 600 });
    try {
      const first = renderTab(sim, <TabauthDevtools initialIsOpen label="First" />);
      const second = renderTab(sim, <TabauthDevtools initialIsOpen label="Second" />);
      const tokens = recordTokens([first.tab.client, second.tab.client]);
      await advance(sim, 100);
      await act(async () => {
        await sim.signIn();
      });
      await advance(sim, 100);
      const version = first.tab.client.getSnapshot().version;
      for (const { container } of [first, second]) {
        await waitFor(() => {
          const listed = rows(container);
          expect(listed).toHaveLength(2);
          expect(listed.filter((row) => row.dataset.role === 'leader')).toHaveLength(1);
          expect(listed.map((row) => Number(row.dataset.version))).toEqual([version, version]);
          expect(within(container).getByTestId('tabauth-devtools-fingerprint').dataset.value).toMatch(/^[0-9a-f]{8}$/);
        });
        expect(rows(container)[0]!.dataset.self).toBe('true');
        expect(within(container).getByTestId('tabauth-devtools-toggle').textContent).toContain('2 tabs');
      }
      const fingerprints = [first, second].map(({ container }) => within(container).getByTestId('tabauth-devtools-fingerprint').dataset.value);
      expect(fingerprints[0]).toBe(fingerprints[1]);
      expect(rows(first.container).map((row) => row.querySelector('label')?.textContent?.trim())).toEqual(['Firstthis tab', 'Second']);
      const html = document.documentElement.outerHTML;
      for (const secret of secretsOf(tokens)) expect(html.includes(secret)).toBe(false);
    } finally {
      await sim.dispose();
    }
  });

  it('Force refresh and Expire act on the tab chosen in the panel', async () => {
    const sim = strictSimulation({ ttlSeconds: 600 });
    try {
      const first = renderTab(sim, <TabauthDevtools initialIsOpen />);
      const second = renderTab(sim, <TabauthDevtools initialIsOpen />);
      await advance(sim, 100);
      await act(async () => {
        await sim.signIn();
      });
      await advance(sim, 100);
      await waitFor(() => expect(rows(first.container)).toHaveLength(2));
      const panel = within(first.container);
      // Pick the other tab's row, then refresh it from this panel.
      const other = rows(first.container).find((row) => row.dataset.self === 'false')!;
      fireEvent.click(other);
      expect(other.dataset.selected).toBe('true');
      fireEvent.click(panel.getByTestId('tabauth-devtools-refresh'));
      await waitFor(async () => {
        await advance(sim, 50);
        expect(panel.getByTestId('tabauth-devtools-result').dataset.status).toBe('done');
      });
      expect(sim.server.counters.refreshRequests).toBe(1);
      await waitFor(() => expect(rows(second.container).map((row) => row.dataset.version)).toEqual(['2', '2']));

      fireEvent.click(panel.getByTestId('tabauth-devtools-expire'));
      await waitFor(async () => {
        await advance(sim, 50);
        expect(panel.getByTestId('tabauth-devtools-result').textContent).toContain('v2 marked expired');
      });
      expect(second.tab.client.getSnapshot().expired).toBe(true);
      expect(first.tab.client.getSnapshot().expired).toBe(false);
      expect(
        within(first.container)
          .getAllByTestId('tabauth-devtools-entry')
          .map((entry) => entry.dataset.kind),
      ).toEqual(expect.arrayContaining(['devtools-refresh', 'devtools-expire', 'refresh-succeeded']));
    } finally {
      await sim.dispose();
    }
  });

  it('under StrictMode keeps exactly one devtools channel open, and closes it on unmount', async () => {
    const sim = strictSimulation();
    try {
      const { unmount } = renderTab(sim, <TabauthDevtools />, { strict: true });
      await advance(sim, 50);
      expect(open.size).toBe(1);
      unmount();
      expect(open.size).toBe(0);
    } finally {
      await sim.dispose();
    }
  });

  it('throws a clear error without a client or provider', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(() =>
        render(
          <StrictMode>
            <TabauthDevtools />
          </StrictMode>,
        ),
      ).toThrow(/needs a `client` prop or an <AuthProvider>/);
    } finally {
      spy.mockRestore();
    }
  });
});
