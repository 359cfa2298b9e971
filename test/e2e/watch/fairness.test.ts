/**
 * Fair under slow servers and small budgets (issue #9 item 9, issue #11 item 2), with the real CLI:
 *
 * - ten slow-loris threads (the simulator holds every request about them for two minutes, past the
 *   30 s request timeout) beside four healthy ones, on the default `--max-concurrency 8`: the healthy
 *   threads' runs are all exported, before any hanging request has even timed out; the hanging
 *   requests show as stuck in /metrics. The export delays are printed (measured, not asserted).
 * - a request budget far too small for the watch set (60 threads at 5 requests/s, polled every
 *   100 ms): every run is exported, late; the lag is in /metrics and the log says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../../src/simulator/scenario-schema.js';
import { startCli } from '../../support/cli.js';
import { baseEnv, cleanupAll, countById, metricValue, outputOf, registrationUrl, scenario, startWorld, subjectOf, waitForEverything, waitUntil } from './helpers.js';

afterEach(cleanupAll);

const SLOW = Array.from({ length: 10 }, (_, i) => `thread_slow_${i}`);
const HEALTHY = Array.from({ length: 4 }, (_, i) => `thread_ok_${i}`);

function slowLorisScenario(): ScenarioInput {
  return {
    name: 'slow-loris',
    threads: [
      ...SLOW.map((id) => ({ id, runs: [{ startAt: 5, template: 'message' as const }] })),
      ...HEALTHY.map((id, t) => ({ id, runs: [0, 1, 2].map((r) => ({ id: `run_ok_${t}_${r}`, startAt: 5 + r * 40 + t * 3, template: 'message' as const })) })),
    ],
    faults: [{ kind: 'delay', delayMs: 120_000, label: 'slow-loris', match: { pathRegex: '^/threads/thread_slow_' } }],
  };
}

describe('watch beside slow-loris threads', () => {
  it('healthy threads\' runs are all exported while ten hanging threads hold their requests, none starved', async () => {
    const world = await startWorld({ scenario: slowLorisScenario(), timeScaleMillisPerSecond: 50 });
    // The default budget: 8 in flight. Slow threads first, so they take every slot at the start.
    const cli = startCli(
      ['watch', '--memory-state', '--poll-interval', '200ms', '--max-rps', '100', '--listen', '127.0.0.1:0', ...[...SLOW, ...HEALTHY].flatMap((t) => ['--thread', t])],
      { env: baseEnv(world) },
    );
    const url = await registrationUrl(cli);
    const expected = await waitForEverything(world, { threads: HEALTHY, timeoutMs: 25_000, extraDetails: () => outputOf(cli) });
    // Ordering, not a time limit: everything healthy arrived before the first hanging request timed out.
    expect(cli.stderr(), 'a request timed out before the healthy runs were all exported').not.toMatch(/timed out/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'assistants_otel_api_stuck_requests')).toBeGreaterThanOrEqual(1);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });

    const received = world.receiver.spans();
    expect([...countById(received)].filter(([, n]) => n > 1)).toEqual([]);
    expect(new Set(received.map((s) => s.spanId))).toEqual(new Set(expected.map((s) => s.spanId)));
    const slowRequests = world.sim.requests.filter((r) => r.path.startsWith('/threads/thread_slow_'));
    expect(slowRequests.length).toBeGreaterThanOrEqual(8);
    expect(slowRequests.every((r) => r.status === null)).toBe(true); // still hanging: none ever answered

    // Measured: from each healthy run's end (scenario time, at 50 ms per second) to its run span's arrival.
    const base = world.sim.state.epochSeconds - Math.floor(world.sim.state.scenarioSeconds);
    const delays = world.sim.state.runs
      .filter((r) => HEALTHY.includes(String(r.thread_id)))
      .map((r) => {
        const endSecond = Number(r.completed_at) - base;
        const arrival = world.receiver.requests.find((q) => q.spans.some((s) => subjectOf(s).kind === 'run' && subjectOf(s).runId === r.id));
        return arrival ? Math.round(arrival.receivedAt.performanceNow - (world.simStartedAt + endSecond * 50)) : Number.NaN;
      })
      .sort((a, b) => a - b);
    console.info(`slow-loris: healthy runs' export delays (run end → run span at the receiver, ms; poll interval 200 ms, records in whole seconds = 50 ms): ${delays.join(', ')}`);
    expect(delays.every((d) => Number.isFinite(d))).toBe(true);
  });
});

describe('watch with a request budget far too small', () => {
  it('every run is exported, late; the lag is in /metrics and in the log', async () => {
    const world = await startWorld({ scenario: scenario('many-threads:60x1'), timeScaleMillisPerSecond: 25 });
    const threadsFile = `${world.dir}/threads.txt`;
    await import('node:fs/promises').then((fs) => fs.writeFile(threadsFile, `${world.threads.join('\n')}\n`));
    const cli = startCli(['watch', '--memory-state', '--poll-interval', '100ms', '--max-rps', '5', '--listen', '127.0.0.1:0', '--threads-file', threadsFile], { env: baseEnv(world) });
    const url = await registrationUrl(cli);
    // While it is behind: the lag shows.
    const behind = await waitUntil(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const effective = metricValue(text, 'assistants_otel_poll_effective_interval_seconds') ?? 0;
        return effective > 1 && (metricValue(text, 'assistants_otel_poll_overdue') ?? 0) > 0 ? text : undefined;
      },
      { what: 'an effective poll interval over 1 s and polls overdue in /metrics', timeoutMs: 20_000 },
    );
    expect(metricValue(behind, 'assistants_otel_poll_overdue_seconds')).toBeGreaterThan(0.1);
    await cli.waitForOutput(/polling falls behind: active threads and runs are read every \d+\.\ds, not every 0\.1s/, { stream: 'stderr', timeoutMs: 20_000 });
    // Late, never lost.
    const expected = await waitForEverything(world, { timeoutMs: 60_000, extraDetails: () => outputOf(cli) });
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    const received = world.receiver.spans();
    expect([...countById(received)].filter(([, n]) => n > 1)).toEqual([]);
    expect(received.length).toBe(expected.length);
    expect(new Set(received.filter((s) => subjectOf(s).kind === 'run').map((s) => subjectOf(s).runId)).size).toBe(60);
  }, 90_000);
});
