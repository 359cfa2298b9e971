/**
 * Never breaking the host, for each major of the `openai` SDK: API errors reach the application as
 * without instrumentation; a failure inside the instrumentation (a broken TracerProvider, our own
 * code throwing) changes nothing the application sees and is logged once; `uninstrument()` puts
 * back the SDK's own functions.
 */
import type { TracerProvider } from '@opentelemetry/api';
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { instrumentOpenAI, type InstrumentationHandle } from '../../src/instrumentation/openai.js';
import { TracingSession } from '../../src/instrumentation/session.js';
import { StreamFollower } from '../../src/instrumentation/stream-follower.js';
import { RunTracker } from '../../src/instrumentation/tracker.js';
import type { Simulator } from '../../src/simulator/index.js';
import { recordingLogger } from '../support/recording-logger.js';
import { assistantStreamLoop, pollLoop, rawStreamLoop } from './agents.js';
import { drive, installContextManager, OPENAI_SDKS, openAIClient, removeContextManager, simulator, startTracing, type OpenAISdk } from './helpers.js';

beforeAll(installContextManager);
afterAll(removeContextManager);

const sims: Simulator[] = [];
const handles: InstrumentationHandle[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const h of handles.splice(0)) h.uninstrument();
  for (const s of sims.splice(0)) await s.close();
});

async function sim(): Promise<Simulator> {
  const s = await simulator();
  sims.push(s);
  return s;
}

/** What the application gets from a call that fails: class, status, message, body. */
async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    const e = error as { constructor: { name: string }; status?: unknown; message: string; error?: unknown };
    return { class: e.constructor.name, status: e.status, message: e.message, error: e.error };
  }
  throw new Error('expected the call to fail');
}

const METHODS = ['create', 'submitToolOutputs', 'retrieve', 'cancel', 'createAndPoll', 'stream', 'poll'] as const;

/** Every run method an application calls (the wrapped ones and the helpers built on them). */
function methodsOf(client: OpenAI): Record<string, unknown> {
  const runs = client.beta.threads.runs as unknown as Record<string, unknown>;
  return { ...Object.fromEntries(METHODS.map((m) => [m, runs[m]])), createAndRun: (client.beta.threads as unknown as Record<string, unknown>)['createAndRun'] };
}

async function errorsOf(sdk: OpenAISdk, client: OpenAI, s: Simulator) {
  const thread = s.createThread();
  // A second run on a thread with an active one: 400.
  s.startRun(thread.id, 'function-client');
  const busy = await failure(() => client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_test' }));
  const busyStream = await failure(async () => {
    for await (const _ of await client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_test', stream: true })) void _;
  });
  const missing = await failure(() => client.beta.threads.runs.createAndPoll('thread_missing', { assistant_id: 'asst_test' }));
  const badOutputs = await failure(() => (client.beta.threads.runs.submitToolOutputs as unknown as (...a: unknown[]) => Promise<unknown>)(...(sdk.positional ? [thread.id, 'run_missing', { tool_outputs: [] }] : ['run_missing', { thread_id: thread.id, tool_outputs: [] }])));
  return { busy, busyStream, missing, badOutputs };
}

for (const sdk of OPENAI_SDKS) {
  describe.runIf(sdk.supported)(`${sdk.name}: the host is never broken`, () => {
    it('API errors reach the application exactly as without instrumentation', async () => {
      const tracing = startTracing();
      const traced = await sim();
      const client = await openAIClient(sdk, traced);
      handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
      const plain = await sim();
      const seen = await errorsOf(sdk, client, traced);
      const expected = await errorsOf(sdk, await openAIClient(sdk, plain), plain);
      expect(seen).toEqual(expected);
      expect((seen.busy as { status: number }).status).toBe(400);
      expect((seen.missing as { status: number }).status).toBe(404);
    });

    async function sameAsPlain(client: OpenAI, traced: Simulator): Promise<void> {
      const metadata = { user: 'u-1' };
      const threads = [traced.createThread(), traced.createThread(), traced.createThread()];
      const seen = {
        streamed: await drive(traced, assistantStreamLoop({ sdk, client, threadId: threads[0]!.id, metadata })),
        raw: await drive(traced, rawStreamLoop({ sdk, client, threadId: threads[1]!.id, metadata })),
        polled: await drive(traced, pollLoop({ sdk, client, threadId: threads[2]!.id, metadata })),
      };
      const plain = await sim();
      const plainClient = await openAIClient(sdk, plain);
      const plainThreads = [plain.createThread(), plain.createThread(), plain.createThread()];
      const withMark = { ...metadata, assistants_otel: 'library' };
      const expected = {
        streamed: await drive(plain, assistantStreamLoop({ sdk, client: plainClient, threadId: plainThreads[0]!.id, metadata: withMark })),
        raw: await drive(plain, rawStreamLoop({ sdk, client: plainClient, threadId: plainThreads[1]!.id, metadata: withMark })),
        polled: await drive(plain, pollLoop({ sdk, client: plainClient, threadId: plainThreads[2]!.id, metadata: withMark })),
      };
      expect(JSON.stringify(seen.streamed.events)).toBe(JSON.stringify(expected.streamed.events));
      expect(JSON.stringify(seen.raw.events)).toBe(JSON.stringify(expected.raw.events));
      expect(seen.polled.final).toEqual(expected.polled.final);
    }

    const warned = (lines: Array<{ level: string; message: string }>, what: string) =>
      lines.filter((l) => l.level === 'warn' && l.message.includes(`${what} failed`));

    it('a TracerProvider that throws changes nothing the application sees; it is logged once', async () => {
      const explode = () => {
        throw new Error('span processor exploded');
      };
      const broken = { getTracer: () => ({ startSpan: explode, startActiveSpan: explode }) } as unknown as TracerProvider;
      const { logger, lines } = recordingLogger();
      const traced = await sim();
      const client = await openAIClient(sdk, traced);
      const handle = instrumentOpenAI(client, { tracerProvider: broken, logger });
      handles.push(handle);
      await sameAsPlain(client, traced);
      await handle.flush();
      expect(warned(lines, 'tracing a finished run')).toHaveLength(1);
      // Three runs failed to trace: the first as a warning, the others counted at debug level.
      expect(lines.filter((l) => l.message.includes('tracing a finished run'))).toHaveLength(3);
    });

    it('our own code throwing (stream observation, run bookkeeping) changes nothing the application sees', async () => {
      const { logger, lines } = recordingLogger();
      const traced = await sim();
      const client = await openAIClient(sdk, traced);
      handles.push(instrumentOpenAI(client, { tracerProvider: startTracing().provider, logger }));
      vi.spyOn(StreamFollower.prototype, 'event').mockImplementation(() => {
        throw new Error('observer exploded');
      });
      vi.spyOn(RunTracker.prototype, 'created').mockImplementation(() => {
        throw new Error('tracker exploded');
      });
      await sameAsPlain(client, traced);
      expect(warned(lines, 'observing a stream event')).toHaveLength(1);
      expect(warned(lines, 'observing a created run')).toHaveLength(1);
    });

    it('uninstrument() restores the client exactly: the SDK’s own functions, nothing added to runs', async () => {
      const tracing = startTracing();
      const traced = await sim();
      const client = await openAIClient(sdk, traced);
      const before = methodsOf(client);
      const ownBefore = Object.getOwnPropertyNames(client.beta.threads.runs).sort();
      const handle = instrumentOpenAI(client, { tracerProvider: tracing.provider });
      expect(methodsOf(client).create).not.toBe(before.create);
      // Instrumenting twice is the same instrumentation.
      expect(instrumentOpenAI(client)).toBe(handle);
      handle.uninstrument();
      expect(methodsOf(client)).toEqual(before);
      for (const [name, fn] of Object.entries(methodsOf(client))) expect(fn, name).toBe(before[name]);
      expect(Object.getOwnPropertyNames(client.beta.threads.runs).sort()).toEqual(ownBefore);

      const thread = traced.createThread();
      const run = await drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: { user: 'u' } }));
      expect(traced.run(thread.id, run.runId)?.metadata).toEqual({ user: 'u' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(tracing.spans()).toEqual([]);
    });
  });
}

describe('the session itself', () => {
  it('a failure preparing the metadata sends the user’s metadata as it was', async () => {
    const sdk = OPENAI_SDKS[2]!;
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    const { logger, lines } = recordingLogger();
    handles.push(instrumentOpenAI(client, { tracerProvider: startTracing().provider, logger }));
    vi.spyOn(TracingSession.prototype, 'metadataFor').mockImplementation(() => {
      throw new Error('planner exploded');
    });
    const thread = traced.createThread();
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_test', metadata: { user: 'u' } });
    expect(run.metadata).toEqual({ user: 'u' });
    expect(lines.filter((l) => l.message.includes('preparing run metadata failed'))).toHaveLength(1);
  });
});
