// The sidecar (`startWatch`, in this process) against the simulator (real clock, a fast time scale)
// and a local OTLP sink; then what the simulator saw (requests by operation, per run) and when each
// run span reached the sink, next to what the scenario says each run did (created, terminal, steps).
import { performance } from 'node:perf_hooks';
import { createMemoryStateStore, createProvider, spanIdForRun, startWatch } from '../../dist/index.js';
import { createSimulator } from '../../dist/simulator/index.js';
import { startOtlpSink } from './otlp-sink.mjs';
import { waitFor } from './util.mjs';

/** The scenario second at which a run became terminal (records carry whole seconds; transitions here are whole seconds too). */
function terminalSecond(run, base) {
  const ends = [run.completed_at, run.failed_at, run.cancelled_at, run.expired_at].filter((v) => typeof v === 'number');
  if (ends.length > 0) return Math.min(...ends) - base;
  if (run.status === 'expired' && typeof run.expires_at === 'number') return run.expires_at - base;
  return undefined;
}

/** `/threads/{t}/runs/{r}` and `/threads/{t}/runs/{r}/steps` → r. */
function runIdOfPath(path) {
  const m = /^\/threads\/[^/]+\/runs\/([^/]+)/.exec(path);
  return m ? decodeURIComponent(m[1]) : undefined;
}

/**
 * @param {object} o
 * @param {string} o.scenario       e.g. 'many-threads:20x5'
 * @param {number} o.scaleMs        real ms per scenario second
 * @param {number} o.pollSeconds    the sidecar's poll interval, in scenario seconds
 * @param {number} o.maxIdleSeconds the sidecar's max idle discovery interval, in scenario seconds (default 60, the CLI default)
 * @param {number} o.apiRps         the request budget at real speed (default 10, the CLI default); scaled by the time scale
 * @param {boolean} o.live
 * @param {boolean} o.register       instead of watching the threads, register each run as soon as it exists
 *                                   (as an agent posting `POST /v1/watch` with its run_id would): no discovery
 * @param {number} o.timeoutMs
 */
export async function runSidecarAgainstSimulator(o) {
  const { scenario, scaleMs, pollSeconds, live = false, maxIdleSeconds = 60, apiRps = 10, timeoutMs = 60_000, register = false } = o;
  const sink = await startOtlpSink({ decode: true });
  const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: scaleMs, scenario });
  // performance.now() at scenario second 0 (the simulator's clock started just before).
  const simWallStart = performance.now() - sim.now * scaleMs;
  const initial = sim.state;
  const threadIds = initial.threads.map((t) => t.id);
  const totalRuns = initial.runs.length + initial.upcomingRuns;
  const speedup = 1000 / scaleMs;
  let exportedRuns = 0;
  const watch = await startWatch({
    provider: createProvider({ kind: 'openai', baseUrl: sim.url }),
    otlp: { url: sink.tracesUrl },
    store: createMemoryStateStore(),
    live,
    pollIntervalMillis: pollSeconds * scaleMs,
    maxIdleIntervalMillis: maxIdleSeconds * scaleMs,
    // The CLI's budget (8 in flight, 10/s) at the same time scale as everything else.
    budget: { maxConcurrency: 8, requestsPerSecond: apiRps * speedup },
    threads: register ? [] : threadIds,
    onExported: (counts) => {
      exportedRuns += counts.runs;
    },
  });
  const startedAt = performance.now();
  let finished = false;
  let final;
  let requests;
  const registered = new Set();
  /** scenario seconds at which each run was registered (register mode) */
  const registeredAt = new Map();
  const registerNew = async () => {
    if (!register) return;
    for (const threadId of threadIds) {
      for (const { run } of sim.recordsFor(threadId)?.runs ?? []) {
        if (registered.has(run.id)) continue;
        registered.add(run.id);
        registeredAt.set(run.id, sim.now);
        await watch.poller.watchRun(threadId, run.id);
      }
    }
  };
  try {
    // Register mode: look for new runs every eighth of a poll interval (a client would register at creation).
    const everyMs = register ? Math.max(5, (pollSeconds * scaleMs) / 8) : 10;
    finished = await waitFor(
      async () => {
        await registerNew();
        return sim.idle && exportedRuns >= totalRuns;
      },
      { timeoutMs, everyMs },
    );
  } finally {
    await watch.stop(AbortSignal.timeout(5_000));
    final = sim.state;
    requests = sim.requests.map((r) => ({ operation: r.operation, path: r.path, status: r.status, scenarioSeconds: r.scenarioSeconds }));
    await sim.close();
    await sink.close();
  }
  const wallMs = performance.now() - startedAt;

  const base = final.epochSeconds - Math.floor(final.scenarioSeconds);
  const stepsByRun = new Map();
  for (const step of final.steps) stepsByRun.set(step.run_id, (stepsByRun.get(step.run_id) ?? 0) + 1);
  const byOperation = {};
  const perRun = new Map();
  /** thread id → scenario seconds of each discovery request (listRuns), in arrival order */
  const discoveries = new Map();
  for (const r of requests) {
    if (r.operation === 'listRuns') {
      const m = /^\/threads\/([^/]+)\/runs/.exec(r.path);
      if (m) {
        const threadId = decodeURIComponent(m[1]);
        if (!discoveries.has(threadId)) discoveries.set(threadId, []);
        discoveries.get(threadId).push(r.scenarioSeconds);
      }
    }
    byOperation[r.operation ?? 'unmatched'] = (byOperation[r.operation ?? 'unmatched'] ?? 0) + 1;
    const runId = r.operation === 'getRun' || r.operation === 'listRunSteps' ? runIdOfPath(r.path) : undefined;
    if (runId === undefined) continue;
    const entry = perRun.get(runId) ?? { getRun: 0, listRunSteps: 0, firstStepsAtScenario: undefined };
    entry[r.operation]++;
    if (r.operation === 'listRunSteps' && entry.firstStepsAtScenario === undefined) entry.firstStepsAtScenario = r.scenarioSeconds;
    perRun.set(runId, entry);
  }
  const runs = final.runs.map((run) => {
    const createdSecond = run.created_at - base;
    const endSecond = terminalSecond(run, base);
    const seen = perRun.get(run.id) ?? { getRun: 0, listRunSteps: 0, firstStepsAtScenario: undefined };
    const terminalWall = endSecond === undefined ? undefined : simWallStart + endSecond * scaleMs;
    const arrival = sink.arrivals.get(spanIdForRun(run.id));
    // The first discovery request on its thread after the run existed: when the sidecar learnt of it.
    const discoveredSecond = register ? registeredAt.get(run.id) : (discoveries.get(run.thread_id) ?? []).find((at) => at >= createdSecond);
    return {
      runId: run.id,
      threadId: run.thread_id,
      status: run.status,
      createdSecond,
      endSecond,
      steps: stepsByRun.get(run.id) ?? 0,
      discoveredSecond,
      getRun: seen.getRun,
      listRunSteps: seen.listRunSteps,
      /** ms from the run becoming terminal to its run span reaching the sink */
      latencyMs: terminalWall !== undefined && arrival !== undefined ? arrival - terminalWall : undefined,
      /** batch mode: ms from terminal to the sidecar's first step listing (it lists steps once it saw the run finished) */
      detectMs: terminalWall !== undefined && seen.firstStepsAtScenario !== undefined ? seen.firstStepsAtScenario * scaleMs + simWallStart - terminalWall : undefined,
      /** batch mode: ms from that step listing to the run span reaching the sink */
      deliverMs: arrival !== undefined && seen.firstStepsAtScenario !== undefined ? arrival - (seen.firstStepsAtScenario * scaleMs + simWallStart) : undefined,
    };
  });
  return {
    finished,
    wallMs,
    totalRuns,
    exportedRuns,
    threads: threadIds.length,
    scenarioSeconds: final.scenarioSeconds,
    byOperation,
    runs,
    sinkSpans: sink.stats.spans,
    sinkRequests: sink.stats.requests,
  };
}
