/**
 * One request budget shared by every caller: many parallel callers (through two clients sharing the
 * budget) against a slowed simulator never have more requests in flight than the limit, as the
 * server counts them; and no sliding second sees more requests arrive than the rate allows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import { listAllRunSteps } from '../../../src/api/pagination.js';
import type { Simulator } from '../../../src/simulator/index.js';
import { clientFor, simulatorWithInFlightCount } from './helpers.js';

const THREAD = 'thread_everytype_a';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** The most arrivals in any window [t, t + windowMillis). */
function maxArrivalsPerWindow(s: Simulator, windowMillis: number): number {
  const times = s.requests.map((r) => r.receivedAtMs).sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && (times[j] as number) < (times[i] as number) + windowMillis; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

describe('concurrency', () => {
  it('many parallel callers on two clients sharing one budget: the server never holds more than maxConcurrency requests', async () => {
    const counted = await simulatorWithInFlightCount({ clock: 'manual', scenario: 'every-type', prefix: '/v1' });
    sim = counted.sim;
    await sim.runUntilIdle();
    sim.faults.add({ kind: 'delay', delayMs: 60 });
    const budget = new RequestBudget({ maxConcurrency: 3, requestsPerSecond: 1_000 });
    const one = clientFor(sim, { budget }).client;
    const two = clientFor(sim, { budget }).client;
    const calls = Array.from({ length: 24 }, (_, i) => {
      const client = i % 2 === 0 ? one : two;
      switch (i % 3) {
        case 0:
          return client.listRuns(THREAD);
        case 1:
          return client.getRun(THREAD, 'run_failed');
        default:
          return client.listRunSteps(THREAD, 'run_everytool');
      }
    });
    const results = await Promise.all(calls);
    expect(results).toHaveLength(24);
    expect(sim.requests).toHaveLength(24);
    expect(counted.peakInFlight()).toBeLessThanOrEqual(3);
    // …and the limit is used, not merely respected by going one at a time.
    expect(counted.peakInFlight()).toBe(3);
    expect(budget.stats()).toMatchObject({ inFlight: 0, waiting: 0, granted: 24 });
  });

  it('retries and paginated listings count against the same budget', async () => {
    const counted = await simulatorWithInFlightCount({ clock: 'manual', scenario: 'long-run', prefix: '/v1' });
    sim = counted.sim;
    await sim.runUntilIdle();
    sim.faults.add({ kind: 'server-error', status: 503, match: { times: 4 } });
    sim.faults.add({ kind: 'delay', delayMs: 40 });
    const budget = new RequestBudget({ maxConcurrency: 2, requestsPerSecond: 1_000 });
    const { client } = clientFor(sim, { budget });
    const listings = await Promise.all(Array.from({ length: 5 }, () => listAllRunSteps(client, 'thread_longrun', 'run_longrun')));
    for (const listing of listings) expect(listing.items).toHaveLength(250);
    expect(sim.requests.filter((r) => r.status === 503)).toHaveLength(4);
    expect(sim.requests).toHaveLength(5 * 3 + 4);
    expect(counted.peakInFlight()).toBeLessThanOrEqual(2);
    expect(counted.peakInFlight()).toBe(2);
  });
});

describe('requests per second', () => {
  it('no sliding second sees more arrivals than requestsPerSecond', async () => {
    const counted = await simulatorWithInFlightCount({ clock: 'manual', scenario: 'every-type', prefix: '/v1' });
    sim = counted.sim;
    await sim.runUntilIdle();
    const budget = new RequestBudget({ maxConcurrency: 50, requestsPerSecond: 5 });
    const { client } = clientFor(sim, { budget });
    await Promise.all(Array.from({ length: 12 }, () => client.getRun(THREAD, 'run_failed')));
    expect(sim.requests).toHaveLength(12);
    // 950 ms rather than 1000: loopback jitter must not turn a correct limiter into a failure.
    expect(maxArrivalsPerWindow(sim, 950)).toBeLessThanOrEqual(5);
  });

  it('the long-run rate is capped: 12 requests at 5 per second span well over a second', async () => {
    const counted = await simulatorWithInFlightCount({ clock: 'manual', scenario: 'every-type', prefix: '/v1' });
    sim = counted.sim;
    await sim.runUntilIdle();
    const budget = new RequestBudget({ maxConcurrency: 50, requestsPerSecond: 5 });
    const { client } = clientFor(sim, { budget });
    await Promise.all(Array.from({ length: 12 }, () => client.getRun(THREAD, 'run_failed')));
    const times = sim.requests.map((r) => r.receivedAtMs);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1_350); // (12 − 5) / 5 s, less jitter
  });
});
