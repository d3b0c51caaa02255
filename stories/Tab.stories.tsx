import type { Meta, StoryObj } from '@storybook/react-vite';
import { TabApp, type TabAppProps } from './support/TabApp';

/**
 * One browser tab of a demo. Hidden from the sidebar: the demo stories load it in iframes
 * (`iframe.html?id=internal-tab--tab&args=demo:<key>;tab:<id>`), each with its own document and auth client.
 */
const meta = {
  title: 'Internal/Tab',
  component: TabApp,
  tags: ['!dev', '!test', '!autodocs'],
  args: { demo: '', tab: '' },
  parameters: { layout: 'fullscreen' },
} satisfies Meta<TabAppProps>;

export default meta;

export const Tab: StoryObj<typeof meta> = {};
