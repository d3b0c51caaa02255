import type { Meta, StoryObj } from '@storybook/react-vite';
import { demoArgTypes, demoConfig, type DemoArgs } from './support/controls';
import { DemoLab } from './support/DemoLab';

const lead =
  'Every tab runs a hand-written client, the kind most apps have: the pair is shared in localStorage, each tab refreshes on its own timer a little before expiry, and re-reads storage right before it does. The server rotates refresh tokens and treats a reused one as theft, like oidc-provider, Okta, Auth0, Keycloak and Supabase.';

const watch = [
  'At the refresh mark every tab’s timer fires and sends the same refresh token: the logs show the same R·xxxx in each tab.',
  'The server answers the first request with a new pair and the second with invalid_grant, and revokes the whole token family (red ✕ on the timeline).',
  'The tab that “won” is signed out too, at its next API call: its new tokens belong to the revoked family.',
  'Counters: Reuse detected ≥ 1, Sign-outs = every tab. Restart to replay.',
];

const meta = {
  title: 'Demos/The race, unprotected',
  argTypes: demoArgTypes,
  args: { tabs: 2, lifetimeSeconds: 6, latencyMs: 400 },
  parameters: {
    docs: { description: { story: `${lead}\n\n${watch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => <DemoLab config={demoConfig('race', 'naive', args, 1500)} title="The race, unprotected" lead={lead} watch={watch} />,
} satisfies Meta<DemoArgs>;

export default meta;

export const Unprotected: StoryObj<typeof meta> = { name: 'The race, unprotected' };
