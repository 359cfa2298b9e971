/**
 * `assistants-otel import` as a user runs it: the real CLI process, saved records on disk, a loopback
 * OTLP/HTTP receiver that decodes what was sent with the official OTLP protos.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { SpanKind, StatusCode, formatTree, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/records/', import.meta.url));
const RUNS = `${FIXTURES}runs.json`;
const STEPS = `${FIXTURES}steps.jsonl`;

/** The README's ID scheme, computed here independently of the code under test. */
function idOf(bytes: number, kind: string, ...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of ['assistants-otel/ids/v1', kind, ...parts]) hash.update(`${Buffer.byteLength(part)}:${part}`);
  return hash.digest().subarray(0, bytes).toString('hex');
}
const traceId = (run: string) => idOf(16, 'trace', run);
const runSpanId = (run: string) => idOf(8, 'run', run);
const stepSpanId = (run: string, step: string) => idOf(8, 'step', run, step);
const toolSpanId = (run: string, step: string, call: string) => idOf(8, 'tool_call', run, step, `id:${call}`);
const nanos = (seconds: number) => BigInt(seconds) * 1_000_000_000n;

let receiver: OtlpReceiver;
beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function env(extra: Record<string, string> = {}) {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...extra };
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `exactly one span named ${name}\n${formatTree(spans)}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

describe('assistants-otel import (end to end)', () => {
  it('exports every run, step and tool call as one trace per run, and reports what it rejected', async () => {
    const result = await runCli(['import', RUNS, STEPS], { env: env() });

    expect(result.code, result.stderr).toBe(1); // two records were rejected; the rest is exported
    // No run_id: nothing says which trace it belongs to.
    expect(result.stderr).toMatch(/rejected: .*steps\.jsonl:6 \(step_broken\): run_id: required to place the record in a trace, but missing/);
    expect(result.stderr).toMatch(/rejected: .*steps\.jsonl:7: not valid JSON/);
    expect(result.stdout).toMatch(/3 runs, 5 steps, 4 tool calls → 12 of 12 spans exported/);
    expect(result.stdout).toMatch(/2 records rejected/);

    const spans = receiver.spans();
    expect(spans).toHaveLength(12);

    // The run with a traceparent in its metadata joins that trace, under that span.
    const parentTrace = '0af7651916cd43dd8448eb211c80319c';
    const run = byName(spans.filter((s) => s.traceId === parentTrace), 'invoke_agent asst_weather');
    expect(run).toMatchObject({
      traceId: parentTrace,
      spanId: runSpanId('run_ok'),
      parentSpanId: 'b7ad6b7169203331',
      kind: SpanKind.CLIENT,
      startTimeUnixNano: nanos(1714560000),
      endTimeUnixNano: nanos(1714560030),
      status: { code: StatusCode.UNSET, message: '' },
    });
    expect(run.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.agent.id': 'asst_weather',
      'gen_ai.conversation.id': 'thread_a',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.top_p': 1,
      'gen_ai.request.max_tokens': 800,
      'gen_ai.usage.input_tokens': 300,
      'gen_ai.usage.output_tokens': 60,
      'assistants.usage.total_tokens': 360,
      'assistants.run.id': 'run_ok',
      'assistants.run.status': 'completed',
      'assistants.run.metadata.user': 'u-42',
      // Decided as `watch` decides them (mapping/source.ts): the default provider's API.
      'server.address': 'api.openai.com',
      'server.port': 443,
      'assistants.api.start_seconds': 1714560000,
      'assistants.api.end_seconds': 1714560030,
    });
    expect(run.events.map((e) => [e.name, e.timeUnixNano])).toEqual([['assistants.run.started', nanos(1714560001)]]);
    expect(run.resource['service.name']).toBe('assistants-otel');
    expect(run.scope.name).toBe('assistants-otel');

    const fnStep = spans.find((s) => s.spanId === stepSpanId('run_ok', 'step_fn')) as ReceivedSpan;
    expect(fnStep).toMatchObject({ name: 'step tool_calls', traceId: parentTrace, parentSpanId: runSpanId('run_ok'), kind: SpanKind.INTERNAL });
    expect([fnStep.startTimeUnixNano, fnStep.endTimeUnixNano]).toEqual([nanos(1714560002), nanos(1714560010)]);

    const fn = byName(spans, 'execute_tool get_weather');
    expect(fn).toMatchObject({ spanId: toolSpanId('run_ok', 'step_fn', 'call_fn'), parentSpanId: fnStep.spanId, traceId: parentTrace });
    // Content is off by default: no arguments, no result.
    expect(fn.attributes).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.provider.name': 'openai',
      // The default provider's API, as `watch` would decide it (mapping/source.ts).
      'server.address': 'api.openai.com',
      'server.port': 443,
      'gen_ai.tool.name': 'get_weather',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.id': 'call_fn',
      'gen_ai.agent.id': 'asst_weather',
      'gen_ai.conversation.id': 'thread_a',
      'assistants.run.id': 'run_ok',
      'assistants.step.id': 'step_fn',
      'assistants.tool_call.type': 'function',
      'assistants.tool_call.index': 0,
      // A tool call spans its step.
      'assistants.api.start_seconds': 1714560002,
      'assistants.api.end_seconds': 1714560010,
    });

    const ci = byName(spans, 'execute_tool code_interpreter');
    expect(ci.attributes['gen_ai.tool.type']).toBe('extension');
    expect(ci.attributes['assistants.code_interpreter.image_file_ids']).toEqual(['file_plot']);
    const fs = byName(spans, 'execute_tool file_search');
    expect(fs.attributes).toMatchObject({ 'gen_ai.tool.type': 'datastore', 'assistants.file_search.ranker': 'auto', 'assistants.file_search.result_count': 1 });
    const bing = byName(spans, 'execute_tool bing_grounding');
    expect(bing).toMatchObject({ parentSpanId: stepSpanId('run_ok', 'step_ci'), spanId: toolSpanId('run_ok', 'step_ci', 'call_bing') });
    expect(bing.attributes['gen_ai.tool.type']).toBe('datastore'); // a grounding search reads a data store
    expect(bing.attributes['assistants.tool_call.request_url']).toBe('https://example.invalid/search');

    // A failed run: its own trace (no traceparent), ERROR with the error code.
    const failed = spans.find((s) => s.spanId === runSpanId('run_failed')) as ReceivedSpan;
    expect(failed).toMatchObject({ traceId: traceId('run_failed'), parentSpanId: '', status: { code: StatusCode.ERROR, message: 'Rate limit reached' } });
    expect(failed.attributes['error.type']).toBe('rate_limit_exceeded');
    const failedStep = spans.find((s) => s.spanId === stepSpanId('run_failed', 'step_fail')) as ReceivedSpan;
    expect(failedStep).toMatchObject({ parentSpanId: failed.spanId, status: { code: StatusCode.ERROR } });

    // Steps without their run record: a synthesized run span, an unknown step type carried through.
    const synthesized = spans.find((s) => s.spanId === runSpanId('run_unsaved')) as ReceivedSpan;
    expect(synthesized.attributes['assistants.run.synthesized']).toBe(true);
    expect(synthesized.traceId).toBe(traceId('run_unsaved'));
    const activities = spans.find((s) => s.spanId === stepSpanId('run_unsaved', 'step_orphan')) as ReceivedSpan;
    expect(activities).toMatchObject({ name: 'step activities', parentSpanId: synthesized.spanId });
  });

  it('records content only when asked, cut to the bound', async () => {
    const result = await runCli(['import', '--capture-content', '--content-max-length', '11', RUNS, STEPS], { env: env() });
    expect(result.code).toBe(1);
    const fn = byName(receiver.spans(), 'execute_tool get_weather');
    expect(fn.attributes['gen_ai.tool.call.arguments']).toBe('{"city":"Pa…[truncated 5 chars]');
    expect(fn.attributes['gen_ai.tool.call.result']).toBe('{"temp":21}');
  });

  it('sends byte-identical requests for the same records, from separate processes', async () => {
    await runCli(['import', RUNS, STEPS], { env: env() });
    await runCli(['import', STEPS, RUNS], { env: env() }); // another order of the same files
    const bodies = receiver.requests.filter((r) => r.accepted).map((r) => Buffer.from(r.body).toString('hex'));
    expect(bodies.length).toBe(2);
    expect(bodies[0]).toBe(bodies[1]);
  });

  it('speaks OTLP/JSON when asked, with the same spans', async () => {
    const result = await runCli(['import', RUNS, STEPS], { env: env({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }) });
    expect(result.code).toBe(1);
    expect(receiver.requests[0]?.contentType).toBe('application/json');
    expect(receiver.spans()).toHaveLength(12);
    expect(receiver.spans().map((s) => s.spanId)).toContain(toolSpanId('run_ok', 'step_ci', 'call_fs'));
  });

  it('retries a collector that is briefly unavailable, and exits 0 for clean input', async () => {
    receiver.failNext(2, { status: 503, headers: { 'retry-after': '1' } });
    const result = await runCli(['import', RUNS], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/HTTP 503; retry 1/);
    const tries = receiver.requests.map((r) => r.receivedAt.epochMs);
    expect(tries).toHaveLength(3);
    expect((tries[1] as number) - (tries[0] as number)).toBeGreaterThanOrEqual(1000); // never before Retry-After
    expect(receiver.spans()).toHaveLength(2);
  });

  it('reads standard input and prints the tree on --dry-run without sending anything', async () => {
    const { readFile } = await import('node:fs/promises');
    const result = await runCli(['import', '--dry-run', '-'], { stdin: await readFile(STEPS), env: env() });
    expect(result.stdout).toMatch(/step tool_calls/);
    expect(result.stdout).toMatch(/^dry run: 3 runs, 5 steps, 4 tool calls → 12 spans \(not exported\)$/m);
    // The rejections are counted once, in the summary, not also on the dry-run line.
    expect(result.stdout.match(/records? rejected/g)).toHaveLength(1);
    expect(receiver.requests).toHaveLength(0);
  });

  it('a run still queued with no step is said to have none (and nothing of it is exported); counts of one are singular', async () => {
    const queued = { id: 'run_q', object: 'thread.run', thread_id: 'thread_q', assistant_id: 'asst_q', status: 'queued', created_at: 1_767_225_600, model: 'gpt-4o' };
    const result = await runCli(['import', '--dry-run', '-'], { stdin: `${JSON.stringify(queued)}\n`, env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^dry run: 0 runs, 0 steps, 0 tool calls → 0 spans \(not exported\)$/m);
    expect(result.stdout).toContain('  run_q is still queued, with no step yet: nothing of it exported (import its records again once it ends)');
    expect(result.stdout).not.toContain('its finished steps');
    expect(result.stdout).toMatch(/^ {2}0 records rejected$/m);
    // One of each, in the singular.
    const one = await runCli(['import', '--dry-run', '-'], { stdin: `${JSON.stringify({ ...queued, status: 'completed', completed_at: 1_767_225_605, started_at: 1_767_225_601 })}\n{"bad": true}\n`, env: env() });
    expect(one.stdout).toMatch(/^dry run: 1 run, 0 steps, 0 tool calls → 1 span \(not exported\)$/m);
    expect(one.stdout).toMatch(/^ {2}1 record rejected \(see above\)$/m);
  });

  it('names the flag or variable that is wrong and exits 2', async () => {
    const bad = await runCli(['import', RUNS], { env: env({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' }) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL: expected "http\/protobuf", "http\/json" or "grpc", got "http\/xml"/);
    const flag = await runCli(['import', '--bogus', RUNS], { env: env() });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--bogus'/);
  });
});
