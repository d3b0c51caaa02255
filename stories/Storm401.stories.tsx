import type { Meta, StoryObj } from '@storybook/react-vite';
import { demoArgTypes, demoConfig, type DemoArgs } from './support/controls';
import { DemoLab } from './support/DemoLab';

const lead =
  'Every tab runs its queries through tabauth/query: the authed fetch attaches the token, and on 401 asks for a refresh of exactly the version that was rejected, then retries once. The access token lives long here, so nothing refreshes on a timer: only the 401s can trigger a refresh.';

const watch = [
  'Press the button: the API starts rejecting the current token and every tab fires its queries at once, so every query gets 401.',
  'All those 401s name the same rejected version: the leader refreshes once; tabs that ask later get the newer pair without a request.',
  'Refresh requests goes up by exactly 1, every query retries with the new token, and Queries done counts all of them with none failed.',
];

const meta = {
  title: 'Demos/401 storm',
  argTypes: {
    ...demoArgTypes,
    queriesPerTab: { control: { type: 'range', min: 1, max: 50, step: 1 }, description: 'Queries each tab fires at once' },
  },
  args: { tabs: 3, lifetimeSeconds: 300, latencyMs: 400, queriesPerTab: 12 },
  parameters: {
    docs: { description: { story: `${lead}\n\n${watch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => <DemoLab config={demoConfig('storm', 'coordinated', args, 0)} title="401 storm" lead={lead} watch={watch} />,
} satisfies Meta<DemoArgs>;

export default meta;

export const Storm401: StoryObj<typeof meta> = { name: '401 storm' };
