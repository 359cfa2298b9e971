// api: what the sidecar costs against the API's rate limit, and how fresh its traces are.
//
// The scenario of the targets: threads running runs back to back (a run starts the second
// its predecessor ends), each run 20 s long with a median of 8 steps, on the simulator's real clock;
// poll interval 2 s (real). Four pollers run at the same time, each on a simulator and an OTLP sink
// of its own, with the same request budget (8 in flight, 20 requests/s):
//
// - thread-watched (batch): `startWatch` watching every thread;
// - registered: each run registered with `watchRun` as soon as it exists, threads not watched;
// - live: thread-watched with `--live`;
// - naive: the baseline (bench/lib/naive-poller.mjs): every interval, each thread's runs and each
//   active run's steps.
//
// Every request the simulator saw is counted, discovery included, from the start until the last run
// was exported; divided by the runs exported. Lower bounds (bench/lib/back-to-back.mjs): one request
// per interval per active thread (or run, when runs are watched alone), plus one steps page per 100
// steps; live adds a steps page per interval while a run is active. Freshness: each run's end (its
// terminal second on the simulator's clock, exact here) to its run span's arrival at the sink, in
// real milliseconds.
import { createMemoryStateStore, createProvider, spanIdForRun, startWatch } from '../../dist/index.js';
import { createSimulator } from '../../dist/simulator/index.js';
import { backToBackScenario, lowerBounds, RUN_SECONDS, runsAsPlayed } from '../lib/back-to-back.mjs';
import { startNaivePoller } from '../lib/naive-poller.mjs';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { figure, percentile, round, waitFor } from '../lib/util.mjs';

export const defaults = { threads: 10, runsPerThread: 4, runSeconds: RUN_SECONDS, pollMillis: 2_000, budget: { maxConcurrency: 8, requestsPerSecond: 20 } };
// A smoke test: one short run per thread; its ratios carry the fixed costs of a thread's first and last listings, so they are not the figures to quote.
export const quickDefaults = { threads: 4, runsPerThread: 1, runSeconds: 8 };
const REQUEST_TARGET = 1.1;
const NAIVE_TARGET = 1.7;

async function oneMode(mode, p) {
  const scenario = backToBackScenario({ threads: p.threads, runsPerThread: p.runsPerThread, runSeconds: p.runSeconds });
  const sink = await startOtlpSink({ decode: true });
  const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000, scenario });
  const simStart = performance.now() - sim.now * 1000;
  const threadIds = scenario.threads.map((t) => t.id);
  const totalRuns = p.threads * p.runsPerThread;
  let exported = 0;
  let lastExportAt = 0;
  const onExported = () => {
    exported++;
    lastExportAt = performance.now();
  };
  let poller;
  let watch;
  const registered = new Set();
  if (mode === 'naive') {
    poller = startNaivePoller({ baseUrl: sim.url, tracesUrl: sink.tracesUrl, threads: threadIds, pollIntervalMillis: p.pollMillis, budget: p.budget, onExported });
  } else {
    watch = await startWatch({
      provider: createProvider({ kind: 'openai', baseUrl: sim.url }),
      otlp: { url: sink.tracesUrl },
      store: createMemoryStateStore(),
      live: mode === 'live',
      pollIntervalMillis: p.pollMillis,
      budget: p.budget,
      threads: mode === 'registered' ? [] : threadIds,
      onExported: (counts) => {
        for (let i = 0; i < counts.runs; i++) onExported();
      },
    });
  }
  const timeoutMs = (p.runsPerThread * p.runSeconds + 30) * 1000;
  const finished = await waitFor(
    async () => {
      if (mode === 'registered') {
        for (const { thread_id: threadId, id } of sim.state.runs) {
          if (registered.has(id)) continue;
          registered.add(id);
          await watch.poller.watchRun(threadId, id);
        }
      }
      return exported >= totalRuns;
    },
    { timeoutMs, everyMs: mode === 'registered' ? 50 : 100 },
  );
  const doneAt = lastExportAt;
  if (watch) await watch.stop(AbortSignal.timeout(5_000));
  else await poller.stop();
  const state = sim.state;
  // Every request until the last run was exported (what came after is the pollers winding down).
  const counted = sim.requests.filter((r) => simStart + r.scenarioSeconds * 1000 <= doneAt + 1);
  await sim.close();
  await sink.close();

  const runs = runsAsPlayed(state);
  const byOperation = {};
  for (const r of counted) byOperation[r.operation ?? 'unmatched'] = (byOperation[r.operation ?? 'unmatched'] ?? 0) + 1;
  const latencies = runs
    .map((run) => {
      const arrival = sink.arrivals.get(spanIdForRun(run.runId));
      return arrival === undefined || run.endSecond === undefined ? undefined : arrival - (simStart + run.endSecond * 1000);
    })
    .filter((v) => v !== undefined);
  return { mode, finished, exported, totalRuns, requests: counted.length, byOperation, runs, latencies, stepsTotal: runs.reduce((s, r) => s + r.steps, 0) };
}

const pct = (values) => ({ p50: round(percentile(values, 50), 0), p95: round(percentile(values, 95), 0), p99: round(percentile(values, 99), 0), max: round(percentile(values, 100), 0) });

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const results = await Promise.all(['thread-watched', 'registered', 'live', 'naive'].map((mode) => oneMode(mode, p)));
  const by = Object.fromEntries(results.map((r) => [r.mode, r]));
  for (const r of results) if (!r.finished) throw new Error(`${r.mode}: only ${r.exported} of ${r.totalRuns} runs exported in time`);
  const P = p.pollMillis / 1000;
  const bounds = Object.fromEntries(results.map((r) => [r.mode, lowerBounds(r.runs, P)]));
  const perRun = (n, r) => n / r.totalRuns;
  const tw = by['thread-watched'];
  const ours = perRun(tw.requests, tw);
  const lb = perRun(bounds['thread-watched'].threadWatched, tw);
  const naive = perRun(by.naive.requests, by.naive);
  const reg = perRun(by.registered.requests, by.registered);
  const regLb = perRun(bounds.registered.registered, by.registered);
  const live = perRun(by.live.requests, by.live);
  const liveLb = perRun(bounds.live.live, by.live);
  const fresh = pct(tw.latencies);
  const freshTarget = p.pollMillis + 1000;
  const medianSteps = percentile(tw.runs.map((r) => r.steps), 50);
  const ops = (r) => Object.entries(r.byOperation).map(([k, v]) => `${k} ${v}`).join(', ');

  const summary = {
    api: {
      requestsPerRun: round(ours, 2),
      lowerBoundPerRun: round(lb, 2),
      naiveRequestsPerRun: round(naive, 2),
      ratioToLowerBound: round(ours / lb, 3),
      naiveOverOurs: round(naive / ours, 2),
      registered: { requestsPerRun: round(reg, 2), lowerBoundPerRun: round(regLb, 2), ratioToLowerBound: round(reg / regLb, 3) },
      live: { requestsPerRun: round(live, 2), lowerBoundPerRun: round(liveLb, 2), ratioToLowerBound: round(live / liveLb, 3) },
      naive: { ratioToLowerBound: round(naive / lb, 3) },
    },
    freshness: { p50Ms: fresh.p50, p95Ms: fresh.p95, p99Ms: fresh.p99, maxMs: fresh.max, pollIntervalMs: p.pollMillis, runs: tw.latencies.length },
  };
  const figures = [
    figure('thread-watched: requests per exported run (every request, discovery included)', summary.api.requestsPerRun, 'requests/run', { note: ops(tw) }),
    figure('thread-watched: lower bound per run', summary.api.lowerBoundPerRun, 'requests/run', { note: `${bounds['thread-watched'].parts.threadIntervals} thread-intervals + ${bounds['thread-watched'].parts.stepPages} step pages` }),
    figure('thread-watched: ratio to the lower bound', summary.api.ratioToLowerBound, '×', { target: `≤ ${REQUEST_TARGET}×`, met: ours / lb <= REQUEST_TARGET }),
    figure('naive poller: requests per exported run', summary.api.naiveRequestsPerRun, 'requests/run', { note: ops(by.naive) }),
    figure('naive poller / thread-watched sidecar', summary.api.naiveOverOurs, '×', { target: `≥ ${NAIVE_TARGET}× fewer than naive`, met: naive / ours >= NAIVE_TARGET }),
    figure('registered runs: requests per exported run', summary.api.registered.requestsPerRun, 'requests/run', { note: ops(by.registered) }),
    figure('registered runs: ratio to their lower bound', summary.api.registered.ratioToLowerBound, '×', { target: `≤ ${REQUEST_TARGET}×`, met: reg / regLb <= REQUEST_TARGET, note: `lower bound ${summary.api.registered.lowerBoundPerRun}/run` }),
    figure('--live: requests per exported run', summary.api.live.requestsPerRun, 'requests/run', { note: ops(by.live) }),
    figure('--live: ratio to its lower bound', summary.api.live.ratioToLowerBound, '×', { target: `≤ ${REQUEST_TARGET}×`, met: live / liveLb <= REQUEST_TARGET, note: `lower bound ${summary.api.live.lowerBoundPerRun}/run` }),
    figure('freshness: run end → run span at the collector, p50 / p95 / p99 / max', `${fresh.p50} / ${fresh.p95} / ${fresh.p99} / ${fresh.max}`, 'ms', { target: `p99 ≤ ${freshTarget} ms (interval + 1 s)`, met: fresh.p99 <= freshTarget }),
  ];
  return {
    params: { threads: p.threads, runsPerThread: p.runsPerThread, runSeconds: p.runSeconds, medianSteps, pollInterval: `${p.pollMillis} ms (real)`, budget: `${p.budget.maxConcurrency} in flight, ${p.budget.requestsPerSecond}/s` },
    figures,
    summary,
    details: Object.fromEntries(
      results.map((r) => [
        r.mode,
        {
          requests: r.requests,
          byOperation: r.byOperation,
          runsExported: r.exported,
          steps: r.stepsTotal,
          lowerBound: bounds[r.mode],
          latencyMs: pct(r.latencies),
        },
      ]),
    ),
  };
}
