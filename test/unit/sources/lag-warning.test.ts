/**
 * `LagWarning` (src/sources/lag-warning.ts): what the warning tells the user to do, depending on
 * why polling falls behind: a budget too small for the watch set, or the API's `Retry-After`.
 */
import { describe, expect, it } from 'vitest';
import { LagWarning, type LagStats } from '../../../src/sources/lag-warning.js';
import { PollLag } from '../../../src/sources/pace.js';
import { recordingLogger } from '../../support/recording-logger.js';

const POLL = 1_000;
const behind: LagStats = { paused: false, overdueMillis: 5 * POLL, effectiveIntervalMillis: 6 * POLL, dueNow: 40, threads: 50, runs: 3 };

function warn(heldOff: boolean | undefined) {
  const { logger, lines } = recordingLogger();
  const now = 60 * 60_000;
  const lag = new PollLag(POLL, () => now);
  lag.record(5 * POLL);
  const budget = { requestsPerSecond: 2, maxConcurrency: 4, ...(heldOff === undefined ? {} : { isHeldOff: () => heldOff }) };
  new LagWarning({ logger, lag, pollIntervalMillis: POLL, budget, now: () => now }).check(behind);
  return lines.filter((l) => l.level === 'warn');
}

describe('LagWarning', () => {
  it('a budget too small: raise --max-rps or --poll-interval, or watch fewer threads', () => {
    for (const heldOff of [false, undefined]) {
      const [line, ...rest] = warn(heldOff);
      expect(rest).toEqual([]);
      expect(line?.message).toBe(
        "polling falls behind: active threads and runs are read every 6.0s, not every 1.0s; runs are exported late, none is lost. Raise --max-rps (within the API's rate limit) or --poll-interval, or watch fewer threads",
      );
      expect(line?.fields).toEqual({ effective_interval_ms: 6_000, poll_interval_ms: 1_000, overdue_ms: 5_000, due_now: 40, threads: 50, runs: 3, max_rps: 2, max_concurrency: 4 });
    }
  });

  it('while the API holds every request back (Retry-After): says so, and does not ask for more --max-rps', () => {
    const [line, ...rest] = warn(true);
    expect(rest).toEqual([]);
    expect(line?.message).toMatch(/^polling falls behind: active threads and runs are read every 6\.0s, not every 1\.0s; runs are exported late, none is lost\. The API asked to wait \(Retry-After\)/i);
    expect(line?.message).not.toMatch(/raise --max-rps/i);
    expect(line?.fields).toMatchObject({ retry_after_hold: true, max_rps: 2 });
  });
});
