/**
 * Shared set-up of the library instrumentation tests: the real SDKs under their aliases, the
 * simulator, an SDK TracerProvider with the deterministic IdGenerator and an in-memory exporter, and
 * what `import` makes of the same run's records (the records fetched from the simulator).
 */
import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { InstrumentationHandle } from '../../src/instrumentation/handle.js';
import { createDeterministicIdGenerator } from '../../src/instrumentation/id-generator.js';
import { mapRunToSpans } from '../../src/mapping/run-to-spans.js';
import type { MappingOptions, SpanData } from '../../src/mapping/types.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { collectRecords } from '../../src/sources/collect.js';

export const API_KEY = 'sk-instrumentation-test';

/** Node 22 or later: `openai` 7 requires it. */
export const NODE_22 = Number(process.versions.node.split('.')[0]) >= 22;

export interface OpenAISdk {
  name: string;
  major: number;
  /** Major 4 takes `(threadId, runId, …)`; later majors `(runId, { thread_id, … })`. */
  positional: boolean;
  load(): Promise<typeof OpenAI>;
}

async function defaultExport(module: Promise<{ default: unknown }>): Promise<typeof OpenAI> {
  return (await module).default as typeof OpenAI;
}

/** Every major under test; 7 only on Node 22 (its tests use `describe.runIf(sdk.supported)`). */
export const OPENAI_SDKS: Array<OpenAISdk & { supported: boolean }> = [
  { name: 'openai 4', major: 4, positional: true, supported: true, load: () => defaultExport(import('openai-v4')) },
  { name: 'openai 5', major: 5, positional: false, supported: true, load: () => defaultExport(import('openai-v5')) },
  { name: 'openai 6', major: 6, positional: false, supported: true, load: () => defaultExport(import('openai')) },
  { name: 'openai 7', major: 7, positional: false, supported: NODE_22, load: () => defaultExport(import('openai-v7')) },
];

/** A client of `sdk` for the simulator, typed as major 6's (the calls below adapt major 4's arguments). */
export async function openAIClient(sdk: OpenAISdk, sim: Simulator): Promise<OpenAI> {
  const OpenAIClass = await sdk.load();
  return new OpenAIClass({ baseURL: sim.url, apiKey: API_KEY, maxRetries: 0 });
}

type AnyFunction = (...args: unknown[]) => unknown;

/** `runs.<method>(runId, { thread_id, ...body })`, or major 4's `(threadId, runId, body)`. */
export function runCall<T>(sdk: OpenAISdk, client: OpenAI, method: 'retrieve' | 'submitToolOutputs' | 'submitToolOutputsAndPoll' | 'submitToolOutputsStream' | 'poll', threadId: string, runId: string, body: Record<string, unknown> = {}): T {
  const runs = client.beta.threads.runs as unknown as Record<string, AnyFunction>;
  const fn = runs[method] as AnyFunction;
  const args = sdk.positional ? [threadId, runId, ...(Object.keys(body).length > 0 ? [body] : [])] : [runId, { thread_id: threadId, ...body }];
  return fn.apply(runs, args) as T;
}

/** The simulator as the tests use it: `/v1`, a bearer key, a function call answered by the client. */
export function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return createSimulator({ prefix: '/v1', auth: { kind: 'bearer', token: API_KEY }, ...options });
}

/** Real clock, `ms` real milliseconds per scenario second. */
export const fastClock = (ms = 10): SimulatorOptions => ({ clock: 'real', timeScaleMillisPerSecond: ms });

export const WEATHER_TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };

/** The global context manager (what an application's SDK set-up installs). */
let manager: AsyncLocalStorageContextManager | undefined;
export function installContextManager(): void {
  manager ??= new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
}
export function removeContextManager(): void {
  context.disable();
  manager = undefined;
}

export interface Tracing {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  /** Runs `fn` inside a span `request` (the agent's request span), ending it afterwards. */
  inRequestSpan<T>(fn: (span: Span, ctx: Context) => Promise<T>): Promise<T>;
  spans(): ReadableSpan[];
  /** Waits until a run span of `runId` (and `count` spans of its trace at least) were exported. */
  waitForRun(runId: string, count?: number): Promise<ReadableSpan[]>;
}

export function startTracing(options: { deterministicIds?: boolean } = {}): Tracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    ...(options.deterministicIds === false ? {} : { idGenerator: createDeterministicIdGenerator() }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('test-agent');
  return {
    provider,
    exporter,
    async inRequestSpan(fn) {
      return tracer.startActiveSpan('request', async (span) => {
        try {
          return await fn(span, context.active());
        } finally {
          span.end();
        }
      });
    },
    spans: () => exporter.getFinishedSpans(),
    async waitForRun(runId, count = 1) {
      const trees = () => {
        const all = exporter.getFinishedSpans();
        const run = all.find((s) => s.attributes['assistants.run.id'] === runId && s.name.startsWith('invoke_agent'));
        return run ? all.filter((s) => s.spanContext().traceId === run.spanContext().traceId && s.attributes['assistants.run.id'] === runId) : [];
      };
      await until(() => trees().length >= count, `spans of ${runId}`);
      return trees();
    },
  };
}

/** Waits for a condition, checking every few ms (never a wall-clock assertion: a generous limit). */
export async function until(condition: () => boolean, what: string, limitMillis = 15_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMillis) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Manual clock: moves scenario time while `work` runs, until it settles. */
export async function drive<T>(sim: Simulator, work: Promise<T>): Promise<T> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  while (!settled) {
    await sim.runUntilIdle();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return done;
}

/** What `import` makes of the run's records as the API holds them now. */
export function importedSpans(sim: Simulator, threadId: string, runId: string, mapping: MappingOptions): SpanData[] {
  const run = sim.run(threadId, runId);
  const collected = collectRecords([run, ...sim.steps(runId)]);
  expect(collected.rejected).toEqual([]);
  const record = collected.runs.find((r) => r.runId === runId);
  if (!record) throw new Error(`no records for ${runId}`);
  return mapRunToSpans(record, mapping);
}

/** The mapping options the library uses for a client of the simulator. */
export function simulatorMapping(sim: Simulator, extra: MappingOptions = {}): MappingOptions {
  const url = new URL(sim.url);
  return { providerName: 'openai', serverAddress: url.hostname, serverPort: Number(url.port), ...extra };
}

/** A span as compared with import's: IDs, parent, name, kind, attributes, status, event names. */
export function comparable(span: ReadableSpan | SpanData) {
  const isReadable = 'spanContext' in span && typeof span.spanContext === 'function';
  const ids = isReadable
    ? { traceId: (span as ReadableSpan).spanContext().traceId, spanId: (span as ReadableSpan).spanContext().spanId, parentSpanId: (span as ReadableSpan).parentSpanContext?.spanId }
    : { traceId: (span as SpanData).traceId, spanId: (span as SpanData).spanId, parentSpanId: (span as SpanData).parentSpanId };
  return {
    ...ids,
    name: span.name,
    kind: span.kind,
    attributes: span.attributes,
    status: span.status.code === 0 ? { code: 0 } : span.status,
    events: span.events.map((e) => e.name),
  };
}

const ms = (time: [number, number]) => time[0] * 1000 + time[1] / 1e6;

/**
 * The library's spans of a run equal import's in everything but finer times, and every time the
 * library refined still lies within the API's second it refines.
 */
export function expectSameAsImport(received: ReadableSpan[], expected: SpanData[]): void {
  const byId = new Map(received.map((s) => [s.spanContext().spanId, s]));
  expect(received.map(comparable).sort(bySpanId)).toEqual(expected.map(comparable).sort(bySpanId));
  for (const want of expected) {
    const got = byId.get(want.spanId) as ReadableSpan;
    expect(Math.floor(ms(got.startTime) / 1000), `${want.name} start`).toBe(want.startTime[0]);
    expect(Math.floor(ms(got.endTime) / 1000), `${want.name} end`).toBe(want.endTime[0]);
    expect(ms(got.endTime)).toBeGreaterThanOrEqual(ms(got.startTime));
  }
}

function bySpanId(a: { spanId: string }, b: { spanId: string }): number {
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/** The trace context of a span, as `traceparent`. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-0${c.traceFlags}`;
}

export { trace };

/**
 * A test file's lifecycle: the context manager installed for the file, and the simulators and
 * handles each test pushes closed and uninstrumented after it.
 */
export function useInstrumentedClients(): { sims: Simulator[]; handles: InstrumentationHandle[] } {
  beforeAll(installContextManager);
  afterAll(removeContextManager);
  const sims: Simulator[] = [];
  const handles: InstrumentationHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) h.uninstrument();
    for (const s of sims.splice(0)) await s.close();
  });
  return { sims, handles };
}
