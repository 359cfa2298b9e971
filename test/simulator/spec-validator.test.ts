// The validator must have teeth before its silence means anything: it is tried here on the spec's
// own examples and on records broken in known ways.
import { describe, expect, it } from 'vitest';
import { SpecValidator } from './spec-validator.js';

const validator = new SpecValidator();

const goodStep = {
  id: 'step_abc123',
  object: 'thread.run.step',
  created_at: 1699063291,
  run_id: 'run_abc123',
  assistant_id: 'asst_abc123',
  thread_id: 'thread_abc123',
  type: 'tool_calls',
  status: 'completed',
  cancelled_at: null,
  completed_at: 1699063291,
  expired_at: null,
  failed_at: null,
  last_error: null,
  step_details: { type: 'tool_calls', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}', output: null } }] },
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  metadata: {},
};

describe('SpecValidator', () => {
  it('accepts a well-formed step and the spec’s own run example (with nullable fields null)', () => {
    expect(validator.validate(goodStep, 'RunStepObject')).toEqual([]);
    const runExample = {
      id: 'run_abc123', object: 'thread.run', created_at: 1698107661, assistant_id: 'asst_abc123', thread_id: 'thread_abc123', status: 'completed',
      started_at: 1699073476, expires_at: null, cancelled_at: null, failed_at: null, completed_at: 1699073498, last_error: null, model: 'gpt-4o',
      instructions: 'x', tools: [{ type: 'file_search' }, { type: 'code_interpreter' }], metadata: {}, incomplete_details: null,
      usage: { prompt_tokens: 123, completion_tokens: 456, total_tokens: 579 }, temperature: 1.0, top_p: 1.0, max_prompt_tokens: 1000,
      max_completion_tokens: 1000, truncation_strategy: { type: 'auto', last_messages: null }, response_format: 'auto', tool_choice: 'auto',
      parallel_tool_calls: true, required_action: null,
    };
    expect(validator.validate(runExample, 'RunObject')).toEqual([]);
  });

  it('reports the JSON path of every violation', () => {
    const bad = {
      ...goodStep,
      created_at: undefined,
      status: 'paused',
      usage: { prompt_tokens: 1.5, completion_tokens: 2, total_tokens: 3 },
      step_details: { type: 'tool_calls', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 42, arguments: '{}', output: null } }] },
    };
    delete (bad as Record<string, unknown>)['created_at']; // a required field goes missing
    const paths = validator.validate(bad, 'RunStepObject').map((v) => v.path);
    expect(paths).toContain('$.created_at');
    expect(paths).toContain('$.status');
    expect(paths).toContain('$.usage.prompt_tokens');
    expect(paths).toContain('$.step_details.tool_calls[0].function.name');
  });

  it('rejects what the spec rejects: unknown step types, unknown tool calls, null where not nullable, out-of-range scores', () => {
    const activities = { ...goodStep, type: 'activities', step_details: { type: 'activities', activities: [] } };
    expect(validator.validate(activities, 'RunStepObject').map((v) => v.path)).toEqual(expect.arrayContaining(['$.type', '$.step_details']));
    const bing = { ...goodStep, step_details: { type: 'tool_calls', tool_calls: [{ id: 'c', type: 'bing_grounding', bing_grounding: {} }] } };
    expect(validator.validate(bing, 'RunStepObject').some((v) => v.path === '$.step_details.tool_calls[0]')).toBe(true);
    expect(validator.validate({ object: 'list', data: [], first_id: null, last_id: null, has_more: false }, 'ListRunStepsResponse').map((v) => v.path)).toEqual(['$.first_id', '$.last_id']);
    const score = { ...goodStep, step_details: { type: 'tool_calls', tool_calls: [{ id: 'c', type: 'file_search', file_search: { results: [{ file_id: 'f', file_name: 'n', score: 1.5 }] } }] } };
    expect(validator.validate(score, 'RunStepObject').some((v) => v.path === '$.step_details.tool_calls[0].file_search.results[0].score')).toBe(true);
  });

  it('refuses to validate with a keyword it does not implement', () => {
    const custom = new SpecValidator();
    (custom as unknown as { schemas: Record<string, unknown> }).schemas['X'] = { type: 'string', pattern: '^a' }; // reach in to plant a test schema
    expect(() => custom.validate('b', 'X')).toThrow(/unsupported keyword "pattern"/);
  });
});
