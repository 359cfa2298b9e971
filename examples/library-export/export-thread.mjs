// Backfilling a thread's runs from code: list its runs and their steps with the API client (every
// page), export them as traces with `exportRecords`, and say what happened. The same validation,
// mapping and delivery as `assistants-otel export`, in a few lines of your own program.
//
//   node examples/library-export/export-thread.mjs                       # against a built-in simulator
//   OPENAI_BASE_URL=https://… OPENAI_API_KEY=… THREAD_ID=thread_… node examples/library-export/export-thread.mjs
//
// Spans go to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318). Plain JavaScript, so it runs
// on Node 20 as is; it imports the package by its name, as your code would.
import {
  createAssistantsClient,
  createProvider,
  exportRecords,
  isRunTerminal,
  listAllRunSteps,
  listAllRuns,
  staticKey,
} from 'assistants-otel';
import { createSimulator } from 'assistants-otel/simulator';

// The library reads no environment variable: this program does, and passes options.
const collector = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
let baseUrl = process.env.OPENAI_BASE_URL;
let threadId = process.env.THREAD_ID;
let simulator;
if (!baseUrl) {
  // No API given: a simulated one, with a thread whose runs cover every step and tool call type.
  simulator = await createSimulator({ scenario: 'every-type' });
  await simulator.runUntilIdle();
  baseUrl = simulator.url;
  threadId = 'thread_everytype_a';
}
if (!threadId) throw new Error('set THREAD_ID to the thread to export');

const key = process.env.OPENAI_API_KEY;
const client = createAssistantsClient({
  provider: createProvider({ kind: 'openai', baseUrl, ...(key ? { credentials: staticKey(key, 'OPENAI_API_KEY', 'authorization') } : {}) }),
});

try {
  const runs = await listAllRuns(client, threadId);
  const finished = runs.items.filter((run) => isRunTerminal(run));
  const records = [...finished];
  for (const run of finished) records.push(...(await listAllRunSteps(client, threadId, run.id)).items);

  const result = await exportRecords(records, {
    otlp: { url: new URL('v1/traces', collector.endsWith('/') ? collector : `${collector}/`).href },
    resource: { serviceName: 'my-agent-backfill' },
    mapping: { providerName: client.provider.providerName },
  });
  console.log(`${threadId}: ${finished.length} finished runs of ${runs.items.length} → ${result.delivered} of ${result.mapped.spans} spans delivered to ${collector}`);
  for (const failure of result.failures) console.error(`not delivered: ${failure.spans.length} spans: ${failure.reason}`);
  for (const rejection of result.rejected) console.error(`rejected: ${rejection.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  process.exitCode = result.failures.length > 0 || result.rejected.length > 0 ? 1 : 0;
} finally {
  await simulator?.close();
}
