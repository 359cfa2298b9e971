/**
 * A collector down for a long outage, with far more finished work than the delivery queue may
 * hold (README "Delivery"): three threads of 60 finished runs each (1,260 spans, watched with
 * --backfill, so discovery pages of finished runs arrive at once, the case that used to queue a
 * whole page) against `--max-queued-spans 150`. Sampled from /metrics through the outage, the queue
 * never holds more than its bound, it does fill up to it, polling pauses; when the collector comes
 * back every span is delivered exactly once and the queue empties.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, countById, metricValue, outputOf, registrationUrl, startWatch, startWorld, waitForEverything, waitUntil } from './helpers.js';

afterEach(cleanupAll);

const BOUND = 150;
const OUTAGE_MS = 8_000;

function historyThread(t: number) {
  return {
    id: `thread_q${t}`,
    runs: Array.from({ length: 60 }, (_, i) => ({
      id: `run_q${t}_${String(i).padStart(2, '0')}`,
      startAt: -2_000 + i * 20,
      steps: Array.from({ length: 6 }, (_, k) => ({ type: 'message_creation' as const, text: `part ${k}`, durationSeconds: 1 })),
    })),
  };
}

describe('a collector down for a long outage', () => {
  it(`the delivery queue never holds more than --max-queued-spans ${BOUND}, and nothing is lost`, async () => {
    const world = await startWorld({ scenario: { name: 'backlog', threads: [0, 1, 2].map(historyThread) } });
    let outageUntil: number | undefined;
    world.script = () => {
      outageUntil ??= performance.now() + OUTAGE_MS;
      return performance.now() < outageUntil ? { status: 503, body: 'collector down' } : undefined;
    };
    const cli = startWatch(world, ['--memory-state', '--backfill', '--max-queued-spans', String(BOUND), '--max-retry-delay', '500ms']);
    const url = await registrationUrl(cli);

    const samples: Array<{ spans: number; peak: number; max: number; paused: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`${url}/metrics`)).text();
        samples.push({
          spans: metricValue(text, 'assistants_otel_delivery_queue_spans') ?? -1,
          peak: metricValue(text, 'assistants_otel_delivery_queue_peak_spans') ?? -1,
          max: metricValue(text, 'assistants_otel_delivery_queue_max_spans') ?? -1,
          paused: metricValue(text, 'assistants_otel_polling_paused') ?? -1,
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    await waitUntil(() => outageUntil !== undefined && performance.now() > outageUntil, { what: 'the outage to pass', timeoutMs: 20_000 });
    const duringOutage = samples.length;
    const expected = await waitForEverything(world, { timeoutMs: 40_000, extraDetails: () => outputOf(cli) });
    sampling = false;
    await sampler;

    expect(expected).toHaveLength(3 * 60 * 7);
    expect(duringOutage, 'sampled through the outage').toBeGreaterThan(20);
    expect(samples.every((s) => s.max === BOUND)).toBe(true);
    const over = samples.filter((s) => s.spans > BOUND || s.peak > BOUND);
    expect(over, `samples above the bound: ${JSON.stringify(over.slice(0, 5))}`).toEqual([]);
    // It did fill up (the bound, not a lack of work, held it), and polling paused meanwhile.
    expect(Math.max(...samples.map((s) => s.peak))).toBeGreaterThanOrEqual(BOUND - 7);
    expect(samples.some((s) => s.paused === 1)).toBe(true);

    const final = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(final, 'assistants_otel_delivery_queue_spans')).toBe(0);
    expect(metricValue(final, 'assistants_otel_exported_total', '{kind="span"}')).toBe(expected.length);
    const received = world.receiver.spans();
    expect([...countById(received)].filter(([, n]) => n > 1)).toEqual([]);
    expect(received).toHaveLength(expected.length);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });
});
