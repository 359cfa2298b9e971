/**
 * `instrumentAzureAgents` with the real `@azure/ai-agents` 1.x client against the simulator as a
 * Foundry project over HTTPS: the run's trace under the caller's span, built from the wire records
 * (spans equal to import's), metadata, zero extra requests when streamed, the SDK's own polling
 * reused, the same events, results and errors as a plain client, and `uninstrument()`.
 */
import type { TracerProvider } from '@opentelemetry/api';
import type { AgentsClient } from '@azure/ai-agents';
import { describe, expect, it } from 'vitest';
import { instrumentAzureAgents } from '../../src/instrumentation/azure-agents.js';
import { withToolCallContext } from '../../src/instrumentation/tool-context.js';
import type { Simulator } from '../../src/simulator/index.js';
import { recordingLogger } from '../support/recording-logger.js';
import { agentsClient, foundrySimulator, pollRun, streamLoop } from './azure-helpers.js';
import {
  drive,
  expectSameAsImport,
  importedSpans,
  startTracing,
  traceparentOf,
  useInstrumentedClients,
} from './helpers.js';

const { sims, handles } = useInstrumentedClients();

async function sim(options: Parameters<typeof foundrySimulator>[0] = {}): Promise<Simulator> {
  const s = await foundrySimulator(options);
  sims.push(s);
  return s;
}

const mapping = (s: Simulator) => ({ providerName: 'azure.ai.agents', serverAddress: '127.0.0.1', serverPort: s.port });
const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const requests = (s: Simulator) => s.requests.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`);

describe('@azure/ai-agents', () => {
  it('a streamed tool loop: one trace under the caller’s span, equal to import’s, no extra request, the same events', async () => {
    const tracing = startTracing();
    const traced = await sim();
    const client = agentsClient(traced);
    handles.push(instrumentAzureAgents(client, { tracerProvider: tracing.provider }));
    const toolTracer = tracing.provider.getTracer('agent-tools');
    const tool = (id: string) => withToolCallContext(id, async () => {
      toolTracer.startSpan('weather lookup').end();
      return 'clear';
    });
    const thread = traced.createThread();
    let parent = '';
    const seen = await tracing.inRequestSpan(async (span) => {
      parent = traceparentOf(span);
      return drive(traced, streamLoop(client, thread.id, { user: 'u-9' }, tool));
    });
    expect(traced.run(thread.id, seen.runId)?.metadata).toEqual({ user: 'u-9', assistants_otel: 'library', traceparent: parent });

    const spans = await tracing.waitForRun(seen.runId, 4);
    const request = tracing.spans().find((s) => s.name === 'request');
    expect(spans.find((s) => s.name.startsWith('invoke_agent'))?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, mapping(traced)));
    const toolSpan = spans.find((s) => s.name === 'execute_tool get_weather');
    expect(tracing.spans().find((s) => s.name === 'weather lookup')?.parentSpanContext?.spanId).toBe(toolSpan?.spanContext().spanId);

    const plain = await sim();
    const plainThread = plain.createThread();
    const expected = await drive(plain, streamLoop(agentsClient(plain), plainThread.id, { user: 'u-9', assistants_otel: 'library', traceparent: parent }));
    expect(seen.events).toEqual(expected.events);
    expect(seen.events.length).toBeGreaterThan(10);
    expect(requests(traced)).toEqual(requests(plain));
  });

  it('createAndPoll: the SDK’s poller is reused (no status read of ours), the steps listed once', async () => {
    const tracing = startTracing();
    const traced = await sim();
    const client = agentsClient(traced);
    handles.push(instrumentAzureAgents(client, { tracerProvider: tracing.provider }));
    const thread = traced.createThread();
    const seen = await tracing.inRequestSpan(() => drive(traced, pollRun(client, thread.id, {})));
    const spans = await tracing.waitForRun(seen.runId, 2);
    expectSameAsImport(spans, importedSpans(traced, thread.id, seen.runId, mapping(traced)));
    const own = traced.requests.filter((r) => header(r.headers['x-assistants-otel-read']) === '1');
    expect(own.map((r) => r.operation)).toEqual(['listRunSteps']);
    expect(traced.requests.filter((r) => r.operation === 'getRun').length).toBeGreaterThan(0);

    const plain = await sim();
    const expected = await drive(plain, pollRun(agentsClient(plain), plain.createThread().id, { assistants_otel: 'library' }));
    // The SDK's models (camelCase, Dates) are the same; only the traceparent differs (no span was active there).
    const { metadata: _a, ...got } = seen.final as { metadata: unknown };
    const { metadata: _b, ...want } = expected.final as { metadata: unknown };
    expect(got).toEqual(want);
  });

  it('API errors reach the application as the SDK raises them without instrumentation', async () => {
    const failure = async (client: AgentsClient, s: Simulator) => {
      const thread = s.createThread();
      s.startRun(thread.id, 'function-client');
      try {
        await client.runs.create(thread.id, 'asst_test');
      } catch (error) {
        const e = error as { name: string; statusCode?: number; message: string; code?: string };
        return { name: e.name, statusCode: e.statusCode, message: e.message, code: e.code };
      }
      throw new Error('expected a 400');
    };
    const traced = await sim();
    const client = agentsClient(traced);
    handles.push(instrumentAzureAgents(client, { tracerProvider: startTracing().provider }));
    const plain = await sim();
    const seen = await failure(client, traced);
    expect(seen).toEqual(await failure(agentsClient(plain), plain));
    expect(seen.statusCode).toBe(400);
  });

  it('a TracerProvider that throws changes nothing the application sees', async () => {
    const explode = () => {
      throw new Error('exploded');
    };
    const broken = { getTracer: () => ({ startSpan: explode, startActiveSpan: explode }) } as unknown as TracerProvider;
    const { logger, lines } = recordingLogger();
    const traced = await sim();
    const client = agentsClient(traced);
    const handle = instrumentAzureAgents(client, { tracerProvider: broken, logger });
    handles.push(handle);
    const seen = await drive(traced, streamLoop(client, traced.createThread().id, {}));
    await handle.flush();
    const plain = await sim();
    const expected = await drive(plain, streamLoop(agentsClient(plain), plain.createThread().id, { assistants_otel: 'library' }));
    expect(seen.events).toEqual(expected.events);
    expect(lines.filter((l) => l.level === 'warn' && l.message.includes('tracing a finished run failed'))).toHaveLength(1);
  });

  it('uninstrument() takes the policy out again; no function of the client was ever replaced', async () => {
    const traced = await sim();
    const client = agentsClient(traced);
    const policies = () => client.pipeline.getOrderedPolicies().map((p) => p.name);
    const before = policies();
    const functions = { ...client.runs };
    const handle = instrumentAzureAgents(client, { tracerProvider: startTracing().provider });
    expect(policies().filter((name) => name === 'assistantsOtelCapturePolicy')).toHaveLength(1);
    expect(policies().filter((name) => name !== 'assistantsOtelCapturePolicy')).toEqual(before);
    expect({ ...client.runs }).toEqual(functions);
    handle.uninstrument();
    expect(policies()).toEqual(before);
    const thread = traced.createThread();
    const run = await client.runs.create(thread.id, 'asst_test', { metadata: { user: 'u' } });
    expect(run.metadata).toEqual({ user: 'u' });
  });
});
