/**
 * The devtools' own channel between the tabs of one namespace. It is deliberately not the core's tab channel: devtools
 * traffic never enters the core's validated protocol (the core would count every devtools message as dropped), it
 * cannot disturb coordination, and it disappears with the devtools code from production bundles.
 */
export interface DevtoolsChannel {
  /** Sends to every other tab on the channel (never echoed to the sender). Never throws. */
  post(message: unknown): void;
  /** Calls `listener` with every message from the other tabs; returns the function that unsubscribes it. */
  subscribe(listener: (message: unknown) => void): () => void;
  /** Closes the channel and drops every listener; safe to call twice. */
  close(): void;
}

/** Opens the devtools channel of the given name. */
export type DevtoolsChannelFactory = (name: string) => DevtoolsChannel;

/** The browser's BroadcastChannel (same origin, every tab, window, iframe and worker); null where there is none. */
export function nativeDevtoolsChannel(): DevtoolsChannelFactory | null {
  if (typeof BroadcastChannel !== 'function') return null;
  return (name) => {
    const channel = new BroadcastChannel(name);
    const listeners = new Set<(message: unknown) => void>();
    let closed = false;
    const onMessage = (event: MessageEvent) => {
      for (const listener of [...listeners]) listener(event.data);
    };
    channel.addEventListener('message', onMessage);
    return {
      post(message) {
        if (closed) return;
        try {
          channel.postMessage(message);
        } catch {
          // Not cloneable, or the channel was closed under us: a devtools message is never worth an exception.
        }
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
      close() {
        if (closed) return;
        closed = true;
        listeners.clear();
        channel.removeEventListener('message', onMessage);
        channel.close();
      },
    };
  };
}
