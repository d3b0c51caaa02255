/**
 * Launches the system Chromium (Debian package `chromium`, or $CHROMIUM_PATH) through playwright-core.
 * Playwright's own browser downloads are not used: the only network the tests have is loopback.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export interface LaunchChromiumOptions {
  /** Default true. */
  headless?: boolean;
  /**
   * Default false (Playwright's behaviour: background tabs/timers run at full speed).
   * When true, Playwright's flags that disable background throttling are removed, so hidden or
   * occluded pages get Chromium's normal timer throttling and renderer backgrounding, as in a
   * real browser.
   */
  throttleBackground?: boolean;
  /**
   * Default false (Playwright's behaviour: `--disable-back-forward-cache`). When true that flag is removed, so
   * pages go into the back/forward cache as in a real browser.
   */
  backForwardCache?: boolean;
}

/** Chromium's executable: $CHROMIUM_PATH or /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/** True when the Chromium executable exists and is executable (use with `describe.skipIf(!chromiumAvailable())`). */
export function chromiumAvailable(): boolean {
  try {
    accessSync(chromiumPath(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Flags Playwright adds by default that keep background pages un-throttled. */
export const PLAYWRIGHT_THROTTLING_DISABLING_ARGS = [
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
];

export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<Browser> {
  const { headless = true, throttleBackground = false, backForwardCache = false } = options;
  const ignoreDefaultArgs = [
    ...(throttleBackground ? PLAYWRIGHT_THROTTLING_DISABLING_ARGS : []),
    ...(backForwardCache ? ['--disable-back-forward-cache'] : []),
  ];
  return chromium.launch({
    executablePath: chromiumPath(),
    headless,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    ...(ignoreDefaultArgs.length > 0 ? { ignoreDefaultArgs } : {}),
  });
}
