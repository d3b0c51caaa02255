import type { Meta, StoryObj } from '@storybook/react-vite';
import { demoArgTypes, demoConfig, type DemoArgs } from './support/controls';
import { DemoLab } from './support/DemoLab';

const offlineLead =
  'The page cuts the network of every tab at once (the token endpoint and the API fail, and each tab’s client sees “offline”). tabauth does not send refreshes into a dead network: it waits for the browser to say it is online again, then the leader refreshes once.';

const offlineWatch = [
  'Press “Go offline” and let the countdown run out: the tokens expire, API calls fail, and Refresh requests does not move.',
  '“Sent offline” stays 0: no refresh request went into the dead network, so no retry storm either.',
  'Press “Back online”: one refresh (one new green block on the timeline), every tab gets the new pair, API calls succeed again.',
];

const signOutLead =
  'Signing out writes a signed-out state with a higher version to IndexedDB and pushes it to every tab, so a sign-out in one tab reaches all of them at once, and an older pair can never bring a tab back. Signing in again works the same way.';

const signOutWatch = [
  'Press “Sign out” in any tab: every tab turns red in the same moment, and Sign-outs counts one per tab.',
  'Press “Sign in again” in any tab: every tab is signed in with the new pair (the timeline shows green ticks).',
  'No refresh request is sent by either: Refresh requests stays 0.',
];

const meta = {
  title: 'Demos/Offline and sign-out',
  argTypes: demoArgTypes,
  args: { tabs: 3, lifetimeSeconds: 6, latencyMs: 300 },
} satisfies Meta<DemoArgs>;

export default meta;

type Story = StoryObj<DemoArgs>;

export const OfflineAndBack: Story = {
  name: 'Offline and back',
  parameters: {
    docs: { description: { story: `${offlineLead}\n\n${offlineWatch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => <DemoLab config={demoConfig('offline', 'coordinated', args, 2000)} title="Offline and back" lead={offlineLead} watch={offlineWatch} />,
};

export const SignOutSync: Story = {
  name: 'Sign-out sync',
  args: { lifetimeSeconds: 60 },
  parameters: {
    docs: { description: { story: `${signOutLead}\n\n${signOutWatch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => <DemoLab config={demoConfig('signout', 'coordinated', args, 0)} title="Sign-out sync" lead={signOutLead} watch={signOutWatch} />,
};
