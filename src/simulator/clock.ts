import { performance } from 'node:perf_hooks';

/**
 * Scenario time: seconds since the scenario started (0), possibly fractional. Records show
 * `baseEpochSeconds + floor(scenario seconds)`.
 */
export interface ScenarioClock {
  readonly kind: 'manual' | 'real';
  /** Current scenario time in seconds. */
  now(): number;
  /** Real milliseconds until scenario time `t` (0 if it has passed); only meaningful for the real clock. */
  millisUntil(t: number): number;
  /** Manual clock only: move to `t` (never backwards). */
  set(t: number): void;
}

export function createManualClock(): ScenarioClock {
  let current = 0;
  return {
    kind: 'manual',
    now: () => current,
    millisUntil: () => 0,
    set(t) {
      if (!Number.isFinite(t)) throw new RangeError(`scenario time must be a finite number, got ${t}`);
      if (t < current) throw new RangeError(`the manual clock cannot go back: at ${current} s, asked for ${t} s`);
      current = t;
    },
  };
}

/** Scenario time follows the wall clock, `timeScaleMillisPerSecond` real ms per scenario second. */
export function createRealClock(timeScaleMillisPerSecond: number): ScenarioClock {
  if (!(timeScaleMillisPerSecond > 0)) {
    throw new RangeError(`timeScaleMillisPerSecond must be > 0, got ${timeScaleMillisPerSecond}`);
  }
  const startedAt = performance.now();
  return {
    kind: 'real',
    now: () => (performance.now() - startedAt) / timeScaleMillisPerSecond,
    millisUntil: (t) => Math.max(0, startedAt + t * timeScaleMillisPerSecond - performance.now()),
    set() {
      throw new Error('the real clock moves by itself; use clock: "manual" to advance time from a test');
    },
  };
}
