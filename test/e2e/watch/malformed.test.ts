/**
 * Records that break the contract: a run without `created_at` (in the scenario, so every read of it
 * is broken; and one injected into a list page), and broken steps inside an otherwise good run (the
 * `malformed` scenario). Each is reported in the log by run and field; everything else is exported.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  comparable,
  countById,
  expectedSpans,
  formatTree,
  mergeScenarios,
  metricValue,
  outputOf,
  pickComparable,
  registrationUrl,
  scenario,
  startWatch,
  startWorld,
  subjectOf,
  waitForEverything,
} from './helpers.js';

afterEach(cleanupAll);

describe('watch with malformed records', () => {
  it.each([{ mode: 'batch', flags: [] as string[] }, { mode: 'live', flags: ['--live'] }])(
    'reports the broken run and steps by id and field, exports everything else ($mode mode)',
    async ({ flags }) => {
      const world = await startWorld({
        scenario: mergeScenarios('malformed-mix', [
          scenario('malformed'),
          {
            threads: [
              {
                id: 'thread_mixed',
                runs: [
                  { id: 'run_good_before', startAt: 0, template: 'message' },
                  // No created_at, and no other timestamp to place it by: it cannot be placed in time.
                  { id: 'run_no_created_at', startAt: 4, template: 'message', patch: { omit: ['created_at'], set: { started_at: null, completed_at: null, expires_at: null } } },
                  { id: 'run_good_after', startAt: 10, template: 'every-tool' },
                ],
              },
            ],
          },
        ]),
        faults: [
          {
            kind: 'inject-record',
            // A run record without created_at, once, in a page of thread_mixed's runs.
            record: { value: { id: 'run_injected', object: 'thread.run', thread_id: 'thread_mixed', assistant_id: 'asst_x', status: 'completed', model: 'gpt-4o', completed_at: 1 } },
            position: 'start',
            match: { operation: 'listRuns', path: '/threads/thread_mixed/runs', times: 1 },
          },
        ],
      });
      const cli = startWatch(world, ['--memory-state', ...flags]);
      const url = await registrationUrl(cli);
      const expected = await waitForEverything(world, { extraDetails: () => outputOf(cli) });
      await cli.waitForOutput(/run_no_created_at/, { stream: 'stderr' });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
      const log = cli.stderr();
      const lines = (id: string) => log.split('\n').filter((l) => l.includes(id));

      // The run the API always returns without created_at: reported by id and field, at error level.
      expect(lines('run_no_created_at').some((l) => /ERROR/.test(l) && /created_at/.test(l)), `a log line naming run_no_created_at and created_at\n${log}`).toBe(true);
      // The injected one, likewise.
      expect(lines('run_injected').some((l) => /ERROR/.test(l) && /created_at/.test(l)), `a log line naming run_injected and created_at\n${log}`).toBe(true);
      // The broken steps: the one without created_at by id and field, the string by its position.
      const brokenStep = world.sim.steps('run_malformed')[1] as unknown as { id: string };
      expect(log).toMatch(new RegExp(`malformed step record: not exported .*run_id=run_malformed .*step_id=${brokenStep.id}.*created_at`));
      expect(log).toMatch(/malformed step record: not exported .*run_id=run_malformed .*index=2/);
      // The function call whose name is a number: kept (as a generic call), with a warning naming the field.
      expect(log).toMatch(/step record has malformed fields \(dropped\) .*run_id=run_malformed .*function\.name/);
      expect(metricValue(metrics, 'assistants_otel_records_rejected_total', '{kind="step"}'), metrics).toBeGreaterThanOrEqual(2);
      expect(metricValue(metrics, 'assistants_otel_records_rejected_total', '{kind="run"}'), metrics).toBeGreaterThanOrEqual(2);

      // Every other run exported, exactly once, as the mapping gives it.
      const received = world.receiver.spans();
      const runs = new Set(received.filter((s) => subjectOf(s).kind === 'run').map((s) => subjectOf(s).runId));
      expect([...runs].sort()).toEqual(['run_good_after', 'run_good_before', 'run_malformed']);
      expect([...countById(received)].filter(([, n]) => n > 1), formatTree(received)).toEqual([]);
      expect(received.length).toBe(expected.length);
      const byId = new Map(received.map((s) => [s.spanId, s]));
      for (const span of expected) expect(pickComparable(byId.get(span.spanId)!), span.name).toEqual(comparable(span));
      expect(world.check.violations).toEqual([]);

      // The malformed run: its four good steps (and their tool calls), under its run span.
      const malformed = received.filter((s) => subjectOf(s).runId === 'run_malformed');
      expect(malformed.filter((s) => subjectOf(s).kind === 'step').length, formatTree(malformed)).toBe(4);
      expect(malformed.filter((s) => subjectOf(s).kind === 'tool_call').map((s) => s.name).sort()).toEqual(['execute_tool code_interpreter', 'execute_tool function']);
      expect(expectedSpans(world, { runIds: ['run_malformed'] }).length).toBe(malformed.length);
    },
  );
});
