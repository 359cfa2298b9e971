import { AgentsClient } from '@azure/ai-agents';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { instrumentAzureAgents } from '../../src/instrumentation/azure-agents.js';
import { makeTestCertificates } from '../support/tls.js';
import { WEATHER_TOOL, drive, expectSameAsImport, importedSpans, installContextManager, removeContextManager, simulator, simulatorMapping, startTracing } from './helpers.js';

beforeAll(installContextManager);
afterAll(removeContextManager);

it('scratch azure', async () => {
  const tls = makeTestCertificates();
  const sim = await simulator({ tls, prefix: '/api/projects/p', auth: { kind: 'bearer', token: 'entra-token' }, apiVersion: '2025-05-15-preview' });
  const tracing = startTracing();
  const credential = { getToken: async () => ({ token: 'entra-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const client = new AgentsClient(sim.url, credential, { apiVersion: '2025-05-15-preview', tlsOptions: { ca: tls.ca }, retryOptions: { maxRetries: 0 } });
  console.log(Object.keys((client as any)._client));
  const handle = instrumentAzureAgents(client, { tracerProvider: tracing.provider });
  const thread = sim.createThread();
  const result = await tracing.inRequestSpan(async () => drive(sim, (async () => {
    const first = await client.runs.create(thread.id, 'asst_1', { tools: [WEATHER_TOOL as never], metadata: { user: 'u1' } }).stream();
    let runId = '';
    let calls: string[] = [];
    for await (const ev of first) {
      if (ev.event === 'thread.run.requires_action') { const r = ev.data as any; runId = r.id; calls = r.requiredAction.submitToolOutputs.toolCalls.map((c: any) => c.id); }
    }
    const second = await client.runs.submitToolOutputs(thread.id, runId, calls.map((id) => ({ toolCallId: id, output: 'sunny' }))).stream();
    let last: any;
    for await (const ev of second) last = ev;
    return { runId, last };
  })()));
  console.log(result.runId, result.last?.event, sim.requests.map((r) => [r.operation, r.status]));
  const spans = await tracing.waitForRun(result.runId, 4);
  console.log(spans.map((s) => [s.name, s.attributes['server.address'], s.attributes['gen_ai.provider.name']]));
  const url = new URL(sim.url);
  expectSameAsImport(spans, importedSpans(sim, thread.id, result.runId, { providerName: 'azure.ai.agents', serverAddress: url.hostname, serverPort: Number(url.port) }));
  handle.uninstrument();
  await sim.close();
  expect(true).toBe(true);
});
