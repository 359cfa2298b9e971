/**
 * `assistants-otel watch` exports what the simulator plays: many threads and runs with every step
 * and tool call type (known and unknown), every terminal status, in batch mode and `--live`.
 *
 * Oracles: each span id arrives exactly once (the receiver always answers 200); every span arrives
 * only once its record is terminal in the simulator (checked at arrival); the span tree (tool call ▸
 * step ▸ run, one trace per run); and every span equals what `mapRunToSpans` makes of the
 * simulator's final records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  comparable,
  countById,
  formatTree,
  longRun,
  mergeScenarios,
  outputOf,
  pickComparable,
  scenario,
  startWatch,
  startWorld,
  subjectOf,
  treeProblems,
  waitForEverything,
} from './helpers.js';

afterEach(cleanupAll);

/** demo (4 threads, every type and status) + unknown-types (Azure shapes) + many-threads 4×3, and one long run. */
function mixedScenario() {
  return mergeScenarios('watch-e2e-mixed', [
    scenario('demo'),
    scenario('unknown-types'),
    scenario('many-threads:4x3'),
    { threads: [{ id: 'thread_longrun', runs: [longRun('run_long', 120, 2)] }] },
  ]);
}

describe.each([
  { mode: 'batch', flags: [] as string[] },
  { mode: 'live', flags: ['--live'] },
])('watch exports every terminal run exactly once ($mode mode)', ({ mode, flags }) => {
  it('many threads, every step type, IDs and parents as mapRunToSpans gives them', async () => {
    const world = await startWorld({ scenario: mixedScenario() });
    expect(world.threads.length).toBe(10);
    const cli = startWatch(world, ['--memory-state', ...flags]);
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });

    const expected = await waitForEverything(world, { timeoutMs: 20_000, extraDetails: () => outputOf(cli) });
    // SIGTERM flushes whatever is queued: after it, nothing more can arrive.
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toMatch(new RegExp(`sidecar started .*mode=${mode}`));

    const received = world.receiver.spans();
    const tree = () => formatTree(received);

    // Coverage: the scenario really has what it claims, and all of it reached the receiver.
    const runIds = new Set(expected.filter((s) => s.subject.kind === 'run').map((s) => s.subject.runId));
    expect(runIds.size).toBe(7 + 2 + 12 + 1);
    const names = new Set(received.map((s) => s.name));
    for (const name of ['step message_creation', 'step tool_calls', 'step activities', 'execute_tool get_weather', 'execute_tool code_interpreter', 'execute_tool file_search', 'execute_tool bing_grounding']) {
      expect(names, `span named ${name}`).toContain(name);
    }
    const statuses = new Set(received.filter((s) => subjectOf(s).kind === 'run').map((s) => s.attributes['assistants.run.status']));
    expect([...statuses].sort()).toEqual(['cancelled', 'completed', 'expired', 'failed', 'incomplete']);

    // Exactly once.
    const duplicates = [...countById(received)].filter(([, n]) => n > 1);
    expect(duplicates, `span ids received more than once\n${tree()}`).toEqual([]);
    expect(received.length).toBe(expected.length);

    // Nothing before it was terminal.
    expect(world.check.violations).toEqual([]);
    expect(world.check.arrivals.length).toBe(expected.length);

    // The tree, and the spans themselves.
    expect(treeProblems(received)).toEqual([]);
    const byId = new Map(received.map((s) => [s.spanId, s]));
    for (const span of expected) {
      const got = byId.get(span.spanId);
      expect(got, `span ${span.spanId} ${span.name} of run ${span.subject.runId}`).toBeDefined();
      expect(pickComparable(got!), `${span.name} of run ${span.subject.runId}`).toEqual(comparable(span));
    }

    if (mode === 'live') {
      // Live means live: the long run's steps arrived while it was still going, and none before finishing.
      const longSteps = world.check.arrivals.filter((a) => a.runId === 'run_long' && a.kind === 'step');
      expect(longSteps.length).toBe(120);
      expect(longSteps.filter((a) => !a.runTerminalAtArrival).length, 'run_long step spans that arrived while run_long was in progress').toBeGreaterThanOrEqual(30);
    } else {
      // Batch: a run's spans travel together, after the run ended, in one request.
      for (const runId of runIds) {
        const requests = world.receiver.requests.filter((r) => r.spans.some((s) => subjectOf(s).runId === runId));
        expect(requests.length, `requests carrying run ${runId}`).toBe(1);
      }
      expect(world.check.arrivals.every((a) => a.runTerminalAtArrival)).toBe(true);
    }
  });
});
