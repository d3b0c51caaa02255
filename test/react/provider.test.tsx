// @vitest-environment jsdom
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { OPEN_BROADCAST_CHANNELS } from 'broadcast-channel';
import { Activity, StrictMode, useEffect, useState } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { broadcastChannelCoordination, createAuthClient, createMemoryStorage, DisposedError, type AuthClient, type AuthClientOptions } from '../../src/core';
import { AuthProvider, useAccessToken, useAuth, useAuthClient } from '../../src/react';
import type { TabSimulation } from '../../src/testing';
import { advance, renderTab, strictSimulation } from './support';

let sim: TabSimulation | undefined;
afterEach(async () => {
  cleanup(); // unmount before the tabs close, so no React update happens outside act()
  await sim?.dispose();
  sim = undefined;
});

function Status() {
  const { status, isLeader, version, signOut } = useAuth();
  return (
    <div>
      <span data-testid="status">{status}</span>
      <span data-testid="leader">{String(isLeader)}</span>
      <span data-testid="version">{version}</span>
      <button onClick={() => void signOut()}>sign out</button>
    </div>
  );
}

/** Real macrotasks: broadcast-channel's 'simulate' method and its fallback elector run on the real event loop. */
const realTicks = async (count = 20) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 0));
};

describe('hooks outside a provider', () => {
  it.each([
    ['useAuth', () => useAuth()],
    ['useAccessToken', () => useAccessToken()],
    ['useAuthClient', () => useAuthClient()],
  ])('%s() throws an error that names AuthProvider', (name, hook) => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    // React 18 also rethrows render errors inside a jsdom event, which jsdom reports as uncaught unless cancelled.
    const cancel = (event: ErrorEvent) => event.preventDefault();
    window.addEventListener('error', cancel);
    function Orphan() {
      hook();
      return null;
    }
    try {
      expect(() => render(<Orphan />)).toThrow(new RegExp(`${name}\\(\\) was called outside <AuthProvider>`));
    } finally {
      window.removeEventListener('error', cancel);
      quiet.mockRestore();
    }
  });
});

describe('several providers, one simulated browser', () => {
  it('each provider is a tab: sign-in in one reaches the others, one leader, one version', async () => {
    sim = strictSimulation({ seed: 101, ttlSeconds: 3600 });
    const tabs = [renderTab(sim, <Status />), renderTab(sim, <Status />), renderTab(sim, <Status />)];
    await advance(sim, 10);
    for (const { container } of tabs) expect(within(container).getByTestId('status').textContent).toBe('signed-out');

    await act(async () => {
      await sim!.signIn(tabs[1]!.tab);
    });
    await advance(sim, 10);
    const versions = tabs.map(({ container }) => within(container).getByTestId('version').textContent);
    expect(new Set(versions)).toEqual(new Set(['1']));
    for (const { container } of tabs) expect(within(container).getByTestId('status').textContent).toBe('authenticated');
    expect(tabs.filter(({ container }) => within(container).getByTestId('leader').textContent === 'true')).toHaveLength(1);

    // Sign-out from the UI of the last tab reaches the first.
    await act(async () => {
      within(tabs[2]!.container).getByRole('button', { name: 'sign out' }).click();
    });
    await advance(sim, 10);
    expect(within(tabs[0]!.container).getByTestId('status').textContent).toBe('signed-out');
  });

  it('mounts the client only while rendered: no channel before, one per tab while mounted, none after', async () => {
    sim = strictSimulation({ seed: 102, ttlSeconds: 3600 });
    expect(sim.network.openChannels()).toBe(0);
    const a = renderTab(sim, <Status />);
    const b = renderTab(sim, <Status />);
    await advance(sim, 10);
    expect(sim.network.openChannels()).toBe(2);
    expect(sim.network.leaders()).toHaveLength(1);
    a.unmount();
    await advance(sim, 10);
    expect(sim.network.openChannels()).toBe(1);
    expect(a.tab.environment.listenerCount()).toBe(0);
    expect(sim.network.leaders()).toEqual([b.tab.name]); // leadership moved on when tab A's provider went away
    b.unmount();
    await advance(sim, 10);
    expect(sim.network.openChannels()).toBe(0);
    expect(b.tab.environment.listenerCount()).toBe(0);
  });
});

describe('StrictMode', () => {
  it('the double mount leaves exactly one live session per tab and nothing after unmount (simulated network)', async () => {
    sim = strictSimulation({ seed: 103, ttlSeconds: 3600 });
    const tabs = [renderTab(sim, <Status />, { strict: true }), renderTab(sim, <Status />, { strict: true })];
    await advance(sim, 10);
    expect(sim.network.openChannels()).toBe(2);
    expect(sim.network.leaders()).toHaveLength(1);
    for (const { tab } of tabs) expect(tab.environment.listenerCount()).toBeGreaterThan(0);
    await act(async () => {
      await sim!.signIn(tabs[0]!.tab);
    });
    await advance(sim, 10);
    expect(within(tabs[1]!.container).getByTestId('status').textContent).toBe('authenticated');

    for (const { unmount } of tabs) unmount();
    await advance(sim, 10);
    expect(sim.network.openChannels()).toBe(0);
    expect(sim.network.leaders()).toEqual([]);
    for (const { tab } of tabs) expect(tab.environment.listenerCount()).toBe(0);
  });

  const bcOptions = (): AuthClientOptions => ({
    refresh: async () => {
      throw new Error('no refresh in this test');
    },
    storage: createMemoryStorage(),
    coordination: broadcastChannelCoordination({ channelOptions: { type: 'simulate' } }),
    // broadcast-channel's message election takes a while: a new tab with nothing stored asks the open tabs for 5 ms.
    peerQueryMs: 5,
  });

  it('with a real broadcast-channel and an external client: OPEN_BROADCAST_CHANNELS is back to its size', async () => {
    const before = OPEN_BROADCAST_CHANNELS.size;
    const client = createAuthClient(bcOptions());
    const { unmount } = render(
      <StrictMode>
        <AuthProvider client={client}>
          <Status />
        </AuthProvider>
      </StrictMode>,
    );
    await act(async () => {
      await client.ready();
      await realTicks();
    });
    expect(screen.getByTestId('status').textContent).toBe('signed-out');
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before + 1);
    unmount();
    await act(() => realTicks());
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before);
    // An external client is never disposed by the provider: it can be mounted again.
    const again = client.mount();
    await act(() => realTicks()); // broadcast-channel is loaded lazily: the channel opens once the module is there
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before + 1);
    again();
    await client.dispose();
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before);
  });

  it('with `options`: survives the double mount, then disposes the client it created on unmount', async () => {
    const before = OPEN_BROADCAST_CHANNELS.size;
    let created: AuthClient | null = null;
    function Capture() {
      const client = useAuthClient();
      useEffect(() => {
        created = client;
      }, [client]);
      return <Status />;
    }
    const options = bcOptions();
    const { unmount } = render(
      <StrictMode>
        <AuthProvider options={options}>
          <Capture />
        </AuthProvider>
      </StrictMode>,
    );
    await act(async () => {
      await created!.ready();
      await realTicks();
    });
    // The StrictMode replay did not dispose the client: it is loaded, usable, and holds one channel.
    expect(screen.getByTestId('status').textContent).toBe('signed-out');
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before + 1);
    await act(async () => {
      await created!.signIn({ access_token: 'opaque-access', refresh_token: 'opaque-refresh', expires_in: 3600 });
    });
    expect(screen.getByTestId('status').textContent).toBe('authenticated');

    unmount();
    await act(() => realTicks());
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before);
    await expect(created!.getAccessToken()).rejects.toBeInstanceOf(DisposedError);
  });

  it('with `options`: a remount after the client was disposed gets a fresh client', async () => {
    const seen = new Set<AuthClient>();
    function Capture() {
      seen.add(useAuthClient());
      return <Status />;
    }
    const options = bcOptions();
    let toggle!: (visible: boolean) => void;
    function Toggle() {
      const [visible, setVisible] = useState(true);
      useEffect(() => {
        toggle = setVisible;
      }, []);
      return visible ? (
        <AuthProvider options={options}>
          <Capture />
        </AuthProvider>
      ) : null;
    }
    render(<Toggle />);
    await act(() => realTicks());
    act(() => toggle(false));
    await act(() => realTicks());
    act(() => toggle(true));
    await act(() => realTicks());
    expect(screen.getByTestId('status').textContent).toBe('signed-out');
    expect(seen.size).toBe(2); // A new provider instance creates its own client; the old one stays disposed.
  });

  it('switching between `client` and `options` without a new key: creates one client, disposes only its own', async () => {
    const before = OPEN_BROADCAST_CHANNELS.size;
    const seen: AuthClient[] = [];
    function Capture() {
      const client = useAuthClient();
      if (!seen.includes(client)) seen.push(client);
      return <Status />;
    }
    const options = bcOptions();
    const external = createAuthClient(bcOptions());
    const { rerender, unmount } = render(
      <AuthProvider client={external}>
        <Capture />
      </AuthProvider>,
    );
    await act(() => realTicks());
    rerender(
      <AuthProvider options={options}>
        <Capture />
      </AuthProvider>,
    );
    await act(() => realTicks());
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(external);
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before + 1); // the external client was unmounted, the owned one mounted
    rerender(
      <AuthProvider client={external}>
        <Capture />
      </AuthProvider>,
    );
    await act(() => realTicks());
    await expect(seen[1]!.getAccessToken()).rejects.toBeInstanceOf(DisposedError); // the provider's own client
    expect(screen.getByTestId('status').textContent).toBe('signed-out'); // the external one still works
    unmount();
    await act(() => realTicks());
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before);
    await expect(external.ready()).resolves.toBeUndefined();
    await external.dispose();
  });
});

// <Activity> is React 19.2+; the react18 project runs everything else in this file.
describe.skipIf(Activity === undefined)('<Activity>', () => {
  it('hidden: the provider releases everything; shown again: it mounts a fresh client from the same options', async () => {
    const before = OPEN_BROADCAST_CHANNELS.size;
    const seen: AuthClient[] = [];
    function Capture() {
      const client = useAuthClient();
      if (!seen.includes(client)) seen.push(client);
      return <Status />;
    }
    const options: AuthClientOptions = {
      refresh: async () => {
        throw new Error('no refresh in this test');
      },
      storage: createMemoryStorage(),
      coordination: broadcastChannelCoordination({ channelOptions: { type: 'simulate' } }),
      peerQueryMs: 5, // see bcOptions
    };
    const tree = (mode: 'visible' | 'hidden') => (
      <Activity mode={mode}>
        <AuthProvider options={options}>
          <Capture />
        </AuthProvider>
      </Activity>
    );
    const { rerender } = render(tree('visible'));
    await act(() => realTicks());
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before + 1);
    rerender(tree('hidden'));
    await act(() => realTicks());
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before);
    await expect(seen[0]!.getAccessToken()).rejects.toBeInstanceOf(DisposedError);
    rerender(tree('visible'));
    await act(() => realTicks());
    expect(seen).toHaveLength(2);
    expect(OPEN_BROADCAST_CHANNELS.size).toBe(before + 1);
    expect(screen.getByTestId('status').textContent).toBe('signed-out');
  });
});

describe('hydration', () => {
  it('hydrates server HTML (rendered from the loading server snapshot) without a mismatch, then shows the loaded state', async () => {
    sim = strictSimulation({ seed: 104, ttlSeconds: 3600 });
    const server = sim.openTab({ name: 'server', mount: false });
    await sim.signIn(sim.openTab({ name: 'other' })); // the browser already holds a session in storage
    const tab = sim.openTab({ name: 'page', mount: false });
    const tree = (client: AuthClient) => (
      <AuthProvider client={client}>
        <Status />
      </AuthProvider>
    );
    const container = document.createElement('div');
    container.innerHTML = renderToString(tree(server.client));
    expect(container.querySelector('[data-testid="status"]')?.textContent).toBe('loading');
    document.body.appendChild(container);
    const errors = vi.spyOn(console, 'error');
    const recoverable: unknown[] = [];
    let root!: ReturnType<typeof hydrateRoot>;
    try {
      await act(async () => {
        root = hydrateRoot(container, tree(tab.client), { onRecoverableError: (error) => void recoverable.push(error) });
      });
      await advance(sim, 10);
      expect(within(container).getByTestId('status').textContent).toBe('authenticated');
      expect(recoverable).toEqual([]);
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
      act(() => root.unmount());
      container.remove();
    }
  });
});
