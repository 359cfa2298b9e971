// docs/BENCHMARKS.md from bench/results.json: the machine, every figure with a sentence saying what
// it is, each target met or missed and why. Written by bench/run.mjs after every run; not edited by
// hand (the method is in docs/performance.md).
import { writeFile } from 'node:fs/promises';

const fmt = (v, digits = 2) => (v === undefined || v === null ? '–' : typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(v));
const get = (doc, path) => path.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), doc);

/** Rows of a scenario's key figures: [label, summary key (or a function of the document), unit, what it is]. */
const EXPLAINED = {
  api: [
    ['requests per exported run, thread-watched', 'api.requestsPerRun', 'requests', 'Every API request the sidecar watching the threads made (listings, discovery included, and step pages), from its start until the last run was exported, divided by the runs exported.'],
    ['lower bound per run, thread-watched', 'api.lowerBoundPerRun', 'requests', 'One request per 2 s interval while each thread had a run going, plus one step page per 100 steps of each run: what any poller that sees each run end within an interval needs.'],
    ['ratio to the lower bound', 'api.ratioToLowerBound', '×', 'The first over the second; what is above 1 is the listings before a thread\'s first run and after its last, while nothing was active.'],
    ['requests per exported run, naive poller', 'api.naiveRequestsPerRun', 'requests', 'The same scenario and budget polled by bench/lib/naive-poller.mjs: every interval, each thread\'s runs and each active run\'s steps.'],
    ['naive / thread-watched', 'api.naiveOverOurs', '×', 'How many times more requests the naive poller made for the same runs.'],
    ['requests per exported run, registered runs', 'api.registered.requestsPerRun', 'requests', 'Runs registered as they were created (POST /v1/watch with a run id, threads not watched): one getRun per interval while active, then the step pages.'],
    ['ratio to their lower bound', 'api.registered.ratioToLowerBound', '×', 'Against one request per interval while each run is active plus its step pages.'],
    ['requests per exported run, --live', 'api.live.requestsPerRun', 'requests', 'Thread-watched with --live: each listing, plus a step page each interval while a run is active (to export each step as it ends), plus the final pages.'],
    ['ratio to its lower bound', 'api.live.ratioToLowerBound', '×', 'Against the thread-watched bound plus one step page per interval while a run is active.'],
  ],
  freshness: [
    ['run end → run span at the collector, p50', 'freshness.p50Ms', 'ms', 'From each run\'s end (its terminal second on the simulator\'s clock: exact, every transition falls on a whole second) to the arrival of its run span at the sink, thread-watched, real time.'],
    ['p95', 'freshness.p95Ms', 'ms', ''],
    ['p99', 'freshness.p99Ms', 'ms', 'A run that ends just after a listing waits for the next, up to one interval (2 s), then its steps are listed and it is sent.'],
    ['max', 'freshness.maxMs', 'ms', ''],
    ['poll interval (real)', 'freshness.pollIntervalMs', 'ms', 'Not scaled: the simulator plays the scenario in real time.'],
  ],
  encode: [
    ['ours: spans/s, records → acknowledged', 'encode.spansPerSec', 'spans/s', 'exportRuns (what import and exportRecords use) from validated records: mapping, batching by 512 spans, protobuf encoding and sending to a local sink that answers at once; wall time, one core.'],
    ['SDK: spans/s, records → acknowledged', 'encode.sdkSpansPerSec', 'spans/s', 'The same records through the same mapping, each span then started and ended through a BasicTracerProvider tracer, batched by a BatchSpanProcessor and sent by the official OTLP http/protobuf exporter, to the same sink.'],
    ['ours / SDK', 'encode.ratioToSdk', '×', ''],
    ['SDK with the official gRPC exporter', 'encode.sdkGrpcSpansPerSec', 'spans/s', 'The same, through @opentelemetry/exporter-trace-otlp-grpc to a local gRPC sink.'],
    ['bytes per span at the collector, ours', 'encode.bytesPerSpan', 'B', 'Request bytes at the sink over spans: the same span content, so the same protobuf size as the SDK\'s.'],
    ['bytes per span at the collector, SDK', 'encode.sdkBytesPerSpan', 'B', ''],
    ['CPU per span, ours (mapping included)', 'encode.cpuMicrosPerSpan', 'µs', 'Process CPU time (the sink included, the same for both) over spans.'],
    ['CPU per span, SDK (mapping included)', 'encode.sdkCpuMicrosPerSpan', 'µs', ''],
    ['mapping alone', 'encode.mapOnlySpansPerSec', 'spans/s', 'mapRunToSpans over the records, no encoding.'],
    ['mapping + protobuf serialization', 'encode.mapSerializeSpansPerSec', 'spans/s', 'Without the network.'],
  ],
  scale: [
    ['10,000 runs: RSS at rest', 'scale.rss10kRestMb', 'MB', 'The real CLI watching 10,000 runs alone: mean VmRSS over a window with nothing due, after the first round of reads.'],
    ['10,000 runs: peak RSS with activity', 'scale.rss10kActiveMb', 'MB', 'VmHWM through the first round: 10,000 reads at up to 1,000/s, 16 in flight, and 1,000 finished runs listed, mapped and exported.'],
    ['10,000 runs: CPU per read', 'scale.cpu10kMicrosPerRead', 'µs', 'CPU time of the CLI through that round over the reads.'],
    ['10,000 threads: RSS at rest', 'scale.rss10kThreadsRestMb', 'MB', 'The same with 10,000 threads watched (--threads-file): one listing per thread per interval.'],
    ['10,000 threads: peak RSS with activity', 'scale.rss10kThreadsActiveMb', 'MB', ''],
    ['10,000 threads: CPU per listing', 'scale.cpu10kThreadsMicrosPerRead', 'µs', 'A first listing also writes the run and the cursor to the state file.'],
    ['1,000 runs: RSS at rest / with activity', (d) => `${fmt(get(d, 'scale.rss1kRestMb'))} / ${fmt(get(d, 'scale.rss1kActiveMb'))}`, 'MB', ''],
    ['1,000 threads: RSS at rest / with activity', (d) => `${fmt(get(d, 'scale.rss1kThreadsRestMb'))} / ${fmt(get(d, 'scale.rss1kThreadsActiveMb'))}`, 'MB', ''],
  ],
  import: [
    ['peak RSS by input size', (d) => Object.entries(get(d, 'import.peakRssMb') ?? {}).map(([k, v]) => `${k} MB: ${fmt(v)}`).join('; '), 'MB', 'Maximum resident set of the CLI process (/usr/bin/time -v) importing a JSONL file of that size, each run followed by its steps.'],
    ['wall time by input size', (d) => Object.entries(get(d, 'import.wallSeconds') ?? {}).map(([k, v]) => `${k} MB: ${fmt(v)}`).join('; '), 's', 'From the start of the process to its exit, every span acknowledged by a local sink.'],
    ['parse floor by input size', (d) => Object.entries(get(d, 'import.parseFloorSeconds') ?? {}).map(([k, v]) => `${k} MB: ${fmt(v)}`).join('; '), 's', 'A process that only reads the file line by line and JSON.parses each line: what any import must at least do.'],
    ['wall time over the parse floor', (d) => Object.entries(get(d, 'import.timeOverFloor') ?? {}).map(([k, v]) => `${k} MB: ${fmt(v)}×`).join('; '), '', ''],
    ['first OTLP request after', (d) => Object.entries(get(d, 'import.firstRequestSeconds') ?? {}).map(([k, v]) => `${k} MB: ${fmt(v)}`).join('; '), 's', ''],
  ],
  library: [
    ['added latency per instrumented call', 'library.overheadMicrosPerCall', 'µs', 'instrumentOpenAI on an openai 6 client: the mean wall time of an awaited beta.threads.runs.create, instrumented minus plain (the simulator in a process of its own; no read of the run falls in the window).'],
    ['plain SDK, µs per call', 'library.plainMicrosPerCall', 'µs', 'The baseline: the loopback round trip and the SDK\'s own work.'],
    ['added allocations per instrumented call', 'library.overheadBytesPerCall', 'B', 'Bytes allocated per call (V8\'s sampling heap profiler, collected objects counted), instrumented minus plain.'],
    ['plain SDK, bytes allocated per call', 'library.plainBytesPerCall', 'B', ''],
    ['following a run until its spans are emitted: CPU', 'library.followUpCpuMicrosPerRun', 'µs', 'After the call returned, in the background: the library\'s reads of the run (with the application\'s client) and the span emission, for runs that end within milliseconds.'],
    ['following a run: allocations', 'library.followUpBytesPerRun', 'B', ''],
    ['extra API requests per run', 'library.extraRequestsPerRun', 'requests', 'The library\'s own reads of a run it follows (its status, then its steps).'],
  ],
  outage: [
    ['spans lost', 'outage.lost', 'spans', 'Spans the mapping makes of the simulator\'s terminal runs that never reached the sink, after the collector was down 60 s and the sidecar drained.'],
    ['backlog', 'outage.backlogSpans', 'spans', 'The most spans queued for delivery (assistants_otel_delivery_queue_spans) while the collector was down.'],
    ['time to catch up', 'outage.catchUpSeconds', 's', 'From the collector\'s return to an empty queue; it includes the wait for the exporter\'s next attempt, whose backoff had grown during the outage.'],
    ['RSS during the outage (max)', 'outage.rssDuringMaxMb', 'MB', ''],
  ],
};

/** Why a target is met or missed, from what the figures say. */
function why(t) {
  const has = (s) => t.metric.includes(s);
  if (t.scenario === 'api' && has('ratio to the lower bound') && t.metric.startsWith('thread-watched')) {
    return t.met
      ? 'a run\'s status and its thread\'s next run come from one listing per interval; the excess is idle listings before the first run and after the last'
      : 'over: idle listings before a thread\'s first run and during the grace after its last weigh more in a short scenario (see the details: listRuns vs thread-intervals)';
  }
  if (t.scenario === 'api' && has('naive')) return t.met ? 'one listing per interval serves both the status and discovery; steps are listed once, at the end' : 'too few runs per thread for the per-run savings to show';
  if (t.scenario === 'api' && has('registered')) return t.met ? 'one getRun per interval while active, first read one interval after registration' : 'see the details';
  if (t.scenario === 'api' && has('--live')) return t.met ? 'a step page per interval while active is what live export needs; nothing more' : 'see the details';
  if (t.scenario === 'api' && has('freshness')) return t.met ? 'at most one interval to see the end, then one step page and one OTLP request' : 'runs waited more than an interval: the budget or the machine was saturated (see the details)';
  if (t.scenario === 'encode') return t.met ? 'spans go straight from the mapping to the exporter\'s span representation: no SDK span objects, no span processor queue, no context' : 'slower than the SDK path on this run; see the CPU per span';
  if (t.scenario === 'scale' && has('at rest')) return t.met ? 'per-run state is small (a map entry, a due-queue entry) and per-request garbage was cut (no undici Response, no AbortSignal.timeout/any per request)' : 'over the target at rest';
  if (t.scenario === 'scale') return t.met ? 'the scheduler keeps at most a budget\'s worth of work in flight, so a burst does not pile up requests and pages in memory' : 'over the target with activity';
  if (t.scenario === 'import' && has('RSS')) return t.met ? 'records are grouped and sent run by run as they are read; only runs not complete yet are held (spilled to disk past --max-held-mb)' : 'not met: more is held than the runs still open; see docs/performance.md';
  if (t.scenario === 'instrumentation') return t.met ? 'the library reads nothing the stream already showed' : 'the library made requests of its own';
  if (t.scenario === 'import') return t.met ? 'within 5× of reading and parsing alone' : 'not met: validation (~2×), mapping (~6×) and protobuf encoding (~6× the parse floor) of every record, on one thread, each cost more than the 5× allowed; the stages are measured in the same run';
  if (t.scenario === 'outage') return t.met ? 'a run is marked exported only once the collector acknowledged it; the queue waits, polling pauses when it is full' : 'spans lost: a bug';
  if (t.scenario === 'fleet-leases') return t.met ? 'within one lease' : 'a round\'s time over the lease';
  return '';
}

function row(cells) {
  return `| ${cells.map((c) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
}

export async function writeReport(path, doc, scenarios) {
  const m = doc.machine;
  const lines = [];
  const push = (...l) => lines.push(...l);
  push(
    '# Benchmarks',
    '',
    `Written from \`bench/results.json\` by \`bench/lib/report.mjs\` after \`${doc.command}\` on ${doc.generatedAt.slice(0, 10)}; do not edit by hand. Each scenario below says when, and with which command, it was measured (a partial run replaces only its own).${doc.quick ? ' **This is a `--quick` run: small scenarios, a smoke test, not the figures to quote.**' : ''}`,
    'How each scenario works, and what the figures do not show, is in [performance.md](performance.md). Figures are measurements on a shared machine, not tests: throughput moves by ±20 % between runs.',
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.totalMemoryGB} GB, ${m.platform}; Node ${m.node}.${doc.fullRun ? ` The last full run (\`${doc.fullRun.command}\`, ${doc.fullRun.at.slice(0, 10)}) took ${fmt(doc.fullRun.wallSeconds, 0)} s.` : ''}`,
    '',
    '## Targets',
    '',
    row(['scenario', 'figure', 'value', 'target', 'met', 'why']),
    row(['---', '---', '---', '---', '---', '---']),
    ...doc.targets.map((t) => row([t.scenario, t.metric, `${fmt(t.value)} ${t.unit ?? ''}`.trim(), t.target, t.met ? 'met' : '**missed**', why(t)])),
    '',
  );
  for (const [name, result] of Object.entries(doc.scenarios)) {
    push(`## ${name}`, '', `${scenarios[name]?.what ?? ''}.`, '');
    if (!result.ok) {
      push(`**Crashed**: ${result.error}.`, '');
      continue;
    }
    push(`Parameters: ${Object.entries(result.params).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ')}. Measured ${result.measuredAt?.slice(0, 19) ?? ''} by \`${result.command ?? ''}\`${result.quick ? ' (--quick)' : ''}, ${fmt(result.wallSeconds, 0)} s.`, '');
    const explained = [...(EXPLAINED[name] ?? []), ...(name === 'api' ? EXPLAINED.freshness : [])];
    if (explained.length > 0) {
      push(row(['figure', 'value', 'what it is']), row(['---', '---', '---']));
      for (const [label, key, unit, sentence] of explained) {
        const value = typeof key === 'function' ? key(doc) : fmt(get(doc, key));
        push(row([label, `${value}${unit ? ` ${unit}` : ''}`, sentence]));
      }
      push('');
    }
    push('<details><summary>every figure of the run</summary>', '', row(['figure', 'value', 'unit', 'target', 'met', 'note']), row(['---', '---', '---', '---', '---', '---']));
    for (const f of result.figures) push(row([f.metric, fmt(f.value, 3), f.unit ?? '', f.target ?? '', f.met === undefined ? '' : f.met ? 'yes' : 'no', f.note ?? '']));
    push('', '</details>', '');
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}
