import type { StorybookConfig } from '@storybook/react-vite';

/**
 * The tabauth demos. Runs offline: no telemetry, no update checks, no addons (docs text lives in the stories).
 * builder-vite reads the project's vite.config.ts (React plugin and the 'tabauth/*' aliases to src/); it ignores its
 * library `build` section.
 */
const config: StorybookConfig = {
  stories: ['../stories/**/*.stories.@(ts|tsx)'],
  addons: [],
  framework: { name: '@storybook/react-vite', options: {} },
  core: {
    disableTelemetry: true,
    disableWhatsNewNotifications: true,
    disableProjectJson: true,
  },
  features: {
    sidebarOnboardingChecklist: false,
    menuOnboardingChecklist: false,
    actions: false,
    interactions: false,
  },
};

export default config;
