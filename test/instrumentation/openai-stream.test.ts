/**
 * `instrumentOpenAI` with streamed runs, for each major of the `openai` SDK against the simulator:
 * the run's trace under the caller's span, `traceparent` and the mark in the run's metadata next
 * to the user's keys, spans equal to import's, zero extra API calls, the application seeing the
 * same events from the same classes as without instrumentation, and its tool code parented to the
 * tool call span.
 */
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { instrumentOpenAI } from '../../src/instrumentation/openai.js';
import { withToolCallContext } from '../../src/instrumentation/tool-context.js';
import type { Simulator } from '../../src/simulator/index.js';
import { assistantStreamLoop, rawStreamLoop, type FlowInput, type FlowResult, type Tool } from './agents.js';
import {
  drive,
  expectSameAsImport,
  importedSpans,
  OPENAI_SDKS,
  openAIClient,
  simulator,
  simulatorMapping,
  startTracing,
  traceparentOf,
  type Tracing,
  useInstrumentedClients,
} from './helpers.js';

const { sims, handles } = useInstrumentedClients();

async function sim(): Promise<Simulator> {
  const s = await simulator();
  sims.push(s);
  return s;
}

type Flow = (input: FlowInput) => Promise<FlowResult>;

const FLOWS: Array<[string, Flow]> = [
  ['runs.stream → submitToolOutputsStream (AssistantStream)', assistantStreamLoop],
  ['runs.create({ stream: true }) → submitToolOutputs({ stream: true }) (Stream, for await)', rawStreamLoop],
];

for (const sdk of OPENAI_SDKS) {
  describe.runIf(sdk.supported)(`${sdk.name}: streamed runs`, () => {
    for (const [title, flow] of FLOWS) {
      it(`${title}: one trace under the caller's span, equal to import's, no extra request, the same events`, async () => {
        // Instrumented, inside the agent's request span; the tool's code makes a span of its own.
        const tracing: Tracing = startTracing();
        const traced = await sim();
        const client = await openAIClient(sdk, traced);
        handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
        const toolTracer = tracing.provider.getTracer('agent-tools');
        const tool: Tool = (id) => withToolCallContext(id, async () => {
          toolTracer.startSpan('weather lookup').end();
          return '{"sky":"clear"}';
        });
        const thread = traced.createThread();
        let requestTraceparent = '';
        const seen = await tracing.inRequestSpan(async (span) => {
          requestTraceparent = traceparentOf(span);
          return drive(traced, flow({ sdk, client, threadId: thread.id, metadata: { user: 'u-42' }, tool }));
        });
        const request = tracing.spans().find((s) => s.name === 'request');
        expect(request).toBeDefined();

        // The run's metadata: the user's key, the caller's traceparent, the library's mark.
        expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ user: 'u-42', assistants_otel: 'library', traceparent: requestTraceparent });

        // Its spans: run ▸ steps ▸ tool call, in the request's trace, equal to import's.
        const spans = await tracing.waitForRun(seen.runId, 4);
        const runSpan = spans.find((s) => s.name.startsWith('invoke_agent'));
        expect(runSpan?.spanContext().traceId).toBe(request?.spanContext().traceId);
        expect(runSpan?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
        expect(spans.map((s) => s.name).sort()).toEqual(['execute_tool get_weather', 'invoke_agent asst_test', 'step message_creation', 'step tool_calls']);
        expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced)));

        // The tool's own span is a child of its tool call span (parented before that span existed).
        const toolSpan = spans.find((s) => s.name === 'execute_tool get_weather');
        const lookup = tracing.spans().find((s) => s.name === 'weather lookup');
        expect(lookup?.parentSpanContext?.spanId).toBe(toolSpan?.spanContext().spanId);
        expect(lookup?.spanContext().traceId).toBe(request?.spanContext().traceId);

        // The same flow, uninstrumented, on a simulator in the same state, with the same metadata.
        const plain = await sim();
        const plainClient = await openAIClient(sdk, plain);
        const plainThread = plain.createThread();
        const expected = await drive(plain, flow({ sdk, client: plainClient, threadId: plainThread.id, metadata: { user: 'u-42', assistants_otel: 'library', traceparent: requestTraceparent } }));
        // The application saw the same events, in the same order, from streams of the same classes.
        expect(JSON.stringify(seen.events)).toBe(JSON.stringify(expected.events));
        expect(seen.events.length).toBeGreaterThan(10);
        expect(seen.streamClasses).toEqual(expected.streamClasses);
        expect(seen.final).toEqual(expected.final);
        // Not one request more than the plain client made.
        const requests = (s: Simulator) => s.requests.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`);
        expect(requests(traced)).toEqual(requests(plain));
        expect(traced.counters['getRun'] ?? 0).toBe(0);
        expect(traced.counters['listRunSteps'] ?? 0).toBe(0);
      });
    }

    it('a stream read in real time: step and tool spans carry milliseconds, within the API’s seconds', async () => {
      const tracing = startTracing();
      // Real time: one scenario second is one second, so the events arrive when the records say.
      const traced = await simulator({ clock: 'real', timeScaleMillisPerSecond: 1000, runScript: { queuedSeconds: 0, steps: [{ type: 'tool_calls', durationSeconds: 1, submittedBy: 'client', toolCalls: [{ type: 'function', name: 'get_weather', arguments: '{}' }] }, { type: 'message_creation', durationSeconds: 1, text: 'Clear.' }] } });
      sims.push(traced);
      const client = await openAIClient(sdk, traced);
      handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
      const thread = traced.createThread();
      // The tool takes a quarter of a second: its span must end when the outputs were submitted.
      const tool: Tool = async () => new Promise((resolve) => setTimeout(() => resolve('ok'), 250));
      const seen = await tracing.inRequestSpan(() => assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: {}, tool }));
      const spans = await tracing.waitForRun(seen.runId, 4);
      expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced)));
      const millis = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
      const times = spans.flatMap((s) => [millis(s.startTime), millis(s.endTime)]);
      // Finer than seconds: not every bound sits on a whole second.
      expect(times.some((t) => t % 1000 !== 0)).toBe(true);
      const fn = spans.find((s) => s.name === 'execute_tool get_weather');
      const step = spans.find((s) => s.name === 'step tool_calls');
      expect(fn && step).toBeTruthy();
      // The tool call spans the step's second of work and the tool's quarter of a second (its outputs'
      // submission ends it), and ends no later than its step.
      expect(millis(fn!.endTime) - millis(fn!.startTime)).toBeGreaterThan(1000);
      expect(millis(fn!.endTime)).toBeLessThanOrEqual(millis(step!.endTime));
    });
  });
}

describe('the caller’s context', () => {
  it('a run created with no span active is a root span in its own trace (as import makes it)', async () => {
    const sdk = OPENAI_SDKS[2]!;
    const tracing = startTracing();
    const traced = await sim();
    const client = await openAIClient(sdk, traced);
    handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
    const thread = traced.createThread();
    expect(trace.getActiveSpan()).toBeUndefined();
    const seen = await drive(traced, assistantStreamLoop({ sdk, client, threadId: thread.id, metadata: {} }));
    expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ assistants_otel: 'library' });
    const spans = await tracing.waitForRun(seen.runId, 4);
    expect(spans.find((s) => s.name.startsWith('invoke_agent'))?.parentSpanContext).toBeUndefined();
    expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, simulatorMapping(traced)));
  });
});
