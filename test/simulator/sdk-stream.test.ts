// Wire compatibility with the official `openai` SDK: streaming, retrieval, pagination, errors.
import OpenAI, { AzureOpenAI } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, FILE_SEARCH_CONTENT_INCLUDE, type ApiRun, type Simulator } from '../../src/simulator/index.js';
import { call, parseSse } from './helpers.js';

const KEY = 'sk-sdk-test';
let sim: Simulator;
afterEach(async () => {
  await sim.close();
});

const client = () => new OpenAI({ baseURL: sim.url, apiKey: KEY, maxRetries: 0 });
/** Real clock, 5 ms per scenario second: a run of a dozen seconds streams in well under a second. */
const fast = { clock: 'real', timeScaleMillisPerSecond: 5, prefix: '/v1', auth: { kind: 'bearer', token: KEY }, requireBetaHeader: true } as const;

describe('the official SDK against the simulator', () => {
  it('createAndRun with stream: true yields the spec’s events in order', async () => {
    sim = await createSimulator(fast);
    const stream = await client().beta.threads.createAndRun({ assistant_id: 'asst_1', thread: { messages: [{ role: 'user', content: 'Hello' }] }, stream: true });
    const names: string[] = [];
    for await (const event of stream) names.push(event.event);
    expect(names).toEqual([
      'thread.created',
      'thread.run.created',
      'thread.run.queued',
      'thread.run.in_progress',
      'thread.run.step.created',
      'thread.run.step.in_progress',
      'thread.message.created',
      'thread.message.in_progress',
      'thread.message.delta',
      'thread.message.completed',
      'thread.run.step.completed',
      'thread.run.completed',
    ]);
  });

  it('runs.stream → requires_action → submitToolOutputsStream → completed (the agent tool loop)', async () => {
    sim = await createSimulator(fast);
    const openai = client();
    const thread = await openai.beta.threads.create({ messages: [{ role: 'user', content: 'Weather?' }] });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    const first = openai.beta.threads.runs.stream(thread.id, { assistant_id: 'asst_1', tools, metadata: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    const toolCallsSeen: string[] = [];
    first.on('toolCallCreated', (call) => toolCallsSeen.push(call.type));
    const waiting = await first.finalRun();
    expect(waiting.status).toBe('requires_action');
    expect(waiting.metadata).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(toolCallsSeen).toEqual(['function']);
    const calls = waiting.required_action?.submit_tool_outputs.tool_calls ?? [];
    expect(calls.map((c) => c.function.name)).toEqual(['get_weather']);

    const second = openai.beta.threads.runs.submitToolOutputsStream(waiting.id, {
      thread_id: thread.id,
      tool_outputs: calls.map((c) => ({ tool_call_id: c.id, output: '{"c":20}' })),
    });
    const events: string[] = [];
    second.on('event', (e) => events.push(e.event));
    const done = await second.finalRun();
    expect(done.status).toBe('completed');
    expect(events[0]).toBe('thread.run.step.completed');
    expect(events).toContain('thread.run.queued');
    expect(events.at(-1)).toBe('thread.run.completed');
    expect(await second.finalMessages()).toHaveLength(1);

    const steps = [];
    for await (const step of openai.beta.threads.runs.steps.list(done.id, { thread_id: thread.id, order: 'asc' })) steps.push(step);
    expect(steps.map((s) => s.type)).toEqual(['tool_calls', 'message_creation']);
    const fn = steps[0]?.step_details.type === 'tool_calls' ? steps[0].step_details.tool_calls[0] : undefined;
    expect(fn?.type === 'function' && fn.function.output).toBe('{"c":20}');
  });

  it('createAndPoll / submitToolOutputsAndPoll follow a run to its end using openai-poll-after-ms', async () => {
    sim = await createSimulator({ ...fast, runScript: 'function-client' });
    const openai = client();
    const thread = await openai.beta.threads.create();
    const waiting = await openai.beta.threads.runs.createAndPoll(thread.id, { assistant_id: 'asst_1' });
    expect(waiting.status).toBe('requires_action');
    const calls = waiting.required_action?.submit_tool_outputs.tool_calls ?? [];
    const run = await openai.beta.threads.runs.submitToolOutputsAndPoll(waiting.id, {
      thread_id: thread.id,
      tool_outputs: calls.map((c) => ({ tool_call_id: c.id, output: 'sunny' })),
    });
    expect(run.status).toBe('completed');
    expect(run.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('retrieves a run and auto-paginates 250 steps (three requests of 100)', async () => {
    sim = await createSimulator({ scenario: 'long-run', prefix: '/v1', auth: { kind: 'bearer', token: KEY }, requireBetaHeader: true });
    await sim.runUntilIdle();
    const openai = client();
    const run = await openai.beta.threads.runs.retrieve('run_longrun', { thread_id: 'thread_longrun' });
    expect(run).toMatchObject({ id: 'run_longrun', status: 'completed', object: 'thread.run' });
    const ids: string[] = [];
    for await (const step of openai.beta.threads.runs.steps.list('run_longrun', { thread_id: 'thread_longrun', limit: 100, order: 'asc' })) ids.push(step.id);
    expect(ids).toEqual(sim.steps('run_longrun').map((s) => s.id));
    expect(sim.counters['listRunSteps']).toBe(3);
    const step = await openai.beta.threads.runs.steps.retrieve(ids[3] ?? '', {
      thread_id: 'thread_longrun',
      run_id: 'run_longrun',
      include: [FILE_SEARCH_CONTENT_INCLUDE],
    });
    const call0 = step.step_details.type === 'tool_calls' ? step.step_details.tool_calls[0] : undefined;
    expect(call0?.type === 'file_search' && call0.file_search.results?.[0]?.content).toEqual([{ type: 'text', text: 'Chunk 3.' }]);
  });

  it('AzureOpenAI: api-key header, /openai prefix, api-version query', async () => {
    sim = await createSimulator({ scenario: 'every-type', prefix: '/openai', auth: { kind: 'api-key', key: KEY }, apiVersion: '2025-04-01-preview' });
    await sim.runUntilIdle();
    const azure = new AzureOpenAI({ endpoint: sim.origin, apiKey: KEY, apiVersion: '2025-04-01-preview', maxRetries: 0 });
    const runs = await azure.beta.threads.runs.list('thread_everytype_a', { order: 'asc' });
    expect(runs.data.map((r) => r.id)).toEqual(['run_everytool', 'run_failed', 'run_incomplete']);
    expect(sim.requests[0]).toMatchObject({ path: '/threads/thread_everytype_a/runs', query: { 'api-version': '2025-04-01-preview', order: 'asc' } });
    expect(sim.requests[0]?.headers['api-key']).toBe('<redacted>');
  });

  it('maps the simulator’s errors to the SDK’s error classes', async () => {
    sim = await createSimulator({ prefix: '/v1', auth: { kind: 'bearer', token: KEY } });
    const thread = sim.createThread();
    sim.faults.add({ kind: 'rate-limit', retryAfterSeconds: 3, match: { times: 1 } });
    const limited = await client().beta.threads.runs.list(thread.id).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('3');
    const denied = await new OpenAI({ baseURL: sim.url, apiKey: 'wrong', maxRetries: 0 }).beta.threads.runs.list(thread.id).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    const missing = await client().beta.threads.runs.retrieve('run_nope', { thread_id: thread.id }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('raw SSE under the manual clock', () => {
  it('streams events as the test advances time, each data a full JSON object, ending with done', async () => {
    sim = await createSimulator({ runScript: 'every-tool' });
    const thread = sim.createThread();
    const res = await fetch(`${sim.url}/threads/${thread.id}/runs?include[]=${encodeURIComponent(FILE_SEARCH_CONTENT_INCLUDE)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: 'asst_1', stream: true }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    await sim.runUntilIdle(); // the stream ends at requires_action (the script submits outputs after it)
    const events = parseSse(await res.text());
    expect(events.at(-1)).toEqual({ event: 'done', data: '[DONE]' });
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['thread.run.created', 'thread.run.queued', 'thread.run.in_progress']);
    expect(names.at(-2)).toBe('thread.run.requires_action');
    const parsed = events.slice(0, -1).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
    for (const { event, data } of parsed) {
      const expected = event.startsWith('thread.run.step.delta') ? 'thread.run.step.delta' : event.startsWith('thread.run.step') ? 'thread.run.step' : event.startsWith('thread.message.delta') ? 'thread.message.delta' : event.startsWith('thread.message') ? 'thread.message' : 'thread.run';
      expect(data['object']).toBe(expected);
    }
    // include[] on createRun reaches the streamed file-search results.
    const fsDone = parsed.find((e) => e.event === 'thread.run.step.completed' && JSON.stringify(e.data).includes('file_search'));
    expect(JSON.stringify(fsDone?.data)).toContain('"content":[{"type":"text","text":"Refunds are accepted within 30 days of purchase."}]');
    // Created/in-progress tool_calls steps arrive empty; the calls come as deltas with an index.
    const created = parsed.find((e) => e.event === 'thread.run.step.created');
    expect(created?.data['step_details']).toEqual({ type: 'tool_calls', tool_calls: [] });
    const delta = parsed.find((e) => e.event === 'thread.run.step.delta');
    expect(JSON.stringify(delta?.data)).toContain('"index":0');
    // The run goes on without the stream: the script submits outputs, the run completes.
    const runId = String(parsed[0]?.data['id']);
    expect((await call<ApiRun>(sim, `/threads/${thread.id}/runs/${runId}`)).body.status).toBe('completed');
  });
});
