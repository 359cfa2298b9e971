/**
 * Backoff (README "Delivery"): jittered exponential backoff that never fires before `Retry-After`.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError, backoffDelay, sleep, type BackoffPolicy } from '../../../src/util/backoff.js';

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
