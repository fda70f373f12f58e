/** Time source passed into domain code, so tests and replays control "now". */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved; for tests. */
export function fixedClock(start: Date | string): Clock & { advance(ms: number): void; set(at: Date | string): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    advance(ms: number) {
      current = new Date(current.getTime() + ms);
    },
    set(at: Date | string) {
      current = new Date(at);
    },
  };
}

/**
 * A clock that starts at `start` and runs at real speed from the moment it is made: for a local
 * stack (and its tests) that must live on a chosen day while timers, leases and retries still see
 * time pass. Elapsed time is read from the monotonic timer, so it never jumps with the wall clock.
 */
export function runningClock(start: Date | string): Clock {
  const origin = new Date(start).getTime();
  if (Number.isNaN(origin)) throw new RangeError(`not an instant: ${String(start)}`);
  const startedAt = performance.now();
  return { now: () => new Date(origin + Math.floor(performance.now() - startedAt)) };
}
