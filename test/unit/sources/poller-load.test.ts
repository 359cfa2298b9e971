/**
 * The poller under load (issue #11 item 2): 1,000 watched threads on the default request budget
 * (10 requests/s, 8 in flight: a real `RequestBudget` on vitest's fake clock, every fake API call
 * waiting for it and taking 30 ms). Runs start on random threads at random times and last 10–60 s.
 *
 * What must hold: every run that finishes is exported, exactly once; no thread starves (the
 * budget's requests are spread over the threads, earliest due first); with a budget far too small,
 * runs are late but never lost, and the lag shows (effective interval, overdue) and is logged.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import { advance, FakeApi, rig, START, stopRigs } from './poller-rig.js';

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});

afterEach(async () => {
  await stopRigs();
  vi.useRealTimers();
});

/** A deterministic random source (Park–Miller). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** The fake API's calls, each waiting for `budget` and taking `latencyMillis`, as the real client's do. */
function throughBudget(api: FakeApi, budget: RequestBudget, latencyMillis: number): void {
  const client = api.client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['getRun', 'listRuns', 'listRunSteps']) {
    const inner = client[name] as (...args: unknown[]) => Promise<unknown>;
    client[name] = async (...args: unknown[]) => {
      const signal = args.at(-1) instanceof AbortSignal ? (args.at(-1) as AbortSignal) : undefined;
      const release = await budget.acquire(signal);
      try {
        await new Promise((resolve) => setTimeout(resolve, latencyMillis));
        return await inner(...args);
      } finally {
        release();
      }
    };
  }
}

interface Plan {
  threadId: string;
  runId: string;
  startAt: number;
  duration: number;
}

/** `runs` runs on random threads (one at a time per thread), starting within `spreadMillis`. */
function plan(threads: number, runs: number, spreadMillis: number, random: () => number): Plan[] {
  const busyUntil = new Map<string, number>();
  const out: Plan[] = [];
  for (let i = 0; i < runs; i++) {
    const threadId = `thread_${Math.floor(random() * threads)}`;
    const startAt = Math.max(busyUntil.get(threadId) ?? 0, Math.floor(random() * spreadMillis)) + 1_000;
    const duration = 10_000 + Math.floor(random() * 50_000);
    busyUntil.set(threadId, startAt + duration + 1_000);
    out.push({ threadId, runId: `run_${i}`, startAt, duration });
  }
  return out;
}

/** Plays the plan on the fake API: each run created at its start, with a step, and finished after its duration. */
function play(api: FakeApi, runs: readonly Plan[]): void {
  for (const p of runs) {
    setTimeout(() => {
      api.addRun(p.threadId, p.runId);
      api.addStep(p.runId, `step_${p.runId}`);
    }, p.startAt);
    setTimeout(() => api.finishRun(p.runId), p.startAt + p.duration);
  }
}

async function loadRig(options: { threads: number; rps: number; concurrency: number }) {
  const api = new FakeApi();
  const budget = new RequestBudget({ maxConcurrency: options.concurrency, requestsPerSecond: options.rps, now: () => Date.now(), stuckAfterMillis: 5_000 });
  throughBudget(api, budget, 30);
  const r = await rig({ api, budget, pollIntervalMillis: 2_000, maxIdleIntervalMillis: 60_000, random: seeded(3) });
  for (let i = 0; i < options.threads; i++) await r.poller.watchThread(`thread_${i}`);
  return { ...r, budget };
}

describe('Poller under load: 1,000 watched threads', () => {
  it('with the default budget (10/s, 8 in flight): every run that finishes is exported once, and no thread starves', async () => {
    const r = await loadRig({ threads: 1_000, rps: 10, concurrency: 8 });
    const runs = plan(1_000, 300, 10 * 60_000, seeded(11));
    play(r.api, runs);
    const finishedBy = Math.max(...runs.map((p) => p.startAt + p.duration));
    await advance(finishedBy + 5 * 60_000);

    const exported = r.delivery.runIds();
    expect(exported.length).toBe(runs.length);
    expect(new Set(exported).size).toBe(runs.length);
    expect(r.budget.stats().peakInFlight).toBeLessThanOrEqual(8);

    // Fairness: every thread was listed again and again, none left far behind the others.
    const listings = new Map<string, number[]>();
    for (const c of r.api.calls) if (c.op === 'listRuns') listings.set(c.threadId, [...(listings.get(c.threadId) ?? []), c.at]);
    expect(listings.size).toBe(1_000);
    const sorted = [...listings.values()].map((t) => t.length).sort((a, b) => a - b);
    const median = sorted[500] as number;
    expect(sorted[0]).toBeGreaterThanOrEqual(Math.floor(median / 2));
    const maxGap = Math.max(...[...listings.values()].map((t) => Math.max(...t.slice(1).map((x, j) => x - (t[j] as number)))));
    // 1,000 threads at 10 requests/s: about 100 s per round; nobody waits much longer than a round and a half.
    expect(maxGap).toBeLessThan(200_000);
    // It could not keep every thread at its interval, and it said so.
    expect(r.lines.some((l) => l.level === 'warn' && /polling falls behind/.test(l.message))).toBe(true);
  }, 120_000);

  it('with a budget far too small (1/s): runs are late, never lost, and the lag is visible', async () => {
    const r = await loadRig({ threads: 1_000, rps: 1, concurrency: 2 });
    const runs = plan(1_000, 60, 5 * 60_000, seeded(5));
    play(r.api, runs);
    const finishedBy = Math.max(...runs.map((p) => p.startAt + p.duration));
    await advance(finishedBy + 2 * 60_000);
    const midway = r.poller.stats();
    expect(midway.effectiveIntervalMillis).toBeGreaterThan(10 * 2_000);
    expect(midway.overdueMillis).toBeGreaterThan(2_000);
    expect(midway.dueNow).toBeGreaterThan(0);
    const warning = r.lines.find((l) => l.level === 'warn' && /polling falls behind/.test(l.message));
    expect(warning?.fields).toMatchObject({ poll_interval_ms: 2_000, max_rps: 1, max_concurrency: 2 });
    expect(warning?.message).toMatch(/read every \d+\.\ds, not every 2\.0s/);

    // Enough time for one round of 1,000 listings at 1/s, and then some: all of them arrive.
    await advance(40 * 60_000);
    const exported = r.delivery.runIds();
    expect(new Set(exported).size).toBe(runs.length);
    expect(exported.length).toBe(runs.length);
  }, 120_000);
});
