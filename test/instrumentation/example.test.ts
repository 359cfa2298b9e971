/**
 * examples/library-agent/agent.mjs, run as a user runs it (plain `node`, the package imported by
 * name from the build) against the simulator and a real OTLP receiver: one trace per request, the
 * run, its steps, the tool call and the tool's own code inside it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { ensureBuilt, runNode } from './built.js';
import { API_KEY, fastClock, simulator } from './helpers.js';

let sim: Simulator | undefined;
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await sim?.close();
  await receiver?.close();
});

describe('examples/library-agent', () => {
  beforeAll(ensureBuilt, 120_000);

  it('traces a question: request ▸ run ▸ steps ▸ tool call ▸ the tool’s own span, in one trace', async () => {
    sim = await simulator(fastClock(10));
    receiver = await startOtlpReceiver();
    const result = await runNode(['examples/library-agent/agent.mjs', 'Weather in Lisbon?'], {
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: API_KEY,
      ASSISTANT_ID: 'asst_weather',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^run_\w+ completed: Here is what get_weather returned\./m);

    const spans = await receiver.waitFor((s) => s.length >= 6, 10_000, 'the request, the run, two steps, the tool call and the tool');
    const byName = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const request = byName('POST /ask');
    const run = byName('invoke_agent asst_weather');
    const toolStep = byName('step tool_calls');
    const toolCall = byName('execute_tool get_weather');
    const lookup = byName('weather lookup');
    const message = byName('step message_creation');
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([request.traceId]));
    expect(request.parentSpanId).toBe('');
    expect(run.parentSpanId).toBe(request.spanId);
    expect([toolStep.parentSpanId, message.parentSpanId]).toEqual([run.spanId, run.spanId]);
    expect(toolCall.parentSpanId).toBe(toolStep.spanId);
    expect(lookup.parentSpanId).toBe(toolCall.spanId);
    expect(run.resource['service.name']).toBe('weather-agent');
    // The run's metadata carried the request's traceparent: a sidecar would parent it the same way.
    const created = sim.state.runs[0];
    expect(created?.metadata).toEqual({ assistants_otel: 'library', traceparent: `00-${request.traceId}-${request.spanId}-01` });
  });
});
