/**
 * `assistants-otel demo` (`npm start`): the main job on an embedded default. A simulated Assistants
 * API plays a scripted scenario (every step and tool call type, a failure, an expiry, a cancel); the
 * real sidecar watches it and exports each finished run over OTLP, to an embedded collector, or to
 * yours when OTEL_EXPORTER_OTLP_ENDPOINT is set, and each trace the collector acknowledged is
 * printed as a waterfall. It ends by itself once every run was exported.
 */
import { randomUUID } from 'node:crypto';
import { createProvider } from '../api/providers.js';
import { colorEnabled, mappingOptionsFromEnv, MAX_TIMER_MILLIS, otlpEndpointConfigured, otlpOptionsFromEnv, parseDuration, resourceOptionsFromEnv } from '../config.js';
import { startDemoCollector } from '../demo/collector.js';
import { startWatch } from '../sidecar/watch.js';
import { createSimulator } from '../simulator/index.js';
import { createMemoryStateStore } from '../state/memory-store.js';
import { createLogger, isLogLevel } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { parseFlags, UsageError } from './args.js';
import { otlpFlags } from './flags.js';
import { EXIT_FAILURE, EXIT_OK, writeLine, type CliIo } from './io.js';
import { painter, terminalOf } from './terminal.js';
import { cut, wrap } from './text.js';
import { createTracePrinter } from './trace-printer.js';

/** How long the demo waits for a first acknowledgement before saying the collector may be down. */
const SILENCE_NOTICE_MILLIS = 10_000;

export const DEMO_HELP = `Usage: assistants-otel demo [options]

Runs the sidecar against a built-in simulated Assistants API and prints each trace it exports as
a waterfall (run ▸ steps ▸ tool calls on the run's time axis, with durations, statuses, model and
tokens). No API key and no collector needed; it ends by itself once every run was exported. With
OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp-endpoint) set, the traces go to that collector instead
(Jaeger, Tempo, an OTel Collector), with IDs new for each demo run (a backend keeps every demo's
traces apart), and what it acknowledged is printed the same way.

Options:
  --scenario NAME|FILE       simulator scenario (default: demo)
  --speed N                  scenario seconds per real second (default 20)
  --timeout DUR              give up after this long (default 2m)
  --otlp-endpoint URL        also send to this collector
  --otlp-protocol P          http/protobuf (default), http/json or grpc, for that collector
  --capture-content          record tool arguments, outputs and logs
  --log-level LEVEL          sidecar log level (default warn)
  -h, --help                 show this help

Exit status: 0 when every run was exported, 1 when the timeout came first, 2 on a usage error.
`;

export const DEMO_FLAGS = {
  scenario: { type: 'string' },
  speed: { type: 'string' },
  timeout: { type: 'string' },
  'otlp-endpoint': { type: 'string' },
  'otlp-protocol': { type: 'string' },
  'capture-content': { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('demo', argv, DEMO_FLAGS);
  if (values.help) {
    io.stdout.write(DEMO_HELP);
    return EXIT_OK;
  }
  const speed = Number(values.speed ?? '20');
  if (!(speed > 0) || !Number.isFinite(speed)) throw new UsageError(`--speed: expected a positive number, got "${values.speed}"`);
  const timeoutMillis = parseDuration(values.timeout ?? '2m', '--timeout', { maxMillis: MAX_TIMER_MILLIS });
  const logLevel = values['log-level'] ?? 'warn';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level: expected debug, info, warn or error, got "${logLevel}"`);
  const external = values['otlp-endpoint'] !== undefined || otlpEndpointConfigured(io.env);
  const userOtlp = external ? otlpOptionsFromEnv(io.env, otlpFlags(values)) : undefined;
  const terminal = terminalOf(io.stdout);
  const say = (text = '') => writeLine(io.stdout, cut(text, terminal.width));
  // Sentences are wrapped, not cut: they must be read whole.
  const tell = (text: string) => {
    for (const line of wrap(text, terminal.width)) writeLine(io.stdout, line);
  };
  const started = Date.now();

  // The simulator's IDs come from a seed: fixed, every demo prints the same IDs (reproducible); sent to
  // a real backend, each demo run gets its own, else every `npm start` would send the same trace and
  // span IDs with new times, and the backend would merge them into scrambled duplicates.
  const seed = userOtlp ? { seed: `demo-${randomUUID()}` } : {};
  // Never ahead of the wall clock: the traces are not stamped in the future at 20× (README "demo").
  const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000 / speed, neverAhead: true, scenario: values.scenario ?? 'demo', ...seed });
  const collector = userOtlp ? undefined : await startDemoCollector();
  const otlp = userOtlp ?? { url: `${(collector as { url: string }).url}/v1/traces`, protocol: 'http/json' as const };
  const threads = sim.state.threads.map((t) => t.id);
  const runCount = sim.state.runs.length + sim.state.upcomingRuns;
  say('assistants-otel demo');
  say(`  API      a simulated Assistants API at ${sim.url}`);
  say(`           ${threads.length} threads, ${runCount} runs, played at ${speed}× speed`);
  say('  sidecar  polling every 250ms, exporting each run once it is finished');
  say(`  OTLP     ${userOtlp ? `to ${redactUrl(otlp.url)}` : 'to an embedded collector (set OTEL_EXPORTER_OTLP_ENDPOINT for yours)'}`);
  if (userOtlp) say('  IDs      new for this demo run, so your backend keeps each demo\'s traces apart');
  say();

  const printer = createTracePrinter(io.stdout, { width: terminal.width, paint: painter(colorEnabled(io.env, terminal.isTTY)) });
  let exportedRuns = 0;
  let deliveredSpans = 0;
  const watch = await startWatch({
    provider: createProvider({ kind: 'openai', baseUrl: sim.url }),
    otlp,
    resource: resourceOptionsFromEnv(io.env),
    mapping: mappingOptionsFromEnv(io.env, { captureContent: values['capture-content'] }),
    store: createMemoryStateStore(),
    volatileState: true,
    pollIntervalMillis: 250,
    threads,
    logger: createLogger({ stream: io.stderr, level: logLevel }),
    onExported: (counts) => {
      exportedRuns += counts.runs;
    },
    onDelivered: (spans) => {
      deliveredSpans += spans.length;
      printer.delivered(spans);
    },
  });

  const deadline = started + timeoutMillis;
  const finished = () => sim.idle && exportedRuns >= runCount;
  try {
    // Done when the scenario has played out and every run's trace was acknowledged.
    let toldSilence = false;
    while (!io.signal.aborted && Date.now() < deadline && !finished()) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      // A collector that is not there: say so early, rather than print nothing until the timeout.
      if (userOtlp && !toldSilence && deliveredSpans === 0 && Date.now() - started > SILENCE_NOTICE_MILLIS) {
        toldSilence = true;
        tell(`Nothing acknowledged yet by the collector at ${redactUrl(otlp.url)} after ${SILENCE_NOTICE_MILLIS / 1000}s: is it running? Retrying until --timeout (${values.timeout ?? '2m'}).`);
      }
    }
  } finally {
    await watch.stop(AbortSignal.timeout(5_000));
    await collector?.close();
    await sim.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const done = exportedRuns >= runCount;
  tell(`${done ? `${runCount} runs` : `${exportedRuns} of ${runCount} runs`} exported as traces (${deliveredSpans} spans) in ${seconds}s, using ${sim.requests.length} API requests.`);
  if (!done && !io.signal.aborted) {
    tell(userOtlp ? `The collector at ${redactUrl(otlp.url)} did not acknowledge every run within ${values.timeout ?? '2m'}: is it running?` : `Not every run was exported within ${values.timeout ?? '2m'}.`);
  }
  return done ? EXIT_OK : EXIT_FAILURE;
}
