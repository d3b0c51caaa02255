import type { Meta, StoryObj } from '@storybook/react-vite';
import { demoArgTypes, demoConfig, type DemoArgs } from './support/controls';
import { DemoLab } from './support/DemoLab';

const lead =
  'The same strict server and the same kind of tabs, now with tabauth. Each tab is an iframe with its own document, AuthProvider and auth client; they find each other through BroadcastChannel and Web Locks and share the pair in IndexedDB, exactly as real tabs do. One elected leader refreshes; the new pair gets a higher version and reaches every tab the moment it exists.';

const watch = [
  'One tab wears the ★ Leader badge. At the refresh mark only it calls the token endpoint; the others log “got vN from another tab”.',
  'Refresh requests = Rotations, Reuse detected = 0, Sign-outs = 0, however long you watch and however many tabs you add.',
  '“Expire token now”: the API rejects that token; the tab asks the leader, which refreshes once for everyone.',
  'Close the leader’s tab (×): another tab takes over without an extra refresh.',
];

const meta = {
  title: 'Demos/Coordinated tabs',
  argTypes: demoArgTypes,
  args: { tabs: 3, lifetimeSeconds: 10, latencyMs: 300 },
  parameters: {
    docs: { description: { story: `${lead}\n\n${watch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => <DemoLab config={demoConfig('coordinated', 'coordinated', args, 2000)} title="Coordinated tabs" lead={lead} watch={watch} />,
} satisfies Meta<DemoArgs>;

export default meta;

export const CoordinatedTabs: StoryObj<typeof meta> = { name: 'Coordinated tabs' };
