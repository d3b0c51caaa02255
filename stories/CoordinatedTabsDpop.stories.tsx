import type { Meta, StoryObj } from '@storybook/react-vite';
import { demoArgTypes, demoConfig, type DemoArgs } from './support/controls';
import { DemoLab } from './support/DemoLab';

const lead =
  'Coordinated tabs with DPoP (RFC 9449): the tokens are bound to one non-extractable key that the login page created in IndexedDB; every tab signs its refreshes and API calls with that same key (a stolen token is useless without it). The server asks for nonces at the token endpoint and at the API; the first request to each learns one, retries at once, and shares it with every tab.';

const watch = [
  'Every tab shows the same DPoP key thumbprint: one key for all tabs, and “DPoP keys created” stays at 1 per login.',
  'Refresh requests = Rotations, Key mismatches = 0: the leader refreshes with the key the refresh token is bound to.',
  '“Nonce retries” counts the use_dpop_nonce answers (an “n” on the timeline): the first refresh and the first API calls learn the nonce, every other tab then has it; tabs that call at the very same moment may each meet it once.',
  'Sign out and “Sign in again”: the key is deleted on sign-out and a new one is created for the new login.',
];

const meta = {
  title: 'Demos/Coordinated tabs (DPoP)',
  argTypes: demoArgTypes,
  args: { tabs: 3, lifetimeSeconds: 10, latencyMs: 300 },
  parameters: {
    docs: { description: { story: `${lead}\n\n${watch.map((item, index) => `${index + 1}. ${item}`).join('\n')}` } },
  },
  render: (args) => (
    <DemoLab config={demoConfig('coordinated', 'coordinated', args, 2000, { dpop: true })} title="Coordinated tabs with DPoP" lead={lead} watch={watch} />
  ),
} satisfies Meta<DemoArgs>;

export default meta;

export const CoordinatedTabsDpop: StoryObj<typeof meta> = { name: 'Coordinated tabs (DPoP)' };
