/**
 * How often to look, and whether looking keeps up.
 *
 * - Intervals: an active thread or run is read at the poll interval; an idle thread slows down
 *   (doubling) after a grace period, and failures back off (doubling); both up to the max idle
 *   interval, and both jittered (±20 %) so that threads that went idle together, or failed
 *   together, do not come back in lock-step.
 * - Keeping up: when the request budget cannot serve every due key in its interval, keys start late.
 *   `PollLag` keeps the start delays of the last minute; the effective interval is the poll interval
 *   plus their mean, and it says when that is more than the poll interval allows (a metric and a
 *   warning, rather than silently falling behind).
 */

/** ± this fraction of an idle or backoff interval is random. */
export const JITTER_RATIO = 0.2;

export function jittered(millis: number, random: () => number): number {
  return Math.round(millis * (1 - JITTER_RATIO + 2 * JITTER_RATIO * random()));
}

/** The next discovery interval of an idle thread past its grace period: twice the current one, capped. */
export function idleInterval(current: number, maxIdleMillis: number): number {
  return Math.min(maxIdleMillis, current * 2);
}

/** Delay before the next try after `failures` failures in a row (≥ 1): doubling from the poll interval, capped, jittered. */
export function failureBackoff(failures: number, pollMillis: number, maxIdleMillis: number, random: () => number): number {
  return jittered(Math.min(maxIdleMillis, pollMillis * 2 ** Math.min(failures, 16)), random);
}

const WINDOW_MILLIS = 60_000;

/** The start delays of the last minute, to tell the effective interval from the configured one. */
export class PollLag {
  /** (time, delay) pairs, oldest first, in two parallel arrays: no object per sample. */
  private times: number[] = [];
  private delays: number[] = [];
  private head = 0;
  private sum = 0;

  constructor(
    private readonly pollMillis: number,
    private readonly now: () => number,
  ) {}

  /** A key started `lateMillis` after it was due. */
  record(lateMillis: number): void {
    this.expire();
    this.times.push(this.now());
    this.delays.push(lateMillis);
    this.sum += lateMillis;
  }

  /** Mean start delay over the last minute (0 without samples). */
  meanLateMillis(): number {
    this.expire();
    const n = this.times.length - this.head;
    return n === 0 ? 0 : this.sum / n;
  }

  /** The poll interval plus the mean start delay: how often an active thread or run is really read. */
  effectiveIntervalMillis(): number {
    return this.pollMillis + this.meanLateMillis();
  }

  /** Behind: work starts on average more than half an interval late, or the oldest due key waited a whole one. */
  isBehind(overdueMillis: number): boolean {
    return this.meanLateMillis() > this.pollMillis / 2 || overdueMillis > this.pollMillis;
  }

  private expire(): void {
    const cutoff = this.now() - WINDOW_MILLIS;
    while (this.head < this.times.length && (this.times[this.head] as number) < cutoff) {
      this.sum -= this.delays[this.head] as number;
      this.head++;
    }
    // Compact once the dead prefix dominates, so the arrays do not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.delays = this.delays.slice(this.head);
      this.head = 0;
      this.sum = this.delays.reduce((a, b) => a + b, 0);
    }
  }
}
