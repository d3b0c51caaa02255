import type { Clock, TimerHandle } from 'tabauth';

/**
 * A deterministic clock for many-tab tests. Timers fire only when the test advances time, in order of due time
 * (ties in creation order). Between timers the clock lets real asynchronous work settle (IndexedDB from
 * fake-indexeddb completes on real macrotasks), so a whole scenario runs in simulated time but real order.
 */
export interface SimulatedClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due, settling real async work in between. */
  advance(ms: number): Promise<void>;
  /** Lets pending real async work (promises, IndexedDB, tracked operations) finish without moving time. */
  settle(): Promise<void>;
  /** Registers real async work that `settle()` must wait for (used by storage adapters in simulations). */
  track<T>(work: Promise<T>): Promise<T>;
  /** Number of timers currently scheduled. */
  pendingTimers(): number;
}

interface ScheduledTimer {
  id: number;
  due: number;
  callback: () => void;
}

// Captured once: tests may install fake timers later, and the clock must keep using real macrotasks to settle.
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realSetImmediate: ((callback: () => void) => void) | undefined =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
    ? (globalThis as unknown as { setImmediate: (callback: () => void) => void }).setImmediate.bind(globalThis)
    : undefined;

function macrotask(): Promise<void> {
  return new Promise((resolve) => (realSetImmediate ? realSetImmediate(resolve) : realSetTimeout(resolve, 0)));
}

/** Options of `createSimulatedClock`. */
export interface SimulatedClockOptions {
  /** Start time in epoch milliseconds. Default: 1 January 2030 00:00 UTC (a fixed value keeps runs reproducible). */
  start?: number;
  /** Quiet macrotask rounds `settle()` needs before it returns. Default 3. */
  quietRounds?: number;
}

/** Creates a simulated clock (see `SimulatedClock`); share it between the mock server and a tab simulation. */
export function createSimulatedClock(options: SimulatedClockOptions = {}): SimulatedClock {
  let now = options.start ?? Date.UTC(2030, 0, 1);
  let nextId = 1;
  let inFlight = 0;
  const quietRounds = options.quietRounds ?? 3;
  const timers = new Map<number, ScheduledTimer>();

  const earliestDue = (limit: number): ScheduledTimer | undefined => {
    let best: ScheduledTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.due > limit) continue;
      if (!best || timer.due < best.due || (timer.due === best.due && timer.id < best.id)) best = timer;
    }
    return best;
  };

  const settle = async () => {
    let quiet = 0;
    for (let round = 0; round < 100_000; round++) {
      await macrotask();
      if (inFlight > 0) quiet = 0;
      else if (++quiet >= quietRounds) return;
    }
    throw new Error(`simulated clock: ${inFlight} tracked operations never settled`);
  };

  return {
    now: () => now,
    setTimeout(callback, delayMs): TimerHandle {
      const id = nextId++;
      timers.set(id, { id, due: now + Math.max(0, Number.isFinite(delayMs) ? delayMs : 0), callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const target = now + Math.max(0, ms);
      await settle();
      for (;;) {
        const timer = earliestDue(target);
        if (!timer) break;
        timers.delete(timer.id);
        now = Math.max(now, timer.due);
        timer.callback();
        await settle();
      }
      now = target;
      await settle();
    },
    settle,
    track(work) {
      inFlight++;
      return work.finally(() => {
        inFlight--;
      });
    },
    pendingTimers: () => timers.size,
  };
}
