/**
 * The mapping of records as real servers send them: usage shapes, Azure tool call types, unfinished
 * runs, quirks from the validation boundary, and values OTLP cannot carry. Attribute maps whole.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { MappingError } from '../../../src/mapping/errors.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { toHrTime } from '../../../src/mapping/time.js';
import type { MappingOptions, RunRecord, SpanData } from '../../../src/mapping/types.js';
import type { Run, RunStep } from '../../../src/api/schemas.js';
import { IDS, T0, run, runInProgress, step, toolCallsStep, validRun, validStep, type Json } from '../../fixtures/records.js';

function map(input: { run?: Json; steps?: Json[] }, options?: MappingOptions): SpanData[] {
  const runRecord = input.run ? validRun(input.run) : undefined;
  return mapRunToSpans({ runId: runRecord?.id ?? IDS.run, run: runRecord, steps: (input.steps ?? []).map(validStep) }, options);
}

const stepSpan = (spans: SpanData[]) => spans.find((s) => s.subject.kind === 'step') as SpanData;
const runSpan = (spans: SpanData[]) => spans.find((s) => s.subject.kind === 'run') as SpanData;
const toolSpans = (spans: SpanData[]) => spans.filter((s) => s.subject.kind === 'tool_call');
const usageOf = (span: SpanData) => Object.fromEntries(Object.entries(span.attributes).filter(([k]) => k.includes('usage')));

describe('usage in every known shape', () => {
  it.each<[string, Json, Record<string, number>]>([
    ['the spec: prompt/completion/total', { prompt_tokens: 20, completion_tokens: 11, total_tokens: 31 }, { 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 11, 'assistants.usage.total_tokens': 31 }],
    ['no total: the sum', { prompt_tokens: 20, completion_tokens: 11 }, { 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 11, 'assistants.usage.total_tokens': 31 }],
    ['Responses API: input/output', { input_tokens: 5, output_tokens: 3 }, { 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 3, 'assistants.usage.total_tokens': 8 }],
    ['only a total', { total_tokens: 42 }, { 'assistants.usage.total_tokens': 42 }],
    ['only input', { input_tokens: 9 }, { 'gen_ai.usage.input_tokens': 9 }],
    [
      'cached and reasoning details (Chat Completions)',
      { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, prompt_tokens_details: { cached_tokens: 64 }, completion_tokens_details: { reasoning_tokens: 32 } },
      {
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 50,
        'assistants.usage.total_tokens': 150,
        'gen_ai.usage.cache_read.input_tokens': 64,
        'gen_ai.usage.reasoning.output_tokens': 32,
      },
    ],
    [
      'both families at once, disagreeing: the spec keys win, the others are kept',
      { prompt_tokens: 100, completion_tokens: 50, input_tokens: 90, output_tokens: 50, input_tokens_details: { cached_tokens: 10 }, prompt_tokens_details: { cached_tokens: 12 } },
      {
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 50,
        'assistants.usage.total_tokens': 150,
        'gen_ai.usage.cache_read.input_tokens': 12,
        'assistants.usage.input_tokens': 90,
        'assistants.usage.input_tokens_details.cached_tokens': 10,
      },
    ],
    [
      'unexpected keys kept by their path; non-numbers ignored',
      { prompt_tokens: 1, completion_tokens: 1, x_cost: 0.5, x_note: 'n/a', x_nested: { a: 2, b: 'c' } },
      { 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1, 'assistants.usage.total_tokens': 2, 'assistants.usage.x_cost': 0.5, 'assistants.usage.x_nested.a': 2 },
    ],
  ])('%s', (_name, usage, expected) => {
    expect(usageOf(stepSpan(map({ steps: [step({ usage })] })))).toEqual(expected);
  });
});

describe('values OTLP cannot carry, and times', () => {
  it('a number beyond 2^53 (temperature 1e300) is dropped, with the quirk number_out_of_range', () => {
    const spans = map({ run: run({ temperature: 1e300, top_p: 0.5 }) });
    const attrs = runSpan(spans).attributes;
    expect(attrs['gen_ai.request.temperature']).toBeUndefined();
    expect(attrs['gen_ai.request.top_p']).toBe(0.5);
    expect(attrs['assistants.quirks']).toEqual(['number_out_of_range']);
  });

  it('toHrTime clamps what no validated record can hold into what OTLP can carry', () => {
    expect(toHrTime(T0 + 0.5)).toEqual([T0, 500_000_000]);
    expect(toHrTime(1e300)).toEqual([4_102_444_800, 0]);
    expect(toHrTime(-5)).toEqual([0, 0]);
    expect(toHrTime(Number.NaN)).toEqual([0, 0]);
  });

  it('a record built by hand in milliseconds is read by the same rules as a validated one', () => {
    const handBuilt = { ...(validRun(run()) as Run), created_at: T0 * 1000, completed_at: (T0 + 10) * 1000, started_at: (T0 + 1) * 1000 };
    const [span] = mapRunToSpans({ runId: IDS.run, run: handBuilt, steps: [] });
    expect([span?.startTime, span?.endTime, span?.events.map((e) => e.time)]).toEqual([[T0, 0], [T0 + 10, 0], [[T0 + 1, 0]]]);
    expect(span?.attributes['assistants.quirks']).toEqual(['timestamp_milliseconds']);
  });

  it('a record built by hand with no usable time at all is placed (at the placeholder instant), not thrown', () => {
    const handBuilt = { ...(validStep(step()) as RunStep), created_at: -1, completed_at: null };
    const spans = mapRunToSpans({ runId: IDS.run, steps: [handBuilt] });
    expect(spans.map((s) => [s.subject.kind, s.startTime, s.endTime, s.attributes['assistants.quirks']])).toEqual([
      ['run', [1_420_070_400, 0], [1_420_070_400, 0], ['time_placeholder', 'time_unknown']],
      ['step', [1_420_070_400, 0], [1_420_070_400, 0], ['time_placeholder', 'time_unknown', 'timestamp_negative']],
    ]);
  });

  it('a step built by hand without an id: a MappingError naming the run (its span ID would be made from the id)', () => {
    const handBuilt = { ...(validStep(step()) as RunStep), id: undefined } as unknown as RunStep;
    expect(() => mapRunToSpans({ runId: IDS.run, steps: [validStep(step({ id: 'step_ok' })), handBuilt] })).toThrow(MappingError);
    expect(() => mapRunToSpans({ runId: IDS.run, steps: [validStep(step({ id: 'step_ok' })), handBuilt] })).toThrow('step 1 of run run_abc123 has no id (got undefined)');
    expect(() => mapRunToSpans({ runId: '', steps: [] })).toThrow(new MappingError('a run record needs a run id, got an empty string'));
  });

  it('quirks found at the validation boundary reach the span', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const spans = map({ run: run({ created_at: T0 * 1000 }), steps: [step({ x_deep: deep })] });
    expect(runSpan(spans).attributes['assistants.quirks']).toEqual(['timestamp_milliseconds']);
    expect(stepSpan(spans).attributes['assistants.quirks']).toEqual(['nesting_depth_cut']);
  });
});

describe('a run still going, with finished steps', () => {
  const live = () => ({ run: runInProgress(), steps: [step({ created_at: T0 + 2, completed_at: T0 + 4 }), step({ id: 'step_open', created_at: T0 + 6, status: 'in_progress', completed_at: null })] });

  it('by default (the sidecar): the finished steps only; the run span follows when the run ends', () => {
    expect(map(live()).map((s) => s.subject.kind)).toEqual(['step']);
  });

  it('with unfinishedRunSpans (one-shot imports): an unfinished run span over them, to the last known activity', () => {
    const spans = map(live(), { unfinishedRunSpans: true });
    expect(spans.map((s) => s.subject.kind)).toEqual(['run', 'step']);
    const span = runSpan(spans);
    expect([span.startTime, span.endTime, span.status]).toEqual([[T0, 0], [T0 + 6, 0], { code: SpanStatusCode.UNSET }]);
    expect(span.attributes['assistants.run.unfinished']).toBe(true);
    expect(span.spanId).toBe(runSpan(map({ run: run(), steps: [] })).spanId);
    expect(stepSpan(spans)).toEqual(stepSpan(map(live())));
  });

  it('with nothing finished, nothing is exported, option or not', () => {
    expect(map({ run: runInProgress(), steps: [] }, { unfinishedRunSpans: true })).toEqual([]);
  });

  it('a failed-looking unfinished run is still UNSET: it has not failed yet', () => {
    const spans = map({ run: runInProgress({ last_error: { code: 'server_error', message: 'x' } }), steps: [step()] }, { unfinishedRunSpans: true });
    expect(runSpan(spans).status).toEqual({ code: SpanStatusCode.UNSET });
    expect(runSpan(spans).attributes['error.type']).toBeUndefined();
  });
});

describe('Azure tool calls: edges of the known shapes', () => {
  const one = (call: Json, options?: MappingOptions) => toolSpans(map({ steps: [toolCallsStep([call])] }, options))[0] as SpanData;

  it('fields the shape does not know are carried as `assistants.tool_call.extra` (content only)', () => {
    const call = { id: 'c1', type: 'azure_ai_search', azure_ai_search: { input: 'q', output: 'a', index_name: 'docs', hits: 3 }, x_latency_ms: 12 };
    expect(one(call).attributes['assistants.tool_call.extra']).toBeUndefined();
    expect(JSON.parse(one(call, { captureContent: true }).attributes['assistants.tool_call.extra'] as string)).toEqual({ index_name: 'docs', hits: 3, x_latency_ms: 12 });
  });

  it('non-string inputs and outputs are recorded as JSON; a missing body maps what is there', () => {
    const span = one({ id: 'c2', type: 'deep_research', deep_research: { input: { topic: 'x' }, output: ['a', 'b'] } }, { captureContent: true });
    expect([span.attributes['gen_ai.tool.call.arguments'], span.attributes['gen_ai.tool.call.result']]).toEqual(['{"topic":"x"}', '["a","b"]']);
    const bare = one({ id: 'c3', type: 'connected_agent' }, { captureContent: true });
    expect(bare.name).toBe('execute_tool connected_agent');
  });

  it('openapi under `openapi` (the SDK) or `function` (as clients read it); connected_agent with `agent_id`', () => {
    expect(one({ id: 'o1', type: 'openapi', openapi: { name: 'op_a', arguments: '{}' } }).name).toBe('execute_tool op_a');
    expect(one({ id: 'o2', type: 'openapi', function: { name: 'op_b' } }).name).toBe('execute_tool op_b');
    expect(one({ id: 'a1', type: 'connected_agent', connected_agent: { name: 'n', agent_id: 'asst_x' } }).attributes['assistants.connected_agent.id']).toBe('asst_x');
  });

  it('a request URL: never its query, fragment or user info; not a URL, not recorded', () => {
    const url = (requesturl: unknown) => one({ id: 'b', type: 'bing_grounding', bing_grounding: { requesturl } }).attributes['assistants.tool_call.request_url'];
    expect(url('https://user:secret@api.bing.microsoft.com/v7.0/search?q=x#frag')).toBe('https://api.bing.microsoft.com/v7.0/search');
    expect(url('not a url')).toBeUndefined();
    expect(url('file:///etc/passwd')).toBeUndefined();
    expect(url(42)).toBeUndefined();
  });

  it('activities listing tools as a list of named definitions, and activities that are not objects', () => {
    const spans = map({
      steps: [step({ type: 'activities', step_details: { type: 'activities', activities: [{ type: 'mcp_list_tools', server_label: 's', tools: [{ name: 'b' }, { name: 'a' }, 'junk'] }, 'junk', null] } })],
    });
    expect(stepSpan(spans).attributes).toMatchObject({
      'assistants.step.activity_count': 3,
      'assistants.step.activity_types': ['mcp_list_tools'],
      'assistants.mcp.server_labels': ['s'],
      'assistants.mcp.tool_names': ['a', 'b'],
    });
  });

  it('an unknown step type keeps its body as content', () => {
    const spans = map({ steps: [step({ type: 'reflection', step_details: { type: 'reflection', thoughts: ['x'] } })] }, { captureContent: true });
    expect(stepSpan(spans).attributes['assistants.step.details']).toBe('{"thoughts":["x"]}');
  });
});

describe('records the type system does not expect', () => {
  it('a run record whose mapping the caller breaks (a cycle in metadata) still maps: content that cannot be JSON is marked', () => {
    const metadata: Record<string, unknown> = {};
    metadata['self'] = metadata;
    const record: RunRecord = { runId: IDS.run, run: { ...(validRun(run()) as Run), metadata }, steps: [] };
    expect(runSpan(mapRunToSpans(record)).attributes['assistants.run.metadata.self']).toBe('"[not representable as JSON]"');
  });
});
