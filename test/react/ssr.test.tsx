// @vitest-environment node
// A real server has no `window`, `document` or IndexedDB: this file runs in plain Node on purpose (not jsdom).
import { QueryClientProvider } from '@tanstack/react-query';
import { Suspense } from 'react';
import { renderToPipeableStream, renderToString } from 'react-dom/server';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createAuthClient, type AuthClientOptions, type CoordinationFactory } from '../../src/core';
import { createAuthedQueryClient } from '../../src/query';
import { AuthProvider, useAccessToken, useAuth } from '../../src/react';

function spyOptions() {
  const coordination = vi.fn<CoordinationFactory>();
  const refresh = vi.fn<AuthClientOptions['refresh']>();
  return { options: { refresh, coordination } satisfies AuthClientOptions, coordination, refresh };
}

function Screen() {
  const auth = useAuth();
  const token = useAccessToken();
  const subject = useAuth((state) => state.claims?.sub ?? 'nobody');
  return (
    <p>
      {auth.status}/{token.status}/{String(token.accessToken)}/{subject}/{String(auth.isLeader)}
    </p>
  );
}

describe('server rendering', () => {
  it('renders an external client as loading and starts nothing', () => {
    expect(typeof window).toBe('undefined');
    const { options, coordination, refresh } = spyOptions();
    const client = createAuthClient(options);
    const html = renderToString(
      <AuthProvider client={client}>
        <Screen />
      </AuthProvider>,
    );
    expect(html).toBe('<p>loading<!-- -->/<!-- -->loading<!-- -->/<!-- -->null<!-- -->/<!-- -->nobody<!-- -->/<!-- -->false</p>');
    expect(coordination).not.toHaveBeenCalled(); // no channel, no election: the provider mounts in an effect only
    expect(refresh).not.toHaveBeenCalled();
  });

  it('renders a provider created from options, with an authed QueryClient, without throwing or starting anything', () => {
    const { options, coordination } = spyOptions();
    const client = createAuthClient(options);
    const queryClient = createAuthedQueryClient(client);
    const html = renderToString(
      <AuthProvider options={options}>
        <QueryClientProvider client={queryClient}>
          <Screen />
        </QueryClientProvider>
      </AuthProvider>,
    );
    expect(html).toContain('loading');
    expect(coordination).not.toHaveBeenCalled();
  });

  it('suspense mode renders the Suspense fallback on the server (renderToString and a stream that finishes)', async () => {
    const { options } = spyOptions();
    const client = createAuthClient(options);
    function Suspended() {
      return <span>{useAccessToken({ suspense: true }).status}</span>;
    }
    const tree = (
      <AuthProvider client={client}>
        <Suspense fallback={<i>waiting for the browser</i>}>
          <Suspended />
        </Suspense>
      </AuthProvider>
    );
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(renderToString(tree)).toContain('waiting for the browser');
      // A streaming render must end (not hang waiting for a client that never mounts on the server).
      const serverErrors: unknown[] = [];
      const html = await new Promise<string>((resolve, reject) => {
        const sink = new PassThrough();
        let out = '';
        sink.on('data', (chunk: Buffer) => (out += chunk.toString()));
        sink.on('end', () => resolve(out));
        const stream = renderToPipeableStream(tree, {
          onAllReady: () => stream.pipe(sink),
          onShellError: reject,
          onError: (error) => void serverErrors.push(error),
        });
      });
      expect(html).toContain('waiting for the browser');
      expect(String(serverErrors[0])).toMatch(/renders on the client only/);
    } finally {
      quiet.mockRestore();
    }
  });
});
