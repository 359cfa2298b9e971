/**
 * Where a record without any usable time goes (README "Time rules", `mapping/placement.ts`), one
 * case per input class: a step under a timed run; under an untimed run with timed siblings; a run
 * without time with timed steps; nothing timed at all. Whole bounds and quirks of every span.
 */
import { describe, expect, it } from 'vitest';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { QUIRK_TIME_PLACEHOLDER, runStartOf, UNKNOWN_TIME_SECONDS } from '../../../src/mapping/placement.js';
import type { MappingOptions, RunRecord, SpanData } from '../../../src/mapping/types.js';
import type { RunStep } from '../../../src/api/schemas.js';
import { IDS, T0, functionCall, run, runInProgress, step, toolCallsStep, validRun, validStep, without, type Json } from '../../fixtures/records.js';

/** A step with no usable time: a Prism-style record, every time a `0` placeholder. */
const prismStep = (id: string, overrides: Json = {}) =>
  step({ id, created_at: 0, completed_at: 0, failed_at: 0, cancelled_at: 0, expired_at: 0, ...overrides });
/** A run with no usable time: a negative created_at and nothing else. */
const untimedRun = (overrides: Json = {}) => run({ created_at: -5, started_at: null, completed_at: null, ...overrides });

function map(input: { run?: Json; steps?: Json[] }, options?: MappingOptions): SpanData[] {
  const runRecord = input.run ? validRun(input.run) : undefined;
  return mapRunToSpans({ runId: IDS.run, run: runRecord, steps: (input.steps ?? []).map(validStep) }, options);
}

/** What placement decides for each span: which record, its bounds in seconds, and its quirks. */
function placed(spans: SpanData[]): Array<[string, number, number, unknown]> {
  return spans.map((s) => {
    const id = s.subject.kind === 'run' ? `run${s.subject.synthesized ? ' (synthesized)' : ''}` : s.subject.kind === 'step' ? s.subject.stepId : `tool ${s.subject.toolCallKey}`;
    const start = s.startTime[0] + s.startTime[1] / 1e9;
    const end = s.endTime[0] + s.endTime[1] / 1e9;
    // The API's seconds say the same as the span's times.
    expect([s.attributes['assistants.api.start_seconds'], s.attributes['assistants.api.end_seconds']]).toEqual([start, end]);
    return [id, start, end, s.attributes['assistants.quirks']];
  });
}

describe('a step without time under a run that has one', () => {
  it("is placed at the run's created_at, zero-length, with time_unknown and why its times were dropped", () => {
    const spans = map({ run: run(), steps: [step({ id: 'step_timed' }), prismStep('step_prism')] });
    expect(placed(spans)).toEqual([
      ['run', T0, T0 + 10, undefined],
      ['step_prism', T0, T0, ['time_unknown', 'timestamp_out_of_range']],
      ['step_timed', T0 + 1, T0 + 2, undefined],
    ]);
    const prism = spans.find((s) => s.subject.kind === 'step' && s.subject.stepId === 'step_prism');
    expect(prism?.parentSpanId).toBe(spans[0]?.spanId);
  });

  it('its tool calls span it, and say their time is unknown too', () => {
    const spans = map({ run: run(), steps: [toolCallsStep([functionCall(), functionCall({ id: 'call_2' })], { created_at: 0, completed_at: null })] });
    expect(placed(spans)).toEqual([
      ['run', T0, T0 + 10, undefined],
      ['step_tools1', T0, T0, ['time_unknown', 'timestamp_out_of_range']],
      ['tool id:call_fn1', T0, T0, ['time_unknown']],
      ['tool id:call_2', T0, T0, ['time_unknown']],
    ]);
  });

  it("a run whose created_at is unusable places it at its own next time (started_at)", () => {
    const spans = map({ run: run({ created_at: 'soon' }), steps: [prismStep('step_prism')] });
    expect(placed(spans)).toEqual([
      ['run', T0 + 1, T0 + 10, ['start_time_missing', 'timestamp_invalid']],
      ['step_prism', T0 + 1, T0 + 1, ['time_unknown', 'timestamp_out_of_range']],
    ]);
  });

  it('a run with only an end time places it there', () => {
    const spans = map({ run: run({ created_at: null, started_at: null }), steps: [without(step({ id: 'step_bare' }), 'created_at', 'completed_at')] });
    expect(placed(spans)).toEqual([
      ['run', T0 + 10, T0 + 10, ['start_time_missing']],
      ['step_bare', T0 + 10, T0 + 10, ['time_unknown']],
    ]);
  });
});

describe('a step without time under a run without time, beside timed steps', () => {
  it("is placed at its siblings' earliest start; the run spans its steps", () => {
    const spans = map({
      run: untimedRun(),
      steps: [
        step({ id: 'step_b', created_at: T0 + 7, completed_at: T0 + 9 }),
        prismStep('step_c'),
        step({ id: 'step_a', created_at: T0 + 3, completed_at: T0 + 5 }),
      ],
    });
    expect(placed(spans)).toEqual([
      ['run', T0 + 3, T0 + 9, ['time_unknown', 'timestamp_negative']],
      ['step_a', T0 + 3, T0 + 5, undefined],
      ['step_c', T0 + 3, T0 + 3, ['time_unknown', 'timestamp_out_of_range']],
      ['step_b', T0 + 7, T0 + 9, undefined],
    ]);
  });

  it('a sibling still in progress counts: its created_at is a time of the run', () => {
    const spans = map({
      run: untimedRun(),
      steps: [step({ id: 'step_live', status: 'in_progress', created_at: T0 + 4, completed_at: null }), prismStep('step_done')],
    });
    expect(placed(spans)).toEqual([
      ['run', T0 + 4, T0 + 4, ['time_unknown', 'timestamp_negative']],
      ['step_done', T0 + 4, T0 + 4, ['time_unknown', 'timestamp_out_of_range']],
    ]);
  });

  it('without the run record: the synthesized run spans its steps, and needs no quirk of its own', () => {
    const spans = map({ steps: [prismStep('step_c'), step({ id: 'step_a', created_at: T0 + 3, completed_at: T0 + 5 })] });
    expect(placed(spans)).toEqual([
      ['run (synthesized)', T0 + 3, T0 + 5, undefined],
      ['step_a', T0 + 3, T0 + 5, undefined],
      ['step_c', T0 + 3, T0 + 3, ['time_unknown', 'timestamp_out_of_range']],
    ]);
  });
});

describe('a run without time, with timed steps', () => {
  it('a finished run: from its steps’ earliest start to their latest end', () => {
    const spans = map({
      run: without(run({ started_at: 0 }), 'created_at', 'completed_at'),
      steps: [step({ id: 'step_a', created_at: T0 + 3, completed_at: T0 + 5 }), step({ id: 'step_b', created_at: T0 + 4, completed_at: T0 + 8 })],
    });
    expect(placed(spans)).toEqual([
      ['run', T0 + 3, T0 + 8, ['time_unknown', 'timestamp_out_of_range']],
      ['step_a', T0 + 3, T0 + 5, undefined],
      ['step_b', T0 + 4, T0 + 8, undefined],
    ]);
    // No run-started event: the run has no started_at to show.
    expect(spans[0]?.events).toEqual([]);
  });

  it('an unfinished run (one-shot imports): from its steps’ earliest start to its last known activity', () => {
    const spans = map(
      {
        run: runInProgress({ created_at: null, started_at: null }),
        steps: [step({ id: 'step_a', created_at: T0 + 3, completed_at: T0 + 5 }), step({ id: 'step_live', status: 'in_progress', created_at: T0 + 6, completed_at: null })],
      },
      { unfinishedRunSpans: true },
    );
    expect(placed(spans)).toEqual([
      ['run', T0 + 3, T0 + 6, ['time_unknown']],
      ['step_a', T0 + 3, T0 + 5, undefined],
    ]);
    expect(spans[0]?.attributes['assistants.run.unfinished']).toBe(true);
  });
});

describe('nothing in the whole run has a usable time', () => {
  const PLACEHOLDER = 1_420_070_400; // 2015-01-01T00:00:00Z

  it('every span sits at the placeholder instant, 2015-01-01T00:00:00Z, marked time_placeholder', () => {
    expect(UNKNOWN_TIME_SECONDS).toBe(PLACEHOLDER);
    const spans = map({ run: untimedRun(), steps: [prismStep('step_b'), prismStep('step_a')] });
    const prism = ['time_placeholder', 'time_unknown', 'timestamp_out_of_range'];
    expect(placed(spans)).toEqual([
      ['run', PLACEHOLDER, PLACEHOLDER, ['time_placeholder', 'time_unknown', 'timestamp_negative']],
      ['step_a', PLACEHOLDER, PLACEHOLDER, prism],
      ['step_b', PLACEHOLDER, PLACEHOLDER, prism],
    ]);
  });

  it('a run alone, with no steps', () => {
    expect(placed(map({ run: untimedRun() }))).toEqual([['run', PLACEHOLDER, PLACEHOLDER, ['time_placeholder', 'time_unknown', 'timestamp_negative']]]);
  });

  it('steps alone: the synthesized run says why it is there too', () => {
    expect(placed(map({ steps: [prismStep('step_a')] }))).toEqual([
      ['run (synthesized)', PLACEHOLDER, PLACEHOLDER, [QUIRK_TIME_PLACEHOLDER, 'time_unknown']],
      ['step_a', PLACEHOLDER, PLACEHOLDER, ['time_placeholder', 'time_unknown', 'timestamp_out_of_range']],
    ]);
  });

  it('an unfinished run with a finished untimed step', () => {
    const spans = map({ run: runInProgress({ created_at: 0, started_at: null, expires_at: null }), steps: [prismStep('step_a')] }, { unfinishedRunSpans: true });
    expect(placed(spans)).toEqual([
      ['run', PLACEHOLDER, PLACEHOLDER, ['time_placeholder', 'time_unknown', 'timestamp_out_of_range']],
      ['step_a', PLACEHOLDER, PLACEHOLDER, ['time_placeholder', 'time_unknown', 'timestamp_out_of_range']],
    ]);
  });
});

describe('records built by hand (not validated) get the same placement', () => {
  it('a step whose times are NaN and null is placed at its run, not thrown', () => {
    const handBuilt = { ...validStep(step()), created_at: Number.NaN, completed_at: null } as RunStep;
    const spans = mapRunToSpans({ runId: IDS.run, run: validRun(run()), steps: [handBuilt] });
    expect(placed(spans)).toEqual([
      ['run', T0, T0 + 10, undefined],
      [IDS.step, T0, T0, ['time_unknown', 'timestamp_not_finite']],
    ]);
  });

  it('is deterministic: the same records give the same spans', () => {
    const record = (): RunRecord => ({ runId: IDS.run, run: validRun(untimedRun()), steps: [validStep(prismStep('step_a'))] });
    expect(mapRunToSpans(record())).toEqual(mapRunToSpans(record()));
  });
});

describe('runStartOf: where a run is placed, for ordering runs', () => {
  it.each<[string, RunRecord, number | undefined]>([
    ['its created_at', { runId: IDS.run, run: validRun(run()), steps: [] }, T0],
    ['its steps when it has no time', { runId: IDS.run, run: validRun(untimedRun()), steps: [validStep(step({ created_at: T0 + 4 }))] }, T0 + 4],
    ['its steps when there is no run record', { runId: IDS.run, steps: [validStep(step({ created_at: T0 + 4 })), validStep(prismStep('step_p'))] }, T0 + 4],
    ['undefined when nothing has a time', { runId: IDS.run, run: validRun(untimedRun()), steps: [validStep(prismStep('step_p'))] }, undefined],
  ])('%s', (_name, record, expected) => {
    expect(runStartOf(record)).toBe(expected);
  });
});
