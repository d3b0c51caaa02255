/**
 * Helpers for the SharedWorker e2e tests and bench: find the tabauth worker of a browser context through CDP and
 * terminate it the way the browser would (chrome://inspect's "terminate"), and read a tab's coordination events.
 */
import type { Browser, BrowserContext, CDPSession } from 'playwright-core';
import type { Tab } from './tabs';

interface TargetInfo {
  targetId: string;
  type: string;
  url: string;
  browserContextId?: string;
}

async function contextIdOf(context: BrowserContext): Promise<string> {
  const page = context.pages()[0];
  if (!page) throw new Error('the context has no page to identify it by');
  const session = await context.newCDPSession(page);
  try {
    const { targetInfo } = (await session.send('Target.getTargetInfo')) as { targetInfo: TargetInfo };
    if (!targetInfo.browserContextId) throw new Error('CDP did not name the browser context');
    return targetInfo.browserContextId;
  } finally {
    await session.detach().catch(() => {});
  }
}

/** The shared_worker targets of this context (tabauth's worker among them). */
export async function sharedWorkerTargets(browser: Browser, context: BrowserContext): Promise<TargetInfo[]> {
  const contextId = await contextIdOf(context);
  const cdp: CDPSession = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: TargetInfo[] };
    return targetInfos.filter((target) => target.type === 'shared_worker' && target.browserContextId === contextId);
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Terminates every shared worker of the context (CDP Target.closeTarget); resolves once CDP lists none. */
export async function killSharedWorkers(browser: Browser, context: BrowserContext): Promise<number> {
  const targets = await sharedWorkerTargets(browser, context);
  if (targets.length === 0) throw new Error('no shared worker to kill');
  const cdp: CDPSession = await browser.newBrowserCDPSession();
  try {
    for (const target of targets) await cdp.send('Target.closeTarget', { targetId: target.targetId });
  } finally {
    await cdp.detach().catch(() => {});
  }
  const deadline = Date.now() + 10_000;
  while ((await sharedWorkerTargets(browser, context)).length > 0) {
    if (Date.now() > deadline) throw new Error('the shared worker is still listed after Target.closeTarget');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return targets.length;
}

/** The coordination events a tab has seen, in order ('worker', 'fallback:<reason>'). */
export async function coordinationEvents(tab: Tab): Promise<string[]> {
  const events = await tab.page.evaluate(() => window.tabauthTest!.events.map((entry) => entry.event));
  return events
    .filter((event) => event.type === 'coordination-worker' || event.type === 'coordination-fallback')
    .map((event) => (event.type === 'coordination-worker' ? 'worker' : `fallback:${String(event.reason)}`));
}

/** Waits until the tab has seen `event` (see coordinationEvents). */
export async function waitForCoordination(tab: Tab, event: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await coordinationEvents(tab);
    if (seen.includes(event)) return;
    if (Date.now() > deadline) throw new Error(`${tab.name} never reported ${event}; saw ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
