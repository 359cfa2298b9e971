// The sidecar process of the scale scenario (forked with --expose-gc and an IPC channel): starts
// `startWatch` with the crash-safe file store, registers the runs it is sent (as POST /v1/watch
// would, concurrently), and answers memory/CPU readings on request. Nothing else runs here, so its
// RSS is the sidecar's.
import { performance } from 'node:perf_hooks';
import { createFileStateStore, createMemoryStateStore, createProvider, startWatch } from '../../dist/index.js';
import { cpuMsSince, memoryAfterGc } from '../lib/util.mjs';

let watch;
const reply = (message) => process.send(message);

process.on('message', async (message) => {
  try {
    switch (message.type) {
      case 'baseline': {
        reply({ type: 'baseline', memory: memoryAfterGc() });
        return;
      }
      case 'start': {
        watch = await startWatch({
          provider: createProvider({ kind: 'openai', baseUrl: message.baseUrl }),
          otlp: { url: message.otlpUrl },
          store: message.statePath ? createFileStateStore(message.statePath) : createMemoryStateStore(),
          pollIntervalMillis: message.pollIntervalMillis,
          budget: message.budget,
        });
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        const results = await Promise.all(message.runs.map(({ threadId, runId }) => watch.poller.watchRun(threadId, runId)));
        reply({
          type: 'started',
          added: results.filter((r) => r === 'added').length,
          registerMs: performance.now() - t0,
          registerCpuMs: cpuMsSince(cpu),
          stats: watch.poller.stats(),
        });
        return;
      }
      case 'measure': {
        const cpu = process.cpuUsage();
        reply({ type: 'measure', label: message.label, memory: memoryAfterGc(), cpuTotalMs: (cpu.user + cpu.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, stats: watch?.poller.stats() });
        return;
      }
      case 'stop': {
        await watch?.stop(AbortSignal.timeout(5_000));
        reply({ type: 'stopped' });
        process.disconnect();
        return;
      }
      default:
        throw new Error(`unknown message ${message.type}`);
    }
  } catch (error) {
    reply({ type: 'error', error: error.stack ?? String(error) });
  }
});
reply({ type: 'ready' });
