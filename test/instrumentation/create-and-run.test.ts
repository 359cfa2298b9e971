/**
 * Runs created together with their thread: `threads.createAndRun` (also `stream: true`),
 * `createAndRunPoll` and `createAndRunStream` of each `openai` major, and `runs.createThreadAndRun`
 * (and its `.stream()`) of `@azure/ai-agents`: traced under the caller's span, equal to import's,
 * with the SDK's own polling reused and no extra request when streamed.
 */
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { instrumentAzureAgents } from '../../src/instrumentation/azure-agents.js';
import { instrumentOpenAI } from '../../src/instrumentation/openai.js';
import type { Simulator } from '../../src/simulator/index.js';
import { agentsClient, foundrySimulator } from './azure-helpers.js';
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

type Run = OpenAI.Beta.Threads.Runs.Run;
const BODY = { assistant_id: 'asst_test', thread: { messages: [{ role: 'user' as const, content: 'Hello' }] }, metadata: { user: 'u-3' } };

/** Checks one created-with-its-thread run: metadata, parenting, spans equal to import's. */
async function expectTraced(tracing: Tracing, sim: Simulator, run: { id: string; thread_id: string }, parent: string, mapping = simulatorMapping(sim)) {
  expect(sim.run(run.thread_id, run.id)?.metadata).toEqual({ user: 'u-3', assistants_otel: 'library', traceparent: parent });
  const spans = await tracing.waitForRun(run.id, 2);
  const request = tracing.spans().find((s) => s.name === 'request');
  expect(spans.find((s) => s.name.startsWith('invoke_agent'))?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
  expectSameAsImport(spans, importedSpans(sim, run.thread_id, run.id, mapping));
}

for (const sdk of OPENAI_SDKS) {
  describe.runIf(sdk.supported)(`${sdk.name}: threads.createAndRun`, () => {
    const flows: Array<[string, (client: OpenAI) => Promise<Run>, { streamed: boolean }]> = [
      ['createAndRunStream (AssistantStream)', (client) => client.beta.threads.createAndRunStream(BODY).finalRun(), { streamed: true }],
      ['createAndRun({ stream: true }) read with for await', async (client) => {
        let final: Run | undefined;
        for await (const e of await client.beta.threads.createAndRun({ ...BODY, stream: true })) {
          if (e.event === 'thread.run.completed') final = e.data;
        }
        if (!final) throw new Error('no thread.run.completed');
        return final;
      }, { streamed: true }],
      ['createAndRunPoll', (client) => client.beta.threads.createAndRunPoll(BODY), { streamed: false }],
    ];
    for (const [title, flow, { streamed }] of flows) {
      it(`${title}: traced under the caller's span, equal to import's`, async () => {
        const tracing = startTracing();
        const sim = await simulator();
        sims.push(sim);
        const client = await openAIClient(sdk, sim);
        handles.push(instrumentOpenAI(client, { tracerProvider: tracing.provider }));
        let parent = '';
        const run = await tracing.inRequestSpan(async (span) => {
          parent = traceparentOf(span);
          return drive(sim, flow(client));
        });
        expect(run.status).toBe('completed');
        await expectTraced(tracing, sim, run, parent);
        const ours = sim.requests.filter((r) => r.headers['x-assistants-otel-read'] !== undefined).map((r) => r.operation);
        // Streamed: no request of ours at all. Polled: the SDK's polling reused, the steps listed once.
        expect(ours).toEqual(streamed ? [] : ['listRunSteps']);
      });
    }
  });
}

describe('@azure/ai-agents: runs.createThreadAndRun', () => {
  const mapping = (s: Simulator) => ({ providerName: 'azure.ai.agents', serverAddress: '127.0.0.1', serverPort: s.port });

  it.each([
    ['awaited (then polled by the library)', false],
    ['.stream()', true],
  ])('%s: traced under the caller’s span, equal to import’s', async (_title, streamed) => {
    const tracing = startTracing();
    const sim = await foundrySimulator();
    sims.push(sim);
    const client = agentsClient(sim);
    handles.push(instrumentAzureAgents(client, { tracerProvider: tracing.provider, pollIntervalMillis: 10 }));
    let parent = '';
    const created = await tracing.inRequestSpan(async (span) => {
      parent = traceparentOf(span);
      const call = client.runs.createThreadAndRun('asst_test', { thread: { messages: [{ role: 'user', content: 'Hello' }] }, metadata: { user: 'u-3' } });
      if (!streamed) return call.then((r) => ({ id: r.id, thread_id: r.threadId }));
      return drive(sim, (async () => {
        let run: { id: string; thread_id: string } | undefined;
        for await (const e of await call.stream()) {
          const data = e.data as { id?: string; threadId?: string };
          if (e.event === 'thread.run.created' && data.id && data.threadId) run = { id: data.id, thread_id: data.threadId };
        }
        if (!run) throw new Error('no thread.run.created');
        return run;
      })());
    });
    await sim.runUntilIdle();
    await expectTraced(tracing, sim, created, parent, mapping(sim));
    const ours = sim.requests.filter((r) => r.headers['x-assistants-otel-read'] !== undefined).map((r) => r.operation);
    if (streamed) expect(ours).toEqual([]);
    else expect(ours.at(-1)).toBe('listRunSteps');
  });
});
