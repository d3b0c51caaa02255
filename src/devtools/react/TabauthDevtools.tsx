'use client';
import { useContext, useEffect, useId, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { AuthClient } from 'tabauth';
import { AuthClientContext } from '../../react/context';
import { createDevtoolsBridge } from '../../devtools/core/bridge';
import { DevtoolsPanel, roleOf } from './DevtoolsPanel';
import { DEVTOOLS_CSS } from './styles';

/** The corner of the window the devtools sit in. */
export type DevtoolsPosition = 'bottom-right' | 'bottom-left' | 'top-right' | 'top-left';

/** Props of `<TabauthDevtools>`; all optional. */
export interface TabauthDevtoolsProps {
  /** The client to inspect. Default: the client of the nearest `<AuthProvider>`. */
  client?: AuthClient;
  /** Open the panel on the first render. Default false (only the toggle button shows). */
  initialIsOpen?: boolean;
  /** Corner of the toggle button and the panel. Default 'bottom-right'. */
  position?: DevtoolsPosition;
  /** Default 'system' (follows prefers-color-scheme). */
  theme?: 'system' | 'light' | 'dark';
  /** How this tab is named in every tab's panel (default: the start of its tab id). */
  label?: string;
}

/**
 * A floating toggle and panel showing every open tab of the client's namespace (leader or follower, version, last
 * event, visibility), this tab's pair (fingerprints and claims, never a token), counters and a timeline across tabs,
 * with buttons to force a refresh or expire the token in a chosen tab. This is the real component; the
 * `tabauth/devtools` entry renders it only when `process.env.NODE_ENV === 'development'`.
 */
export function TabauthDevtools(props: TabauthDevtoolsProps): ReactNode {
  const fromContext = useContext(AuthClientContext);
  const client = props.client ?? fromContext;
  if (!client) {
    throw new Error('tabauth: <TabauthDevtools> needs a `client` prop or an <AuthProvider> above it.');
  }
  return <DevtoolsForClient {...props} client={client} />;
}

function DevtoolsForClient({
  client,
  initialIsOpen = false,
  position = 'bottom-right',
  theme = 'system',
  label,
}: TabauthDevtoolsProps & { client: AuthClient }) {
  // Creating a bridge has no side effects (start() in the effect does), so a discarded StrictMode render costs nothing.
  const bridge = useMemo(() => createDevtoolsBridge(client, label === undefined ? {} : { label }), [client, label]);
  useEffect(() => bridge.start(), [bridge]);
  const state = useSyncExternalStore(bridge.subscribe, bridge.getSnapshot, bridge.getServerSnapshot);
  const [open, setOpen] = useState(initialIsOpen);
  const panelId = useId();
  const role = state.self ? roleOf(state.self) : 'loading';

  return (
    <div className="tabauth-devtools" data-testid="tabauth-devtools" data-position={position} data-theme={theme}>
      <style>{DEVTOOLS_CSS}</style>
      {open ? <DevtoolsPanel id={panelId} bridge={bridge} state={state} onClose={() => setOpen(false)} /> : null}
      <button
        type="button"
        className="tdt-toggle"
        data-testid="tabauth-devtools-toggle"
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        title={open ? 'Close the tabauth devtools' : 'Open the tabauth devtools'}
        onClick={() => setOpen((wasOpen) => !wasOpen)}
      >
        <span className="tdt-dot" data-role={role} aria-hidden="true" />
        tabauth · {state.tabs.length} {state.tabs.length === 1 ? 'tab' : 'tabs'}
      </button>
    </div>
  );
}
