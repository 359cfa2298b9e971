// scale: (A) the sidecar's memory with 10,000 watched runs, and (B) whether a tick's work grows with
// what is due or with what is watched.
//
// (A) A separate sidecar process (scale-sidecar-child.mjs, --expose-gc, file state store) follows
//     10,000 long-running runs served by the simulator in this process (10,000 threads with one run
//     each: the API allows one active run per thread). RSS after GC: before watching, after
//     registering, after every run was read once; peak RSS; CPU per status read.
// (B) The real `Poller` (dist/sources/poller.js) with a stub API client and a fake clock, so only the
//     poller's own bookkeeping is timed: N runs watched (100, 1,000, 10,000) of which the same K are
//     due at every tick; once with K runs due (status reads), once with K threads due (discovery).
//     Targets (issue): 10,000 watched runs under 150 MB RSS; work per tick grows with what is due.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createMemoryStateStore } from '../../dist/index.js';
import { Poller } from '../../dist/sources/poller.js';
import { createSimulator } from '../../dist/simulator/index.js';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { figure, median, mib, percentile, round, waitFor } from '../lib/util.mjs';

export const defaults = { watchedRuns: 10_000, tickWatched: [100, 1_000, 10_000], dueK: 10, ticks: 500, restMs: 5_000 };
const RSS_TARGET_MB = 150;
const here = dirname(fileURLToPath(import.meta.url));

// ---- (A) the sidecar process with 10,000 watched runs -------------------------------------------

function longRunScenario(threads) {
  return {
    name: `scale-${threads}`,
    threads: Array.from({ length: threads }, () => ({
      runs: [{ startAt: 0, expiresAfterSeconds: 86_400, steps: [{ type: 'message_creation', text: 'Thinking for a long while…', durationSeconds: 3_600 }] }],
    })),
  };
}

function childChannel(child) {
  const waiting = [];
  child.on('message', (message) => {
    const i = waiting.findIndex((w) => w.type === message.type || message.type === 'error');
    if (i < 0) return;
    const [w] = waiting.splice(i, 1);
    if (message.type === 'error') w.reject(new Error(`sidecar child: ${message.error}`));
    else w.resolve(message);
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`sidecar child exited (${code}) while waiting for ${w.type}`));
  });
  return {
    next: (type) => new Promise((resolve, reject) => waiting.push({ type, resolve, reject })),
    ask(message, replyType) {
      const p = this.next(replyType);
      child.send(message);
      return p;
    },
  };
}

async function sidecarMemory(watchedRuns, restMs) {
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-state-'));
  const sink = await startOtlpSink();
  const simStart = performance.now();
  const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000, scenario: longRunScenario(watchedRuns) });
  const runs = sim.state.runs.map((r) => ({ threadId: r.thread_id, runId: r.id }));
  const simSetupMs = performance.now() - simStart;
  const child = fork(join(here, 'scale-sidecar-child.mjs'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const channel = childChannel(child);
  try {
    await channel.next('ready');
    const baseline = await channel.ask({ type: 'baseline' }, 'baseline');
    sim.resetRequests();
    // A run registered as it is created is first read one interval later; 20 s gives one read of
    // every run during the measurement and none in the rest period after it.
    const pollIntervalMillis = 20_000;
    const budget = { maxConcurrency: 16, requestsPerSecond: 100_000 };
    const started = await channel.ask({ type: 'start', baseUrl: sim.url, otlpUrl: sink.tracesUrl, statePath: join(dir, 'state.json'), runs, pollIntervalMillis, budget }, 'started');
    const registered = await channel.ask({ type: 'measure', label: 'registered' }, 'measure');
    const roundStart = performance.now();
    const roundDone = await waitFor(() => (sim.counters.getRun ?? 0) >= watchedRuns, { timeoutMs: 90_000, everyMs: 50 });
    const roundMs = performance.now() - roundStart;
    const afterRound = await channel.ask({ type: 'measure', label: 'after one read of every run' }, 'measure');
    // Nothing is due for the next two minutes: let V8's memory reducer and the allocator settle.
    await new Promise((resolve) => setTimeout(resolve, restMs));
    const atRest = await channel.ask({ type: 'measure', label: 'at rest' }, 'measure');
    await channel.ask({ type: 'stop' }, 'stopped');
    const getRuns = sim.counters.getRun ?? 0;
    const roundCpuMs = afterRound.cpuTotalMs - registered.cpuTotalMs;
    return {
      ok: roundDone,
      watchedRuns,
      added: started.added,
      registerMs: started.registerMs,
      registerCpuMs: started.registerCpuMs,
      baseline: baseline.memory,
      registered: registered.memory,
      afterRound: afterRound.memory,
      atRest: atRest.memory,
      restMs,
      peakRssKb: atRest.maxRssKb,
      getRuns,
      roundMs,
      roundCpuMs,
      cpuMicrosPerRead: getRuns > 0 ? (roundCpuMs * 1000) / getRuns : undefined,
      simSetupMs,
      stats: afterRound.stats,
      stderr: stderr.trim().split('\n').filter(Boolean).slice(0, 5),
    };
  } finally {
    child.kill();
    await sim.close();
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- (B) tick cost: what is due vs what is watched ----------------------------------------------

const emptyPage = () => ({ items: [], rejected: [], warnings: [], hasMore: false, lastId: undefined });

function stubClient(calls) {
  return {
    async getRun(threadId, runId) {
      calls.n++;
      return {
        value: { id: runId, object: 'thread.run', created_at: 1_767_225_600, thread_id: threadId, assistant_id: 'asst_1', status: 'in_progress', started_at: 1_767_225_601, cancelled_at: null, failed_at: null, completed_at: null, metadata: {} },
        warnings: [],
      };
    },
    async listRuns() {
      calls.n++;
      return emptyPage();
    },
    async listRunSteps() {
      return emptyPage();
    },
  };
}

/**
 * N runs watched (on background threads), K keys due at every tick: K runs (`due: 'runs'`) or K
 * threads (`due: 'threads'`). Returns per-tick wall µs (median, p95) and CPU µs per tick.
 */
async function tickCost(watched, due, k, ticks) {
  let now = 0;
  const calls = { n: 0 };
  const options = {
    client: stubClient(calls),
    store: createMemoryStateStore(),
    delivery: { enqueue: (job) => void job.onSettled({ delivered: job.spans.length, setAside: 0 }), isBehind: () => false },
    mapping: {},
    live: false,
    // Background keys are read once with a huge interval, so they stay watched but never due again.
    pollIntervalMillis: 1e12,
    maxIdleIntervalMillis: 1e12,
    now: () => now,
  };
  const poller = new Poller(options);
  // Ticks are driven by hand below, on the fake clock: the scheduler's timer is switched off and a
  // tick is one dispatch of what is due, awaited to its end. (Reaches into private fields: JS.)
  const scheduler = poller.scheduler;
  scheduler.arm = () => {};
  const tick = async () => {
    scheduler.dispatch();
    await Promise.all([...scheduler.inFlight.values()]);
  };
  await poller.start();
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const background = due === 'runs' ? watched - k : watched;
  await Promise.all(Array.from({ length: background }, (_, i) => poller.watchRun(`thread_bg_${i % 1000}`, `run_bg_${i}`)));
  const drain = async () => {
    while (scheduler.queue.nextDueAt() !== undefined && scheduler.queue.nextDueAt() <= now) await tick();
  };
  await drain();
  globalThis.gc?.();
  const heapPerRun = (process.memoryUsage().heapUsed - heapBefore) / Math.max(1, background);
  options.pollIntervalMillis = 1000;
  options.maxIdleIntervalMillis = 1000;
  if (due === 'runs') await Promise.all(Array.from({ length: k }, (_, i) => poller.watchRun(`thread_fg_${i}`, `run_fg_${i}`)));
  else await Promise.all(Array.from({ length: k }, (_, i) => poller.watchThread(`thread_fg_${i}`)));
  await drain(); // the K foreground keys, now due every second
  const perTick = [];
  for (let warm = 0; warm < 20; warm++) {
    now += 1000;
    await tick();
  }
  const callsBefore = calls.n;
  const cpu = process.cpuUsage();
  for (let i = 0; i < ticks; i++) {
    now += 1000;
    const t0 = performance.now();
    await tick();
    perTick.push((performance.now() - t0) * 1000);
  }
  const c = process.cpuUsage(cpu);
  const stats = poller.stats();
  return {
    watched: stats.runs,
    threads: stats.threads,
    due: k,
    medianMicros: median(perTick),
    p95Micros: percentile(perTick, 95),
    cpuMicrosPerTick: (c.user + c.system) / ticks,
    keysPerTick: (calls.n - callsBefore) / ticks,
    heapBytesPerWatchedRun: heapPerRun,
  };
}

export async function run(params = {}) {
  const p = { ...defaults, ...params };
  const figures = [];
  const details = {};

  // (B) first: it is in-process and quick.
  const tick = { runs: [], threads: [] };
  for (const due of ['runs', 'threads']) {
    await tickCost(1_000, due, p.dueK, p.ticks); // warm-up (JIT), discarded
    for (const n of p.tickWatched) tick[due].push(await tickCost(n, due, p.dueK, p.ticks));
  }
  for (const due of ['runs', 'threads']) {
    const rows = tick[due];
    const first = rows[0];
    const last = rows[rows.length - 1];
    // Ticks here are synchronous work on the main thread (the stub answers through microtasks), so the
    // wall time of a tick is its CPU time; process CPU also counts the GC's helper threads.
    const growth = last.medianMicros / first.medianMicros;
    for (const r of rows) {
      figures.push(figure(`tick time, ${p.dueK} ${due} due, ${r.watched.toLocaleString('en-US')} runs watched`, round(r.medianMicros, 1), 'µs/tick (median)', { note: `p95 ${round(r.p95Micros, 1)} µs; process CPU ${round(r.cpuMicrosPerTick, 1)} µs/tick` }));
    }
    figures.push(
      figure(`tick time growth, ${p.dueK} ${due} due, ${last.watched.toLocaleString('en-US')} vs ${first.watched.toLocaleString('en-US')} watched`, round(growth, 2), '×', {
        target: '≈ flat (≤ 2×): grows with what is due, not with what is watched',
        met: growth <= 2,
      }),
    );
  }
  const heapPerRun = tick.runs[tick.runs.length - 1].heapBytesPerWatchedRun;
  figures.push(figure('poller heap per watched run (stub client, memory store)', Math.round(heapPerRun), 'B/run'));
  details.tick = tick;

  // (A) the real sidecar process.
  const a = await sidecarMemory(p.watchedRuns, p.restMs);
  if (!a.ok) throw new Error(`the sidecar read only ${a.getRuns} of ${a.watchedRuns} runs in time`);
  const mb = (bytes) => bytes / 1e6;
  const heapNote = (m) => `heap used ${mib(m.heapUsedBytes)} MiB of ${mib(m.heapTotalBytes)} MiB`;
  figures.unshift(
    figure(`sidecar RSS after GC, ${a.watchedRuns.toLocaleString('en-US')} runs watched, at rest`, round(mb(a.atRest.rssBytes), 1), 'MB', { target: `< ${RSS_TARGET_MB} MB`, met: mb(a.atRest.rssBytes) < RSS_TARGET_MB, note: `${a.restMs / 1000} s after the last read; ${heapNote(a.atRest)}` }),
    figure(`sidecar RSS after GC, right after reading all ${a.watchedRuns.toLocaleString('en-US')}`, round(mb(a.afterRound.rssBytes), 1), 'MB', { target: `< ${RSS_TARGET_MB} MB`, met: mb(a.afterRound.rssBytes) < RSS_TARGET_MB, note: heapNote(a.afterRound) }),
    figure('sidecar peak RSS (maxRSS)', round((a.peakRssKb * 1024) / 1e6, 1), 'MB', { target: `< ${RSS_TARGET_MB} MB`, met: (a.peakRssKb * 1024) / 1e6 < RSS_TARGET_MB }),
    figure('sidecar RSS after GC, before watching anything', round(mb(a.baseline.rssBytes), 1), 'MB', { note: heapNote(a.baseline) }),
    figure('sidecar RSS after GC, just registered (not yet read)', round(mb(a.registered.rssBytes), 1), 'MB', { note: heapNote(a.registered) }),
    figure('registering 10,000 runs (concurrent watchRun, file store)', round(a.registerMs, 0), 'ms', { note: `CPU ${round(a.registerCpuMs, 0)} ms` }),
    figure('first read of every run: wall time', round(a.roundMs / 1000, 2), 's', { note: `${a.getRuns} getRun; budget 16 in flight` }),
    figure('sidecar CPU per status read (HTTP + validation + scheduling)', round(a.cpuMicrosPerRead, 0), 'µs'),
  );
  details.sidecar = a;
  return { params: { watchedRuns: p.watchedRuns, tickWatched: p.tickWatched, dueK: p.dueK, ticks: p.ticks, stateStore: 'file (A), memory (B)' }, figures, details };
}
