/**
 * What a streaming import relies on from the mapper: spans counted without mapping (`span-count.ts`)
 * are the spans `mapRunToSpans` gives; the steps of a run mapped on their own (`mapStepsToSpans`)
 * give exactly the step and tool call spans the whole run gives, in its trace.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isStepTerminal } from '../../../src/api/lifecycle.js';
import { mapRunToSpans, mapStepsToSpans, stepContextOf } from '../../../src/mapping/run-to-spans.js';
import { hasRunSpan, stepSpanCount } from '../../../src/mapping/span-count.js';
import type { MappingOptions, RunRecord } from '../../../src/mapping/types.js';
import { collectRecords } from '../../../src/sources/collect.js';
import { TRACEPARENT, activitiesStep, bingGroundingCall, codeInterpreterCall, fileSearchCall, functionCall, run, runInProgress, step, toolCallsStep } from '../../fixtures/records.js';

const CORPUS = fileURLToPath(new URL('../../fixtures/fidelity/', import.meta.url));

/** Every run of the fidelity corpus and the builders, grouped as the import groups them. */
function records(): RunRecord[] {
  const files = ['usage.jsonl', 'image-null.jsonl', 'unfinished.jsonl', 'azure.jsonl', 'timestamps.jsonl', 'stream-events.jsonl', 'deep-nesting.jsonl'];
  const values: unknown[] = files.flatMap((f) =>
    readFileSync(`${CORPUS}${f}`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown),
  );
  values.push(
    run({ id: 'run_b1', metadata: { traceparent: TRACEPARENT.header } }),
    step({ id: 'step_b1', run_id: 'run_b1' }),
    toolCallsStep([functionCall(), codeInterpreterCall(), fileSearchCall(), bingGroundingCall(), 'not a call'], { id: 'step_b2', run_id: 'run_b1' }),
    activitiesStep({ run_id: 'run_b1' }),
    step({ id: 'step_b5', run_id: 'run_b1', status: 'in_progress', completed_at: null }),
    runInProgress({ id: 'run_b2' }),
    step({ id: 'step_b3', run_id: 'run_b2' }),
    runInProgress({ id: 'run_b3' }),
    step({ id: 'step_b4', run_id: 'run_orphan' }),
  );
  return collectRecords(values).runs;
}

describe('span counts', () => {
  const runs = records();

  it.each([
    ['one-shot (unfinished run spans)', { unfinishedRunSpans: true }],
    ['sidecar (no unfinished run spans)', {}],
  ] as Array<[string, MappingOptions]>)('equal the spans mapped, run by run: %s', (_name, options) => {
    expect(runs.length).toBeGreaterThan(10);
    for (const record of runs) {
      const terminalSteps = record.steps.filter(isStepTerminal).length;
      const counted = (hasRunSpan(record.run, terminalSteps, options) ? 1 : 0) + record.steps.reduce((n, s) => n + stepSpanCount(s), 0);
      expect(counted, record.runId).toBe(mapRunToSpans(record, options).length);
    }
  });
});

describe('mapStepsToSpans', () => {
  it('gives the steps of a run with its own start, one at a time, the spans the whole run gives them (untimed steps too)', () => {
    const runs = records().filter((r) => r.run && stepContextOf(r.run).runStart !== undefined);
    expect(runs.some((r) => r.steps.some((s) => s.created_at === undefined))).toBe(true); // an untimed step, placed at its run's start
    for (const record of runs) {
      const whole = mapRunToSpans(record, { unfinishedRunSpans: true }).filter((s) => s.subject.kind !== 'run');
      const context = stepContextOf(record.run as NonNullable<typeof record.run>);
      const alone = record.steps.flatMap((s) => mapStepsToSpans(record.runId, [s], context, { unfinishedRunSpans: true }));
      const byId = (spans: typeof whole) => new Map(spans.map((s) => [s.spanId, s]));
      expect(byId(alone), record.runId).toEqual(byId(whole));
    }
  });

  it('gives all the steps of any run, together, exactly the step spans of the whole run', () => {
    for (const record of records()) {
      const whole = mapRunToSpans(record).filter((s) => s.subject.kind !== 'run');
      const context = record.run ? stepContextOf(record.run) : { parent: undefined, runStart: undefined };
      expect(mapStepsToSpans(record.runId, record.steps, context), record.runId).toEqual(whole);
      expect(new Set(whole.map((s) => s.traceId)).size).toBeLessThanOrEqual(1);
    }
  });
});
