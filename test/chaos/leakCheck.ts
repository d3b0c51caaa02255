/**
 * The token-leak search: no token string the server handed out may appear in anything an app could see or log
 * (events, counters, console output, errors thrown to callers, the snapshot's error).
 */
import type { ChaosWorld } from './world';

/** secret-leaked: no token string in any event, counter, console line, thrown error or server event. */
export function checkNoTokenLeaked(world: ChaosWorld): void {
  for (const [where, text] of leakSources(world)) {
    const kinds = [...world.secrets.entries()].filter(([secret]) => text.includes(secret)).map(([, kind]) => kind);
    if (kinds.length > 0) world.violate('secret-leaked', `${[...new Set(kinds)].join(' and ')} token string(s) found in ${where}`);
  }
}

/** Every text the run produced that an app could see or log, with where it came from. */
function leakSources(world: ChaosWorld): Array<[string, string]> {
  const { server } = world;
  const sources: Array<[string, string]> = [];
  for (const record of world.records.values()) {
    sources.push(
      [`${record.tab.name} events`, JSON.stringify(record.tab.events)],
      [`${record.tab.name} counters`, JSON.stringify(record.tab.client.metrics())],
    );
    const error = record.tab.client.getSnapshot().error;
    if (error) sources.push([`${record.tab.name} snapshot error`, errorTexts(error).join('\n')]);
  }
  sources.push(['errors thrown to callers', world.thrown.flatMap((error) => errorTexts(error)).join('\n')]);
  sources.push(['console output', world.consoleLines.join('\n')], ['server events and counters', JSON.stringify([server.events, server.counters])]);
  return sources;
}

/** Everything an app could log about an error: message, string form, JSON, stack, and the same for every cause. */
export function errorTexts(error: unknown, depth = 0): string[] {
  if (depth > 5 || error === null || error === undefined) return [];
  const texts: string[] = [String(error)];
  try {
    texts.push(JSON.stringify(error, Object.getOwnPropertyNames(error as object)));
  } catch {
    // not serialisable: String() above is what a logger would print
  }
  if (error instanceof Error) {
    texts.push(error.message, error.stack ?? '');
    texts.push(...errorTexts((error as { cause?: unknown }).cause, depth + 1));
  }
  return texts;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Replaces console methods with recorders for the duration of a run; returns the restore function. */
export function captureConsole(lines: string[]): () => void {
  const originals = CONSOLE_METHODS.map((name) => [name, console[name]] as const);
  for (const name of CONSOLE_METHODS) {
    console[name] = (...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === 'string' ? arg : errorTexts(arg).join(' ') || safeJson(arg))).join(' '));
    };
  }
  return () => {
    for (const [name, original] of originals) console[name] = original;
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
