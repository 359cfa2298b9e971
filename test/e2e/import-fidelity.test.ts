/**
 * `assistants-otel import` over the fidelity corpus (test/fixtures/fidelity/, see its README): records
 * as real servers return them. The real CLI process, a loopback OTLP receiver that decodes what the
 * official exporter sent; whole span trees (names, kinds, status, times, quirks) and whole attribute
 * maps are asserted.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { spanTree, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan, type SpanNode } from '../support/otlp-receiver.js';

const CORPUS = fileURLToPath(new URL('../fixtures/fidelity/', import.meta.url));
const T = 1733050000; // the corpus's time zero, 2024-12-01T10:46:40Z
const at = (offset: number) => new Date((T + offset) * 1000).toISOString().replace('.000Z', 'Z');

/** The README's ID scheme, computed here independently of the code under test. */
function idOf(bytes: number, kind: string, ...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of ['assistants-otel/ids/v1', kind, ...parts]) hash.update(`${Buffer.byteLength(part)}:${part}`);
  return hash.digest().subarray(0, bytes).toString('hex');
}
const runSpanId = (run: string) => idOf(8, 'run', run);
const stepSpanId = (run: string, step: string) => idOf(8, 'step', run, step);

let receiver: OtlpReceiver;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-fidelity-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function importFiles(files: string[], options: { args?: string[]; env?: Record<string, string>; stdin?: Buffer } = {}) {
  return runCli(['import', ...(options.args ?? []), ...files.map((f) => (f === '-' || f.startsWith('/') ? f : `${CORPUS}${f}`))], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...options.env },
    ...(options.stdin ? { stdin: options.stdin } : {}),
  });
}

function iso(nanos: bigint): string {
  const millis = Number(nanos / 1_000_000n);
  return new Date(millis).toISOString().replace('.000Z', 'Z');
}

/**
 * One line per span, children indented: name, kind, status, start..end, quirks. Traces in order of
 * start, then of their text (so that traces starting together do not depend on their random IDs).
 */
function describeTree(spans: readonly ReceivedSpan[]): string {
  const kinds = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT'];
  const statuses = ['UNSET', 'OK', 'ERROR'];
  let lines: string[] = [];
  const visit = (node: SpanNode, depth: number) => {
    const s = node.span;
    const quirks = s.attributes['assistants.quirks'];
    lines.push(
      `${'  '.repeat(depth)}${s.name} [${kinds[s.kind]}] ${statuses[s.status.code]} ${iso(s.startTimeUnixNano)}..${iso(s.endTimeUnixNano)}${quirks ? ` quirks=${(quirks as string[]).join(',')}` : ''}${node.orphan ? ' ORPHAN' : ''}`,
    );
    for (const child of node.children) visit(child, depth + 1);
  };
  const blocks = spanTree(spans).map((root) => {
    lines = [];
    visit(root, 0);
    return { start: root.span.startTimeUnixNano, text: lines.join('\n') };
  });
  blocks.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return blocks.map((b) => b.text).join('\n');
}

function bySpanId(spans: readonly ReceivedSpan[], spanId: string): ReceivedSpan {
  const found = spans.filter((s) => s.spanId === spanId);
  expect(found, `one span ${spanId}\n${describeTree(spans)}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

function byName(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `one span named ${name}\n${describeTree(spans)}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

/** The summary lines after the first (counts) line: the same for `--dry-run` and a real import. */
const summaryLines = (stdout: string) => stdout.trimEnd().split('\n').filter((l) => /^ {2}[^ │├└✗]/.test(l));

describe('raw text/event-stream captures', () => {
  const TREE = [
    `invoke_agent asst_sse [CLIENT] UNSET ${at(0)}..${at(10)}`,
    `  step tool_calls [INTERNAL] UNSET ${at(2)}..${at(6)}`,
    `    execute_tool code_interpreter [INTERNAL] UNSET ${at(2)}..${at(6)}`,
    `  step message_creation [INTERNAL] UNSET ${at(7)}..${at(9)}`,
  ].join('\n');

  it('a capture (CRLF, comments, id/retry, a data field over two lines, [DONE], no final blank line) maps to the whole run', async () => {
    const result = await importFiles(['stream.sse']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const spans = receiver.spans();
    expect(describeTree(spans)).toBe(TREE);
    expect(bySpanId(spans, runSpanId('run_sse')).attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      // The default provider's API, as `watch` would decide it (mapping/source.ts).
      'server.address': 'api.openai.com',
      'server.port': 443,
      'gen_ai.agent.id': 'asst_sse',
      'gen_ai.conversation.id': 'thread_sse',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 1,
      'gen_ai.request.top_p': 1,
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 22,
      'assistants.usage.total_tokens': 142,
      'assistants.run.id': 'run_sse',
      'assistants.run.status': 'completed',
      'assistants.api.start_seconds': T,
      'assistants.api.end_seconds': T + 10,
    });
    // The split data field was joined: the step's final version (its logs) is what was mapped.
    expect(bySpanId(spans, stepSpanId('run_sse', 'step_sse_ci')).attributes['gen_ai.usage.input_tokens']).toBe(50);
    expect(summaryLines(result.stdout)).toEqual([
      '  skipped records that are not runs or steps: event thread.run.step.delta ×1, event thread.message.created ×1, event done ×1',
      '  0 records rejected',
    ]);
  });

  it('the same stream saved as {event, data} JSONL gives byte-identical OTLP requests', async () => {
    expect((await importFiles(['stream.sse'])).code).toBe(0);
    expect((await importFiles(['stream-events.jsonl'])).code).toBe(0);
    const bodies = receiver.requests.filter((r) => r.accepted).map((r) => Buffer.from(r.body).toString('hex'));
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toBe(bodies[1]);
  });

  it('is recognised by its content, not its name: from standard input, and as .txt', async () => {
    const text = await readFile(`${CORPUS}stream.sse`);
    const txt = join(dir, 'capture.txt');
    await copyFile(`${CORPUS}stream.sse`, txt);
    const fromStdin = await importFiles(['-'], { stdin: text });
    const fromTxt = await importFiles([txt]);
    expect([fromStdin.code, fromTxt.code]).toEqual([0, 0]);
    const [a, b] = receiver.requests.map((r) => Buffer.from(r.body).toString('hex'));
    expect(a).toBe(b);
    expect(describeTree(receiver.spans().slice(0, 4))).toBe(TREE);
  });

  it('locates a broken event by the line of its first field', async () => {
    const broken = join(dir, 'broken.sse');
    await writeFile(broken, 'event: thread.run.step.completed\ndata: {"id": "step_x", \n\n: a comment\nevent: thread.run.completed\ndata: 42\n\n');
    const result = await importFiles([broken], { args: ['--dry-run'] });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^rejected: ${broken}:1: the event's data is not valid JSON`)),
      `rejected: ${broken}:5: expected a run or run step object, got a number`,
    ]);
  });
});

describe('timestamps as servers send them', () => {
  const TREE = [
    // run_absurd: every end time dropped, so it ends where it starts
    `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${at(0)} quirks=end_time_missing,timestamp_milliseconds,timestamp_not_finite,timestamp_out_of_range`,
    // run_us
    `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${at(3)} quirks=timestamp_microseconds`,
    // run_text
    `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${at(10)} quirks=timestamp_string`,
    // run_ms and its step, to the millisecond
    `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${new Date((T + 20.25) * 1000).toISOString()} quirks=timestamp_milliseconds`,
    `  step message_creation [INTERNAL] UNSET ${new Date((T + 2.5) * 1000).toISOString()}..${at(19)} quirks=timestamp_milliseconds`,
    // run_neg: placed at its started_at
    `invoke_agent asst_fid [CLIENT] UNSET ${at(1)}..${at(5)} quirks=start_time_missing,timestamp_negative`,
    // step_untimed: no usable time at all, placed at its run's start
    `  step message_creation [INTERNAL] UNSET ${at(1)}..${at(1)} quirks=time_unknown,timestamp_negative,timestamp_out_of_range`,
  ].join('\n');

  it.each(['http/protobuf', 'http/json'])(
    'ms, µs and text are converted; negative, absurd and non-finite values dropped with a quirk; a record with no usable time placed by its run, never rejected (%s)',
    async (protocol) => {
      const result = await importFiles(['timestamps.jsonl'], { env: { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } });
      expect(result.code, result.stderr).toBe(0);
      const spans = receiver.spans();
      expect(describeTree(spans)).toBe(TREE);
      for (const span of spans) {
        // Never wrapped, never past what OTLP's unsigned nanoseconds can carry.
        expect(span.startTimeUnixNano).toBeGreaterThanOrEqual(1_420_070_400n * 1_000_000_000n);
        expect(span.endTimeUnixNano).toBeLessThan(4_102_444_800n * 1_000_000_000n);
      }
      expect(bySpanId(spans, runSpanId('run_neg')).events.map((e) => e.timeUnixNano)).toEqual([BigInt(T + 1) * 1_000_000_000n]);
      // Reported as they are read, in the order of the input.
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/timestamps\.jsonl:4 \(run_neg\): created_at: -28450271 is negative: the record is placed at its started_at instead$/),
        expect.stringMatching(/timestamps\.jsonl:5 \(run_absurd\): completed_at: 1e\+300 is too large for any time unit \(field dropped\)$/),
        expect.stringMatching(/timestamps\.jsonl:5 \(run_absurd\): failed_at: 8640000000000 is outside 2015-01-01\.\.2100-01-01 even read as milliseconds \(field dropped\)$/),
        expect.stringMatching(/timestamps\.jsonl:5 \(run_absurd\): cancelled_at: Infinity is not a finite number \(field dropped\)$/),
        expect.stringMatching(/^warning: .*timestamps\.jsonl:7 \(step_untimed\): completed_at: 0 is outside 2015-01-01\.\.2100-01-01 \(field dropped\)$/),
        expect.stringMatching(/^warning: .*timestamps\.jsonl:7 \(step_untimed\): created_at: -1 is negative, and no other usable timestamp: the record is kept and placed at its run's start$/),
      ]);
      expect(result.stdout).toMatch(/5 runs, 2 steps, 0 tool calls → 7 of 7 spans exported/);
    },
  );

  it('the dry-run waterfall prints the same times', async () => {
    const result = await importFiles(['timestamps.jsonl'], { args: ['--dry-run'] });
    // run_ms: its header gives its start, its rows the durations to the tenth of a second.
    const block = result.stdout.split('\n\n').find((b) => b.startsWith('run_ms ')) ?? '';
    expect(block.split('\n')[0]).toBe(`run_ms · thread_fid · ${at(0).replace('T', ' ')}`);
    expect(block).toMatch(/^invoke_agent asst_fid +█+ +20\.3s completed/m);
    expect(block).toMatch(/^└ step message_creation +·+█+·* +16\.5s completed/m);
  });
});

describe('usage in every known shape', () => {
  it('input/output or prompt/completion, total, cached and reasoning tokens; other counts kept by their path', async () => {
    const result = await importFiles(['usage.jsonl']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trim()).toMatch(/usage\.jsonl:4 \(step_usage_odd\): usage\.prompt_tokens: expected a non-negative integer, got "12" \(field dropped\)$/);
    const spans = receiver.spans();
    const usageOf = (span: ReceivedSpan) => Object.fromEntries(Object.entries(span.attributes).filter(([k]) => k.includes('usage')));
    expect(usageOf(bySpanId(spans, runSpanId('run_usage')))).toEqual({
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 300,
      'assistants.usage.total_tokens': 1500,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.usage.reasoning.output_tokens': 120,
    });
    expect(usageOf(bySpanId(spans, stepSpanId('run_usage', 'step_usage_chat')))).toEqual({
      'gen_ai.usage.input_tokens': 800,
      'gen_ai.usage.output_tokens': 200,
      'assistants.usage.total_tokens': 1000,
      'gen_ai.usage.cache_read.input_tokens': 600,
      'gen_ai.usage.reasoning.output_tokens': 80,
      'assistants.usage.completion_tokens_details.accepted_prediction_tokens': 3,
      'assistants.usage.completion_tokens_details.audio_tokens': 0,
      'assistants.usage.prompt_tokens_details.audio_tokens': 0,
    });
    expect(usageOf(bySpanId(spans, stepSpanId('run_usage', 'step_usage_total')))).toEqual({ 'assistants.usage.total_tokens': 42 });
    expect(usageOf(bySpanId(spans, stepSpanId('run_usage', 'step_usage_odd')))).toEqual({
      'gen_ai.usage.output_tokens': 7,
      'assistants.usage.x_vendor_cost_usd': 0.0042,
    });
  });
});

describe('one odd record spoils nothing', () => {
  it('`image: null` in a code interpreter output: a warning, and every span of the run', async () => {
    const result = await importFiles(['image-null.jsonl'], { args: ['--capture-content'] });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trim()).toMatch(/image-null\.jsonl:2 \(step_img\): step_details\.tool_calls\[0\]\.code_interpreter\.outputs\[1\]\.image: .*\(output kept, not read\)$/);
    const spans = receiver.spans();
    expect(describeTree(spans)).toBe(
      [
        `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${at(30)}`,
        `  step tool_calls [INTERNAL] UNSET ${at(2)}..${at(5)}`,
        `    execute_tool code_interpreter [INTERNAL] UNSET ${at(2)}..${at(5)}`,
        `  step message_creation [INTERNAL] UNSET ${at(6)}..${at(8)}`,
      ].join('\n'),
    );
    expect(byName(spans, 'execute_tool code_interpreter').attributes).toMatchObject({
      'assistants.code_interpreter.output_count': 3,
      'assistants.code_interpreter.image_file_ids': ['file_plot'],
      'gen_ai.tool.call.arguments': 'plot()',
      'gen_ai.tool.call.result': 'done',
    });
  });

  it('a value nested 20,000 levels deep: cut at the bound with a quirk; the steps around it exported', async () => {
    const result = await importFiles(['deep-nesting.jsonl'], { args: ['--capture-content'] });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trim()).toMatch(
      /deep-nesting\.jsonl:3 \(step_deep_b\): step_details\.tool_calls\[0\]\.bing_grounding\.response_metadata\[0\]… \(65 levels\): nested deeper than 64 levels: cut$/,
    );
    const spans = receiver.spans();
    expect(describeTree(spans)).toBe(
      [
        `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${at(30)}`,
        `  step message_creation [INTERNAL] UNSET ${at(2)}..${at(5)}`,
        `  step tool_calls [INTERNAL] UNSET ${at(6)}..${at(8)} quirks=nesting_depth_cut`,
        `    execute_tool bing_grounding [INTERNAL] UNSET ${at(6)}..${at(8)}`,
        `  step message_creation [INTERNAL] UNSET ${at(9)}..${at(12)}`,
      ].join('\n'),
    );
    const result64 = byName(spans, 'execute_tool bing_grounding').attributes['gen_ai.tool.call.result'] as string;
    expect(result64.startsWith('[[[[')).toBe(true);
    expect(result64).toContain('"[cut: nested deeper than 64 levels]"');
  });

  it('everything at once, next to lines that are broken: every good record exported, each bad one reported, exit 1', async () => {
    const files = ['stream.sse', 'timestamps.jsonl', 'usage.jsonl', 'image-null.jsonl', 'deep-nesting.jsonl', 'unfinished.jsonl', 'azure.jsonl'];
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, ['this line is not JSON', '42', '{"id":"abc"}', JSON.stringify({ id: 'step_norun', object: 'thread.run.step', created_at: T }), ''].join('\n'));
    // Each file alone, for what it exports...
    const expected = new Set<string>();
    for (const file of files) {
      await importFiles([file]);
      for (const span of receiver.spans()) expected.add(`${span.traceId}/${span.spanId}`);
      receiver.reset();
    }
    // ...and all of them at once, with the broken lines in between.
    const result = await importFiles([files[0] as string, bad, ...files.slice(1)]);
    expect(result.code).toBe(1);
    const got = new Set(receiver.spans().map((s) => `${s.traceId}/${s.spanId}`));
    expect([...got].sort()).toEqual([...expected].sort());
    expect(result.stderr).toMatch(new RegExp(`rejected: ${bad}:1: not valid JSON`));
    expect(result.stderr).toMatch(new RegExp(`rejected: ${bad}:2: expected a run or run step object, got a number`));
    expect(result.stderr).toMatch(new RegExp(`rejected: ${bad}:3 \\(abc\\): cannot tell whether this is a run or a run step`));
    expect(result.stderr).toMatch(new RegExp(`rejected: ${bad}:4 \\(step_norun\\): run_id: required to place the record in a trace`));
    expect(result.stdout).toMatch(/  4 records rejected \(see above\)/); // the four above (step_untimed is placed, not rejected)
  });
});

describe("a mock server's placeholder times (Prism, docs/assistants-api.md §9)", () => {
  const PLACEHOLDER = '2015-01-01T00:00:00Z'; // where a run none of whose records has a time is placed
  const TREE = [
    `invoke_agent asst_prism [CLIENT] UNSET ${PLACEHOLDER}..${PLACEHOLDER} quirks=time_placeholder,time_unknown,timestamp_out_of_range`,
    `  step message_creation [INTERNAL] UNSET ${PLACEHOLDER}..${PLACEHOLDER} quirks=time_placeholder,time_unknown,timestamp_out_of_range`,
    `  step tool_calls [INTERNAL] ERROR ${PLACEHOLDER}..${PLACEHOLDER} quirks=time_placeholder,time_unknown,timestamp_negative,timestamp_out_of_range`,
    `    execute_tool code_interpreter [INTERNAL] UNSET ${PLACEHOLDER}..${PLACEHOLDER} quirks=time_placeholder,time_unknown`,
    `    execute_tool file_search [INTERNAL] UNSET ${PLACEHOLDER}..${PLACEHOLDER} quirks=time_placeholder,time_unknown`,
  ].join('\n');

  it('records whose every time is 0 (or negative, or 1972) are exported, placed and marked, never rejected', async () => {
    const result = await importFiles(['prism.jsonl']);
    expect(result.code, result.stderr).toBe(0);
    const spans = receiver.spans();
    expect(describeTree(spans)).toBe(TREE);
    expect(bySpanId(spans, runSpanId('run_prism')).attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'server.address': 'api.openai.com',
      'server.port': 443,
      'gen_ai.agent.id': 'asst_prism',
      'gen_ai.conversation.id': 'thread_prism',
      'gen_ai.request.model': 'string',
      'gen_ai.request.temperature': 0,
      'gen_ai.request.top_p': 0,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.usage.input_tokens': 0,
      'gen_ai.usage.output_tokens': 0,
      'assistants.usage.total_tokens': 0,
      'assistants.run.id': 'run_prism',
      'assistants.run.metadata.property1': 'string',
      'assistants.run.metadata.property2': 'string',
      'assistants.run.status': 'completed',
      'assistants.api.start_seconds': 1_420_070_400,
      'assistants.api.end_seconds': 1_420_070_400,
      'assistants.quirks': ['time_placeholder', 'time_unknown', 'timestamp_out_of_range'],
    });
    // Each record without a usable time is named, with why, at warning level.
    const placedBy = result.stderr.split('\n').filter((l) => / created_at: .*no other usable timestamp/.test(l));
    expect(placedBy).toEqual([
      expect.stringMatching(/^warning: .*prism\.jsonl:1 \(string\): created_at: 0 is outside 2015-01-01\.\.2100-01-01, and no other usable timestamp: the record is kept and placed by its steps' times$/),
      expect.stringMatching(/^warning: .*prism\.jsonl:2 \(string\): created_at: 0 is outside .*: the record is kept and placed at its run's start$/),
      expect.stringMatching(/^warning: .*prism\.jsonl:3 \(run_prism\): created_at: 0 is outside .*: the record is kept and placed by its steps' times$/),
      expect.stringMatching(/^warning: .*prism\.jsonl:4 \(step_prism_static\): created_at: 0 is outside .*: the record is kept and placed at its run's start$/),
      expect.stringMatching(/^warning: .*prism\.jsonl:5 \(step_prism_dynamic\): created_at: -28450271 is negative, and no other usable timestamp: the record is kept and placed at its run's start$/),
    ]);
    expect(result.stderr).not.toMatch(/rejected/);
    // The static mock's own run is `queued` and its step `in_progress`: kept, reported, nothing finished to export.
    expect(result.stdout).toMatch(/^import: 1 run, 2 steps, 2 tool calls → 5 of 5 spans exported/);
    expect(summaryLines(result.stdout)).toEqual([expect.stringMatching(/^ {2}string is still queued/), '  0 records rejected']);
  });

  it('the dry-run waterfall says the time is unknown rather than drawing the placeholder', async () => {
    const result = await importFiles(['prism.jsonl'], { args: ['--dry-run'] });
    expect(result.code, result.stderr).toBe(0);
    const block = result.stdout.split('\n\n')[0]?.split('\n') ?? [];
    expect(block[0]).toBe('run_prism · thread_prism · time unknown');
    expect(block.slice(2).every((line) => / \? +\?( |$)/.test(line) || /✗ expired/.test(line)), block.join('\n')).toBe(true);
  });
});

describe('a run still in progress when saved, with finished steps', () => {
  const TREE = [
    `invoke_agent asst_fid [CLIENT] UNSET ${at(0)}..${at(11)}`,
    `  step message_creation [INTERNAL] UNSET ${at(2)}..${at(4)}`,
    `  step tool_calls [INTERNAL] UNSET ${at(5)}..${at(9)}`,
    `    execute_tool lookup_order [INTERNAL] UNSET ${at(5)}..${at(9)}`,
  ].join('\n');

  it('its steps get a parent: an unfinished run span, bounded by its last known activity, with the final span ID', async () => {
    const result = await importFiles(['unfinished.jsonl']);
    expect(result.code, result.stderr).toBe(0);
    const spans = receiver.spans();
    expect(describeTree(spans)).toBe(TREE);
    const run = bySpanId(spans, runSpanId('run_unf'));
    expect(run.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      // The default provider's API, as `watch` would decide it (mapping/source.ts).
      'server.address': 'api.openai.com',
      'server.port': 443,
      'gen_ai.agent.id': 'asst_fid',
      'gen_ai.conversation.id': 'thread_fid',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 1,
      'gen_ai.request.top_p': 1,
      'assistants.run.id': 'run_unf',
      'assistants.run.status': 'queued',
      'assistants.run.unfinished': true,
      // Its bounds: created, and the last known activity.
      'assistants.api.start_seconds': T,
      'assistants.api.end_seconds': T + 11,
    });
  });

  it('--dry-run and the real import report the same summary', async () => {
    const noRun = join(dir, 'no-run-id.jsonl');
    await writeFile(noRun, `${JSON.stringify({ id: 'step_norun', object: 'thread.run.step', created_at: T, status: 'completed', completed_at: T + 1 })}\n`);
    const dry = await importFiles(['unfinished.jsonl', 'stream.sse', 'timestamps.jsonl', noRun], { args: ['--dry-run'] });
    const real = await importFiles(['unfinished.jsonl', 'stream.sse', 'timestamps.jsonl', noRun]);
    expect(summaryLines(dry.stdout)).toEqual(summaryLines(real.stdout));
    expect(summaryLines(real.stdout)).toEqual([
      '  run_unf is still queued: its finished steps are under an unfinished run span (assistants.run.unfinished=true) that ends at its last known activity',
      '  skipped records that are not runs or steps: event thread.run.step.delta ×1, event thread.message.created ×1, event done ×1',
      '  1 record rejected (see above)',
    ]);
    expect(dry.stderr).toBe(real.stderr);
  });

  it('once it has finished, importing it again sends the same step spans and replaces the run span (same ID)', async () => {
    await importFiles(['unfinished.jsonl']);
    const first = receiver.spans();
    receiver.reset();
    const finished = join(dir, 'finished.jsonl');
    const lines = (await readFile(`${CORPUS}unfinished.jsonl`, 'utf8')).trimEnd().split('\n');
    const done = { ...(JSON.parse(lines[0] as string) as Record<string, unknown>), status: 'completed', completed_at: T + 20, expires_at: null };
    await writeFile(finished, [...lines, JSON.stringify(done)].join('\n'));
    expect((await importFiles([finished])).code).toBe(0);
    const second = receiver.spans();
    const steps = (spans: ReceivedSpan[]) => spans.filter((s) => s.spanId !== runSpanId('run_unf'));
    expect(steps(second)).toEqual(steps(first));
    const run = bySpanId(second, runSpanId('run_unf'));
    expect([run.attributes['assistants.run.unfinished'], run.attributes['assistants.run.status'], iso(run.endTimeUnixNano)]).toEqual([undefined, 'completed', at(20)]);
  });
});

describe("Azure Foundry Agent Service's shapes", () => {
  /** A tool call spans its step: step_fdy_tools at(4)..at(12), step_fdy_more at(13)..at(20). */
  const stepSeconds: Record<string, [number, number]> = { step_fdy_tools: [T + 4, T + 12], step_fdy_more: [T + 13, T + 20] };
  const common = (step: string, index: number, type: string, callId: string) => ({
    'assistants.api.start_seconds': stepSeconds[step]?.[0],
    'assistants.api.end_seconds': stepSeconds[step]?.[1],
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.provider.name': 'openai',
    // The default provider's API, as `watch` would decide it (mapping/source.ts).
    'server.address': 'api.openai.com',
    'server.port': 443,
    'gen_ai.tool.call.id': callId,
    'gen_ai.agent.id': 'asst_foundry',
    'gen_ai.conversation.id': 'thread_foundry',
    'assistants.run.id': 'run_foundry',
    'assistants.step.id': step,
    'assistants.tool_call.type': type,
    'assistants.tool_call.index': index,
  });

  it('the activities step and every Azure tool call type: their known fields as attributes, nothing content-like by default', async () => {
    const result = await importFiles(['azure.jsonl']);
    expect(result.code, result.stderr).toBe(0);
    const spans = receiver.spans();
    expect(describeTree(spans)).toBe(
      [
        `invoke_agent asst_foundry [CLIENT] UNSET ${at(0)}..${at(30)}`,
        `  step activities [INTERNAL] UNSET ${at(2)}..${at(3)}`,
        `  step tool_calls [INTERNAL] UNSET ${at(4)}..${at(12)}`,
        ...['azure_ai_search', 'bing_custom_search', 'bing_grounding', 'browser_automation', 'deep_research', 'fabric_dataagent', 'sharepoint_grounding'].map(
          (name) => `    execute_tool ${name} [INTERNAL] UNSET ${at(4)}..${at(12)}`,
        ),
        `  step tool_calls [INTERNAL] UNSET ${at(13)}..${at(20)}`,
        ...['billing_agent', 'computer_use', 'get_stock', 'search_docs', 'weather_GetForecast'].map((name) => `    execute_tool ${name} [INTERNAL] UNSET ${at(13)}..${at(20)}`),
        `  step message_creation [INTERNAL] UNSET ${at(21)}..${at(25)}`,
      ].join('\n'),
    );
    expect(bySpanId(spans, stepSpanId('run_foundry', 'step_fdy_act')).attributes).toEqual({
      'gen_ai.provider.name': 'openai',
      // The default provider's API, as `watch` would decide it (mapping/source.ts).
      'server.address': 'api.openai.com',
      'server.port': 443,
      'gen_ai.agent.id': 'asst_foundry',
      'gen_ai.conversation.id': 'thread_foundry',
      'assistants.run.id': 'run_foundry',
      'assistants.step.id': 'step_fdy_act',
      'assistants.step.type': 'activities',
      'assistants.step.status': 'completed',
      'assistants.step.activity_count': 1,
      'assistants.step.activity_types': ['mcp_list_tools'],
      'assistants.mcp.server_labels': ['docs'],
      'assistants.mcp.tool_names': ['fetch_page', 'search_docs'],
      'assistants.api.start_seconds': T + 2,
      'assistants.api.end_seconds': T + 3,
    });
    const tool = (name: string) => byName(spans, `execute_tool ${name}`).attributes;
    const T1 = 'step_fdy_tools';
    const T2 = 'step_fdy_more';
    expect(tool('bing_grounding')).toEqual({
      ...common(T1, 0, 'bing_grounding', 'call_bing'),
      'gen_ai.tool.name': 'bing_grounding',
      'gen_ai.tool.type': 'datastore',
      'assistants.tool_call.request_url': 'https://api.bing.microsoft.com/v7.0/search',
    });
    expect(tool('bing_custom_search')).toEqual({
      ...common(T1, 1, 'bing_custom_search', 'call_bcs'),
      'gen_ai.tool.name': 'bing_custom_search',
      'gen_ai.tool.type': 'datastore',
      'assistants.tool_call.request_url': 'https://api.bing.microsoft.com/v7.0/custom/search',
    });
    for (const [name, index, id] of [['azure_ai_search', 2, 'call_aisearch'], ['sharepoint_grounding', 3, 'call_sp'], ['fabric_dataagent', 4, 'call_fabric']] as const) {
      expect(tool(name)).toEqual({ ...common(T1, index, name, id), 'gen_ai.tool.name': name, 'gen_ai.tool.type': 'datastore' });
    }
    expect(tool('deep_research')).toEqual({ ...common(T1, 5, 'deep_research', 'call_dr'), 'gen_ai.tool.name': 'deep_research', 'gen_ai.tool.type': 'extension' });
    expect(tool('browser_automation')).toEqual({
      ...common(T1, 6, 'browser_automation', 'call_browser'),
      'gen_ai.tool.name': 'browser_automation',
      'gen_ai.tool.type': 'extension',
      'assistants.browser_automation.step_count': 2,
    });
    expect(tool('search_docs')).toEqual({ ...common(T2, 0, 'mcp', 'call_mcp'), 'gen_ai.tool.name': 'search_docs', 'gen_ai.tool.type': 'extension', 'assistants.mcp.server_label': 'docs' });
    expect(tool('billing_agent')).toEqual({
      ...common(T2, 1, 'connected_agent', 'call_agent'),
      'gen_ai.tool.name': 'billing_agent',
      'gen_ai.tool.type': 'extension',
      'assistants.connected_agent.name': 'billing_agent',
      'assistants.connected_agent.id': 'asst_child',
      'assistants.connected_agent.run_id': 'run_child',
      'assistants.connected_agent.thread_id': 'thread_child',
    });
    expect(tool('get_stock')).toEqual({ ...common(T2, 2, 'azure_function', 'call_func'), 'gen_ai.tool.name': 'get_stock', 'gen_ai.tool.type': 'extension' });
    expect(tool('weather_GetForecast')).toEqual({ ...common(T2, 3, 'openapi', 'call_openapi'), 'gen_ai.tool.name': 'weather_GetForecast', 'gen_ai.tool.type': 'extension' });
    expect(tool('computer_use')).toEqual({ ...common(T2, 4, 'computer_use', 'call_future'), 'gen_ai.tool.name': 'computer_use', 'gen_ai.tool.type': 'extension' });
  });

  it('with content capture: inputs and outputs, tool definitions, and whatever else the body holds', async () => {
    const result = await importFiles(['azure.jsonl'], { args: ['--capture-content'] });
    expect(result.code, result.stderr).toBe(0);
    const spans = receiver.spans();
    const content = (name: string) => {
      const attrs = byName(spans, `execute_tool ${name}`).attributes;
      return Object.fromEntries(['gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'assistants.tool_call.extra'].flatMap((k) => (k in attrs ? [[k, attrs[k]]] : [])));
    };
    expect(content('bing_grounding')).toEqual({
      'gen_ai.tool.call.arguments': 'https://api.bing.microsoft.com/v7.0/search?q=contoso%20earnings',
      'gen_ai.tool.call.result': "{'market': 'en-US', 'num_docs_retrieved': 5, 'num_docs_actually_used': 3}",
    });
    expect(content('azure_ai_search')).toEqual({ 'gen_ai.tool.call.arguments': 'refund policy', 'gen_ai.tool.call.result': 'Refunds within 30 days.' });
    expect(content('browser_automation')).toEqual({
      'gen_ai.tool.call.arguments': 'book a table',
      'gen_ai.tool.call.result': 'Booked.',
      'assistants.tool_call.extra': JSON.stringify({
        steps: [
          { last_step_result: 'opened', current_state: 'form', next_step: 'fill' },
          { last_step_result: 'filled', current_state: 'done', next_step: '' },
        ],
      }),
    });
    expect(content('search_docs')).toEqual({ 'gen_ai.tool.call.arguments': '{"q":"install"}', 'gen_ai.tool.call.result': '3 results' });
    expect(content('billing_agent')).toEqual({ 'gen_ai.tool.call.arguments': '{"query":"invoice 7"}', 'gen_ai.tool.call.result': 'Invoice 7 is paid.' });
    expect(content('weather_GetForecast')).toEqual({ 'gen_ai.tool.call.arguments': '{"city":"Oslo"}', 'gen_ai.tool.call.result': '{"temp":-3}' });
    expect(content('computer_use')).toEqual({ 'gen_ai.tool.call.result': '{"action":"click","x":10,"y":20}' });
    const activities = bySpanId(spans, stepSpanId('run_foundry', 'step_fdy_act')).attributes;
    expect(JSON.parse(activities['gen_ai.tool.definitions'] as string)).toEqual([
      { type: 'function', name: 'search_docs', description: 'Search the docs', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
      { type: 'function', name: 'fetch_page', description: 'Fetch a page', parameters: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] } },
    ]);
    expect(JSON.parse(activities['assistants.step.details'] as string)).toMatchObject({ activities: [{ type: 'mcp_list_tools', id: 'act_1', server_label: 'docs' }] });
  });
});
