// outage: the collector goes away for 60 s while runs go on, then comes back.
//
// The real CLI (`watch`, the crash-safe file store) watches the threads of `many-threads:20x20`,
// played by the simulator at 200 ms per scenario second (a run ends every few hundred ms of real
// time, for 80 s). 10 s in, the OTLP sink closes its port (connections refused); 60 s later it
// listens again on the same port. /metrics is read every 500 ms: the backlog is the highest
// `assistants_otel_delivery_queue_spans`; the catch-up time runs from the sink's return until the
// queue is empty again. At the end (the simulator idle, SIGTERM, the drain), every span the
// mapping makes of the simulator's terminal records must have reached the sink: lost = expected −
// received (must be 0). RSS of the CLI through the outage, from /proc.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunTerminal, mapRunToSpans, validateRun, validateRunStep } from '../../dist/index.js';
import { createSimulator } from '../../dist/simulator/index.js';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { metricValue, rssBetween, startMeasuredCli } from '../lib/proc.mjs';
import { figure, round, sleep, waitFor } from '../lib/util.mjs';

export const defaults = { scenario: 'many-threads:20x20', scaleMs: 200, downAfterMs: 10_000, downForMs: 60_000 };
export const quickDefaults = { scenario: 'many-threads:10x4', scaleMs: 100, downAfterMs: 2_000, downForMs: 5_000 };

/** Span ids the mapping makes of the simulator's terminal runs (what must reach the collector). */
function expectedSpanIds(sim) {
  const state = sim.state;
  const steps = new Map();
  for (const raw of state.steps) {
    const v = validateRunStep(raw);
    if (v.ok) steps.set(v.value.run_id, [...(steps.get(v.value.run_id) ?? []), v.value]);
  }
  const ids = new Set();
  for (const raw of state.runs) {
    const v = validateRun(raw);
    if (!v.ok || !isRunTerminal(v.value)) continue;
    for (const span of mapRunToSpans({ runId: v.value.id, run: v.value, steps: steps.get(v.value.id) ?? [] }, {})) ids.add(span.spanId);
  }
  return ids;
}

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-outage-'));
  const sink = await startOtlpSink({ decode: true });
  const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: p.scaleMs, scenario: p.scenario });
  const threads = sim.state.threads.map((t) => t.id);
  const poll = `${2 * p.scaleMs}ms`; // 2 scenario seconds
  const cli = startMeasuredCli(
    ['watch', '--state', join(dir, 'state.json'), '--poll-interval', poll, '--max-rps', '50', '--listen', '127.0.0.1:0', '--otlp-endpoint', sink.url, ...threads.flatMap((t) => ['--thread', t])],
    { env: { OPENAI_BASE_URL: sim.url } },
  );
  const samples = [];
  let scraping = true;
  try {
    const url = (await cli.waitForStderr(/registration endpoint listening.*?url=(http:\/\/\S+)/, 30_000))[1];
    const scraper = (async () => {
      while (scraping) {
        try {
          const text = await (await fetch(`${url}/metrics`)).text();
          samples.push({ at: performance.now(), queueSpans: metricValue(text, 'assistants_otel_delivery_queue_spans') ?? 0, retries: metricValue(text, 'assistants_otel_export_retries_total') ?? 0 });
        } catch {
          // the sidecar is stopping
        }
        await sleep(500);
      }
    })();
    await sleep(p.downAfterMs);
    await sink.down();
    const downAt = performance.now();
    const downAtCli = cli.elapsed();
    await sleep(p.downForMs);
    await sink.up();
    const upAt = performance.now();
    const upAtCli = cli.elapsed();
    const backlogSpans = Math.max(0, ...samples.filter((s) => s.at >= downAt && s.at <= upAt + 1_000).map((s) => s.queueSpans));
    // Caught up: the queue is empty again, as read from /metrics.
    const caughtUp = await waitFor(() => samples.some((s) => s.at > upAt && s.queueSpans === 0), { timeoutMs: 180_000, everyMs: 100 });
    const catchUpMs = caughtUp ? samples.find((s) => s.at > upAt && s.queueSpans === 0).at - upAt : undefined;
    // The rest of the scenario, then every terminal run's spans.
    await waitFor(() => sim.idle, { timeoutMs: 180_000, everyMs: 200 });
    const expected = expectedSpanIds(sim);
    await waitFor(() => [...expected].every((id) => sink.arrivals.has(id)), { timeoutMs: 120_000, everyMs: 200 });
    scraping = false;
    await scraper;
    const retries = samples.at(-1)?.retries ?? 0;
    const exit = await cli.stop();
    const lost = [...expected].filter((id) => !sink.arrivals.has(id)).length;
    const rssDuring = rssBetween(cli.samples, downAtCli, upAtCli);
    const rssBefore = rssBetween(cli.samples, 0, downAtCli);
    const summary = {
      outage: {
        downSeconds: p.downForMs / 1000,
        backlogSpans,
        catchUpSeconds: catchUpMs === undefined ? null : round(catchUpMs / 1000, 1),
        lost,
        expectedSpans: expected.size,
        exportRetries: retries,
        rssBeforeMb: round(rssBefore.maxMb, 1),
        rssDuringMaxMb: round(rssDuring.maxMb, 1),
        exitCode: exit.code,
      },
    };
    const o = summary.outage;
    return {
      params: { scenario: p.scenario, timeScaleMsPerScenarioSecond: p.scaleMs, pollInterval: poll, down: `${p.downForMs / 1000} s, from ${p.downAfterMs / 1000} s in`, store: 'file' },
      figures: [
        figure('spans lost', o.lost, 'spans', { target: '0', met: o.lost === 0, note: `of ${o.expectedSpans} expected; exit ${o.exitCode}` }),
        figure('backlog while the collector was down (most spans queued)', o.backlogSpans, 'spans', { note: `${o.exportRetries} export attempts retried` }),
        figure('time to catch up after the collector came back (queue empty)', o.catchUpSeconds, 's', { note: 'includes the wait for the exporter\'s next attempt (backoff up to 60 s)' }),
        figure('CLI RSS before / during the outage (max)', `${o.rssBeforeMb} / ${o.rssDuringMaxMb}`, 'MB'),
      ],
      summary,
      details: { samples: samples.length },
    };
  } finally {
    scraping = false;
    await cli.stop();
    await sim.close();
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}
