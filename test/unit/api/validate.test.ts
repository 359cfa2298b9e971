/**
 * The validation boundary (README "Records we accept"): a record is rejected only when it cannot be
 * placed (not an object, no `id`, a step without `run_id`), with the field path at fault; time never
 * rejects a record (one without any usable time is kept, warned about and marked `time_unknown`);
 * any other malformed field is dropped with a warning naming its path; unknown fields and unknown
 * types are carried through.
 */
import { describe, expect, it } from 'vitest';
import { deeperThan, DEPTH_CUT_MARKER, MAX_NESTING_DEPTH } from '../../../src/api/depth.js';
import { RECORD_QUIRKS, recordQuirks } from '../../../src/api/quirks.js';
import { recordKind, validateListEnvelope, validateRun, validateRunStep, type Issue } from '../../../src/api/validate.js';
import {
  T0,
  activitiesStep,
  bingGroundingCall,
  codeInterpreterCall,
  event,
  fileSearchCall,
  functionCall,
  list,
  message,
  run,
  step,
  streamedStep,
  thread,
  toolCallsStep,
  without,
  type Json,
} from '../../fixtures/records.js';

const paths = (issues: Issue[]) => issues.map((i) => i.path);

describe('well-formed records', () => {
  it('accepts the spec example run as it is, with no warnings', () => {
    const raw = run();
    expect(validateRun(raw)).toEqual({ ok: true, value: raw, warnings: [] });
  });

  it.each([
    ['message_creation step', step()],
    ['tool_calls step with every known tool call type', toolCallsStep([functionCall(), codeInterpreterCall(), fileSearchCall()])],
  ])('accepts a %s as it is, with no warnings', (_name, raw) => {
    expect(validateRunStep(raw)).toEqual({ ok: true, value: raw, warnings: [] });
  });

  it('keeps unknown extra fields, at every level', () => {
    const raw = toolCallsStep([functionCall({ x_trace: 'abc' }, { x_latency_ms: 12 })], { x_region: 'eastus', x_nested: { a: [1, 2] } });
    const result = validateRunStep(raw);
    expect(result).toEqual({ ok: true, value: raw, warnings: [] });
  });

  it('does not change the input object', () => {
    const raw = run({ temperature: 'hot' });
    const copy = structuredClone(raw);
    validateRun(raw);
    expect(raw).toEqual(copy);
  });
});

describe("the spec's quirks (facts §7) are accepted without warnings", () => {
  it.each<[string, () => { ok: boolean; warnings?: Issue[] }]>([
    ['`assistant.run.step` as object (stale 2023 enum)', () => validateRunStep(step({ object: 'assistant.run.step' }))],
    ['`expires_at` instead of `expired_at` on a step (D1)', () => validateRunStep(streamedStep())],
    ['a step without metadata (D2)', () => validateRunStep(without(step(), 'metadata'))],
    ['a step with null metadata and null usage', () => validateRunStep(step({ metadata: null, usage: null, status: 'in_progress' }))],
    ['a run with null instructions (D5)', () => validateRun(run({ instructions: null }))],
    ['a run with extra tool_resources (D6)', () => validateRun(run({ tool_resources: { file_search: { vector_store_ids: ['vs_1'] } } }))],
    ['the `auto` file-search ranker (D8)', () => validateRunStep(toolCallsStep([fileSearchCall({}, { ranking_options: { ranker: 'auto', score_threshold: 0 } })]))],
    ['a file_search call that is an empty object (D8)', () => validateRunStep(toolCallsStep([fileSearchCall({}, {})]))],
    ['a run with 3.0-style nulls (D4)', () => validateRun(run({ required_action: null, last_error: null, incomplete_details: null, truncation_strategy: null, tool_choice: null, response_format: null, temperature: null, top_p: null }))],
    ['a last_error code from the run set on a step (D3)', () => validateRunStep(step({ status: 'failed', last_error: { code: 'invalid_prompt', message: 'flagged' } }))],
  ])('%s', (_name, validate) => {
    const result = validate();
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it('accepts an empty list envelope with null first_id/last_id (D9)', () => {
    expect(validateListEnvelope({ object: 'list', data: [], first_id: null, last_id: null, has_more: false }).ok).toBe(true);
  });
});

describe('open strings: unknown types and statuses are carried through', () => {
  it('an unknown step type (Azure `activities`) keeps its details', () => {
    const raw = activitiesStep();
    expect(validateRunStep(raw)).toEqual({ ok: true, value: raw, warnings: [] });
  });

  it('an unknown tool call type (`bing_grounding`) keeps its body', () => {
    const raw = toolCallsStep([bingGroundingCall()]);
    expect(validateRunStep(raw)).toEqual({ ok: true, value: raw, warnings: [] });
  });

  it('an unknown code interpreter output type is kept', () => {
    const raw = toolCallsStep([codeInterpreterCall({}, [{ type: 'chart', chart: { file_id: 'file-c1' } }])]);
    expect(validateRunStep(raw)).toEqual({ ok: true, value: raw, warnings: [] });
  });

  it.each([
    ['step status', () => validateRunStep(step({ status: 'superseded' }))],
    ['run status', () => validateRun(run({ status: 'archived' }))],
    ['error code', () => validateRun(run({ status: 'failed', last_error: { code: 'content_filter', message: 'filtered' } }))],
    ['incomplete reason', () => validateRun(run({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } }))],
  ])('an unknown %s is kept', (_name, validate) => {
    const result = validate();
    expect(result.ok).toBe(true);
    expect(result.ok && result.warnings).toEqual([]);
  });
});

describe('rejected records: they cannot be placed, and the error names the field', () => {
  it.each([
    ['null', null],
    ['a number', 42],
    ['a string', 'run_abc123'],
    ['an array', [run()]],
  ])('not an object (%s)', (_name, raw) => {
    for (const result of [validateRun(raw), validateRunStep(raw)]) {
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(paths(result.issues)).toEqual(['']);
      expect(result.issues[0]!.message).toMatch(/object/);
    }
  });

  const cases: [string, Json, string][] = [
    ['no id', without(run(), 'id'), 'id'],
    ['an empty id', run({ id: '' }), 'id'],
    ['a numeric id', run({ id: 123 }), 'id'],
  ];

  it.each(cases)('a run with %s is rejected at `%s`', (_name, raw, path) => {
    const result = validateRun(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(paths(result.issues)).toEqual([path]);
    expect(result.issues[0]!.message).not.toBe('');
  });

  it.each([
    ['no id', without(step(), 'id'), 'id'],
    ['no run_id', without(step(), 'run_id'), 'run_id'],
    ['a null run_id', step({ run_id: null }), 'run_id'],
  ])('a step with %s is rejected at `%s`', (_name, raw, path) => {
    const result = validateRunStep(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(paths(result.issues)).toEqual([path]);
  });

  it('names every missing placement field at once, and never a time', () => {
    const result = validateRunStep(without(step(), 'id', 'created_at', 'completed_at', 'run_id'));
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: 'id', message: 'required to place the record in a trace, but missing' },
        { path: 'run_id', message: 'required to place the record in a trace, but missing' },
      ],
    });
  });
});

describe('no usable time at all: kept, with a warning naming the field and the quirk time_unknown', () => {
  /** The record's data as JSON sees it (the quirks, under a symbol, are checked on their own). */
  const data = (value: object) => JSON.parse(JSON.stringify(value)) as Json;

  it('the message says why created_at was dropped and how the step is placed', () => {
    const raw = step({ created_at: -5, completed_at: null });
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(data(result.value)).toEqual(without(raw, 'created_at'));
    expect(result.value).not.toHaveProperty('created_at');
    expect(result.warnings).toEqual([{ path: 'created_at', message: "-5 is negative, and no other usable timestamp: the record is kept and placed at its run's start" }]);
    expect(recordQuirks(result.value)).toEqual(['time_unknown', 'timestamp_negative']);
  });

  it.each<[string, Json, string[], string[]]>([
    ['no timestamp at all', without(step(), 'created_at', 'completed_at'), ['created_at'], ['time_unknown']],
    ['a null created_at', step({ created_at: null, completed_at: null }), ['created_at'], ['time_unknown']],
    // The Prism mock's static placeholders: every time is 0.
    [
      'only zero placeholders (Prism)',
      step({ created_at: 0, completed_at: 0, failed_at: 0, cancelled_at: 0, expired_at: 0 }),
      ['completed_at', 'failed_at', 'cancelled_at', 'expired_at', 'created_at'],
      ['time_unknown', 'timestamp_out_of_range'],
    ],
  ])('a step with %s', (_name, raw, warned, quirks) => {
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // Every unusable time is dropped (a null end is kept: null is what the protocol sends).
    const dropped = warned.filter((field) => raw[field] !== null);
    expect(data(result.value)).toEqual(without(raw, 'created_at', ...dropped));
    expect(paths(result.warnings)).toEqual(warned);
    expect(result.warnings.at(-1)!.message).toMatch(/, and no other usable timestamp: the record is kept and placed at its run's start$/);
    expect(recordQuirks(result.value)).toEqual(quirks);
  });

  it.each<[string, Json, string[], string[]]>([
    ['no timestamp at all', without(run(), 'created_at', 'started_at', 'completed_at'), [], ['time_unknown']],
    [
      'only unusable timestamps',
      run({ created_at: -28450271, started_at: 0, completed_at: 'later' }),
      ['started_at', 'completed_at'],
      ['time_unknown', 'timestamp_invalid', 'timestamp_negative', 'timestamp_out_of_range'],
    ],
  ])('a run with %s is kept; its steps will place it', (_name, raw, dropped, quirks) => {
    const result = validateRun(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(data(result.value)).toEqual(without(raw, 'created_at', ...dropped));
    expect(paths(result.warnings)).toEqual([...dropped, 'created_at']);
    expect(result.warnings.at(-1)!.message).toMatch(/, and no other usable timestamp: the record is kept and placed by its steps' times$/);
    expect(recordQuirks(result.value)).toEqual(quirks);
  });
});

describe('timestamps as servers send them (README "Time rules")', () => {
  const MS = T0 * 1000;

  it.each<[string, unknown, number, string[]]>([
    ['whole seconds', T0, T0, []],
    ['fractional seconds', T0 + 0.5, T0 + 0.5, []],
    ['milliseconds', MS + 250, T0 + 0.25, ['timestamp_milliseconds']],
    ['microseconds', MS * 1000 + 250_000, T0 + 0.25, ['timestamp_microseconds']],
    ['nanoseconds', MS * 1e6, T0, ['timestamp_nanoseconds']],
    ['a numeric string', String(T0), T0, ['timestamp_string']],
    ['an ISO date string', new Date(T0 * 1000).toISOString(), T0, ['timestamp_string']],
  ])('created_at in %s is read as seconds, with the quirk on the record', (_name, value, seconds, quirks) => {
    const result = validateRun(run({ created_at: value }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.created_at).toBeCloseTo(seconds, 6);
    expect(recordQuirks(result.value)).toEqual(quirks);
    expect(result.warnings).toEqual([]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['negative', -28450271, 'timestamp_negative', /-28450271 is negative/],
    ['zero (a placeholder)', 0, 'timestamp_out_of_range', /outside 2015-01-01\.\.2100-01-01/],
    ['before 2015', 1_000_000_000, 'timestamp_out_of_range', /outside/],
    ['after 2100 even as milliseconds', 8.64e13 * 100, 'timestamp_out_of_range', /even read as microseconds/],
    ['absurd (1e300)', 1e300, 'timestamp_out_of_range', /too large/],
    ['not finite (1e400 in the JSON text)', JSON.parse('1e400') as number, 'timestamp_not_finite', /not a finite number/],
    ['not a time', 'soon', 'timestamp_invalid', /"soon" is not a time/],
    ['an object', { seconds: T0 }, 'timestamp_invalid', /an object is not a time/],
  ])('an unusable created_at (%s) is dropped, and the run placed at its started_at', (_name, value, quirk, why) => {
    const result = validateRun(run({ created_at: value }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.created_at).toBe(T0 + 1); // started_at
    expect(recordQuirks(result.value)).toEqual(expect.arrayContaining([quirk, 'start_time_missing']));
    expect(result.warnings).toEqual([{ path: 'created_at', message: expect.stringMatching(why) }]);
    expect(result.warnings[0]!.message).toMatch(/placed at its started_at instead$/);
  });

  it('a step without created_at is placed at its earliest end timestamp', () => {
    const result = validateRunStep(without(step({ completed_at: T0 + 9, failed_at: T0 + 5 }), 'created_at'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.created_at).toBe(T0 + 5);
    expect(recordQuirks(result.value)).toEqual(['start_time_missing']);
    expect(result.warnings).toEqual([{ path: 'created_at', message: 'missing: the record is placed at its failed_at instead' }]);
  });

  it('every timestamp field is read the same way; expires_at too, but it never places a record', () => {
    const raw = run({ created_at: MS, started_at: MS + 1000, completed_at: MS + 10_000, expires_at: MS + 600_000 });
    const result = validateRun(raw);
    expect(result.ok && [result.value.created_at, result.value.started_at, result.value.completed_at, result.value.expires_at]).toEqual([T0, T0 + 1, T0 + 10, T0 + 600]);
    const deadlineOnly = validateRun(without(run({ created_at: null, started_at: null, completed_at: null, expires_at: T0 }), 'created_at'));
    expect(deadlineOnly.ok && [deadlineOnly.value.created_at, deadlineOnly.value.expires_at, recordQuirks(deadlineOnly.value)]).toEqual([undefined, T0, ['time_unknown']]);
  });

  it('the quirks are invisible to JSON and kept by object spread', () => {
    const result = validateRun(run({ created_at: MS }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(JSON.parse(JSON.stringify(result.value)).created_at).toBe(T0);
    expect(Object.keys(result.value)).not.toContain(String(RECORD_QUIRKS));
    expect(recordQuirks({ ...result.value, metadata: {} })).toEqual(['timestamp_milliseconds']);
  });
});

describe('usage in every known shape', () => {
  it('keeps every count and detail, and unknown keys, as they came', () => {
    const usage = {
      input_tokens: 120,
      output_tokens: 30,
      total_tokens: 150,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens_details: { reasoning_tokens: 12 },
      prompt_tokens_details: { cached_tokens: 100, audio_tokens: 0 },
      x_vendor_cost: 0.0042,
    };
    expect(validateRun(run({ usage }))).toEqual({ ok: true, value: run({ usage }), warnings: [] });
  });

  it('a bad count drops only itself', () => {
    const raw = run({ usage: { prompt_tokens: -1, completion_tokens: 11, total_tokens: 10.5, completion_tokens_details: { reasoning_tokens: 'many', audio_tokens: 2 } } });
    const result = validateRun(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['usage.prompt_tokens', 'usage.total_tokens', 'usage.completion_tokens_details.reasoning_tokens']);
    expect(result.value.usage).toEqual({ completion_tokens: 11, completion_tokens_details: { audio_tokens: 2 } });
  });

  it('a details object that is not an object is dropped with a warning; usage that is not an object too', () => {
    const bad = validateRun(run({ usage: { prompt_tokens: 1, prompt_tokens_details: 7 } }));
    expect(bad.ok && [paths(bad.warnings), bad.value.usage]).toEqual([['usage.prompt_tokens_details'], { prompt_tokens: 1 }]);
    const notObject = validateRun(run({ usage: 'lots' }));
    expect(notObject.ok && paths(notObject.warnings)).toEqual(['usage']);
  });
});

describe('nesting depth is bounded (MAX_NESTING_DEPTH)', () => {
  function nested(depth: number): unknown {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  }

  it('a value 20,000 levels deep is cut at the limit, with a warning and a quirk; the rest of the record is kept', () => {
    const raw = toolCallsStep([bingGroundingCall({ bing_grounding: nested(20_000) }), functionCall()], { x_deep: nested(20_000) });
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings).toEqual([{ path: expect.stringMatching(/^(x_deep|step_details)/), message: `nested deeper than ${MAX_NESTING_DEPTH} levels: cut (2 values cut)` }]);
    expect(recordQuirks(result.value)).toEqual(['nesting_depth_cut']);
    expect(() => JSON.stringify(result.value)).not.toThrow();
    expect(deeperThan(result.value, MAX_NESTING_DEPTH)).toBe(false);
    const calls = (result.value.step_details as { tool_calls: Json[] }).tool_calls;
    expect(calls[1]).toEqual(functionCall());
    // The cut value is a marker, exactly at the limit.
    let cursor: unknown = result.value['x_deep' as keyof typeof result.value];
    let depth = 1;
    while (typeof cursor === 'object' && cursor !== null) {
      cursor = (cursor as { a: unknown }).a;
      depth++;
    }
    expect([cursor, depth]).toEqual([DEPTH_CUT_MARKER, MAX_NESTING_DEPTH + 1]);
  });

  it('a record at the limit is left alone (no copy, no warning)', () => {
    const raw = step({ x_deep: nested(MAX_NESTING_DEPTH - 1) });
    const result = validateRunStep(raw);
    expect(result.ok && result.warnings).toEqual([]);
    expect(result.ok && recordQuirks(result.value)).toEqual([]);
  });

  it('a key named __proto__ in a deep record stays data', () => {
    const raw = JSON.parse(`{"id":"step_p","object":"thread.run.step","run_id":"run_p","created_at":${T0},"x":{"__proto__":{"polluted":true},"deep":${JSON.stringify(nested(70))}}}`) as Json;
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const x = (result.value as unknown as { x: Record<string, unknown> }).x;
    expect(Object.getPrototypeOf(x)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(x, '__proto__')?.value).toEqual({ polluted: true });
  });
});

describe('malformed fields: dropped with a warning naming the path; the rest of the record is kept', () => {
  it.each<[string, Json, string]>([
    ['temperature as a string', run({ temperature: 'hot' }), 'temperature'],
    ['status as a number', run({ status: 3 }), 'status'],
    ['metadata as a string', run({ metadata: 'k=v' }), 'metadata'],
    ['last_error as a string', run({ last_error: 'boom' }), 'last_error'],
    ['model as a number', run({ model: 4 }), 'model'],
  ])('a run with %s', (_name, raw, path) => {
    const result = validateRun(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual([path]);
    expect(result.value).toEqual(without(raw, path));
  });

  it.each<[string, Json, string, string]>([
    ['completed_at that is not a time', run({ completed_at: 'soon' }), 'completed_at', 'timestamp_invalid'],
    ['a negative failed_at', run({ failed_at: -1 }), 'failed_at', 'timestamp_negative'],
  ])('a run with %s: dropped with a warning, the quirk recorded', (_name, raw, path, quirk) => {
    const result = validateRun(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual([path]);
    expect(result.value).toEqual({ ...without(raw, path), [RECORD_QUIRKS]: [quirk] });
  });

  it.each<[string, Json, string]>([
    ['usage as a string', step({ usage: 'lots' }), 'usage'],
    ['type as a number', step({ type: 1 }), 'type'],
  ])('a step with %s', (_name, raw, path) => {
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual([path]);
    expect(result.value).toEqual(without(raw, path));
  });

  it('a code interpreter image output with `image: null`: a warning at its path, the call kept as code_interpreter', () => {
    const raw = toolCallsStep([codeInterpreterCall({}, [{ type: 'logs', logs: 'ok' }, { type: 'image', image: null }])]);
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings).toEqual([{ path: 'step_details.tool_calls[0].code_interpreter.outputs[1].image', message: expect.stringMatching(/\(output kept, not read\)$/) }]);
    expect(result.value).toEqual(raw);
  });

  it('a function call whose name is a number: warning at its path, the call kept (as a generic one)', () => {
    const bad = { id: 'call_bad', type: 'function', function: { name: 42, arguments: '{}', output: null } };
    const raw = toolCallsStep([functionCall(), bad]);
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['step_details.tool_calls[1].function.name']);
    expect(result.value).toEqual(raw);
  });

  it('a code interpreter call without outputs: warning at its path, the call kept', () => {
    const raw = toolCallsStep([{ id: 'call_ci', type: 'code_interpreter', code_interpreter: { input: 'print(1)' } }]);
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['step_details.tool_calls[0].code_interpreter.outputs']);
    expect(result.value).toEqual(raw);
  });

  it('a tool call without a type: warning at its type, the call kept', () => {
    const raw = toolCallsStep([{ id: 'call_x', function: { name: 'f', arguments: '{}', output: null } }, functionCall()]);
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['step_details.tool_calls[0].type']);
    const calls = (result.value.step_details as { tool_calls: Json[] }).tool_calls;
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ id: 'call_x' });
  });

  it.each<[string, unknown]>([
    ['a string', 'call_2'],
    ['a number', 2],
    ['null', null],
    ['an array', [{ id: 'call_2' }]],
  ])('a tool call that is %s: warning at its path, kept in its place as an `unknown` call, its siblings kept', (_name, entry) => {
    const raw = toolCallsStep([functionCall(), entry, functionCall({ id: 'call_3' })]);
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings).toEqual([
      { path: 'step_details.tool_calls[1]', message: expect.stringMatching(/ \(kept as an `unknown` tool call\)$/) },
    ]);
    // Later calls keep their raw positions: the entry is replaced, in place, by a generic call holding it.
    expect(result.value).toEqual(toolCallsStep([functionCall(), { type: 'unknown', value: entry }, functionCall({ id: 'call_3' })]));
  });

  it('message_creation details without message_id: warning at its path, the step kept', () => {
    const raw = step({ step_details: { type: 'message_creation', message_creation: {} } });
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['step_details.message_creation.message_id']);
    expect(result.value.id).toBe(raw['id']);
  });

  it('step_details that is not an object: warning at step_details, field dropped', () => {
    const raw = step({ step_details: 'message_creation' });
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['step_details']);
    expect(result.value).toEqual(without(raw, 'step_details'));
  });

  it('every warning has a message', () => {
    const result = validateRun(run({ temperature: 'hot', usage: 'x' }));
    expect(result.ok && result.warnings.every((w) => w.message.length > 0)).toBe(true);
  });
});

describe('recordKind', () => {
  it.each<[string, unknown, string]>([
    ['a run', run(), 'run'],
    ['a step', step(), 'step'],
    ['a step with the stale object `assistant.run.step`', step({ object: 'assistant.run.step' }), 'step'],
    ['a list envelope', list([step()]), 'list'],
    ['a list envelope without object', without(list([step()]), 'object'), 'list'],
    ['a saved stream event', event('thread.run.step.completed', step()), 'event'],
    ['a step without object', without(step(), 'object'), 'step'],
    ['a run without object', without(run(), 'object'), 'run'],
    ['a message', message(), 'other'],
    ['a thread', thread(), 'other'],
    ['a vector store (any other string `object`)', { id: 'vs_abc123', object: 'vector_store', created_at: T0 }, 'other'],
    ['a record of a kind not invented yet', { id: 'x_1', object: 'some.future.kind' }, 'other'],
    ['an object without `object`, `run_id`, `step_details` or a `run_` id', { id: 'abc', created_at: T0 }, 'unknown'],
    ['not an object', 'thread.run', 'unknown'],
  ])('%s → %s', (_name, value, kind) => {
    expect(recordKind(value)).toBe(kind);
  });
});
