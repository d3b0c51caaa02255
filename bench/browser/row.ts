/**
 * One row of the bench: one library at one tab count, in its own browser context (fresh IndexedDB, localStorage
 * and locks): the rotation window, then new tabs, then (tabauth only) leader takeovers, all with their floors.
 */
import type { PageMode } from '../../test/e2e/page/api';
import { modeUrl, openTabs, type BenchWorld } from './harness';
import { runNewTabs, type NewTabFigures } from './newTab';
import { runRotations, type RotationFigures } from './rotations';
import { summarize } from './stats';
import { runTakeovers, type TakeoverFigures } from './takeover';

const none = summarize([]);
const NO_NEW_TABS: NewTabFigures = {
  library: { total: none, own: none, loading: none },
  floor: { total: none, own: none, loading: none },
  refreshRequests: 0,
  retries: 0,
};

export interface Row extends RotationFigures {
  mode: PageMode;
  tabs: number;
  rotations: number;
  newTab: NewTabFigures;
  /** tabauth only: the other libraries have no leader. */
  takeover: TakeoverFigures | null;
}

/** `rotationsOnly`: the rotation window alone (propagation and its floor), no new tabs or takeovers. */
export async function runRow(world: BenchWorld, mode: PageMode, tabCount: number, rotationsOnly = false): Promise<Row> {
  const context = await world.browser.newContext();
  const namespace = `bench-${mode}-${tabCount}`;
  const url = modeUrl(world, mode, namespace);
  try {
    const tabs = await openTabs(context, url, tabCount, mode);
    const rotations = await runRotations(world, mode, tabs);
    if (rotationsOnly) return { mode, tabs: tabCount, rotations: world.settings.rotations, ...rotations, newTab: NO_NEW_TABS, takeover: null };
    const newTab = await runNewTabs(world, context, mode, namespace, tabs);
    const takeover = mode === 'tabauth' ? await runTakeovers(world, context, url, tabs, namespace) : null;
    return { mode, tabs: tabCount, rotations: world.settings.rotations, ...rotations, newTab, takeover };
  } finally {
    await context.close().catch(() => {});
  }
}
