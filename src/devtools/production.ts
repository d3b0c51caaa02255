'use client';
/**
 * tabauth/devtools/production: the devtools that render whatever `NODE_ENV` says, for a staging build or a
 * production build you want to inspect. Load it lazily so the panel is only downloaded when asked for:
 *
 *   const TabauthDevtools = lazy(() => import('tabauth/devtools/production').then((m) => ({ default: m.TabauthDevtools })));
 */
export { TabauthDevtools, type DevtoolsPosition, type TabauthDevtoolsProps } from './react/TabauthDevtools';
