/**
 * Saying so when polling does not keep up with the poll interval: a warning naming the effective
 * interval when it starts (repeated every few minutes while it lasts, never once per key), and a
 * line when it recovers. The figures come from the poller's stats (`PollLag`, the scheduler).
 */
import type { Logger } from '../util/log.js';
import type { PollLag } from './pace.js';

/** While polling does not keep up, the warning is repeated this often. */
const WARN_EVERY_MILLIS = 5 * 60_000;

/** How often to check: five poll intervals, between 1 and 15 s. */
export function lagCheckMillis(pollMillis: number): number {
  return Math.min(15_000, Math.max(1_000, 5 * pollMillis));
}

export interface LagStats {
  paused: boolean;
  overdueMillis: number;
  effectiveIntervalMillis: number;
  dueNow: number;
  threads: number;
  runs: number;
}

export class LagWarning {
  private behindSince: number | undefined;
  private lastWarning = 0;

  constructor(
    private readonly o: {
      logger: Logger;
      lag: PollLag;
      pollIntervalMillis: number;
      /** `isHeldOff`: true while the API's `Retry-After` holds every request back. */
      budget: { requestsPerSecond: number; maxConcurrency: number; isHeldOff?: () => boolean } | undefined;
      now: () => number;
    },
  ) {}

  check(stats: LagStats): void {
    const { logger, pollIntervalMillis, budget } = this.o;
    // Paused for delivery is said elsewhere ("delivery is behind: polling paused").
    const behind = !stats.paused && this.o.lag.isBehind(stats.overdueMillis);
    const now = this.o.now();
    if (behind) {
      this.behindSince ??= now;
      if (now - this.lastWarning < WARN_EVERY_MILLIS) return;
      this.lastWarning = now;
      // Held by the API (a 429 or 503 with Retry-After): more --max-rps would not help, and would break its limit.
      const heldOff = budget?.isHeldOff?.() === true;
      const advice = heldOff
        ? 'The API asked to wait (Retry-After): no request starts until then. If it keeps asking, lower --max-rps or raise --poll-interval'
        : "Raise --max-rps (within the API's rate limit) or --poll-interval, or watch fewer threads";
      logger.warn(
        `polling falls behind: active threads and runs are read every ${(stats.effectiveIntervalMillis / 1000).toFixed(1)}s, not every ${(pollIntervalMillis / 1000).toFixed(1)}s; ` +
          `runs are exported late, none is lost. ${advice}`,
        {
          effective_interval_ms: Math.round(stats.effectiveIntervalMillis),
          poll_interval_ms: pollIntervalMillis,
          overdue_ms: Math.round(stats.overdueMillis),
          due_now: stats.dueNow,
          threads: stats.threads,
          runs: stats.runs,
          ...(budget ? { max_rps: budget.requestsPerSecond, max_concurrency: budget.maxConcurrency } : {}),
          ...(heldOff ? { retry_after_hold: true } : {}),
        },
      );
    } else if (this.behindSince !== undefined) {
      logger.info('polling keeps up with the poll interval again', { behind_for_ms: now - this.behindSince, effective_interval_ms: Math.round(stats.effectiveIntervalMillis) });
      this.behindSince = undefined;
      this.lastWarning = 0;
    }
  }
}
