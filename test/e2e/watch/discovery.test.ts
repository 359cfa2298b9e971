/**
 * Discovery that cannot be silenced (issue #9 item 7), with the real CLI against the simulator and
 * a loopback receiver:
 *
 * - a watched run id that answers 404, next to a good thread (the 404 run registered on that very
 *   thread, and one alone on another): the good thread's runs are exported, the 404s are reported
 *   (a warning naming the run, `assistants_otel_watch_dropped_total`) and dropped, never read again;
 * - an API whose clock runs 5 minutes behind the sidecar's (the simulator's `baseEpochSeconds`, its
 *   `Date` header on its own clock): a run that finished just before the sidecar first looked, and
 *   three short runs that start and finish between two looks, are all exported (before the fix:
 *   none, all taken for history);
 * - the same API sending no `Date` header: the documented fallback, with one warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../../src/simulator/scenario-schema.js';
import { cleanupAll, countById, metricValue, outputOf, registrationUrl, startWatch, startWorld, subjectOf, waitForEverything, waitUntil } from './helpers.js';

afterEach(cleanupAll);

const exportedRunIds = (spans: ReturnType<Awaited<ReturnType<typeof startWorld>>['receiver']['spans']>) =>
  spans.filter((s) => subjectOf(s).kind === 'run').map((s) => subjectOf(s).runId);

describe('watch: a run id that answers 404', () => {
  it('next to a good thread: the thread\'s runs are exported, the 404s reported and dropped', async () => {
    const scenario: ScenarioInput = {
      name: 'good-thread',
      threads: [
        { id: 'thread_good', runs: [{ id: 'run_good_1', startAt: 8, template: 'message' }, { id: 'run_good_2', startAt: 30, template: 'every-tool' }] },
        { id: 'thread_other', runs: [] },
      ],
    };
    const world = await startWorld({ scenario });
    const cli = startWatch(world, ['--memory-state', '--run', 'thread_good:run_missing', '--run', 'thread_other:run_nope'], { threads: ['thread_good'] });
    const url = await registrationUrl(cli);

    const expected = await waitForEverything(world, { threads: ['thread_good'], timeoutMs: 20_000, extraDetails: () => outputOf(cli) });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });

    expect(exportedRunIds(world.receiver.spans()).sort()).toEqual(['run_good_1', 'run_good_2']);
    expect(world.receiver.spans().length).toBe(expected.length);
    expect([...countById(world.receiver.spans())].filter(([, n]) => n > 1)).toEqual([]);
    const stderr = cli.stderr();
    expect(stderr).toMatch(/run not found \(HTTP 404\): reported and no longer watched .*run_id=run_missing.*thread_id=thread_good/);
    expect(stderr).toMatch(/run not found \(HTTP 404\): reported and no longer watched .*run_id=run_nope/);
    expect(metricValue(metrics, 'assistants_otel_watch_dropped_total', '{kind="run",reason="not_found"}')).toBe(2);
    // Each asked once, then never again; the good thread was listed all along.
    const reads = (id: string) => world.sim.requests.filter((r) => r.operation === 'getRun' && r.path.endsWith(`/${id}`)).length;
    expect([reads('run_missing'), reads('run_nope')]).toEqual([1, 1]);
    expect(world.sim.requests.filter((r) => r.operation === 'getRun' && /run_good/.test(r.path))).toEqual([]);
  });
});

/** A run that finished 2–4 scenario seconds before scenario time 0, and three short runs later, one per thread. */
function clockScenario(): ScenarioInput {
  const short = (id: string, startAt: number) => ({ id, startAt, steps: [{ type: 'message_creation' as const, text: 'quick', durationSeconds: 1 }] });
  return {
    name: 'clock-offset',
    threads: [
      { id: 'thread_before', runs: [short('run_before', -4)] },
      { id: 'thread_a', runs: [short('run_a', 20)] },
      { id: 'thread_b', runs: [short('run_b', 40)] },
      { id: 'thread_c', runs: [short('run_c', 60)] },
    ],
  };
}

// 100 ms per scenario second: the API's clock stays minutes behind the sidecar's for the whole test
// (it runs 10× faster, but starts 300 s behind). A poll interval of 1 s (10 scenario s): a short run
// (2–3 scenario s) usually starts and ends between two looks.
const CLOCK_FLAGS = ['--memory-state', '--poll-interval', '1s', '--max-rps', '100'];

describe('watch: the API\'s clock, not the sidecar\'s', () => {
  it('API clock 5 minutes behind: every run is exported, the one that finished just before the first look included', async () => {
    const world = await startWorld({ scenario: clockScenario(), timeScaleMillisPerSecond: 100, baseEpochSeconds: Math.floor(Date.now() / 1000) - 300 });
    const cli = startWatch(world, CLOCK_FLAGS, { listen: false });
    const expected = await waitForEverything(world, { timeoutMs: 25_000, extraDetails: () => outputOf(cli) });
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    expect(exportedRunIds(world.receiver.spans()).sort()).toEqual(['run_a', 'run_b', 'run_before', 'run_c']);
    expect(world.receiver.spans().length).toBe(expected.length);
    expect(cli.stderr()).not.toMatch(/no Date header/);
  });

  it('no Date header either: "since" from the records (the run that finished before the first look is history), new runs exported, one warning', async () => {
    const world = await startWorld({ scenario: clockScenario(), timeScaleMillisPerSecond: 100, baseEpochSeconds: Math.floor(Date.now() / 1000) - 300, dateHeader: false });
    const cli = startWatch(world, CLOCK_FLAGS, { listen: false });
    await waitForEverything(world, { threads: ['thread_a', 'thread_b', 'thread_c'], timeoutMs: 25_000, extraDetails: () => outputOf(cli) });
    // Give a wrong export of run_before its chance to show up: the next look of its thread.
    await waitUntil(() => world.sim.requests.filter((r) => r.operation === 'listRuns' && r.path.includes('thread_before')).length >= 3, { what: 'three looks at thread_before' });
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    expect(exportedRunIds(world.receiver.spans()).sort()).toEqual(['run_a', 'run_b', 'run_c']);
    expect(cli.stderr().match(/the API sent no Date header/g)).toHaveLength(1);
  });
});
