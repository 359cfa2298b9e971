/**
 * The trace model, from the README ("The trace model", "Attributes", "Content", "Status rules",
 * "Time rules", "What becomes a span", "Identity and parenting"). Attribute maps are compared whole,
 * with literal keys from the README's table, so a missing, renamed or unexpected attribute fails.
 */
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { spanIdForRun, spanIdForStep, spanIdForToolCall, traceIdForRun } from '../../../src/mapping/ids.js';
import type { MappingOptions, SpanData } from '../../../src/mapping/types.js';
import {
  IDS,
  T0,
  TRACEPARENT,
  activitiesStep,
  bingGroundingCall,
  codeInterpreterCall,
  fileSearchCall,
  functionCall,
  run,
  runInProgress,
  step,
  streamedStep,
  toolCallsStep,
  validRun,
  validStep,
  without,
  type Json,
} from '../../fixtures/records.js';

// ---- helpers -------------------------------------------------------------------------------------

function mapRecords(input: { run?: Json; steps?: Json[]; runId?: string }, options?: MappingOptions): SpanData[] {
  const runRecord = input.run ? validRun(input.run) : undefined;
  const spans = mapRunToSpans(
    { runId: input.runId ?? runRecord?.id ?? IDS.run, run: runRecord, steps: (input.steps ?? []).map(validStep) },
    options,
  );
  return spans.map(withoutApiSeconds);
}

const seconds = (time: [number, number]) => time[0] + time[1] / 1e9;

/**
 * Every span carries its bounds in the API's seconds (README "Time rules"); with the records alone
 * they are the span's own times. Checked here for every span of every test, then taken out, so the
 * whole-map comparisons below stay about the record's fields.
 */
function withoutApiSeconds(span: SpanData): SpanData {
  const { 'assistants.api.start_seconds': start, 'assistants.api.end_seconds': end, ...attributes } = span.attributes;
  expect({ start, end }).toEqual({ start: seconds(span.startTime), end: seconds(span.endTime) });
  return { ...span, attributes };
}

function runSpanOf(spans: SpanData[]): SpanData {
  const found = spans.filter((s) => s.subject.kind === 'run');
  expect(found).toHaveLength(1);
  return found[0]!;
}

function stepSpans(spans: SpanData[]): SpanData[] {
  return spans.filter((s) => s.subject.kind === 'step');
}

function toolSpans(spans: SpanData[]): SpanData[] {
  return spans.filter((s) => s.subject.kind === 'tool_call');
}

function onlyStep(spans: SpanData[]): SpanData {
  const found = stepSpans(spans);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function onlyTool(spans: SpanData[]): SpanData {
  const found = toolSpans(spans);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** A step of a run and its tool call spans, mapped without the run record (simplest tree). */
function mapStep(raw: Json, options?: MappingOptions): SpanData[] {
  return mapRecords({ steps: [raw] }, options);
}

/** True when `text` holds half of a surrogate pair (invalid UTF-16, not encodable as UTF-8). */
function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

const at = (seconds: number): [number, number] => [seconds, 0];

/** Attributes every span of the example run has (README: "on all"). */
const ALL = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.agent.id': IDS.assistant,
  'gen_ai.conversation.id': IDS.thread,
  'assistants.run.id': IDS.run,
} as const;

/** The example run's own attributes (fixtures `run()`), without content. */
const RUN_ATTRS: Attributes = {
  ...ALL,
  'gen_ai.operation.name': 'invoke_agent',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.request.temperature': 1,
  'gen_ai.request.top_p': 1,
  'gen_ai.usage.input_tokens': 345,
  'gen_ai.usage.output_tokens': 11,
  'assistants.usage.total_tokens': 356,
  'assistants.run.status': 'completed',
};

/** The example message_creation step's attributes (fixtures `step()`). */
const MESSAGE_STEP_ATTRS: Attributes = {
  ...ALL,
  'gen_ai.usage.input_tokens': 20,
  'gen_ai.usage.output_tokens': 11,
  'assistants.usage.total_tokens': 31,
  'assistants.step.id': IDS.step,
  'assistants.step.type': 'message_creation',
  'assistants.step.status': 'completed',
  'assistants.step.message_id': IDS.message,
};

/** Attributes of every tool call span of step `step_tools1` (fixtures `toolCallsStep()`). */
function toolAttrs(index: number, extra: Attributes): Attributes {
  return {
    ...ALL,
    'gen_ai.operation.name': 'execute_tool',
    'assistants.step.id': 'step_tools1',
    'assistants.tool_call.index': index,
    ...extra,
  };
}

const CONTENT_KEYS = ['gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'gen_ai.system_instructions'];

// ---- the trace model -------------------------------------------------------------------------------

describe('the trace model', () => {
  it('maps a completed run with a message_creation step to a CLIENT run span and an INTERNAL step span', () => {
    const spans = mapRecords({ run: run(), steps: [step()] });
    expect(spans).toEqual([
      {
        subject: { kind: 'run', runId: IDS.run, synthesized: false },
        traceId: traceIdForRun(IDS.run),
        spanId: spanIdForRun(IDS.run),
        parentIsRemote: false,
        name: `invoke_agent ${IDS.assistant}`,
        kind: SpanKind.CLIENT,
        startTime: at(T0),
        endTime: at(T0 + 10),
        attributes: RUN_ATTRS,
        status: { code: SpanStatusCode.UNSET },
        events: [{ name: 'assistants.run.started', time: at(T0 + 1), attributes: {} }],
      },
      {
        subject: { kind: 'step', runId: IDS.run, stepId: IDS.step },
        traceId: traceIdForRun(IDS.run),
        spanId: spanIdForStep(IDS.run, IDS.step),
        parentSpanId: spanIdForRun(IDS.run),
        parentIsRemote: false,
        name: 'step message_creation',
        kind: SpanKind.INTERNAL,
        startTime: at(T0 + 1),
        endTime: at(T0 + 2),
        attributes: MESSAGE_STEP_ATTRS,
        status: { code: SpanStatusCode.UNSET },
        events: [],
      },
    ]);
  });

  it('emits the run span first, then each terminal step in creation order, each followed by its tool calls', () => {
    const late = step({ id: 'step_late', created_at: T0 + 5, completed_at: T0 + 6 });
    const tools = toolCallsStep([functionCall({ id: 'call_a' }), functionCall({ id: 'call_b' })], {
      created_at: T0 + 2,
      completed_at: T0 + 4,
    });
    const early = step({ id: 'step_early', created_at: T0 + 1, completed_at: T0 + 2 });
    const spans = mapRecords({ run: run(), steps: [late, tools, early] });
    expect(spans.map((s) => s.name)).toEqual([
      `invoke_agent ${IDS.assistant}`,
      'step message_creation',
      'step tool_calls',
      'execute_tool get_current_weather',
      'execute_tool get_current_weather',
      'step message_creation',
    ]);
    expect(stepSpans(spans).map((s) => (s.subject.kind === 'step' ? s.subject.stepId : ''))).toEqual([
      'step_early',
      'step_tools1',
      'step_late',
    ]);
  });

  it('links tool call spans to their step span and step spans to the run span, all in one trace', () => {
    const spans = mapRecords({ run: run(), steps: [toolCallsStep([functionCall(), codeInterpreterCall()])] });
    const [runSpan, stepSpan, call0, call1] = spans;
    expect(spans).toHaveLength(4);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdForRun(IDS.run)]));
    expect(runSpan!.parentSpanId).toBeUndefined();
    expect(stepSpan!.parentSpanId).toBe(runSpan!.spanId);
    expect(call0!.parentSpanId).toBe(stepSpan!.spanId);
    expect(call1!.parentSpanId).toBe(stepSpan!.spanId);
    // A tool call span's key is `id:<tool call id>` (README "Identity and parenting").
    expect(call0!.subject).toEqual({ kind: 'tool_call', runId: IDS.run, stepId: 'step_tools1', toolCallKey: 'id:call_fn1' });
    expect(call1!.subject).toEqual({ kind: 'tool_call', runId: IDS.run, stepId: 'step_tools1', toolCallKey: 'id:call_ci1' });
    expect(call0!.spanId).toBe(spanIdForToolCall(IDS.run, 'step_tools1', 'id:call_fn1'));
    expect(call1!.spanId).toBe(spanIdForToolCall(IDS.run, 'step_tools1', 'id:call_ci1'));
    expect(call0!.kind).toBe(SpanKind.INTERNAL);
  });

  it('is pure: the same records give equal spans, in the same attribute order', () => {
    const input = { run: run({ metadata: { b: '2', a: '1' } }), steps: [step(), toolCallsStep([functionCall(), fileSearchCall()])] };
    const first = mapRecords(input, { captureContent: true });
    const second = mapRecords(structuredClone(input), { captureContent: true });
    expect(second).toEqual(first);
    expect(second.map((s) => Object.keys(s.attributes))).toEqual(first.map((s) => Object.keys(s.attributes)));
  });
});

// ---- step types ------------------------------------------------------------------------------------

describe('step types', () => {
  it('message_creation: the message id, no tool call count', () => {
    expect(onlyStep(mapStep(step())).attributes).toEqual(MESSAGE_STEP_ATTRS);
  });

  it('tool_calls: the tool call count and one child span per call', () => {
    const spans = mapStep(toolCallsStep([functionCall(), codeInterpreterCall(), fileSearchCall()]));
    const stepSpan = onlyStep(spans);
    expect(stepSpan.name).toBe('step tool_calls');
    expect(stepSpan.attributes).toEqual({
      ...ALL,
      'gen_ai.usage.input_tokens': 80,
      'gen_ai.usage.output_tokens': 20,
      'assistants.usage.total_tokens': 100,
      'assistants.step.id': 'step_tools1',
      'assistants.step.type': 'tool_calls',
      'assistants.step.status': 'completed',
      'assistants.step.tool_call_count': 3,
    });
    expect(toolSpans(spans)).toHaveLength(3);
  });

  it('tool_calls with no calls: a step span with a count of 0 and no children', () => {
    const spans = mapStep(toolCallsStep([]));
    expect(onlyStep(spans).attributes['assistants.step.tool_call_count']).toBe(0);
    expect(toolSpans(spans)).toEqual([]);
  });

  it('an Azure `activities` step: its activities counted, MCP servers and listed tools named; no child spans', () => {
    const spans = mapStep(activitiesStep());
    expect(spans.map((s) => s.name)).toEqual([`invoke_agent ${IDS.assistant}`, 'step activities']);
    expect(onlyStep(spans).attributes).toEqual({
      ...ALL,
      'assistants.step.id': 'step_activity1',
      'assistants.step.type': 'activities',
      'assistants.step.status': 'completed',
      'assistants.step.activity_count': 1,
      'assistants.step.activity_types': ['mcp_list_tools'],
      'assistants.mcp.server_labels': ['github'],
      'assistants.mcp.tool_names': ['search'],
    });
  });
});

// ---- tool call types -------------------------------------------------------------------------------

describe('tool call types', () => {
  it('function: named after the function, type `function`; no content by default', () => {
    const tool = onlyTool(mapStep(toolCallsStep([functionCall()])));
    expect(tool.name).toBe('execute_tool get_current_weather');
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'get_current_weather',
        'gen_ai.tool.type': 'function',
        'gen_ai.tool.call.id': 'call_fn1',
        'assistants.tool_call.type': 'function',
      }),
    );
    expect(tool.status).toEqual({ code: SpanStatusCode.UNSET });
  });

  it('function with content: arguments and output', () => {
    const tool = onlyTool(mapStep(toolCallsStep([functionCall()]), { captureContent: true }));
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'get_current_weather',
        'gen_ai.tool.type': 'function',
        'gen_ai.tool.call.id': 'call_fn1',
        'assistants.tool_call.type': 'function',
        'gen_ai.tool.call.arguments': '{"location":"San Francisco, CA","unit":"celsius"}',
        'gen_ai.tool.call.result': '{"temperature":18,"unit":"celsius"}',
      }),
    );
  });

  it('function whose output is still null: arguments only', () => {
    const tool = onlyTool(mapStep(toolCallsStep([functionCall({}, { output: null })]), { captureContent: true }));
    expect(tool.attributes['gen_ai.tool.call.arguments']).toBe('{"location":"San Francisco, CA","unit":"celsius"}');
    expect(tool.attributes).not.toHaveProperty('gen_ai.tool.call.result');
  });

  it('code_interpreter with logs and image outputs: output count and image file ids', () => {
    const tool = onlyTool(mapStep(toolCallsStep([codeInterpreterCall()])));
    expect(tool.name).toBe('execute_tool code_interpreter');
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'code_interpreter',
        'gen_ai.tool.type': 'extension',
        'gen_ai.tool.call.id': 'call_ci1',
        'assistants.tool_call.type': 'code_interpreter',
        'assistants.code_interpreter.output_count': 2,
        'assistants.code_interpreter.image_file_ids': ['file-img001'],
      }),
    );
  });

  it('code_interpreter with content: the input, and the logs outputs joined by newlines', () => {
    const call = codeInterpreterCall({}, [
      { type: 'logs', logs: 'line one' },
      { type: 'image', image: { file_id: 'file-img001' } },
      { type: 'logs', logs: 'line two' },
      { type: 'image', image: { file_id: 'file-img002' } },
    ]);
    const tool = onlyTool(mapStep(toolCallsStep([call]), { captureContent: true }));
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'code_interpreter',
        'gen_ai.tool.type': 'extension',
        'gen_ai.tool.call.id': 'call_ci1',
        'assistants.tool_call.type': 'code_interpreter',
        'assistants.code_interpreter.output_count': 4,
        'assistants.code_interpreter.image_file_ids': ['file-img001', 'file-img002'],
        'gen_ai.tool.call.arguments': 'import math\nprint(math.sqrt(2))\nplot()',
        'gen_ai.tool.call.result': 'line one\nline two',
      }),
    );
  });

  it('code_interpreter with an output type we do not know: counted, carried, not an image', () => {
    const call = codeInterpreterCall({}, [{ type: 'logs', logs: 'ok' }, { type: 'chart', chart: { file_id: 'file-c1' } }]);
    const tool = onlyTool(mapStep(toolCallsStep([call])));
    expect(tool.attributes['assistants.code_interpreter.output_count']).toBe(2);
    expect(tool.attributes).not.toHaveProperty('assistants.code_interpreter.image_file_ids');
  });

  it('file_search with ranking options and results: ranker, threshold, result count', () => {
    const tool = onlyTool(mapStep(toolCallsStep([fileSearchCall()])));
    expect(tool.name).toBe('execute_tool file_search');
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'file_search',
        'gen_ai.tool.type': 'datastore',
        'gen_ai.tool.call.id': 'call_fs1',
        'assistants.tool_call.type': 'file_search',
        'assistants.file_search.ranker': 'default_2024_08_21',
        'assistants.file_search.score_threshold': 0.5,
        'assistants.file_search.result_count': 2,
      }),
    );
  });

  it('file_search with content: the results as JSON', () => {
    const call = fileSearchCall();
    const tool = onlyTool(mapStep(toolCallsStep([call]), { captureContent: true }));
    const results = (call['file_search'] as Json)['results'];
    expect(JSON.parse(tool.attributes['gen_ai.tool.call.result'] as string)).toEqual(results);
  });

  it('file_search results saved with include[] keep their content in the JSON', () => {
    const results = [
      {
        file_id: 'file-doc001',
        file_name: 'handbook.pdf',
        score: 0.87,
        content: [{ type: 'text', text: 'Employees accrue 2 days of leave per month.' }],
      },
    ];
    const call = fileSearchCall({}, { ranking_options: { ranker: 'auto', score_threshold: 0 }, results });
    const tool = onlyTool(mapStep(toolCallsStep([call]), { captureContent: true }));
    expect(tool.attributes['assistants.file_search.ranker']).toBe('auto');
    expect(tool.attributes['assistants.file_search.score_threshold']).toBe(0);
    expect(tool.attributes['assistants.file_search.result_count']).toBe(1);
    expect(JSON.parse(tool.attributes['gen_ai.tool.call.result'] as string)).toEqual(results);
  });

  it('file_search as the spec describes it ("always an empty object"): no ranker, no results', () => {
    const tool = onlyTool(mapStep(toolCallsStep([fileSearchCall({}, {})]), { captureContent: true }));
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'file_search',
        'gen_ai.tool.type': 'datastore',
        'gen_ai.tool.call.id': 'call_fs1',
        'assistants.tool_call.type': 'file_search',
      }),
    );
  });

  it('Azure `bing_grounding`: named after its type, a data store; the request URL without its query (the search is content)', () => {
    const tool = onlyTool(mapStep(toolCallsStep([bingGroundingCall()])));
    expect(tool.name).toBe('execute_tool bing_grounding');
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'bing_grounding',
        'gen_ai.tool.type': 'datastore',
        'gen_ai.tool.call.id': 'call_bing1',
        'assistants.tool_call.type': 'bing_grounding',
        'assistants.tool_call.request_url': 'https://api.bing.microsoft.com/v7.0/search',
      }),
    );
  });

  it('Azure `bing_grounding` with content: the full request URL as the arguments', () => {
    const tool = onlyTool(mapStep(toolCallsStep([bingGroundingCall()]), { captureContent: true }));
    expect(tool.attributes['gen_ai.tool.call.arguments']).toBe('https://api.bing.microsoft.com/v7.0/search?q=weather+san+francisco');
    expect(tool.attributes['gen_ai.tool.call.result']).toBeUndefined();
  });

  it('an unknown tool call type with content: its body as JSON', () => {
    const call = { id: 'call_x', type: 'quantum_oracle', quantum_oracle: { question: 'why', qubits: 7 } };
    const tool = onlyTool(mapStep(toolCallsStep([call]), { captureContent: true }));
    expect(tool.attributes['gen_ai.tool.type']).toBe('extension');
    expect(tool.attributes['gen_ai.tool.call.result']).toBe('{"question":"why","qubits":7}');
  });

  it('a malformed known tool call (a function whose name is a number) is kept as a generic one, still of tool type `function`', () => {
    const call = { id: 'call_bad', type: 'function', function: { name: 42, arguments: '{}', output: null } };
    const spans = mapStep(toolCallsStep([call, functionCall()]));
    const [bad, good] = toolSpans(spans);
    expect(toolSpans(spans)).toHaveLength(2);
    expect(bad!.name).toBe('execute_tool function');
    // README: `gen_ai.tool.type` follows the raw `type`, so a malformed function call is still a function.
    expect(bad!.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'function',
        'gen_ai.tool.type': 'function',
        'gen_ai.tool.call.id': 'call_bad',
        'assistants.tool_call.type': 'function',
      }),
    );
    expect(good!.attributes['gen_ai.tool.name']).toBe('get_current_weather');
    expect(onlyStep(spans).attributes['assistants.step.tool_call_count']).toBe(2);
  });

  it.each<[string, Json, string]>([
    ['a file_search call whose results are not a list', fileSearchCall({ id: 'call_bad' }, { results: 'none' }), 'datastore'],
    ['a code_interpreter call without outputs', codeInterpreterCall({ id: 'call_bad', code_interpreter: { input: 'print(1)' } }), 'extension'],
  ])('%s is kept as a generic one; its tool type follows the raw type (%s)', (_name, call, toolType) => {
    const type = call['type'] as string;
    const tool = onlyTool(mapStep(toolCallsStep([call])));
    expect(tool.name).toBe(`execute_tool ${type}`);
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': type,
        'gen_ai.tool.type': toolType,
        'gen_ai.tool.call.id': 'call_bad',
        'assistants.tool_call.type': type,
      }),
    );
  });

  it('numbers tool calls by their position in tool_calls', () => {
    const spans = mapStep(toolCallsStep([functionCall({ id: 'call_0' }), bingGroundingCall(), fileSearchCall()]));
    expect(toolSpans(spans).map((s) => s.attributes['assistants.tool_call.index'])).toEqual([0, 1, 2]);
  });

  it('keeps a tool_calls entry that is not an object in its place, as an `unknown` call: raw positions, every entry counted', () => {
    // README: `assistants.tool_call.index` is "its position in `tool_calls`" — of the record as saved;
    // an entry that is not an object "is kept in its place as an `unknown` call".
    const spans = mapStep(toolCallsStep([functionCall({ id: 'call_0' }), 'not a tool call', functionCall({ id: 'call_2' })]));
    expect(onlyStep(spans).attributes['assistants.step.tool_call_count']).toBe(3);
    const tools = toolSpans(spans);
    expect(tools.map((s) => [s.name, s.attributes['gen_ai.tool.call.id'], s.attributes['assistants.tool_call.index']])).toEqual([
      ['execute_tool get_current_weather', 'call_0', 0],
      ['execute_tool unknown', undefined, 1],
      ['execute_tool get_current_weather', 'call_2', 2],
    ]);
    const placeholder = tools[1]!;
    expect(placeholder.attributes).toEqual(
      toolAttrs(1, {
        'gen_ai.tool.name': 'unknown',
        'gen_ai.tool.type': 'extension',
        'assistants.tool_call.type': 'unknown',
      }),
    );
    // It has no id, so its span ID is keyed by its position.
    expect(placeholder.subject).toEqual({ kind: 'tool_call', runId: IDS.run, stepId: 'step_tools1', toolCallKey: 'index:1' });
    expect(placeholder.spanId).toBe(spanIdForToolCall(IDS.run, 'step_tools1', 'index:1'));
    expect(placeholder.parentSpanId).toBe(onlyStep(spans).spanId);
    expect(placeholder.status).toEqual({ code: SpanStatusCode.UNSET });
  });

  it.each<[string, unknown, string]>([
    ['a string', 'not a tool call', '{"value":"not a tool call"}'],
    ['a number', 7, '{"value":7}'],
    ['null', null, '{"value":null}'],
    ['an array', ['call_x'], '{"value":["call_x"]}'],
  ])('an `unknown` placeholder for %s, with content: the whole call without its type, as JSON', (_name, value, result) => {
    // README "Content": for an unknown tool type, "the whole call without `id` and `type`" as JSON;
    // the placeholder is `{ type: 'unknown', value: <the raw value> }`.
    const tool = onlyTool(mapStep(toolCallsStep([value]), { captureContent: true }));
    expect(tool.name).toBe('execute_tool unknown');
    expect(tool.attributes).toEqual(
      toolAttrs(0, {
        'gen_ai.tool.name': 'unknown',
        'gen_ai.tool.type': 'extension',
        'assistants.tool_call.type': 'unknown',
        'gen_ai.tool.call.result': result,
      }),
    );
  });

  it('gives tool call spans UNSET status even when their step failed', () => {
    const failed = toolCallsStep([functionCall(), codeInterpreterCall()], {
      status: 'failed',
      completed_at: null,
      failed_at: T0 + 3,
      last_error: { code: 'server_error', message: 'Sorry, something went wrong.' },
    });
    const spans = mapStep(failed);
    expect(onlyStep(spans).status.code).toBe(SpanStatusCode.ERROR);
    for (const tool of toolSpans(spans)) {
      expect(tool.status).toEqual({ code: SpanStatusCode.UNSET });
      expect(tool.attributes).not.toHaveProperty('error.type');
    }
  });
});

// ---- status rules ------------------------------------------------------------------------------------

describe('status rules', () => {
  const failedStep = (lastError: unknown) =>
    step({ status: 'failed', completed_at: null, failed_at: T0 + 3, last_error: lastError });
  const failedRun = (lastError: unknown) =>
    run({ status: 'failed', completed_at: null, failed_at: T0 + 3, last_error: lastError });

  describe.each([
    ['step', (le: unknown) => onlyStep(mapStep(failedStep(le)))],
    ['run', (le: unknown) => runSpanOf(mapRecords({ run: failedRun(le) }))],
  ] as const)('a failed %s', (_kind, mapFailed) => {
    it.each([
      ['server_error', 'Sorry, something went wrong.'],
      ['rate_limit_exceeded', 'You exceeded your current quota, please check your plan and billing details.'],
      ['invalid_prompt', 'Your prompt was flagged as potentially violating our usage policy.'],
      ['content_filter', 'The response was filtered.'],
    ])('is ERROR with error.type = the code (%s) and the message', (code, message) => {
      const span = mapFailed({ code, message });
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.attributes['error.type']).toBe(code);
    });

    it('without last_error is ERROR with error.type `_OTHER`', () => {
      const span = mapFailed(null);
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('_OTHER');
    });

    it('with a last_error that has no code is ERROR with error.type `_OTHER` and the message', () => {
      const span = mapFailed({ code: null, message: 'Something broke.' });
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Something broke.' });
      expect(span.attributes['error.type']).toBe('_OTHER');
    });
  });

  it('a failed step keeps every other attribute (whole map)', () => {
    const span = onlyStep(mapStep(failedStep({ code: 'server_error', message: 'Sorry, something went wrong.' })));
    expect(span.attributes).toEqual({ ...MESSAGE_STEP_ATTRS, 'assistants.step.status': 'failed', 'error.type': 'server_error' });
  });

  it('a failed run keeps every other attribute (whole map)', () => {
    const span = runSpanOf(mapRecords({ run: failedRun({ code: 'rate_limit_exceeded', message: 'Slow down.' }) }));
    expect(span.attributes).toEqual({ ...RUN_ATTRS, 'assistants.run.status': 'failed', 'error.type': 'rate_limit_exceeded' });
  });

  it.each([
    ['step', () => onlyStep(mapStep(step({ status: 'expired', completed_at: null, expired_at: T0 + 600 })))],
    ['run', () => runSpanOf(mapRecords({ run: run({ status: 'expired', completed_at: null, expired_at: T0 + 600 }) }))],
  ])('an expired %s without last_error is ERROR with error.type `expired`', (_kind, mapExpired) => {
    const span = mapExpired();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.status.message).toBeUndefined();
    expect(span.attributes['error.type']).toBe('expired');
  });

  it('an expired run with a last_error carries its message', () => {
    const span = runSpanOf(
      mapRecords({
        run: run({ status: 'expired', completed_at: null, expired_at: T0 + 600, last_error: { code: 'server_error', message: 'Run expired.' } }),
      }),
    );
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Run expired.' });
    expect(span.attributes['error.type']).toBe('expired');
  });

  it.each([
    ['completed', {}],
    ['cancelled', { completed_at: null, cancelled_at: T0 + 4 }],
  ])('a %s step is UNSET, without error.type', (status, times) => {
    const span = onlyStep(mapStep(step({ status, ...times })));
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(span.attributes).toEqual({ ...MESSAGE_STEP_ATTRS, 'assistants.step.status': status });
  });

  it.each([
    ['completed', {}, {}],
    ['cancelled', { completed_at: null, cancelled_at: T0 + 4 }, {}],
    [
      'incomplete',
      { completed_at: null, incomplete_details: { reason: 'max_completion_tokens' } },
      { 'assistants.run.incomplete_reason': 'max_completion_tokens', 'assistants.quirks': ['end_time_missing'] },
    ],
  ])('a %s run is UNSET, without error.type', (status, fields, extra) => {
    const span = runSpanOf(mapRecords({ run: run({ status, ...fields }) }));
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(span.attributes).toEqual({ ...RUN_ATTRS, 'assistants.run.status': status, ...extra });
  });

  it('a step status we do not know, once it has an end timestamp, is UNSET without last_error', () => {
    const span = onlyStep(mapStep(step({ status: 'superseded', completed_at: T0 + 2 })));
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(span.attributes).toEqual({ ...MESSAGE_STEP_ATTRS, 'assistants.step.status': 'superseded' });
  });

  it('a step status we do not know with a last_error is ERROR with its code', () => {
    const span = onlyStep(
      mapStep(step({ status: 'aborted', completed_at: null, failed_at: T0 + 2, last_error: { code: 'server_error', message: 'Boom.' } })),
    );
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Boom.' });
    expect(span.attributes['error.type']).toBe('server_error');
  });

  it('a run status we do not know, once it has an end timestamp, is UNSET without last_error', () => {
    const span = runSpanOf(mapRecords({ run: run({ status: 'archived', completed_at: null, cancelled_at: T0 + 5 }) }));
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(span.attributes).toEqual({ ...RUN_ATTRS, 'assistants.run.status': 'archived' });
  });

  it('a run status we do not know with a last_error is ERROR with its code', () => {
    const span = runSpanOf(
      mapRecords({ run: run({ status: 'archived', completed_at: T0 + 5, last_error: { code: 'quota_exceeded', message: 'No quota.' } }) }),
    );
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'No quota.' });
    expect(span.attributes['error.type']).toBe('quota_exceeded');
  });
});

// ---- what becomes a span -------------------------------------------------------------------------------

describe('what becomes a span', () => {
  it.each([
    ['completed', { completed_at: T0 + 2 }, true],
    ['failed', { completed_at: null, failed_at: T0 + 2 }, true],
    ['cancelled', { completed_at: null, cancelled_at: T0 + 2 }, true],
    ['expired', { completed_at: null, expired_at: T0 + 2 }, true],
    ['in_progress', { completed_at: null, usage: null }, false],
    ['a status we do not know, with an end timestamp', { status: 'paused', completed_at: null, cancelled_at: T0 + 2 }, true],
    ['a status we do not know, without one', { status: 'paused', completed_at: null }, false],
    ['a status we do not know, with only the expires_at deadline', { status: 'paused', completed_at: null, expires_at: T0 + 600 }, false],
  ])('a step that is %s → span: %s', (status, fields, becomesSpan) => {
    const raw = step({ status, ...fields });
    const spans = mapRecords({ run: run(), steps: [raw] });
    expect(stepSpans(spans)).toHaveLength(becomesSpan ? 1 : 0);
  });

  it.each([
    ['completed', {}, true],
    ['failed', { completed_at: null, failed_at: T0 + 3 }, true],
    ['cancelled', { completed_at: null, cancelled_at: T0 + 3 }, true],
    ['expired', { completed_at: null, expired_at: T0 + 600 }, true],
    ['incomplete', { completed_at: null }, true],
    ['queued', { completed_at: null, started_at: null, usage: null }, false],
    ['in_progress', { completed_at: null, usage: null }, false],
    ['requires_action', { completed_at: null, usage: null }, false],
    ['cancelling', { completed_at: null, usage: null }, false],
    ['a status we do not know, with an end timestamp', { status: 'archived', completed_at: null, failed_at: T0 + 3 }, true],
    ['a status we do not know, without one', { status: 'archived', completed_at: null }, false],
    ['a status we do not know, with only the expires_at deadline', { status: 'archived', completed_at: null, expires_at: T0 + 1 }, false],
  ])('a run that is %s → run span: %s', (status, fields, becomesSpan) => {
    const spans = mapRecords({ run: run({ status, ...fields }), steps: [step()] });
    expect(spans.filter((s) => s.subject.kind === 'run')).toHaveLength(becomesSpan ? 1 : 0);
    // Its finished steps are exported either way, under the run span's ID.
    expect(onlyStep(spans).parentSpanId).toBe(spanIdForRun(IDS.run));
  });

  it('a run still going exports its finished steps only, already parented to the run span to come', () => {
    const spans = mapRecords({
      run: runInProgress(),
      steps: [step(), step({ id: 'step_live', status: 'in_progress', completed_at: null, usage: null })],
    });
    expect(spans.map((s) => s.name)).toEqual(['step message_creation']);
    expect(spans[0]!.parentSpanId).toBe(spanIdForRun(IDS.run));
    expect(spans[0]!.traceId).toBe(traceIdForRun(IDS.run));
  });
});

// ---- time rules --------------------------------------------------------------------------------------

describe('time rules', () => {
  const stepTimes = (fields: Json) => {
    const span = onlyStep(mapStep(step(fields)));
    return { start: span.startTime, end: span.endTime, quirks: span.attributes['assistants.quirks'] };
  };

  it('starts at created_at and ends at the end timestamp, in whole seconds', () => {
    expect(stepTimes({})).toEqual({ start: at(T0 + 1), end: at(T0 + 2), quirks: undefined });
  });

  it.each([
    ['failed_at', { status: 'failed', completed_at: null, failed_at: T0 + 7 }],
    ['cancelled_at', { status: 'cancelled', completed_at: null, cancelled_at: T0 + 7 }],
    ['expired_at', { status: 'expired', completed_at: null, expired_at: T0 + 7 }],
  ])('ends at %s', (_field, fields) => {
    expect(stepTimes(fields)).toEqual({ start: at(T0 + 1), end: at(T0 + 7), quirks: undefined });
  });

  it('several different end timestamps: the earliest, quirk conflicting_end_times', () => {
    expect(stepTimes({ status: 'failed', completed_at: null, cancelled_at: T0 + 9, failed_at: T0 + 4 })).toEqual({
      start: at(T0 + 1),
      end: at(T0 + 4),
      quirks: ['conflicting_end_times'],
    });
  });

  it('the same end timestamp twice is not a conflict', () => {
    expect(stepTimes({ status: 'failed', completed_at: null, cancelled_at: T0 + 4, failed_at: T0 + 4 })).toEqual({
      start: at(T0 + 1),
      end: at(T0 + 4),
      quirks: undefined,
    });
  });

  it.each([
    ['null', { completed_at: null }],
    ['missing', { completed_at: undefined }],
  ])('a finished step whose end timestamp is %s ends at its start, quirk end_time_missing', (_how, fields) => {
    const raw = fields.completed_at === undefined ? without(step(), 'completed_at') : step(fields);
    const span = onlyStep(mapStep(raw));
    expect([span.startTime, span.endTime]).toEqual([at(T0 + 1), at(T0 + 1)]);
    expect(span.attributes['assistants.quirks']).toEqual(['end_time_missing']);
  });

  it('an end before the start is clamped to the start, quirk end_before_start', () => {
    expect(stepTimes({ created_at: T0 + 5, completed_at: T0 + 2 })).toEqual({
      start: at(T0 + 5),
      end: at(T0 + 5),
      quirks: ['end_before_start'],
    });
  });

  it('several quirks at once are listed sorted', () => {
    expect(stepTimes({ status: 'failed', created_at: T0 + 10, completed_at: null, failed_at: T0 + 3, cancelled_at: T0 + 4 })).toEqual({
      start: at(T0 + 10),
      end: at(T0 + 10),
      quirks: ['conflicting_end_times', 'end_before_start'],
    });
  });

  it('a finished run without an end timestamp ends at the latest end of its steps, quirk end_time_missing', () => {
    const spans = mapRecords({
      run: run({ status: 'incomplete', completed_at: null, incomplete_details: { reason: 'max_prompt_tokens' } }),
      steps: [
        step({ id: 'step_1', created_at: T0 + 1, completed_at: T0 + 3 }),
        step({ id: 'step_2', created_at: T0 + 3, completed_at: T0 + 8 }),
        step({ id: 'step_3', created_at: T0 + 4, status: 'in_progress', completed_at: null }),
      ],
    });
    const runSpan = runSpanOf(spans);
    expect([runSpan.startTime, runSpan.endTime]).toEqual([at(T0), at(T0 + 8)]);
    expect(runSpan.attributes['assistants.quirks']).toEqual(['end_time_missing']);
  });

  it('a finished run without an end timestamp and without steps ends at its start', () => {
    const runSpan = runSpanOf(mapRecords({ run: run({ status: 'incomplete', completed_at: null }) }));
    expect([runSpan.startTime, runSpan.endTime]).toEqual([at(T0), at(T0)]);
    expect(runSpan.attributes['assistants.quirks']).toEqual(['end_time_missing']);
  });

  describe('expires_at is a deadline and never read as an end', () => {
    it('a completed step from a stream example (expires_at, no expired_at) ends at completed_at', () => {
      const span = onlyStep(mapStep(streamedStep({ completed_at: T0 + 2, expires_at: T0 + 600 })));
      expect(span.endTime).toEqual(at(T0 + 2));
      expect(span.attributes).toEqual(MESSAGE_STEP_ATTRS);
    });

    it('a completed step whose expires_at is before completed_at still ends at completed_at, no conflict', () => {
      const span = onlyStep(mapStep(streamedStep({ completed_at: T0 + 9, expires_at: T0 + 3 })));
      expect(span.endTime).toEqual(at(T0 + 9));
      expect(span.attributes['assistants.quirks']).toBeUndefined();
    });

    it('an expired step with only expires_at has no end timestamp: it ends at its start', () => {
      const span = onlyStep(mapStep(streamedStep({ status: 'expired', completed_at: null, expires_at: T0 + 600 })));
      expect(span.endTime).toEqual(at(T0 + 1));
      expect(span.attributes['assistants.quirks']).toEqual(['end_time_missing']);
    });

    it('an expired run (the spec has no run expired_at) ends at its latest step, not at expires_at', () => {
      const runSpan = runSpanOf(
        mapRecords({ run: run({ status: 'expired', completed_at: null, expires_at: T0 + 600 }), steps: [step()] }),
      );
      expect(runSpan.endTime).toEqual(at(T0 + 2));
      expect(runSpan.attributes['assistants.quirks']).toEqual(['end_time_missing']);
      expect(runSpan.attributes['error.type']).toBe('expired');
    });

    it('a completed run with expires_at set ends at completed_at', () => {
      const runSpan = runSpanOf(mapRecords({ run: run({ expires_at: T0 + 5, completed_at: T0 + 10 }) }));
      expect(runSpan.endTime).toEqual(at(T0 + 10));
      expect(runSpan.attributes['assistants.quirks']).toBeUndefined();
    });
  });

  it('tool calls span their step', () => {
    const spans = mapStep(toolCallsStep([functionCall(), codeInterpreterCall()], { created_at: T0 + 2, completed_at: T0 + 6 }));
    for (const tool of toolSpans(spans)) {
      expect([tool.startTime, tool.endTime]).toEqual([at(T0 + 2), at(T0 + 6)]);
    }
  });

  it('puts the run.started event at started_at (the gap before it is queue time)', () => {
    const runSpan = runSpanOf(mapRecords({ run: run({ created_at: T0, started_at: T0 + 4, completed_at: T0 + 9 }) }));
    expect(runSpan.events).toEqual([{ name: 'assistants.run.started', time: at(T0 + 4), attributes: {} }]);
  });

  it('a run that never started has no run.started event', () => {
    const runSpan = runSpanOf(mapRecords({ run: run({ status: 'cancelled', started_at: null, completed_at: null, cancelled_at: T0 + 2 }) }));
    expect(runSpan.events).toEqual([]);
  });
});

// ---- attributes from the run -------------------------------------------------------------------------------

describe('run attributes', () => {
  it('maps model, sampling settings, max_completion_tokens, usage, metadata (sorted), instructions only with content', () => {
    const spans = mapRecords({
      run: run({
        temperature: 0.2,
        top_p: 0.9,
        max_completion_tokens: 1024,
        max_prompt_tokens: 4096,
        metadata: { user: 'u_42', env: 'prod', traceparent: TRACEPARENT.header, tracestate: 'vendor=x' },
      }),
    });
    const attributes = runSpanOf(spans).attributes;
    expect(attributes).toEqual({
      ...RUN_ATTRS,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.max_tokens': 1024,
      'assistants.run.metadata.env': 'prod',
      'assistants.run.metadata.user': 'u_42',
    });
    const metadataKeys = Object.keys(attributes).filter((k) => k.startsWith('assistants.run.metadata.'));
    expect(metadataKeys).toEqual(['assistants.run.metadata.env', 'assistants.run.metadata.user']);
  });

  it('usage without total_tokens: the sum', () => {
    const attributes = runSpanOf(mapRecords({ run: run({ usage: { prompt_tokens: 100, completion_tokens: 23 } }) })).attributes;
    expect(attributes['assistants.usage.total_tokens']).toBe(123);
  });

  it('null usage, model settings and instructions add nothing', () => {
    const attributes = runSpanOf(
      mapRecords({ run: run({ usage: null, temperature: null, top_p: null, instructions: null }) }, { captureContent: true }),
    ).attributes;
    expect(attributes).toEqual({
      ...ALL,
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.request.model': 'gpt-4o',
      'assistants.run.status': 'completed',
    });
  });

  it('a step carries its metadata under assistants.step.metadata.*', () => {
    const span = onlyStep(mapStep(step({ metadata: { origin: 'import', batch: '7' } })));
    expect(span.attributes).toEqual({
      ...MESSAGE_STEP_ATTRS,
      'assistants.step.metadata.batch': '7',
      'assistants.step.metadata.origin': 'import',
    });
  });

  it('providerName and server address/port go on every span', () => {
    const spans = mapRecords(
      { run: run(), steps: [toolCallsStep([functionCall()])] },
      { providerName: 'azure.ai.openai', serverAddress: 'myres.openai.azure.com', serverPort: 443 },
    );
    expect(spans).toHaveLength(3);
    for (const span of spans) {
      expect(span.attributes).toMatchObject({
        'gen_ai.provider.name': 'azure.ai.openai',
        'server.address': 'myres.openai.azure.com',
        'server.port': 443,
      });
    }
  });
});

// ---- content -------------------------------------------------------------------------------------------

describe('content (opt-in)', () => {
  const everything = () => ({
    run: run({ instructions: 'Answer in French.' }),
    steps: [toolCallsStep([functionCall(), codeInterpreterCall(), fileSearchCall(), bingGroundingCall()])],
  });

  it('is off by default: no content attribute on any span', () => {
    for (const span of mapRecords(everything())) {
      for (const key of CONTENT_KEYS) expect(span.attributes).not.toHaveProperty(key);
    }
  });

  it('captureContent: false records nothing either', () => {
    for (const span of mapRecords(everything(), { captureContent: false })) {
      for (const key of CONTENT_KEYS) expect(span.attributes).not.toHaveProperty(key);
    }
  });

  it('on: the run instructions become gen_ai.system_instructions', () => {
    const runSpan = runSpanOf(mapRecords(everything(), { captureContent: true }));
    expect(runSpan.attributes).toEqual({ ...RUN_ATTRS, 'gen_ai.system_instructions': 'Answer in French.' });
  });

  const withArguments = (args: string) => toolCallsStep([functionCall({}, { arguments: args, output: null })]);
  const argumentsOf = (spans: SpanData[]) => onlyTool(spans).attributes['gen_ai.tool.call.arguments'];

  it('keeps a value of exactly 8192 characters whole', () => {
    const value = 'x'.repeat(8192);
    expect(argumentsOf(mapStep(withArguments(value), { captureContent: true }))).toBe(value);
  });

  it('cuts a longer value to 8192 characters followed by …[truncated N chars]', () => {
    const value = 'a'.repeat(8192) + 'b'.repeat(1808);
    expect(argumentsOf(mapStep(withArguments(value), { captureContent: true }))).toBe(`${'a'.repeat(8192)}…[truncated 1808 chars]`);
  });

  it('cuts at 8193 characters by one', () => {
    const value = 'y'.repeat(8193);
    expect(argumentsOf(mapStep(withArguments(value), { captureContent: true }))).toBe(`${'y'.repeat(8192)}…[truncated 1 chars]`);
  });

  it('honours contentMaxLength', () => {
    expect(argumentsOf(mapStep(withArguments('0123456789abcdef'), { captureContent: true, contentMaxLength: 10 }))).toBe(
      '0123456789…[truncated 6 chars]',
    );
  });

  it('never splits a surrogate pair at the bound', () => {
    // '😀' is two UTF-16 code units; the bound falls between them.
    const value = `${'a'.repeat(9)}😀tail`;
    const cut = argumentsOf(mapStep(withArguments(value), { captureContent: true, contentMaxLength: 10 })) as string;
    const kept = cut.slice(0, cut.indexOf('…[truncated'));
    expect(kept).toBe('a'.repeat(9));
    expect(cut).toMatch(/…\[truncated \d+ chars\]$/);
    expect(hasLoneSurrogate(cut)).toBe(false);
  });

  it('keeps a surrogate pair that fits exactly', () => {
    const value = `${'a'.repeat(8)}😀tail`;
    const cut = argumentsOf(mapStep(withArguments(value), { captureContent: true, contentMaxLength: 10 })) as string;
    expect(cut.startsWith(`${'a'.repeat(8)}😀…[truncated`)).toBe(true);
    expect(hasLoneSurrogate(cut)).toBe(false);
  });

  it('bounds code interpreter input and logs, file search results and instructions too', () => {
    const long = 'L'.repeat(50);
    const spans = mapRecords(
      {
        run: run({ instructions: long }),
        steps: [
          toolCallsStep([
            codeInterpreterCall({}, [{ type: 'logs', logs: long }]),
            fileSearchCall({}, { results: [{ file_id: 'f', file_name: long, score: 1 }] }),
          ]),
        ],
      },
      { captureContent: true, contentMaxLength: 20 },
    );
    const values = spans.flatMap((s) => CONTENT_KEYS.map((k) => s.attributes[k]).filter((v) => v !== undefined));
    // instructions, code interpreter input and logs, file search results
    expect(values).toHaveLength(4);
    for (const value of values) expect(value).toMatch(/^.{20}…\[truncated \d+ chars\]$/s);
  });
});

// ---- OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT ----------------------------------------------------------------------

describe('attributeValueLengthLimit (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)', () => {
  const LIMIT = 12;
  const records = () => ({
    run: run({ model: 'gpt-4o-2024-08-06-long-model-name', metadata: { note: 'a metadata value well over the limit' } }),
    steps: [
      step({ status: 'failed', completed_at: null, failed_at: T0 + 3, last_error: { code: 'server_error', message: 'x' } }),
      toolCallsStep([codeInterpreterCall({}, [{ type: 'image', image: { file_id: 'file-a-very-long-image-id' } }]), functionCall()]),
    ],
  });

  function stringValues(attributes: Attributes): string[] {
    return Object.values(attributes).flatMap((v) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : []));
  }

  it('cuts every string attribute, content or not, to at most the limit, as an SDK would', () => {
    const spans = mapRecords(records(), { captureContent: true, attributeValueLengthLimit: LIMIT });
    for (const span of spans) {
      for (const value of stringValues(span.attributes)) expect(value.length, value).toBeLessThanOrEqual(LIMIT);
    }
  });

  it('keeps the beginning of each value (an SDK cuts, it does not rewrite)', () => {
    const unlimited = mapRecords(records(), { captureContent: true });
    const limited = mapRecords(records(), { captureContent: true, attributeValueLengthLimit: LIMIT });
    limited.forEach((span, i) => {
      const before = unlimited[i]!.attributes;
      for (const [key, value] of Object.entries(span.attributes)) {
        const original = before[key];
        if (typeof original === 'string') expect(value, key).toBe(original.slice(0, LIMIT));
        else if (Array.isArray(original)) expect(value, key).toEqual(original.map((e) => (typeof e === 'string' ? e.slice(0, LIMIT) : e)));
        else expect(value, key).toEqual(original);
      }
      expect(Object.keys(span.attributes)).toEqual(Object.keys(before));
    });
  });

  it('leaves values within the limit, numbers and booleans alone', () => {
    const spans = mapRecords({ steps: [step()] }, { attributeValueLengthLimit: 1000 });
    expect(spans).toEqual(mapRecords({ steps: [step()] }));
  });
});

// ---- identity and parenting -----------------------------------------------------------------------------------

describe('identity and parenting', () => {
  it('derives every ID from the provider IDs', () => {
    const spans = mapRecords({ run: run(), steps: [step(), toolCallsStep([functionCall()])] });
    expect(spans.map((s) => [s.traceId, s.spanId])).toEqual([
      [traceIdForRun(IDS.run), spanIdForRun(IDS.run)],
      [traceIdForRun(IDS.run), spanIdForStep(IDS.run, IDS.step)],
      [traceIdForRun(IDS.run), spanIdForStep(IDS.run, 'step_tools1')],
      [traceIdForRun(IDS.run), spanIdForToolCall(IDS.run, 'step_tools1', 'id:call_fn1')],
    ]);
  });

  it('gives other runs other traces', () => {
    const a = mapRecords({ run: run(), steps: [step()] });
    const b = mapRecords({ run: run({ id: 'run_other' }), steps: [step({ run_id: 'run_other' })] });
    expect(a[0]!.traceId).not.toBe(b[0]!.traceId);
    expect(a[1]!.spanId).not.toBe(b[1]!.spanId);
  });

  it('a valid traceparent in the run metadata makes the run span a remote child in that trace', () => {
    const spans = mapRecords({
      run: run({ metadata: { traceparent: TRACEPARENT.header, tracestate: 'congo=t61rcWkgMzE' } }),
      steps: [toolCallsStep([functionCall()])],
    });
    const runSpan = runSpanOf(spans);
    expect(runSpan.traceId).toBe(TRACEPARENT.traceId);
    expect(runSpan.parentSpanId).toBe(TRACEPARENT.spanId);
    expect(runSpan.parentIsRemote).toBe(true);
    expect(runSpan.spanId).toBe(spanIdForRun(IDS.run));
    expect(runSpan.attributes).toEqual(RUN_ATTRS);
    // Step and tool call spans inherit the trace, and their parents stay local.
    for (const span of spans.slice(1)) {
      expect(span.traceId).toBe(TRACEPARENT.traceId);
      expect(span.parentIsRemote).toBe(false);
    }
    expect(onlyStep(spans).parentSpanId).toBe(spanIdForRun(IDS.run));
  });

  it('a run still going with a traceparent already puts its finished steps in that trace', () => {
    const spans = mapRecords({ run: runInProgress({ metadata: { traceparent: TRACEPARENT.header } }), steps: [step()] });
    expect(spans).toHaveLength(1);
    expect(spans[0]!.traceId).toBe(TRACEPARENT.traceId);
    expect(spans[0]!.parentSpanId).toBe(spanIdForRun(IDS.run));
  });

  it.each([
    ['garbage', 'hello'],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ])('an invalid traceparent (%s) is ignored: the run span is a root in its own trace', (_name, header) => {
    const spans = mapRecords({ run: run({ metadata: { traceparent: header } }), steps: [step()] });
    const runSpan = runSpanOf(spans);
    expect(runSpan.parentSpanId).toBeUndefined();
    expect(runSpan.parentIsRemote).toBe(false);
    expect(spans.map((s) => s.traceId)).toEqual([traceIdForRun(IDS.run), traceIdForRun(IDS.run)]);
  });

  it('tool calls without ids get distinct span IDs, stable across mappings', () => {
    const call = () => ({ type: 'function', function: { name: 'lookup', arguments: '{}', output: null } });
    const raw = toolCallsStep([call(), call(), call()]);
    const tools = toolSpans(mapStep(raw));
    const first = tools.map((s) => s.spanId);
    const second = toolSpans(mapStep(structuredClone(raw))).map((s) => s.spanId);
    // Keyed by position: `index:<position>`.
    expect(tools.map((s) => (s.subject.kind === 'tool_call' ? s.subject.toolCallKey : ''))).toEqual(['index:0', 'index:1', 'index:2']);
    expect(first).toEqual([0, 1, 2].map((i) => spanIdForToolCall(IDS.run, 'step_tools1', `index:${i}`)));
    expect(new Set(first).size).toBe(3);
    expect(second).toEqual(first);
  });

  it('tool calls with a duplicated id get distinct span IDs, stable across mappings; the first keeps its own', () => {
    const raw = toolCallsStep([functionCall({ id: 'call_dup' }), functionCall({ id: 'call_dup' }), functionCall({ id: 'call_other' })]);
    const tools = toolSpans(mapStep(raw));
    const first = tools.map((s) => s.spanId);
    // The repeat is keyed by its position, `index:1`; the others by their ids.
    expect(tools.map((s) => (s.subject.kind === 'tool_call' ? s.subject.toolCallKey : ''))).toEqual(['id:call_dup', 'index:1', 'id:call_other']);
    expect(first).toEqual([
      spanIdForToolCall(IDS.run, 'step_tools1', 'id:call_dup'),
      spanIdForToolCall(IDS.run, 'step_tools1', 'index:1'),
      spanIdForToolCall(IDS.run, 'step_tools1', 'id:call_other'),
    ]);
    expect(new Set(first).size).toBe(3);
    expect(toolSpans(mapStep(structuredClone(raw))).map((s) => s.spanId)).toEqual(first);
  });

  it('a tool call id that looks like a positional key does not collide with a call without id', () => {
    // The second call has no id, so it is keyed `index:1`; the first call's id is literally `index:1`,
    // so it is keyed `id:index:1`. The prefixes keep the two apart.
    const raw = toolCallsStep([functionCall({ id: 'index:1' }), without(functionCall(), 'id')]);
    const tools = toolSpans(mapStep(raw));
    expect(tools.map((s) => (s.subject.kind === 'tool_call' ? s.subject.toolCallKey : ''))).toEqual(['id:index:1', 'index:1']);
    const ids = tools.map((s) => s.spanId);
    expect(ids).toEqual([spanIdForToolCall(IDS.run, 'step_tools1', 'id:index:1'), spanIdForToolCall(IDS.run, 'step_tools1', 'index:1')]);
    expect(new Set(ids).size).toBe(2);
  });

  it('the same tool call id in two steps gives two span IDs', () => {
    const spans = mapStep(toolCallsStep([functionCall()]));
    const other = mapRecords({ steps: [toolCallsStep([functionCall()], { id: 'step_tools2' })] });
    expect(onlyTool(spans).spanId).not.toBe(onlyTool(other).spanId);
  });
});

// ---- synthesized run spans -----------------------------------------------------------------------------------

describe('synthesized run spans (steps without their run record)', () => {
  const steps = () => [
    step({ id: 'step_1', created_at: T0 + 3, completed_at: T0 + 5 }),
    toolCallsStep([functionCall()], { id: 'step_2', created_at: T0 + 5, completed_at: T0 + 12 }),
  ];

  it('stands in for the run: same span ID, marked synthesized, spanning its steps', () => {
    const spans = mapRecords({ runId: IDS.run, steps: steps() });
    expect(spans[0]).toEqual({
      subject: { kind: 'run', runId: IDS.run, synthesized: true },
      traceId: traceIdForRun(IDS.run),
      spanId: spanIdForRun(IDS.run),
      parentIsRemote: false,
      name: `invoke_agent ${IDS.assistant}`,
      kind: SpanKind.CLIENT,
      startTime: at(T0 + 3),
      endTime: at(T0 + 12),
      attributes: {
        ...ALL,
        'gen_ai.operation.name': 'invoke_agent',
        'assistants.run.synthesized': true,
      },
      status: { code: SpanStatusCode.UNSET },
      events: [],
    });
  });

  it('gives step and tool call spans identical to those mapped with the run record', () => {
    const withRun = mapRecords({ run: run(), steps: steps() });
    const withoutRun = mapRecords({ runId: IDS.run, steps: steps() });
    expect(withoutRun.slice(1)).toEqual(withRun.slice(1));
    expect(withoutRun[0]!.spanId).toBe(withRun[0]!.spanId);
    expect(withoutRun[0]!.traceId).toBe(withRun[0]!.traceId);
  });

  it('spans only the terminal steps', () => {
    const spans = mapRecords({
      runId: IDS.run,
      steps: [...steps(), step({ id: 'step_3', created_at: T0 + 20, status: 'in_progress', completed_at: null })],
    });
    expect(spans[0]!.endTime).toEqual(at(T0 + 12));
    expect(stepSpans(spans)).toHaveLength(2);
  });

  it('is not made when no step is terminal', () => {
    expect(mapRecords({ runId: IDS.run, steps: [step({ status: 'in_progress', completed_at: null })] })).toEqual([]);
  });
});

// ---- records we accept ---------------------------------------------------------------------------------------

describe('records we accept (spec quirks map like the spec)', () => {
  it('a step with the stale `assistant.run.step` object maps like any step', () => {
    expect(mapStep(step({ object: 'assistant.run.step' }))).toEqual(mapStep(step()));
  });

  it('a step without metadata, a run with null instructions and extra tool_resources map without warnings or extras', () => {
    const spans = mapRecords(
      { run: run({ instructions: null, tool_resources: { code_interpreter: { file_ids: ['file-1'] } } }), steps: [step()] },
      { captureContent: true },
    );
    expect(runSpanOf(spans).attributes).toEqual(RUN_ATTRS);
    expect(onlyStep(spans).attributes).toEqual(MESSAGE_STEP_ATTRS);
  });

});
