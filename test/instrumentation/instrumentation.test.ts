/**
 * `AssistantsInstrumentation` with `registerInstrumentations`: the SDKs required (CommonJS) after it
 * is enabled are patched by require-in-the-middle, their runs traced as `instrumentOpenAI` /
 * `instrumentAzureAgents` trace them; `disable()` puts the SDK's functions back. (ESM, through
 * import-in-the-middle's loader hook, is covered in instrumentation-esm.test.ts.)
 */
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import type { AgentsClient as AgentsClientType } from '@azure/ai-agents';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AssistantsInstrumentation } from '../../src/instrumentation/instrumentation.js';
import type { Simulator } from '../../src/simulator/index.js';
import { assistantStreamLoop } from './agents.js';
import { agentsClient, foundrySimulator, streamLoop } from './azure-helpers.js';
import { API_KEY, drive, expectSameAsImport, importedSpans, installContextManager, OPENAI_SDKS, removeContextManager, simulator, simulatorMapping, startTracing } from './helpers.js';

const require = createRequire(import.meta.url);

beforeAll(installContextManager);
afterAll(removeContextManager);

interface Wrapped {
  __wrapped?: boolean;
}

describe('AssistantsInstrumentation (CommonJS)', () => {
  const tracing = startTracing();
  // An alias of openai 5, so no other test file's `openai` is touched; `@azure/ai-agents` as is.
  const instrumentation = new AssistantsInstrumentation({ openaiModules: ['openai-v5'] });
  let unregister: () => void = () => {};
  const sims: Simulator[] = [];

  beforeAll(() => {
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: tracing.provider });
  });
  // The simulators' IDs are seeded: each test's run has the same ID, so each starts with no spans.
  beforeEach(() => tracing.exporter.reset());
  afterAll(async () => {
    unregister();
    for (const s of sims) await s.close();
  });

  it('openai: a client of the required SDK is traced; disable() restores the prototypes', async () => {
    const OpenAIClass = (require('openai-v5') as { OpenAI: typeof OpenAI }).OpenAI;
    const runs = (OpenAIClass as unknown as { Beta: { Threads: { Runs: { prototype: Record<string, Wrapped> } } } }).Beta.Threads.Runs.prototype;
    expect(runs['create']?.__wrapped).toBe(true);
    const sim = await simulator();
    sims.push(sim);
    const client = new OpenAIClass({ baseURL: sim.url, apiKey: API_KEY, maxRetries: 0 });
    const thread = sim.createThread();
    const seen = await tracing.inRequestSpan(() => drive(sim, assistantStreamLoop({ sdk: OPENAI_SDKS[1]!, client, threadId: thread.id, metadata: { user: 'u' } })));
    expect(sim.run(thread.id, seen.runId)?.metadata).toMatchObject({ user: 'u', assistants_otel: 'library' });
    const spans = await tracing.waitForRun(seen.runId, 4);
    expectSameAsImport(spans, importedSpans(sim, thread.id, seen.runId, simulatorMapping(sim)));
    expect(spans.every((s) => s.instrumentationScope.name === 'assistants-otel')).toBe(true);

    instrumentation.disable();
    try {
      for (const name of ['create', 'submitToolOutputs', 'retrieve', 'cancel']) expect(runs[name]?.__wrapped, name).toBeUndefined();
      const later = sim.createThread();
      const run = await client.beta.threads.runs.create(later.id, { assistant_id: 'asst_test', metadata: { user: 'u' } });
      expect(run.metadata).toEqual({ user: 'u' });
    } finally {
      instrumentation.enable();
    }
    expect(runs['create']?.__wrapped).toBe(true);
  });

  it('@azure/ai-agents: every AgentsClient made while enabled gets the capture policy; disabled, it passes through', async () => {
    const { AgentsClient } = require('@azure/ai-agents') as { AgentsClient: typeof AgentsClientType };
    const sim = await foundrySimulator();
    sims.push(sim);
    const client = agentsClient(sim, AgentsClient);
    expect(client.pipeline.getOrderedPolicies().map((p) => p.name)).toContain('assistantsOtelCapturePolicy');
    const thread = sim.createThread();
    const seen = await tracing.inRequestSpan(() => drive(sim, streamLoop(client, thread.id, {})));
    const spans = await tracing.waitForRun(seen.runId, 4);
    expectSameAsImport(spans, importedSpans(sim, thread.id, seen.runId, { providerName: 'azure.ai.agents', serverAddress: '127.0.0.1', serverPort: sim.port }));

    instrumentation.disable();
    try {
      const later = sim.createThread();
      const run = await client.runs.create(later.id, 'asst_test', { metadata: { user: 'u' } });
      expect(run.metadata).toEqual({ user: 'u' });
    } finally {
      instrumentation.enable();
    }
  });
});

