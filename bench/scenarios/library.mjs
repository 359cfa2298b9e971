// library: what `instrumentOpenAI` adds to each instrumented call, against the plain SDK.
//
// Two `openai` (v6) clients against the simulator, which runs in a child process of its own (its
// CPU and allocations are not the application's): one plain, one instrumented with
// `instrumentOpenAI(client, { tracerProvider })` (a BasicTracerProvider with a no-op processor:
// exporting is not what is measured). Each makes N `beta.threads.runs.create` calls, one after
// another, in alternating rounds, on threads made beforehand (the API takes one active run per
// thread).
//
// (A) The call: the library's own reads of a run come a poll interval after the call (60 s here),
//     so nothing but the call itself is in the window. Added latency = the mean wall time of an
//     awaited `runs.create`, instrumented minus plain; added allocations = bytes allocated per call
//     (V8's sampling heap profiler, counting objects already collected), instrumented minus plain.
// (B) The follow-up: runs that end within milliseconds, read by the library every 10 ms (an
//     unlimited budget): the CPU time and allocations per run of following it until its spans are
//     emitted (`handle.flush()`), and the API requests it adds, instrumented minus plain. This work
//     happens after the call returned, in the background.
// The library's own scenario (`instrumentation`) measures the streaming path per event.
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BasicTracerProvider, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { instrumentOpenAI } from '../../dist/index.js';
import { figure, median, round } from '../lib/util.mjs';

export const defaults = { calls: 400, rounds: 3 };
export const quickDefaults = { calls: 50, rounds: 1 };
const here = dirname(fileURLToPath(import.meta.url));

/** The simulator in a child process: `scaleMs` real ms per scenario second; its URL and a way to count requests. */
async function startSimulatorProcess(scaleMs) {
  const child = spawn(process.execPath, [join(here, 'library-sim-child.mjs'), String(scaleMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffer = '';
  const waiting = [];
  child.stdout.on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const { url } = await next();
  return {
    url,
    async requests() {
      child.stdin.write('count\n');
      return (await next()).requests;
    },
    close: () => child.kill(),
  };
}

async function sampledBytes(session, fn) {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await fn();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  (function walk(node) {
    total += node.selfSize;
    for (const child of node.children) walk(child);
  })(profile.head);
  return total;
}

const newThreads = async (client, n) => {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await client.beta.threads.create()).id);
  return ids;
};

const createRuns = async (client, ids) => {
  for (const id of ids) await client.beta.threads.runs.create(id, { assistant_id: 'asst_bench' });
};

async function phase(scaleMs, libraryPollMillis, p, session, measureFollowUp) {
  const sim = await startSimulatorProcess(scaleMs);
  const provider = new BasicTracerProvider({ spanProcessors: [new NoopSpanProcessor()] });
  try {
    const plain = new OpenAI({ apiKey: 'sk-bench', baseURL: sim.url, maxRetries: 0 });
    const instrumented = new OpenAI({ apiKey: 'sk-bench', baseURL: sim.url, maxRetries: 0 });
    const handle = instrumentOpenAI(instrumented, { tracerProvider: provider, pollIntervalMillis: libraryPollMillis, budget: { maxConcurrency: 8, requestsPerSecond: 1e6 } });
    const run = async (kind, ids) => {
      await createRuns(kind === 'plain' ? plain : instrumented, ids);
      if (kind === 'instrumented' && measureFollowUp) await handle.flush();
    };
    await run('plain', await newThreads(plain, 50)); // warm-up
    await run('instrumented', await newThreads(plain, 50));
    const rounds = { plain: [], instrumented: [] };
    for (let r = 0; r < p.rounds; r++) {
      for (const kind of ['plain', 'instrumented']) {
        const ids = await newThreads(plain, p.calls);
        globalThis.gc?.();
        const requestsBefore = await sim.requests();
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        await run(kind, ids);
        const wallMs = performance.now() - t0;
        const c = process.cpuUsage(cpu);
        const requests = (await sim.requests()) - requestsBefore;
        rounds[kind].push({ wallMicros: (wallMs * 1000) / p.calls, cpuMicros: (c.user + c.system) / p.calls, requestsPerCall: requests / p.calls });
      }
    }
    const bytes = {};
    for (const kind of ['plain', 'instrumented']) {
      const ids = await newThreads(plain, p.calls);
      bytes[kind] = (await sampledBytes(session, () => run(kind, ids))) / p.calls;
    }
    await handle.shutdown();
    const m = (kind, key) => median(rounds[kind].map((r) => r[key]));
    return {
      wall: { plain: m('plain', 'wallMicros'), instrumented: m('instrumented', 'wallMicros') },
      cpu: { plain: m('plain', 'cpuMicros'), instrumented: m('instrumented', 'cpuMicros') },
      requests: { plain: m('plain', 'requestsPerCall'), instrumented: m('instrumented', 'requestsPerCall') },
      bytes,
      rounds,
    };
  } finally {
    await provider.shutdown();
    sim.close();
  }
}

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const session = new Session();
  session.connect();
  try {
    // (A) the call alone: runs that last seconds, library reads 60 s after a call.
    const a = await phase(1000, 60_000, p, session, false);
    // (B) the follow-up: runs over in a few ms (1 ms per scenario second), library reads every 10 ms.
    const b = await phase(1, 10, p, session, true);
    const summary = {
      library: {
        overheadMicrosPerCall: round(a.wall.instrumented - a.wall.plain, 1),
        plainMicrosPerCall: round(a.wall.plain, 1),
        instrumentedMicrosPerCall: round(a.wall.instrumented, 1),
        overheadBytesPerCall: Math.round(a.bytes.instrumented - a.bytes.plain),
        plainBytesPerCall: Math.round(a.bytes.plain),
        followUpCpuMicrosPerRun: round(b.cpu.instrumented - b.cpu.plain, 1),
        followUpBytesPerRun: Math.round(b.bytes.instrumented - b.bytes.plain - (a.bytes.instrumented - a.bytes.plain)),
        extraRequestsPerRun: round(b.requests.instrumented - b.requests.plain, 2),
      },
    };
    const l = summary.library;
    return {
      params: { sdk: 'openai 6', call: 'beta.threads.runs.create', calls: p.calls, rounds: p.rounds, tracerProvider: 'BasicTracerProvider + NoopSpanProcessor', simulator: 'child process' },
      figures: [
        figure('added latency per instrumented call (awaited runs.create)', l.overheadMicrosPerCall, 'µs/call', { note: `plain ${l.plainMicrosPerCall} µs, instrumented ${l.instrumentedMicrosPerCall} µs (loopback round trip included in both)` }),
        figure('added allocations per instrumented call', l.overheadBytesPerCall, 'B/call', { note: `plain ${l.plainBytesPerCall} B/call` }),
        figure('following each run until its spans are emitted (background): CPU', l.followUpCpuMicrosPerRun, 'µs/run', { note: 'after the call returned; the reads every 10 ms of a run that ends within ms' }),
        figure('following each run: allocations', l.followUpBytesPerRun, 'B/run'),
        figure('extra API requests per run followed', l.extraRequestsPerRun, 'requests', { note: 'the library\'s own reads of the run (status, then steps)' }),
      ],
      summary,
      details: { call: a, followUp: b },
    };
  } finally {
    session.disconnect();
  }
}
