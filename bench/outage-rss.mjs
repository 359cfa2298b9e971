// One-off check behind the bounded delivery queue (docs/performance.md, issue #9 item 2): the
// sidecar (`startWatch`, in this process, the CLI's defaults: 20,000 spans / 32 MiB queue bounds,
// 5-minute retry cap unless given) watches threads full of finished runs (--backfill) while the
// collector is down (every export answered 503), for a while; RSS and the queue are sampled every
// few seconds. Before the bound, one discovery page of 100 finished runs was queued whole
// (161,600 spans, 417 MiB RSS measured).
// Run after `npm run build`:
//   node --expose-gc bench/outage-rss.mjs [minutes=3] [threads=20] [runsPerThread=100] [retryDelay=5s]
import http from 'node:http';
import { createMemoryStateStore, createProvider, startWatch } from '../dist/index.js';
import { createSimulator } from '../dist/simulator/index.js';

const minutes = Number(process.argv[2] ?? 3);
const threads = Number(process.argv[3] ?? 20);
const runsPerThread = Number(process.argv[4] ?? 100);
const retryDelay = process.argv[5] ?? '5s';
const retryMillis = Number(/^(\d+)s$/.exec(retryDelay)?.[1] ?? 5) * 1000;

// A collector that is down: 503 to everything, counting what it was offered.
let attempts = 0;
const collector = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    attempts++;
    res.writeHead(503).end('down');
  });
});
await new Promise((resolve) => collector.listen(0, '127.0.0.1', resolve));
const collectorUrl = `http://127.0.0.1:${collector.address().port}/v1/traces`;

const scenario = {
  name: 'outage',
  threads: Array.from({ length: threads }, () => ({
    runs: Array.from({ length: runsPerThread }, (_, r) => ({
      startAt: -100_000 + r * 30,
      steps: Array.from({ length: 15 }, (_, k) => ({ type: 'message_creation', text: `step ${k} of run ${r}`, durationSeconds: 1 })),
    })),
  })),
};
const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1, scenario });
const watch = await startWatch({
  provider: createProvider({ kind: 'openai', baseUrl: sim.url }),
  otlp: { url: collectorUrl },
  store: createMemoryStateStore(),
  backfill: true,
  pollIntervalMillis: 500,
  delivery: { maxRetryDelayMillis: retryMillis },
  budget: { maxConcurrency: 8, requestsPerSecond: 50 },
  threads: sim.state.threads.map((t) => t.id),
});

const mib = (bytes) => Math.round(bytes / 1024 / 1024);
const started = Date.now();
const rows = [];
while (Date.now() - started < minutes * 60_000) {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  globalThis.gc?.();
  const depth = watch.pipeline.depth();
  const row = { s: Math.round((Date.now() - started) / 1000), rssMiB: mib(process.memoryUsage().rss), heapMiB: mib(process.memoryUsage().heapUsed), queueSpans: depth.spans, peakSpans: depth.peakSpans, queueMiB: +(depth.bytes / 1024 / 1024).toFixed(1), attempts, apiRequests: sim.requests.length };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const rss = rows.map((r) => r.rssMiB);
console.log(JSON.stringify({ minutes, threads, runsPerThread, spansWaitingInTheApi: threads * runsPerThread * 16, retryDelay, rssMiB: { first: rss[0], min: Math.min(...rss), max: Math.max(...rss), last: rss.at(-1) }, peakSpans: rows.at(-1)?.peakSpans, limits: watch.pipeline.limits() }));
await watch.stop(AbortSignal.timeout(1000));
await sim.close();
collector.close();
