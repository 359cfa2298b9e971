/**
 * A `Retry-After` of 35 days (README "Delivery", "Providers"): longer than Node's timers can wait
 * (2^31-1 ms, ~24.8 days, past which a timer fires at once: that was a hot loop of hundreds of
 * requests per second). Every wait is capped (`--max-retry-delay`): the sidecar waits the cap and
 * asks again, from the collector and from the API; one-shot commands give up at once, saying how
 * long they were asked to wait and what the cap is.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { cleanupAll, outputOf, scenario, simRequests, startWatch, startWorld, waitForEverything } from './watch/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/records/', import.meta.url));
const THIRTY_FIVE_DAYS = String(35 * 86_400);

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
  await cleanupAll();
});

describe('the sidecar waits the cap', () => {
  it('collector: three 503s asking for 35 days each are retried a cap (1 s) apart, then the spans are delivered', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    world.script = (_request, index) => (index < 3 ? { status: 503, headers: { 'retry-after': THIRTY_FIVE_DAYS } } : undefined);
    const cli = startWatch(world, ['--memory-state', '--max-retry-delay', '1s']);
    await waitForEverything(world, { extraDetails: () => outputOf(cli) });
    const refused = world.receiver.requests.filter((r) => r.status === 503);
    expect(refused).toHaveLength(3);
    const next = world.receiver.requests[3];
    const times = [...refused, next].map((r) => r?.receivedAt.performanceNow ?? 0);
    for (let i = 1; i < times.length; i++) {
      // Not at once (the hot loop), and not 35 days: the cap, plus its jitter.
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(950);
    }
    expect(cli.stderr()).toMatch(/WARN +export will be retried after the longest wait allowed, sooner than the collector asked .*delay_ms=1000/);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });

  it('API: a 429 asking for 35 days holds requests for the cap, not for 35 days and not for nothing', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    world.sim.faults.add({ kind: 'rate-limit', retryAfterSeconds: 35 * 86_400, match: { operation: 'listRuns', times: 2 } });
    const cli = startWatch(world, ['--memory-state', '--max-retry-delay', '1s']);
    await waitForEverything(world, { extraDetails: () => outputOf(cli) });
    const limited = simRequests(world.sim).filter((r) => r.status === 429);
    expect(limited).toHaveLength(2);
    // Within the second after a 429, at most the requests already on their way (no hot loop).
    const first = limited[0]?.receivedAtMs ?? 0;
    const soon = simRequests(world.sim).filter((r) => r.receivedAtMs > first + 50 && r.receivedAtMs < first + 900);
    expect(soon, JSON.stringify(soon.map((r) => [r.operation, Math.round(r.receivedAtMs - first)]))).toEqual([]);
    expect(cli.stderr()).toMatch(/API request will be retried after the longest wait allowed, sooner than its Retry-After .*delay_ms=1000/);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });
});

describe('one-shot commands give up with a clear message', () => {
  it('import: the collector asks for 35 days; one request, exit 1, and the summary says why', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    receiver.respondWith(() => ({ status: 429, headers: { 'retry-after': THIRTY_FIVE_DAYS } }));
    const result = await runCli(['import', `${FIXTURES}runs.json`], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(result.code).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    expect(result.stderr).toMatch(
      /export failed: \d+ spans not delivered after 1 attempt: the collector asked to wait 35 days \(collector answered HTTP 429\), longer than the longest wait allowed \(5 min, --max-retry-delay\); giving up/,
    );
  });

  it('runs list: the API asks for 35 days; exit 1 with the same kind of message', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    world.sim.faults.add({ kind: 'rate-limit', retryAfterSeconds: 35 * 86_400, match: { operation: 'listRuns' } });
    const thread = world.threads[0] as string;
    const result = await runCli(['runs', 'list', '--thread', thread, '--max-retry-delay', '2m'], { env: { OPENAI_BASE_URL: world.sim.url } });
    expect(result.code).toBe(1);
    expect(simRequests(world.sim, 'listRuns')).toHaveLength(1);
    expect(result.stderr).toContain(
      `list runs of ${thread}: the API asked to wait 35 days (Retry-After, after HTTP 429 rate_limit_exceeded), longer than the longest wait allowed (2 min, --max-retry-delay); giving up`,
    );
  });
});
