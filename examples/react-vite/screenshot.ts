/**
 * `npm run example:screenshot`: starts the example, logs in through the provider's pages in one Chromium tab, opens
 * the protected page in a second tab, waits for a refresh, and writes docs/example-react-vite.png of that tab.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../../test/e2e/support/chromium';
import { giveConsent, newContext, typeLogin } from '../../test/e2e/support/oidcApp';
import { startExample } from './server';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/example-react-vite.png');
const example = await startExample({ accessTokenTtlSeconds: 8 });
const browser = await launchChromium();
try {
  const context = await newContext({ server: example.server, browser, close: async () => {} });
  const first = await context.newPage();
  await first.goto(example.url, { waitUntil: 'domcontentloaded' });
  await first.locator('#login').click();
  await typeLogin(first, 'ada-lovelace');
  await giveConsent(first);
  await first.locator('#user').waitFor();
  const second = await context.newPage();
  await second.setViewportSize({ width: 1040, height: 340 });
  await second.goto(`${example.url}protected`, { waitUntil: 'domcontentloaded' });
  await second.locator('#todos li').first().waitFor();
  // After two rotations the panel shows pairs handed over by the leader.
  await second.waitForFunction(() => Number(document.getElementById('version')?.textContent) >= 3, undefined, { timeout: 60_000 });
  await second.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await example.close();
}
