// freshness: time from a run becoming terminal in the simulator to its run span reaching the OTLP
// sink, with the sidecar (batch mode) watching every thread of `many-threads:NxM`.
//
// The run's terminal second (scenario time, exact: transitions here fall on whole seconds) becomes a
// wall-clock instant through the time scale; the sink notes when the request holding the run span
// arrived. Split: detection (terminal → the sidecar's step listing, which it does once it saw the run
// finished) and delivery (that listing → the sink). Target (issue): p99 ≤ one poll interval + 1 s.
import { runSidecarAgainstSimulator } from '../lib/sidecar-sim.mjs';
import { figure, percentile, round } from '../lib/util.mjs';

export const defaults = { threads: 20, runsPerThread: 3, scaleMs: 200, pollSeconds: 2, maxIdleSeconds: 60, compareNoBackoff: true };

const pct = (values) => ({ p50: round(percentile(values, 50), 0), p95: round(percentile(values, 95), 0), p99: round(percentile(values, 99), 0), max: round(percentile(values, 100), 0) });
const show = (p) => `${p.p50} / ${p.p95} / ${p.p99} / ${p.max}`;

export async function run(params = {}) {
  const p = { ...defaults, ...params };
  const result = await runSidecarAgainstSimulator({
    scenario: `many-threads:${p.threads}x${p.runsPerThread}`,
    scaleMs: p.scaleMs,
    pollSeconds: p.pollSeconds,
    maxIdleSeconds: p.maxIdleSeconds,
    live: false,
    timeoutMs: 120_000,
  });
  if (!result.finished) throw new Error(`only ${result.exportedRuns} of ${result.totalRuns} runs exported before the timeout`);
  const pollMs = p.pollSeconds * p.scaleMs;
  const targetMs = pollMs + 1000;
  const scaledTargetMs = (p.pollSeconds + 1) * p.scaleMs;
  const measured = result.runs.filter((r) => r.latencyMs !== undefined);
  const all = pct(measured.map((r) => r.latencyMs));
  const followed = measured.filter((r) => r.getRun > 0);
  const foundLate = measured.filter((r) => r.getRun === 0);
  const detect = pct(measured.filter((r) => r.detectMs !== undefined).map((r) => r.detectMs));
  const deliver = pct(measured.filter((r) => r.deliverMs !== undefined).map((r) => r.deliverMs));
  const fol = pct(followed.map((r) => r.latencyMs));
  const late = pct(foundLate.map((r) => r.latencyMs));
  const within = measured.filter((r) => r.latencyMs <= targetMs).length;
  const discoveryPerThreadMinute = (res) => round((res.byOperation.listRuns ?? 0) / res.threads / (res.scenarioSeconds / 60), 1);

  // The same scenario with discovery never slowing down (--max-idle-interval = --poll-interval):
  // what the freshness target costs in discovery requests with the current design.
  let noBackoff;
  if (p.compareNoBackoff) {
    const r2 = await runSidecarAgainstSimulator({
      scenario: `many-threads:${p.threads}x${p.runsPerThread}`,
      scaleMs: p.scaleMs,
      pollSeconds: p.pollSeconds,
      maxIdleSeconds: p.pollSeconds,
      live: false,
      timeoutMs: 120_000,
    });
    if (!r2.finished) throw new Error(`no back-off: only ${r2.exportedRuns} of ${r2.totalRuns} runs exported before the timeout`);
    noBackoff = { latencyMs: pct(r2.runs.filter((r) => r.latencyMs !== undefined).map((r) => r.latencyMs)), byOperation: r2.byOperation, discoveryPerThreadMinute: discoveryPerThreadMinute(r2) };
  }
  return {
    params: {
      scenario: `many-threads:${p.threads}x${p.runsPerThread}`,
      timeScaleMsPerScenarioSecond: p.scaleMs,
      pollInterval: `${p.pollSeconds} scenario s (${pollMs} ms)`,
      maxIdleInterval: `${p.maxIdleSeconds} scenario s (${p.maxIdleSeconds * p.scaleMs} ms)`,
      mode: 'batch',
    },
    figures: [
      figure('terminal → run span at the sink, p50 / p95 / p99 / max', show(all), 'ms', { target: `p99 ≤ ${targetMs} ms (poll interval + 1 s)`, met: all.p99 <= targetMs }),
      figure('runs within the target', `${within} of ${measured.length}`, 'runs'),
      figure('same, in scenario seconds (p50 / p99)', `${round(all.p50 / p.scaleMs, 1)} / ${round(all.p99 / p.scaleMs, 1)}`, 'scenario s', { note: `scaled target ${p.pollSeconds + 1} scenario s = ${scaledTargetMs} ms` }),
      figure('  detection: terminal → step listing, p50 / p95 / p99 / max', show(detect), 'ms'),
      figure('  delivery: step listing → sink, p50 / p95 / p99 / max', show(deliver), 'ms'),
      figure(`  runs followed while active (${followed.length}), p50 / p95 / p99 / max`, show(fol), 'ms', { target: `p99 ≤ ${targetMs} ms`, met: fol.p99 === undefined ? undefined : fol.p99 <= targetMs }),
      figure(`  runs first seen by discovery already finished (${foundLate.length}), p50 / p95 / p99 / max`, show(late), 'ms'),
      figure('discovery requests per thread per scenario minute', discoveryPerThreadMinute(result), 'requests'),
      ...(noBackoff
        ? [
            figure(`no discovery back-off (max idle interval = poll interval): p50 / p95 / p99 / max`, show(noBackoff.latencyMs), 'ms', { target: `p99 ≤ ${targetMs} ms`, met: noBackoff.latencyMs.p99 <= targetMs }),
            figure('  no back-off: discovery requests per thread per scenario minute', noBackoff.discoveryPerThreadMinute, 'requests'),
          ]
        : []),
    ],
    details: {
      runs: result.runs.length,
      measured: measured.length,
      latencyMs: all,
      detectionMs: detect,
      deliveryMs: deliver,
      followedWhileActive: { runs: followed.length, latencyMs: fol },
      firstSeenFinished: { runs: foundLate.length, latencyMs: late },
      withinTarget: within,
      targetMs,
      scaledTargetMs,
      byOperation: result.byOperation,
      noBackoff,
      wallSeconds: round(result.wallMs / 1000, 2),
      perRun: result.runs.map((r) => ({ runId: r.runId, status: r.status, created: r.createdSecond, discovered: r.discoveredSecond === undefined ? null : round(r.discoveredSecond, 2), terminal: r.endSecond, latencyMs: round(r.latencyMs, 0) })),
    },
  };
}
