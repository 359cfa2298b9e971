/**
 * The validation boundary (README "Records we accept"): a record is rejected only when it cannot be
 * placed (not an object, no `id`, no usable `created_at`, a step without `run_id`), with the field path
 * at fault; any other malformed field is dropped with a warning naming its path; unknown fields and
 * unknown types are carried through.
 */
import { describe, expect, it } from 'vitest';
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
    ['no created_at', without(run(), 'created_at'), 'created_at'],
    ['a null created_at', run({ created_at: null }), 'created_at'],
    ['a negative created_at', run({ created_at: -28450271 }), 'created_at'],
    ['created_at as a string', run({ created_at: '1710330640' }), 'created_at'],
  ];

  it.each(cases)('a run with %s is rejected at `%s`', (_name, raw, path) => {
    const result = validateRun(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(paths(result.issues)).toEqual([path]);
    expect(result.issues[0]!.message).not.toBe('');
  });

  it.each([
    ...cases.map(([name, raw, path]) => [name, { ...step(), id: raw['id'], created_at: raw['created_at'] }, path] as [string, Json, string]),
    ['no run_id', without(step(), 'run_id'), 'run_id'],
    ['a null run_id', step({ run_id: null }), 'run_id'],
  ])('a step with %s is rejected at `%s`', (_name, raw, path) => {
    for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
    const result = validateRunStep(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(paths(result.issues)).toEqual([path]);
  });

  it('names every missing placement field at once', () => {
    const result = validateRunStep(without(step(), 'id', 'created_at', 'run_id'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(paths(result.issues).sort()).toEqual(['created_at', 'id', 'run_id']);
  });

  it('accepts created_at 0 and a fractional created_at (non-negative seconds)', () => {
    expect(validateRun(run({ created_at: 0 })).ok).toBe(true);
    expect(validateRun(run({ created_at: T0 + 0.5 })).ok).toBe(true);
  });
});

describe('malformed fields: dropped with a warning naming the path; the rest of the record is kept', () => {
  it.each<[string, Json, string]>([
    ['temperature as a string', run({ temperature: 'hot' }), 'temperature'],
    ['status as a number', run({ status: 3 }), 'status'],
    ['metadata as a string', run({ metadata: 'k=v' }), 'metadata'],
    ['completed_at as a string', run({ completed_at: '2024-03-13' }), 'completed_at'],
    ['a negative failed_at', run({ failed_at: -1 }), 'failed_at'],
    ['last_error as a string', run({ last_error: 'boom' }), 'last_error'],
    ['model as a number', run({ model: 4 }), 'model'],
  ])('a run with %s', (_name, raw, path) => {
    const result = validateRun(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual([path]);
    expect(result.value).toEqual(without(raw, path));
  });

  it('a run with a negative token count: warning at usage.prompt_tokens, usage dropped', () => {
    const raw = run({ usage: { prompt_tokens: -1, completion_tokens: 11, total_tokens: 10 } });
    const result = validateRun(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual(['usage.prompt_tokens']);
    expect(result.value).toEqual(without(raw, 'usage'));
  });

  it.each<[string, Json, string]>([
    ['usage as a string', step({ usage: 'lots' }), 'usage'],
    ['type as a number', step({ type: 1 }), 'type'],
    ['expired_at as a string', step({ expired_at: 'never' }), 'expired_at'],
  ])('a step with %s', (_name, raw, path) => {
    const result = validateRunStep(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(paths(result.warnings)).toEqual([path]);
    expect(result.value).toEqual(without(raw, path));
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
