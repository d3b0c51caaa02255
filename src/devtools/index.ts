'use client';
/**
 * tabauth/devtools: `<TabauthDevtools />`, a floating panel that shows what every tab of the namespace is doing.
 *
 * Like TanStack Query's devtools it renders only when `process.env.NODE_ENV === 'development'`: production builds (and
 * test runs) get a component that renders null, and since the choice is a constant for the app's bundler, the panel,
 * its styles and its BroadcastChannel code are removed from the bundle. `tabauth/devtools/production` always renders.
 */
import type { ReactNode } from 'react';
import { TabauthDevtools as Panel, type TabauthDevtoolsProps } from './react/TabauthDevtools';

export type { DevtoolsPosition, TabauthDevtoolsProps } from './react/TabauthDevtools';

// Typed here rather than through @types/node: the app's bundler replaces this exact expression with a constant.
declare const process: { env: { NODE_ENV?: string } };

/** The devtools panel in development; in any other build a component that renders null (see the module comment). */
export const TabauthDevtools: (props: TabauthDevtoolsProps) => ReactNode =
  process.env.NODE_ENV !== 'development'
    ? function TabauthDevtools() {
        return null;
      }
    : Panel;
