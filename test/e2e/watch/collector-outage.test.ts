/**
 * The collector is down for a while (503), then comes back: nothing is lost, nothing is duplicated
 * (a 503 acknowledges nothing), the retries show in `/metrics`, and a collector's `Retry-After` is
 * obeyed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  countById,
  formatTree,
  metricValue,
  outputOf,
  registrationUrl,
  scenario,
  startWatch,
  startWorld,
  waitForEverything,
  waitUntil,
} from './helpers.js';

afterEach(cleanupAll);

describe('watch during a collector outage', () => {
  it('503 for the first two seconds: every run delivered once, retries counted in /metrics', async () => {
    const world = await startWorld({ scenario: scenario('demo') });
    let outageUntil: number | undefined;
    world.script = () => {
      outageUntil ??= performance.now() + 2_000;
      return performance.now() < outageUntil ? { status: 503, body: 'collector restarting' } : undefined;
    };
    const cli = startWatch(world, ['--memory-state']);
    const url = await registrationUrl(cli);

    const expected = await waitForEverything(world, { extraDetails: () => outputOf(cli) });
    const refused = world.receiver.requests.filter((r) => r.status === 503).length;
    expect(refused, 'the outage refused something').toBeGreaterThanOrEqual(2);

    // Retries: one per refused attempt, visible in the log and in /metrics.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'assistants_otel_export_retries_total'), metrics).toBe(refused);
    expect(cli.stderr()).toMatch(/WARN +export will be retried .*reason="collector answered HTTP 503: collector restarting"/);
    const runs = expected.filter((s) => s.subject.kind === 'run').length;
    expect(metricValue(metrics, 'assistants_otel_exported_total', '{kind="run"}')).toBe(runs);
    expect(metricValue(metrics, 'assistants_otel_exported_total', '{kind="span"}')).toBe(expected.length);
    expect(metricValue(metrics, 'assistants_otel_delivery_queue_spans')).toBe(0);
    expect(metricValue(metrics, 'assistants_otel_spans_set_aside_total')).toBe(0);

    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    const received = world.receiver.spans();
    expect([...countById(received)].filter(([, n]) => n > 1), formatTree(received)).toEqual([]);
    expect(received.length).toBe(expected.length);
    expect(world.check.violations).toEqual([]);
  });

  it("obeys the collector's Retry-After", async () => {
    const world = await startWorld();
    const thread = world.sim.createThread();
    world.threads = [thread.id];
    // Two refusals asking for 2 s each; the sidecar's own first backoff would be about 1 s.
    world.script = (_request, index) => (index < 2 ? { status: 429, headers: { 'retry-after': '2' } } : undefined);
    const cli = startWatch(world, ['--memory-state']);
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });
    world.sim.startRun(thread.id, 'message');
    await waitUntil(() => world.receiver.requests.some((r) => r.accepted), { what: 'an accepted export', timeoutMs: 20_000, details: () => outputOf(cli) });

    const arrivals = world.receiver.requests.map((r) => r.receivedAt.performanceNow);
    expect(arrivals.length).toBe(3);
    for (let i = 1; i < arrivals.length; i++) {
      expect((arrivals[i] as number) - (arrivals[i - 1] as number), `gap before attempt ${i + 1}`).toBeGreaterThanOrEqual(2_000);
    }
    expect(await cli.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
