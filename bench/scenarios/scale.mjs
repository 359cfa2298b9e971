// scale: RSS and CPU of the real CLI (`node dist/cli/bin.js watch`, the crash-safe file store, no
// --expose-gc, no forced GC) watching 1,000 and 10,000 runs, and 1,000 and 10,000 threads, at rest
// and with activity. Measured from outside: VmRSS sampled every 100 ms from /proc/PID/status, VmHWM
// (the kernel's peak), CPU time from /proc/PID/stat.
//
// The simulator (in this process) serves one thread per watched item, each with one run: nine in
// ten last an hour, one in ten finished 5 s before the start (found finished: activity includes exports). Runs are watched
// alone (written to the state file before the start, as registrations would leave them); threads
// are watched with --threads-file. Poll interval 120 s, budget 16 in flight and 1,000 requests/s:
// on start every item is due, so the first round of reads (N requests, and the exports of the runs
// that finished: their step listings, mapping, delivery, the state writes) is the activity; then
// nothing is due until 120 s after each first read: the rest.
//
// - active: the peak RSS (VmHWM) from the start until the first round is read and its finished runs
//   are at the collector, and the CPU it took;
// - at rest: the mean RSS over a window starting 2 s after the round ended (after activity, which is
//   what a long-running sidecar is: its RSS rarely falls back to the start's).
// Targets (issue): 10,000 watched runs < 150 MB at rest, < 200 MB with activity.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStateStore } from '../../dist/index.js';
import { createSimulator } from '../../dist/simulator/index.js';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { rssBetween, startMeasuredCli } from '../lib/proc.mjs';
import { figure, round, sleep, waitFor } from '../lib/util.mjs';

export const defaults = { configs: [[1_000, 'runs'], [1_000, 'threads'], [10_000, 'runs'], [10_000, 'threads']], restMs: 8_000 };
export const quickDefaults = { configs: [[1_000, 'runs']], restMs: 3_000 };
const REST_TARGET_MB = 150;
const ACTIVE_TARGET_MB = 200;

function scenario(count) {
  return {
    name: `scale-${count}`,
    threads: Array.from({ length: count }, (_, i) => ({
      runs: [i % 10 === 9 ? { startAt: -10, template: 'message' } : { startAt: 0, expiresAfterSeconds: 86_400, steps: [{ type: 'message_creation', text: 'Thinking for a long while…', durationSeconds: 3_600 }] }],
    })),
  };
}

async function oneConfig(sim, sink, count, kind, restMs) {
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-scale-'));
  const statePath = join(dir, 'state.json');
  const runs = sim.state.runs;
  const args = ['watch', '--state', statePath, '--poll-interval', '120s', '--max-rps', '1000', '--max-concurrency', '16', '--log-level', 'warn', '--otlp-endpoint', sink.url];
  if (kind === 'runs') {
    const store = createFileStateStore(statePath);
    await store.load();
    await Promise.all(runs.map((r) => store.putRun({ threadId: r.thread_id, runId: r.id, exportedStepIds: [] })));
    await store.close();
  } else {
    const file = join(dir, 'threads.txt');
    await writeFile(file, `${runs.map((r) => r.thread_id).join('\n')}\n`);
    args.push('--threads-file', file);
  }
  sim.resetRequests();
  const spansBefore = sink.stats.spans;
  const cli = startMeasuredCli(args, { env: { OPENAI_BASE_URL: sim.url } });
  try {
    const operation = kind === 'runs' ? 'getRun' : 'listRuns';
    const read = () => sim.requests.filter((r) => r.operation === operation).length;
    // The runs that finish (one in ten, 2 spans each) are exported in this round too.
    const exportedSpans = (count / 10) * 2;
    const done = await waitFor(() => read() >= count && sink.stats.spans - spansBefore >= exportedSpans, { timeoutMs: 120_000, everyMs: 50 });
    if (!done) throw new Error(`${count} ${kind}: only ${read()} reads and ${sink.stats.spans - spansBefore} spans in time; stderr: ${cli.stderr().slice(-1000)}`);
    const roundEnd = cli.elapsed();
    const activeCpuMs = cli.cpuMs();
    const activeHwm = cli.memory().hwmKb;
    await sleep(2_000 + restMs);
    const rest = rssBetween(cli.samples, roundEnd + 2_000, roundEnd + 2_000 + restMs);
    const restCpuMs = cli.cpuMs() - activeCpuMs;
    const startRss = cli.samples.find((s) => s.at > 300)?.rssKb;
    return {
      count,
      kind,
      roundSeconds: round(roundEnd / 1000, 1),
      activePeakMb: round((activeHwm * 1024) / 1e6, 1),
      activeSampledMaxMb: round(rssBetween(cli.samples, 0, roundEnd).maxMb, 1),
      restMeanMb: round(rest.meanMb, 1),
      restMaxMb: round(rest.maxMb, 1),
      startMb: startRss === undefined ? undefined : round((startRss * 1024) / 1e6, 1),
      activeCpuSeconds: round(activeCpuMs / 1000, 2),
      cpuMicrosPerRead: round((activeCpuMs * 1000) / count, 0),
      restCpuPercent: round((restCpuMs / (2_000 + restMs)) * 100, 2),
      requests: sim.requests.length,
      stderr: cli.stderr().split('\n').filter(Boolean).slice(0, 5),
    };
  } finally {
    await cli.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const sink = await startOtlpSink({ decode: true });
  const rows = [];
  try {
    for (const [count, kind] of p.configs) {
      // A simulator per configuration: its finished runs must be recent (within the registration grace) at the start.
      const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000, scenario: scenario(count) });
      try {
        rows.push(await oneConfig(sim, sink, count, kind, p.restMs));
      } finally {
        await sim.close();
      }
    }
  } finally {
    await sink.close();
  }
  const key = (r) => `${r.count >= 1000 ? `${r.count / 1000}k` : r.count}${r.kind === 'runs' ? '' : 'Threads'}`;
  const summary = { scale: {} };
  for (const r of rows) {
    summary.scale[`rss${key(r)}RestMb`] = r.restMeanMb;
    summary.scale[`rss${key(r)}ActiveMb`] = r.activePeakMb;
    summary.scale[`cpu${key(r)}MicrosPerRead`] = r.cpuMicrosPerRead;
  }
  const figures = rows.flatMap((r) => {
    const tenK = r.count === 10_000 && r.kind === 'runs';
    const label = `${r.count.toLocaleString('en-US')} ${r.kind === 'runs' ? 'runs watched alone' : 'threads watched'}`;
    return [
      figure(`${label}: RSS at rest (mean over ${p.restMs / 1000} s, after the first round)`, r.restMeanMb, 'MB', tenK ? { target: `< ${REST_TARGET_MB} MB`, met: r.restMeanMb < REST_TARGET_MB } : {}),
      figure(`${label}: peak RSS with activity (VmHWM through the first round and its exports)`, r.activePeakMb, 'MB', {
        ...(tenK ? { target: `< ${ACTIVE_TARGET_MB} MB`, met: r.activePeakMb < ACTIVE_TARGET_MB } : {}),
        note: `first round ${r.roundSeconds} s (${r.count.toLocaleString('en-US')} reads at ≤ 1,000/s, 16 in flight, and ${(r.count / 10).toLocaleString('en-US')} runs exported); RSS at start ${r.startMb} MB`,
      }),
      figure(`${label}: CPU`, r.cpuMicrosPerRead, 'µs/read', { note: `${r.activeCpuSeconds} s through the first round; ${r.restCpuPercent} % of a core at rest` }),
    ];
  });
  return { params: { configs: p.configs.map(([n, k]) => `${n} ${k}`), pollInterval: '120 s', budget: '16 in flight, 1,000/s', store: 'file', restMs: p.restMs }, figures, summary, details: { rows } };
}
