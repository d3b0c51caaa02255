import type { Preview } from '@storybook/react-vite';
import { ThemeRoot, type ThemeChoice } from '../stories/support/theme';
import '../stories/support/demo.css';

const preview: Preview = {
  parameters: {
    layout: 'fullscreen',
    // The demos draw their own light and dark backgrounds (toolbar: Theme).
    backgrounds: { disable: true },
    controls: { expanded: true, sort: 'none' },
    options: {
      storySort: {
        order: ['Demos', ['The race, unprotected', 'Coordinated tabs', 'Leader failover', '401 storm', 'Offline and sign-out'], '*'],
      },
    },
  },
  globalTypes: {
    theme: {
      description: 'Colour scheme of the demos',
      toolbar: {
        title: 'Theme',
        icon: 'mirror',
        items: [
          { value: 'auto', title: 'Follow the system' },
          { value: 'light', title: 'Light' },
          { value: 'dark', title: 'Dark' },
        ],
        dynamicTitle: true,
      },
    },
  },
  initialGlobals: { theme: 'auto' },
  decorators: [
    (Story, context) => (
      <ThemeRoot theme={(context.globals.theme as ThemeChoice | undefined) ?? 'auto'}>
        <Story />
      </ThemeRoot>
    ),
  ],
};

export default preview;
