/**
 * `instrumentOpenAI` with runs that were not streamed: the SDK's own polling reused (no status read
 * of ours under `createAndPoll`), the library's own reads when nobody polls, one steps page per 100
 * steps at the end, and tool code parented to its tool call span after one lookup.
 */
import { describe, expect, it } from 'vitest';
import { instrumentOpenAI } from '../../src/instrumentation/openai.js';
import { withToolCallContext } from '../../src/instrumentation/tool-context.js';
import type { Simulator } from '../../src/simulator/index.js';
import { pollLoop, type Tool } from './agents.js';
import {
  drive,
  expectSameAsImport,
  fastClock,
  importedSpans,
  OPENAI_SDKS,
  openAIClient,
  simulator,
  simulatorMapping,
  startTracing,
  traceparentOf,
  useInstrumentedClients,
} from './helpers.js';

const { sims, handles } = useInstrumentedClients();

async function sim(options: Parameters<typeof simulator>[0] = {}): Promise<Simulator> {
  const s = await simulator(options);
  sims.push(s);
  return s;
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

for (const sdk of OPENAI_SDKS) {
  describe.runIf(sdk.supported)(`${sdk.name}: runs not streamed`, () => {
    it('createAndPoll → submitToolOutputsAndPoll: no status read of ours, one steps page, spans equal to import', async () => {
      const tracing = startTracing();
      const traced = await sim();
      const client = await openAIClient(sdk, traced);
      handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
      const toolTracer = tracing.provider.getTracer('agent-tools');
      const tool: Tool = (id) => withToolCallContext(id, async () => {
        toolTracer.startSpan('weather lookup').end();
        return '{"sky":"clear"}';
      });
      const thread = traced.createThread();
      let parent = '';
      const seen = await tracing.inRequestSpan(async (span) => {
        parent = traceparentOf(span);
        return drive(traced, pollLoop({ sdk, client, threadId: thread.id, metadata: { user: 'u-7' }, tool }));
      });
      expect(seen.final.status).toBe('completed');
      expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ user: 'u-7', assistants_otel: 'library', traceparent: parent });

      const spans = await tracing.waitForRun(seen.runId, 4);
      expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced)));
      const toolSpan = spans.find((s) => s.name === 'execute_tool get_weather');
      expect(tracing.spans().find((s) => s.name === 'weather lookup')?.parentSpanContext?.spanId).toBe(toolSpan?.spanContext().spanId);

      // Every status read was the SDK's poll helper's; the library read none.
      const statusReads = traced.requests.filter((r) => r.operation === 'getRun');
      expect(statusReads.length).toBeGreaterThan(0);
      expect(statusReads.filter((r) => header(r.headers['x-stainless-poll-helper']) !== 'true')).toEqual([]);
      expect(statusReads.filter((r) => header(r.headers['x-assistants-otel-read']) !== undefined)).toEqual([]);
      // Steps: the tool call's step looked up once (newest first, one item), then one page of 100 at the end.
      const stepReads = traced.requests.filter((r) => r.operation === 'listRunSteps').map((r) => ({ limit: r.query['limit'], order: r.query['order'] }));
      expect(stepReads).toEqual([{ limit: '1', order: 'desc' }, { limit: '100', order: 'asc' }]);

      // The application got the same runs as a plain client gets.
      const plain = await sim();
      const plainThread = plain.createThread();
      const expected = await drive(plain, pollLoop({ sdk, client: await openAIClient(sdk, plain), threadId: plainThread.id, metadata: { user: 'u-7', assistants_otel: 'library', traceparent: parent } }));
      expect(seen.final).toEqual(expected.final);
      expect(seen.events).toEqual(expected.events);
    });

    it('a run nobody polls is read by the library within its poll interval, then its steps once', async () => {
      const tracing = startTracing();
      // The script submits the tool outputs itself: the application only creates the run.
      const traced = await sim({ ...fastClock(10), runScript: 'function-script' });
      const client = await openAIClient(sdk, traced);
      handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, pollIntervalMillis: 30 }));
      const thread = traced.createThread();
      const run = await client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_test' });
      const spans = await tracing.waitForRun(run.id, 4);
      expectSameAsImport(spans, importedSpans(traced, thread.id, run.id, simulatorMapping(traced)));
      // The application never read the run: every read was the library's own (and says so).
      const reads = traced.requests.filter((r) => r.operation === 'getRun' || r.operation === 'listRunSteps');
      expect(reads.filter((r) => r.operation === 'getRun').length).toBeGreaterThan(0);
      expect(reads.filter((r) => r.operation === 'listRunSteps')).toHaveLength(1);
      expect(reads.every((r) => header(r.headers['x-assistants-otel-read']) === '1')).toBe(true);
    });

    it('150 steps are listed in two pages of at most 100', async () => {
      const tracing = startTracing();
      const steps = Array.from({ length: 150 }, (_, i) => ({ type: 'message_creation' as const, durationSeconds: 0, text: `part ${i}` }));
      const traced = await sim({ runScript: { queuedSeconds: 0, steps } });
      const client = await openAIClient(sdk, traced);
      handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider, pollIntervalMillis: 5 }));
      const thread = traced.createThread();
      const run = await client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_test' });
      await traced.runUntilIdle();
      const spans = await tracing.waitForRun(run.id, 151);
      expect(spans).toHaveLength(151);
      expectSameAsImport(spans, importedSpans(traced, thread.id, run.id, simulatorMapping(traced)));
      const pages = traced.requests.filter((r) => r.operation === 'listRunSteps');
      expect(pages.map((r) => r.query['limit'])).toEqual(['100', '100']);
    });
  });
}
