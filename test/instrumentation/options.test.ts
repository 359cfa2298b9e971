/**
 * The library's choices around a run (README "Library"), with the `openai` SDK (major 6) against the
 * simulator: the metadata rules (user keys kept, the 16-key limit, the user's own traceparent), the
 * options that turn writing off, content capture, a stream the application abandons, a
 * TracerProvider without the deterministic IdGenerator, and the bridge's own OTLP exporter.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instrumentAzureAgents } from '../../src/instrumentation/azure-agents.js';
import { instrumentOpenAI, type InstrumentationHandle } from '../../src/instrumentation/openai.js';
import { withToolCallContext } from '../../src/instrumentation/tool-context.js';
import type { Simulator } from '../../src/simulator/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { recordingLogger } from '../support/recording-logger.js';
import { assistantStreamLoop, type Tool } from './agents.js';
import {
  drive,
  expectSameAsImport,
  importedSpans,
  installContextManager,
  OPENAI_SDKS,
  openAIClient,
  removeContextManager,
  simulator,
  simulatorMapping,
  startTracing,
  traceparentOf,
  WEATHER_TOOL,
} from './helpers.js';

beforeAll(installContextManager);
afterAll(removeContextManager);

const sdk = OPENAI_SDKS[2]!;
const sims: Simulator[] = [];
const handles: InstrumentationHandle[] = [];
const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) h.uninstrument();
  for (const s of sims.splice(0)) await s.close();
  for (const r of receivers.splice(0)) await r.close();
});

async function sim(options: Parameters<typeof simulator>[0] = {}): Promise<Simulator> {
  const s = await simulator(options);
  sims.push(s);
  return s;
}

const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`]));

describe('run metadata', () => {
  it.each([
    ['16 keys of the user: nothing can be added (the API takes 16 at most)', 16, {}, 'no room for mark'],
    ['15 keys: the mark only (without it a sidecar would export a second version)', 15, { assistants_otel: 'library' }, 'no room for traceparent'],
  ])('%s', async (_title, count, added, warning) => {
    const tracing = startTracing();
    const { logger, lines } = recordingLogger();
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, logger }));
    const thread = traced.createThread();
    const seen = await tracing.inRequestSpan(() => drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: keys(count) })));
    expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ ...keys(count), ...added });
    expect(lines.filter((l) => l.level === 'warn' && l.message.includes(warning))).toHaveLength(1);
    // Still one trace under the request span, parented in-process.
    const spans = await tracing.waitForRun(seen.runId, 4);
    const request = tracing.spans().find((s) => s.name === 'request');
    expect(spans.find((s) => s.name.startsWith('invoke_agent'))?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([request?.spanContext().traceId]));
  });

  it('a traceparent the user set is kept, and parents the run (as the sidecar and import parent it)', async () => {
    const tracing = startTracing();
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
    const thread = traced.createThread();
    const theirs = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const seen = await tracing.inRequestSpan(() => drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: { traceparent: theirs } })));
    expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ traceparent: theirs, assistants_otel: 'library' });
    const spans = await tracing.waitForRun(seen.runId, 4);
    expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced)));
    const runSpan = spans.find((s) => s.name.startsWith('invoke_agent'));
    expect(runSpan?.parentSpanContext).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', isRemote: true });
  });

  it('writeTraceparent: false and markRuns: false leave the metadata alone; the run is still parented in-process', async () => {
    const tracing = startTracing();
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, writeTraceparent: false, markRuns: false }));
    const thread = traced.createThread();
    const seen = await tracing.inRequestSpan(() => drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: { user: 'u' } })));
    expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ user: 'u' });
    const spans = await tracing.waitForRun(seen.runId, 4);
    const request = tracing.spans().find((s) => s.name === 'request');
    expect(spans.find((s) => s.name.startsWith('invoke_agent'))?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
  });
});

describe('content and streams', () => {
  it('captureContent: function arguments and outputs recorded, as import records them with the same option', async () => {
    const tracing = startTracing();
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, captureContent: true, contentMaxLength: 64 }));
    const thread = traced.createThread();
    const seen = await drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: {}, tool: async () => 'x'.repeat(100) }));
    const spans = await tracing.waitForRun(seen.runId, 4);
    expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced, { captureContent: true, contentMaxLength: 64 })));
    expect(spans.find((s) => s.name === 'execute_tool get_weather')?.attributes['gen_ai.tool.call.result']).toBe(`${'x'.repeat(64)}…[truncated 36 chars]`);
  });

  it('a stream the application abandons half way: the run is read to its end and traced in full', async () => {
    const tracing = startTracing();
    const traced = await sim({ runScript: 'every-tool' });
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, pollIntervalMillis: 20 }));
    const thread = traced.createThread();
    let runId = '';
    await drive(traced, (async () => {
      const stream = await client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_test', stream: true });
      for await (const event of stream) {
        if (event.event === 'thread.run.created') runId = event.data.id;
        if (event.event === 'thread.run.step.completed') break; // the application stops reading here
      }
    })());
    await traced.runUntilIdle(); // the run goes on without the stream (its script submits the outputs)
    const spans = await tracing.waitForRun(runId, 8); // the run, 4 steps, 3 tool calls
    expectSameAsImport(spans, importedSpans(traced, thread.id, runId, simulatorMapping(traced)));
    expect(traced.counters['getRun']).toBeGreaterThan(0);
    expect(traced.counters['listRunSteps']).toBe(1);
  });
});

describe('other clients', () => {
  it('AzureOpenAI (the openai package’s Azure client): gen_ai.provider.name azure.ai.openai, spans equal to import’s', async () => {
    const { AzureOpenAI } = await import('openai');
    const tracing = startTracing();
    const traced = await sim({ prefix: '/openai', auth: { kind: 'api-key', key: 'azure-key' }, apiVersion: '2025-04-01-preview' });
    const client = new AzureOpenAI({ endpoint: traced.origin, apiKey: 'azure-key', apiVersion: '2025-04-01-preview', maxRetries: 0 });
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
    const thread = traced.createThread();
    const seen = await drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: {} }));
    const spans = await tracing.waitForRun(seen.runId, 4);
    expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced, { providerName: 'azure.ai.openai' })));
  });

  it('something that is not a client is left alone, with a warning, and no throw', () => {
    const { logger, lines } = recordingLogger();
    expect(() => instrumentOpenAI({} as never, { logger }).uninstrument()).not.toThrow();
    expect(() => instrumentAzureAgents({} as never, { logger }).uninstrument()).not.toThrow();
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'assistants-otel: instrumentOpenAI: this client has no beta.threads.runs; it is not instrumented',
      'assistants-otel: instrumentAzureAgents: this client has no HTTP pipeline; it is not instrumented',
    ]);
  });
});

describe('no context manager registered (README "Library": register one)', () => {
  afterEach(installContextManager);

  it('a run created inside a request span is then a root: one warning says why and what to register; none with a manager', async () => {
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    const tracing = startTracing();
    const { logger, lines } = recordingLogger();
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, logger }));
    const warned = () => lines.filter((l) => l.level === 'warn' && l.message.includes('no OpenTelemetry context manager is registered'));

    // With the global manager: parented, no warning.
    const first = traced.createThread();
    const parented = await tracing.inRequestSpan(() => drive(traced, assistantStreamLoop({ sdk, client, threadId: first.id, metadata: {} })));
    expect((await tracing.waitForRun(parented.runId, 4)).find((s) => s.name.startsWith('invoke_agent'))?.parentSpanContext).toBeDefined();
    expect(warned()).toEqual([]);

    // Without one: startActiveSpan's span is not active inside it, the run is a root, and the library says so once.
    removeContextManager();
    for (let i = 0; i < 2; i++) {
      const thread = traced.createThread();
      const seen = await tracing.inRequestSpan(() => drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: {} })));
      const run = (await tracing.waitForRun(seen.runId, 4)).find((s) => s.name.startsWith('invoke_agent'));
      expect(run?.parentSpanContext).toBeUndefined();
    }
    expect(warned().map((l) => l.message)).toEqual([
      'assistants-otel: a run was created with no active span, and no OpenTelemetry context manager is registered (the global one is the no-op one), so no span ever is active: runs are traced as roots, not under your request spans. Register one: NodeTracerProvider#register(), the NodeSDK, or context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()) from @opentelemetry/context-async-hooks',
    ]);
  });

  it('through diag, a warning is prefixed once: "assistants-otel", not "assistants-otel assistants-otel:"', async () => {
    const said: string[] = [];
    const sink = (...args: unknown[]) => said.push(args.map(String).join(' '));
    diag.setLogger({ error: sink, warn: sink, info: sink, debug: sink, verbose: sink }, DiagLogLevel.WARN);
    try {
      const handle = instrumentOpenAI({} as never);
      handle.uninstrument();
    } finally {
      diag.disable();
    }
    expect(said).toEqual(['assistants-otel instrumentOpenAI: this client has no beta.threads.runs; it is not instrumented']);
  });
});

describe('where spans go', () => {
  it('without the deterministic IdGenerator: random IDs, the same tree, a warning once; tool code runs under the request span', async () => {
    const tracing = startTracing({ deterministicIds: false });
    const { logger, lines } = recordingLogger();
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, logger }));
    const toolTracer = tracing.provider.getTracer('agent-tools');
    const tool: Tool = (id) => withToolCallContext(id, async () => {
      toolTracer.startSpan('weather lookup').end();
      return 'ok';
    });
    const run = async () => {
      const thread = traced.createThread();
      const seen = await tracing.inRequestSpan(() => drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: {}, tool })));
      return { thread, seen, spans: await tracing.waitForRun(seen.runId, 4) };
    };
    await run();
    const { thread, seen, spans } = await run(); // the second run: the library knows by now
    const expected = importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced));
    const byName = (name: string) => spans.find((s) => s.name === name);
    expect(byName('invoke_agent asst_test')?.spanContext().spanId).not.toBe(expected.find((s) => s.subject.kind === 'run')?.spanId);
    expect(byName('step tool_calls')?.parentSpanContext?.spanId).toBe(byName('invoke_agent asst_test')?.spanContext().spanId);
    expect(byName('execute_tool get_weather')?.parentSpanContext?.spanId).toBe(byName('step tool_calls')?.spanContext().spanId);
    expect(lines.filter((l) => l.message.includes('install createDeterministicIdGenerator()'))).toHaveLength(1);
    const requests = tracing.spans().filter((s) => s.name === 'request');
    const lookups = tracing.spans().filter((s) => s.name === 'weather lookup');
    expect(lookups.at(-1)?.parentSpanContext?.spanId).toBe(requests.at(-1)?.spanContext().spanId);
  });

  it('the bridge’s own OTLP exporter: the deterministic IDs as they are, delivered by shutdown()', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const tracing = startTracing(); // only for the request span
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    const handle = instrumentOpenAI(client, { otlp: { url: receiver.tracesUrl }, resource: { serviceName: 'agent' } });
    const thread = traced.createThread();
    let parent = '';
    const seen = await tracing.inRequestSpan(async (span) => {
      parent = traceparentOf(span);
      return drive(traced, client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: 'asst_test', tools: [WEATHER_TOOL], metadata: {} }).then((r) => ({ runId: r.id })));
    });
    await traced.runUntilIdle();
    expect(traced.run(thread.id, seen.runId)?.status).toBe('requires_action');
    // The application gives up on the run: cancelled, then followed to its end by the library.
    await client.beta.threads.runs.cancel(seen.runId, { thread_id: thread.id });
    await traced.runUntilIdle();
    await receiver.waitFor((spans) => spans.some((s) => s.name.startsWith('invoke_agent')), 15_000, 'the run span');
    await handle.shutdown();
    const expected = importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced));
    const got = receiver.spans();
    expect(got.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.name, s.attributes]).sort()).toEqual(expected.map((s) => [s.traceId, s.spanId, s.parentSpanId ?? '', s.name, s.attributes]).sort());
    expect(got[0]?.traceId).toBe(parent.split('-')[1]);
    expect(got[0]?.resource['service.name']).toBe('agent');
  });
});
