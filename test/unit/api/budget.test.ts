/**
 * The request budget (issue: "one shared request budget (concurrency and requests per second) for
 * all callers in the process"): at most `maxConcurrency` requests in flight, at most
 * `requestsPerSecond` started in any one second, first come first served, aborts honoured.
 * Fake timers: the budget's clock is `Date.now`, which vitest fakes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import { AbortedError } from '../../../src/util/backoff.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

const fakeNow = () => Date.now();

/** Starts `count` acquisitions; records when each was granted and keeps its release. */
function acquireMany(budget: RequestBudget, count: number, releaseAtOnce: boolean) {
  const grants: { index: number; at: number }[] = [];
  const releases = new Map<number, () => void>();
  const all = Array.from({ length: count }, (_, index) =>
    budget.acquire().then((release) => {
      grants.push({ index, at: Date.now() });
      if (releaseAtOnce) release();
      else releases.set(index, release);
    }),
  );
  return { grants, releases, all: Promise.all(all) };
}

/** The most grants that fall in any half-open window [t, t + 1000 ms). */
function maxPerSlidingSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i] as number;
    let n = 0;
    for (let j = i; j < sorted.length && (sorted[j] as number) < start + 1000; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

describe('RequestBudget: concurrency', () => {
  it('never lets more than maxConcurrency requests in flight, and serves waiters first come, first served', async () => {
    const budget = new RequestBudget({ maxConcurrency: 2, requestsPerSecond: 1000, now: fakeNow });
    const { grants, releases } = acquireMany(budget, 5, false);
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.index)).toEqual([0, 1]);
    expect(budget.stats()).toMatchObject({ inFlight: 2, waiting: 3 });

    releases.get(1)?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.index)).toEqual([0, 1, 2]);
    releases.get(0)?.();
    releases.get(2)?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.index)).toEqual([0, 1, 2, 3, 4]);
    expect(budget.stats()).toMatchObject({ inFlight: 2, waiting: 0, peakInFlight: 2, granted: 5 });
  });

  it('a release called twice frees one slot only', async () => {
    const budget = new RequestBudget({ maxConcurrency: 1, requestsPerSecond: 1000, now: fakeNow });
    const release = await budget.acquire();
    const { grants, releases } = acquireMany(budget, 2, false);
    release();
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.index)).toEqual([0]);
    expect(budget.stats().inFlight).toBe(1);
    releases.get(0)?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.index)).toEqual([0, 1]);
  });

  it('peakInFlight stays at the limit under many callers that hold their slot a while', async () => {
    const budget = new RequestBudget({ maxConcurrency: 3, requestsPerSecond: 1000, now: fakeNow });
    let inFlight = 0;
    let peak = 0;
    const work = Array.from({ length: 20 }, async (_, i) => {
      const release = await budget.acquire();
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10 + (i % 4) * 7));
      inFlight--;
      release();
    });
    const done = Promise.all(work);
    await vi.runAllTimersAsync();
    await done;
    expect(peak).toBe(3);
    expect(budget.stats()).toMatchObject({ inFlight: 0, waiting: 0, peakInFlight: 3, granted: 20 });
  });
});

describe('RequestBudget: requests per second', () => {
  it('caps the long-run rate: 30 requests at 10 per second take at least two seconds', async () => {
    const budget = new RequestBudget({ maxConcurrency: 100, requestsPerSecond: 10, now: fakeNow });
    const { grants, all } = acquireMany(budget, 30, true);
    await vi.runAllTimersAsync();
    await all;
    expect(grants).toHaveLength(30);
    const last = Math.max(...grants.map((g) => g.at));
    expect(last).toBeGreaterThanOrEqual(2000);
    // …and not much more: the budget does not starve callers either.
    expect(last).toBeLessThanOrEqual(3000);
  });

  // The issue measures the rate per sliding second ("count requests per sliding second"): a budget of
  // 10/s must not start 10 at once and then 9 more before that second is over.
  it('never starts more than requestsPerSecond requests in any sliding second', async () => {
    const budget = new RequestBudget({ maxConcurrency: 100, requestsPerSecond: 10, now: fakeNow });
    const { grants, all } = acquireMany(budget, 30, true);
    await vi.runAllTimersAsync();
    await all;
    expect(grants).toHaveLength(30);
    expect(maxPerSlidingSecond(grants.map((g) => g.at))).toBeLessThanOrEqual(10);
  });

  it('a rate below one per second spaces requests out (0.5/s: one every two seconds)', async () => {
    const budget = new RequestBudget({ maxConcurrency: 10, requestsPerSecond: 0.5, now: fakeNow });
    const { grants, all } = acquireMany(budget, 3, true);
    await vi.runAllTimersAsync();
    await all;
    const times = grants.map((g) => g.at);
    expect(times[0]).toBe(0);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(2000);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(2000);
  });
});

describe('RequestBudget: aborts and options', () => {
  it('rejects at once with AbortedError when the signal is already aborted, taking no slot', async () => {
    const budget = new RequestBudget({ maxConcurrency: 1, requestsPerSecond: 1000, now: fakeNow });
    const controller = new AbortController();
    controller.abort();
    await expect(budget.acquire(controller.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(budget.stats()).toMatchObject({ inFlight: 0, waiting: 0, granted: 0 });
  });

  it('a waiter that aborts leaves the queue: the slot goes to the next waiter', async () => {
    const budget = new RequestBudget({ maxConcurrency: 1, requestsPerSecond: 1000, now: fakeNow });
    const first = await budget.acquire();
    const controller = new AbortController();
    const aborted = budget.acquire(controller.signal);
    const next = budget.acquire();
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    expect(budget.stats().waiting).toBe(1);
    first();
    const release = await next;
    expect(budget.stats()).toMatchObject({ inFlight: 1, waiting: 0, granted: 2 });
    release();
  });

  it('an abort after the grant changes nothing', async () => {
    const budget = new RequestBudget({ maxConcurrency: 1, requestsPerSecond: 1000, now: fakeNow });
    const controller = new AbortController();
    const release = await budget.acquire(controller.signal);
    controller.abort();
    expect(budget.stats().inFlight).toBe(1);
    release();
    expect(budget.stats().inFlight).toBe(0);
  });

  it.each([
    [{ maxConcurrency: 0 }],
    [{ maxConcurrency: Number.NaN }],
    [{ requestsPerSecond: 0 }],
    [{ requestsPerSecond: -1 }],
  ])('refuses %o with a RangeError', (options) => {
    expect(() => new RequestBudget(options)).toThrow(RangeError);
  });

  it('defaults to 8 in flight and 10 per second', () => {
    const budget = new RequestBudget();
    expect([budget.maxConcurrency, budget.requestsPerSecond]).toEqual([8, 10]);
  });
});

describe('RequestBudget: stuck requests (stuckAfterMillis) and spare slots', () => {
  it('a request in flight past stuckAfterMillis frees its slot for a waiter, up to maxConcurrency stuck ones', async () => {
    const budget = new RequestBudget({ maxConcurrency: 2, requestsPerSecond: 1000, stuckAfterMillis: 5_000, now: fakeNow });
    // Two hanging requests hold both slots…
    await budget.acquire();
    await budget.acquire();
    const { grants, releases } = acquireMany(budget, 3, false);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(grants).toEqual([]);
    // …until they count as stuck: the waiters get slots, though the stuck ones are still open.
    await vi.advanceTimersByTimeAsync(1);
    expect(grants.map((g) => [g.index, g.at])).toEqual([
      [0, 5_000],
      [1, 5_000],
    ]);
    expect(budget.stats()).toMatchObject({ inFlight: 4, stuck: 2, waiting: 1 });
    // At most maxConcurrency count as stuck: the two new ones keep their slots even when they hang too.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(grants).toHaveLength(2);
    expect(budget.stats()).toMatchObject({ inFlight: 4, stuck: 2, peakInFlight: 4 });
    releases.get(0)?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.index)).toEqual([0, 1, 2]);
  });

  it('without stuckAfterMillis every request counts until it ends', async () => {
    const budget = new RequestBudget({ maxConcurrency: 1, requestsPerSecond: 1000, now: fakeNow });
    await budget.acquire();
    const { grants } = acquireMany(budget, 1, false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(grants).toEqual([]);
    expect(budget.stats().stuck).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // and no timer waits for a stuck slot
  });

  it('spare() is the free slots minus the waiters; onSpare hears every release', async () => {
    const budget = new RequestBudget({ maxConcurrency: 3, requestsPerSecond: 1000, now: fakeNow });
    let heard = 0;
    const stop = budget.onSpare(() => heard++);
    expect(budget.spare()).toBe(3);
    const a = await budget.acquire();
    const b = await budget.acquire();
    expect(budget.spare()).toBe(1);
    const c = await budget.acquire();
    const waiting = budget.acquire();
    expect(budget.spare()).toBe(-1);
    a();
    const d = await waiting;
    expect(budget.spare()).toBe(0);
    expect(heard).toBe(1);
    stop();
    for (const release of [b, c, d]) release();
    expect(heard).toBe(1);
    expect(budget.spare()).toBe(3);
  });
});

describe('RequestBudget: isHeldOff', () => {
  it('is true from a holdOff until it ends (a request granted just before checks it before going out)', async () => {
    const budget = new RequestBudget({ maxConcurrency: 2, requestsPerSecond: 1000, now: fakeNow });
    expect(budget.isHeldOff()).toBe(false);
    budget.holdOff(1_000);
    expect(budget.isHeldOff()).toBe(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(budget.isHeldOff()).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(budget.isHeldOff()).toBe(false);
  });
});
