import type { Meta, StoryObj } from '@storybook/react-vite';
import { demoArgTypes, demoConfig, type DemoArgs } from './support/controls';
import { DemoLab } from './support/DemoLab';

const lead =
  'Leadership is a Web Lock held by the leader tab’s document. When that document goes away (the tab is closed, crashes or is discarded) the browser releases the lock and the next tab in line leads at once. A web page cannot freeze another document, so this demo closes it.';

const watch = [
  'Press “Close the leader”: its lane ends on the timeline and another tab wears the ★ Leader badge within moments.',
  'The new leader re-reads the pair from IndexedDB before acting, so there is no extra refresh: Refresh requests stays equal to Rotations.',
  'The next rotation comes from the new leader’s lane. Close leaders again until one tab is left: it keeps refreshing alone.',
  'The one unlucky moment: close the leader while its refresh is in flight (blue block; raise the latency to catch it). The new pair is lost with the tab, the next leader presents the used token and the strict server revokes the family. A server grace period (control below; Okta 30 s, Supabase 10 s) hands back the same new pair instead.',
];

const meta = {
  title: 'Demos/Leader failover',
  argTypes: {
    ...demoArgTypes,
    gracePeriodMs: {
      control: { type: 'range', min: 0, max: 30_000, step: 1000 },
      description: 'Server grace period for a reused refresh token, in ms (0 = strict, like oidc-provider and Auth0 by default)',
    },
  },
  args: { tabs: 3, lifetimeSeconds: 8, latencyMs: 300, gracePeriodMs: 0 },
  parameters: {
    docs: { description: { story: `${lead}\n\n${watch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => <DemoLab config={demoConfig('failover', 'coordinated', args, 2000)} title="Leader failover" lead={lead} watch={watch} />,
} satisfies Meta<DemoArgs>;

export default meta;

export const LeaderFailover: StoryObj<typeof meta> = { name: 'Leader failover' };
