// The baseline the issue compares the sidecar with: a naive poller, as one would first write it.
// Every interval, for every thread: list its runs (newest first, one page of 20), and for each run
// not exported yet list all its steps (100 per page): an active run's to see its progress, a
// finished run's to export it (mapped with the same mapping, sent with the same exporter). No
// discovery back-off, no cursor, no sharing of one request between a run's status and the thread's
// new runs. It uses the same API client and request budget as the sidecar.
import { collectPages, createAssistantsClient, createOtlpTraceExporter, createProvider, createResource, isRunTerminal, mapRunToSpans, RequestBudget, toReadableSpan } from '../../dist/index.js';

export function startNaivePoller({ baseUrl, tracesUrl, threads, pollIntervalMillis, budget, onExported }) {
  const client = createAssistantsClient({ provider: createProvider({ kind: 'openai', baseUrl }), budget: new RequestBudget(budget) });
  const exporter = createOtlpTraceExporter({ url: tracesUrl });
  const resource = createResource({});
  const mapping = { providerName: 'openai', serverAddress: new URL(baseUrl).hostname, serverPort: Number(new URL(baseUrl).port) };
  const exported = new Set();
  const stop = new AbortController();
  let running = true;

  const send = (spans) =>
    new Promise((resolve, reject) =>
      exporter.export(
        spans.map((s) => toReadableSpan(s, resource)),
        (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error('export failed'))),
      ),
    );

  async function pollThread(threadId) {
    const page = await client.listRuns(threadId, { order: 'desc', limit: 20 }, stop.signal);
    for (const run of [...page.items].reverse()) {
      if (exported.has(run.id)) continue;
      const steps = await collectPages((after, limit) => client.listRunSteps(threadId, run.id, { order: 'asc', limit, ...(after ? { after } : {}) }, stop.signal));
      if (!isRunTerminal(run)) continue;
      await send(mapRunToSpans({ runId: run.id, run, steps: steps.items }, mapping));
      exported.add(run.id);
      onExported?.(run.id);
    }
  }

  async function loop(threadId) {
    while (running) {
      const started = performance.now();
      try {
        await pollThread(threadId);
      } catch {
        // a failed round is simply tried again at the next interval
      }
      const wait = pollIntervalMillis - (performance.now() - started);
      if (wait > 0 && running) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  const loops = threads.map((t) => loop(t));
  return {
    exported,
    async stop() {
      running = false;
      stop.abort();
      await Promise.allSettled(loops);
      await exporter.shutdown();
    },
  };
}
