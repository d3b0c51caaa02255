import { it as base } from 'vitest';

interface Disposable {
  dispose(): Promise<void>;
}

/**
 * `it` with a `track` fixture: every simulation (or client) a test passes to `track` is disposed after that test,
 * whether it passed or failed. It replaces the `let sim; afterEach(() => sim?.dispose())` pair each simulation file
 * used to repeat, and, unlike it, disposes every simulation a test made, not only the last one assigned.
 */
export const it = base.extend<{ track: <T extends Disposable>(subject: T) => T }>({
  // The second argument is named `provide`, not vitest's usual `use`, so React's hook rules do not mistake it.
  // eslint-disable-next-line no-empty-pattern -- vitest reads the fixture's dependencies from this destructuring
  track: async ({}, provide) => {
    const tracked: Disposable[] = [];
    await provide((subject) => {
      tracked.push(subject);
      return subject;
    });
    for (const subject of tracked.reverse()) await subject.dispose();
  },
});
