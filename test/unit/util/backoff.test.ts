/**
 * Backoff (README "Delivery"): jittered exponential backoff that never fires before `Retry-After`,
 * never waits longer than the cap (`--max-retry-delay`), and never trips over Node's timer limit.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  backoffDelay,
  DEFAULT_MAX_RETRY_DELAY_MILLIS,
  delayCapOf,
  exceedsDelayCap,
  formatDuration,
  MAX_TIMER_MILLIS,
  sleep,
  type BackoffPolicy,
} from '../../../src/util/backoff.js';

const POLICY: BackoffPolicy = { initialDelayMillis: 500, maxDelayMillis: 8_000, multiplier: 2, jitterRatio: 0.2 };
const RANDOMS = [0, 0.25, 0.5, 0.75, 0.999999];

describe('backoffDelay', () => {
  it.each([
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [5, 8_000],
    [9, 8_000],
  ])('retry %i: %i ms ± 20%', (retry, base) => {
    for (const r of RANDOMS) {
      const delay = backoffDelay(POLICY, retry, undefined, () => r);
      expect(delay).toBeGreaterThanOrEqual(base * 0.8);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
    }
  });

  it('is jittered: different randomness gives different delays', () => {
    expect(backoffDelay(POLICY, 2, undefined, () => 0)).not.toBe(backoffDelay(POLICY, 2, undefined, () => 0.9));
  });

  it.each([1, 1_000, 3_000, 120_000])('is never shorter than a Retry-After of %i ms, whatever the attempt and randomness', (retryAfter) => {
    for (const retry of [1, 2, 5, 10]) {
      for (const r of RANDOMS) expect(backoffDelay(POLICY, retry, retryAfter, () => r)).toBeGreaterThanOrEqual(retryAfter);
    }
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it('rejects with AbortedError when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(sleep(10_000, controller.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it('rejects with AbortedError as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const pending = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('the delay cap (--max-retry-delay)', () => {
  it('no delay is ever longer than the cap, Retry-After included; the default cap is 5 minutes', () => {
    const capped: BackoffPolicy = { ...POLICY, delayCapMillis: 2_000 };
    for (const retryAfter of [undefined, 1_000, 1_999, 2_000, 3_024_000_000]) {
      for (const retry of [1, 5, 50]) {
        for (const r of RANDOMS) expect(backoffDelay(capped, retry, retryAfter, () => r)).toBeLessThanOrEqual(2_000);
      }
    }
    expect(DEFAULT_MAX_RETRY_DELAY_MILLIS).toBe(300_000);
    expect(backoffDelay(POLICY, 1, 35 * 86_400_000, () => 0.5)).toBe(300_000);
  });

  it('a cap beyond the timer limit, or not a number, is made safe', () => {
    expect(delayCapOf({ ...POLICY, delayCapMillis: 90 * 86_400_000 })).toBe(MAX_TIMER_MILLIS);
    expect(delayCapOf({ ...POLICY, delayCapMillis: Number.NaN })).toBe(DEFAULT_MAX_RETRY_DELAY_MILLIS);
    expect(delayCapOf({ ...POLICY, delayCapMillis: -1 })).toBe(DEFAULT_MAX_RETRY_DELAY_MILLIS);
  });

  it('exceedsDelayCap says when the server asked for more than the cap', () => {
    const capped: BackoffPolicy = { ...POLICY, delayCapMillis: 60_000 };
    expect(exceedsDelayCap(capped, undefined)).toBe(false);
    expect(exceedsDelayCap(capped, 60_000)).toBe(false);
    expect(exceedsDelayCap(capped, 60_001)).toBe(true);
  });

  it.each([
    [250, '250 ms'],
    [40_000, '40 s'],
    [90_000, '1.5 min'],
    [3 * 3_600_000, '3 h'],
    [86_400_000, '1 day'],
    [35 * 86_400_000, '35 days'],
  ])('formatDuration(%i) = %s', (millis, text) => {
    expect(formatDuration(millis)).toBe(text);
  });
});

describe('sleep and Node timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a wait beyond the timer limit (2^31-1 ms) does not fire at once: it is chained', async () => {
    vi.useFakeTimers();
    let done = false;
    const thirtyFiveDays = 35 * 86_400_000;
    void sleep(thirtyFiveDays).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MILLIS);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(thirtyFiveDays - MAX_TIMER_MILLIS);
    expect(done).toBe(true);
  });

  it('a negative or NaN wait resolves at once', async () => {
    await expect(sleep(-5)).resolves.toBeUndefined();
    await expect(sleep(Number.NaN)).resolves.toBeUndefined();
  });
});
