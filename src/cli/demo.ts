/**
 * `assistants-otel demo` (`npm start`): the main job on an embedded default. A simulated Assistants
 * API plays a scripted scenario (every step and tool call type, a failure, an expiry, a cancel); the
 * real sidecar watches it and exports each finished run over OTLP, to an embedded receiver that
 * prints the traces, or to your collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { createProvider } from '../api/providers.js';
import { mappingOptionsFromEnv, otlpOptionsFromEnv, parseDuration, resourceOptionsFromEnv } from '../config.js';
import { startConsoleReceiver } from '../demo/console-receiver.js';
import { startWatch } from '../sidecar/watch.js';
import { createSimulator } from '../simulator/index.js';
import { createMemoryStateStore } from '../state/memory-store.js';
import { createLogger } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { parseFlags } from './args.js';
import { EXIT_FAILURE, EXIT_OK, writeLine, type CliIo } from './io.js';
import { formatSpanTree } from './tree.js';

export const DEMO_HELP = `Usage: assistants-otel demo [options]

Runs the sidecar against a built-in simulated Assistants API and prints the traces it exports.
No API key and no collector needed. Set OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp-endpoint) to send
the traces to a real collector (Jaeger, Tempo, an OTel Collector) instead.

Options:
  --scenario NAME|FILE       simulator scenario (default: demo)
  --speed N                  scenario seconds per real second (default 20)
  --timeout DUR              give up after this long (default 2m)
  --otlp-endpoint URL        send to this collector instead of printing
  --capture-content          record tool arguments, outputs and logs
  --log-level LEVEL          sidecar log level (default warn)
  -h, --help                 show this help
`;

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('demo', argv, {
    scenario: { type: 'string' },
    speed: { type: 'string' },
    timeout: { type: 'string' },
    'otlp-endpoint': { type: 'string' },
    'capture-content': { type: 'boolean' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(DEMO_HELP);
    return EXIT_OK;
  }
  const speed = Number(values.speed ?? '20');
  if (!(speed > 0)) throw new Error(`--speed: expected a positive number, got "${values.speed}"`);
  const timeoutMillis = parseDuration(values.timeout ?? '2m', '--timeout');
  const external = values['otlp-endpoint'] !== undefined || Boolean(io.env['OTEL_EXPORTER_OTLP_ENDPOINT'] || io.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  const started = Date.now();

  const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000 / speed, scenario: values.scenario ?? 'demo' });
  const receiver = external
    ? undefined
    : await startConsoleReceiver((spans) => {
        if (spans.some((s) => s.subject.kind === 'run')) io.stdout.write(`${formatSpanTree(spans)}\n`);
      });
  const otlp = receiver
    ? { url: `${receiver.url}/v1/traces`, protocol: 'http/json' as const }
    : otlpOptionsFromEnv(io.env, { endpoint: values['otlp-endpoint'] });
  const threads = sim.state.threads.map((t) => t.id);
  const runCount = sim.state.runs.length + sim.state.upcomingRuns;
  writeLine(io.stdout, `assistants-otel demo: a simulated Assistants API at ${sim.url} (${threads.length} threads, ${runCount} runs, ${speed}× speed)`);
  writeLine(io.stdout, `→ the sidecar, polling every 250ms → OTLP ${receiver ? '(an embedded receiver that prints each trace)' : `to ${redactUrl(otlp.url)}`}\n`);

  let exportedRuns = 0;
  const watch = await startWatch({
    provider: createProvider({ kind: 'openai', baseUrl: sim.url }),
    otlp,
    resource: resourceOptionsFromEnv(io.env),
    mapping: mappingOptionsFromEnv(io.env, { captureContent: values['capture-content'] }),
    store: createMemoryStateStore(),
    pollIntervalMillis: 250,
    threads,
    logger: createLogger({ stream: io.stderr, level: (values['log-level'] as 'warn' | undefined) ?? 'warn' }),
    onExported: (counts) => {
      exportedRuns += counts.runs;
    },
  });

  const deadline = started + timeoutMillis;
  const finished = () => sim.idle && exportedRuns >= runCount;
  try {
    // Done when the scenario has played out and every run's trace was acknowledged.
    while (!io.signal.aborted && Date.now() < deadline && !finished()) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await watch.stop(AbortSignal.timeout(5_000));
    await receiver?.close();
    await sim.close();
  }
  const spans = receiver?.spans.length;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const done = exportedRuns >= runCount;
  writeLine(
    io.stdout,
    `${done ? `${runCount} runs` : `${exportedRuns} of ${runCount} runs`} exported as traces${spans !== undefined ? ` (${spans} spans)` : ''} in ${seconds}s, using ${sim.requests.length} API requests.`,
  );
  return done ? EXIT_OK : EXIT_FAILURE;
}
