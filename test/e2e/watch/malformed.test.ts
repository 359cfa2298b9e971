/**
 * Records that break the contract: a run with no time at all (in the scenario, so every read of it
 * lacks one: kept and placed by its steps), a run record without an id (injected into a list page:
 * it cannot be placed), and broken steps inside an otherwise good run (the `malformed` scenario).
 * Each is reported in the log by run and field; everything that can be placed is exported.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spanIdForStep as stepSpanIdOf } from '../../../src/mapping/ids.js';
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
                  // No created_at, and no other timestamp of its own: placed by its steps' times, never rejected.
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
            // A run record without an id (nothing names its trace: it cannot be placed), once, in a page of thread_mixed's runs.
            record: { value: { object: 'thread.run', thread_id: 'thread_mixed', assistant_id: 'asst_injected', status: 'completed', model: 'gpt-4o', created_at: 1733050000, completed_at: 1733050001 } },
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

      // The run the API always returns without any time: not an error (it is exported, below, marked time_unknown).
      expect(lines('run_no_created_at').filter((l) => /ERROR|WARN/.test(l)), log).toEqual([]);
      expect(log).toMatch(/run exported .*run_id=run_no_created_at status=completed/);
      // The injected run without an id: reported by its position in the page and the field.
      expect(log).toMatch(/malformed run in a list page: skipped .*thread_id=thread_mixed .*index=0 .*path=id/);
      // The broken steps: the one without run_id by id and field, the string by its position.
      const brokenStep = world.sim.steps('run_malformed')[1] as unknown as { id: string };
      expect(log).toMatch(new RegExp(`malformed step record: not exported .*run_id=run_malformed .*step_id=${brokenStep.id} .*"path":"run_id"`));
      expect(log).toMatch(/malformed step record: not exported .*run_id=run_malformed .*index=2/);
      // The function call whose name is a number: kept (as a generic call), with a warning naming the field.
      expect(log).toMatch(/step record has malformed fields \(dropped\) .*run_id=run_malformed .*function\.name/);
      // The step with no time at all: kept, with a warning naming it and created_at.
      const untimedStep = world.sim.steps('run_malformed')[6] as unknown as { id: string };
      expect(log).toMatch(new RegExp(`step record has malformed fields \\(dropped\\) .*run_id=run_malformed .*step_id=${untimedStep.id} .*"path":"created_at","message":"missing, and no other usable timestamp: the record is kept and placed at its run's start"`));
      expect(metricValue(metrics, 'assistants_otel_records_rejected_total', '{kind="step"}'), metrics).toBeGreaterThanOrEqual(2);
      expect(metricValue(metrics, 'assistants_otel_records_rejected_total', '{kind="run"}'), metrics).toBe(1);

      // Every other run exported, exactly once, as the mapping gives it.
      const received = world.receiver.spans();
      const runs = new Set(received.filter((s) => subjectOf(s).kind === 'run').map((s) => subjectOf(s).runId));
      expect([...runs].sort()).toEqual(['run_good_after', 'run_good_before', 'run_malformed', 'run_no_created_at']);
      expect([...countById(received)].filter(([, n]) => n > 1), formatTree(received)).toEqual([]);
      expect(received.length).toBe(expected.length);
      const byId = new Map(received.map((s) => [s.spanId, s]));
      for (const span of expected) expect(pickComparable(byId.get(span.spanId)!), span.name).toEqual(comparable(span));
      expect(world.check.violations).toEqual([]);

      // The run without a time: from its steps' earliest start to their latest end, marked time_unknown.
      const untimedRun = received.filter((s) => subjectOf(s).runId === 'run_no_created_at');
      const untimedRunSpan = untimedRun.find((s) => subjectOf(s).kind === 'run');
      const itsSteps = untimedRun.filter((s) => subjectOf(s).kind === 'step');
      expect(itsSteps.length, formatTree(untimedRun)).toBeGreaterThan(0);
      expect(untimedRunSpan?.attributes['assistants.quirks']).toEqual(['time_unknown']);
      expect([untimedRunSpan?.startTimeUnixNano, untimedRunSpan?.endTimeUnixNano]).toEqual([
        itsSteps.map((s) => s.startTimeUnixNano).reduce((a, b) => (a < b ? a : b)),
        itsSteps.map((s) => s.endTimeUnixNano).reduce((a, b) => (a > b ? a : b)),
      ]);

      // The malformed run: its four good steps (and their tool calls) and the untimed one, under its run span.
      const malformed = received.filter((s) => subjectOf(s).runId === 'run_malformed');
      expect(malformed.filter((s) => subjectOf(s).kind === 'step').length, formatTree(malformed)).toBe(5);
      const runSpan = malformed.find((s) => subjectOf(s).kind === 'run');
      const untimed = malformed.find((s) => s.spanId === stepSpanIdOf('run_malformed', untimedStep.id));
      expect(untimed?.attributes['assistants.quirks']).toEqual(['time_unknown']);
      expect([untimed?.startTimeUnixNano, untimed?.endTimeUnixNano]).toEqual([runSpan?.startTimeUnixNano, runSpan?.startTimeUnixNano]);
      expect(untimed?.parentSpanId).toBe(runSpan?.spanId);
      expect(malformed.filter((s) => subjectOf(s).kind === 'tool_call').map((s) => s.name).sort()).toEqual(['execute_tool code_interpreter', 'execute_tool function']);
      expect(expectedSpans(world, { runIds: ['run_malformed'] }).length).toBe(malformed.length);
    },
  );
});
