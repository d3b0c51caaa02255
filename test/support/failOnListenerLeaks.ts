/**
 * Setup file (vite.config.ts `setupFiles`): a MaxListenersExceededWarning fails the test that caused it.
 *
 * Node prints that warning when one emitter or EventTarget holds more than 10 listeners of one type, the usual sign
 * of listeners added per operation and never removed (npm test printed 107 of them until the simulated Web Locks
 * stopped leaving one per refresh on the client's lifetime signal). A printed warning is easy to miss; a failed test
 * is not. test/sim/abortListeners.test.ts counts the listeners directly.
 */
import { afterAll, afterEach } from 'vitest';

const key = Symbol.for('tabauth.test.listenerLeakWarnings');
type Registry = { warnings: Error[] };
const globals = globalThis as typeof globalThis & { [key]?: Registry };

// Once per process: a worker runs many test files, and a listener per file would itself be a leak.
const registry: Registry =
  globals[key] ??
  (() => {
    const created: Registry = { warnings: [] };
    process.on('warning', (warning) => {
      if (warning.name === 'MaxListenersExceededWarning') created.warnings.push(warning);
    });
    return (globals[key] = created);
  })();

function failOnWarnings(where: string): void {
  const found = registry.warnings.splice(0);
  if (found.length === 0) return;
  const details = found.map((warning) => `${warning.message}\n${warning.stack ?? ''}`).join('\n\n');
  throw new Error(`${found.length} MaxListenersExceededWarning(s) ${where}: listeners are added and never removed.\n\n${details}`);
}

// The warning is emitted on the next tick after the listener that crossed the limit, so it is there by afterEach.
afterEach(() => failOnWarnings('during this test'));
afterAll(() => failOnWarnings('after the last test of this file'));
