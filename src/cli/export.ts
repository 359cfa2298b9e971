/**
 * `assistants-otel export --thread T [--run R] [--since DATE] [--until DATE]`: a one-shot backfill
 * from the API. Lists every page of each thread's runs, then reads each finished run's steps (every
 * page) and sends the run as a trace, through the same delivery path as `import`.
 */
import { RequestBudget } from '../api/budget.js';
import { createAssistantsClient, DEFAULT_API_RETRY } from '../api/client.js';
import {
  apiConfigFromEnv,
  retryDelayCapFromEnv,
  colorEnabled,
  mappingOptionsFromEnv,
  otlpOptionsFromEnv,
  parseTimestamp,
  resourceOptionsFromEnv,
} from '../config.js';
import { exportRuns, mapRunContained, type ExportRunsResult, type UnmappedRun } from '../delivery/export-runs.js';
import { ONE_SHOT_RETRY } from '../delivery/send.js';
import { createOtlpTraceExporter } from '../delivery/exporter.js';
import { createResource } from '../delivery/resource.js';
import type { MappingOptions } from '../mapping/types.js';
import { sourceMappingOptions } from '../mapping/source.js';
import { ApiExportSource, type ExportSelection, type ReadProblem } from '../sources/api-export.js';
import { createLogger } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { apiId, parseFlags, parsePositiveInt, UsageError } from './args.js';
import { API_CONNECTION_FLAGS, apiFlags, EXPORT_FLAGS, mappingFlags, otlpFlags } from './flags.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_STOPPED, writeLine, type CliIo } from './io.js';
import { counted } from './format.js';
import { createProgress, type ProgressMode, type ProgressState } from './progress.js';
import { API_FLAGS_HELP } from './query.js';
import { painter, terminalOf } from './terminal.js';
import { readThreadsFile } from './threads-file.js';
import { renderWaterfall } from './waterfall.js';

export const EXPORT_HELP = `Usage: assistants-otel export --thread T [--thread T2 …] [--since D] [--until D]
       assistants-otel export --threads-file FILE|- [--since D] [--until D]
       assistants-otel export --thread T --run R

A one-shot backfill from the API: each finished run of the threads (every page), or one run, with
all its steps, exported as a trace, through the same delivery as "import". Runs still going are
listed, not exported (export again once they end: resends are identical, so nothing is doubled).

What to export:
  --thread ID                a thread (repeatable)
  --threads-file FILE        one thread id per line (# starts a comment); - reads standard input
  --run ID                   only this run (with one --thread)
  --since DATE               runs created at or after DATE
  --until DATE               runs created before DATE
                             DATE: ISO 8601 (2026-05-01, 2026-05-01T10:30:00Z, …+02:00;
                             no offset means UTC) or Unix seconds (1714560000)

Output:
  --dry-run                  read from the API and print the traces as waterfalls; send nothing
  --progress MODE            auto (default: a bar on a terminal, plain lines otherwise), bar,
                             lines or none; progress goes to stderr, the summary to stdout
  -h, --help                 show this help

OTLP: OTEL_EXPORTER_OTLP_* variables, or --otlp-endpoint URL, --otlp-protocol P
Content: --capture-content, --content-max-length N, --provider-name NAME (see "import --help")
  --max-spans-per-batch N    spans per OTLP request (default 512)

${API_FLAGS_HELP.split('\nOutput options:')[0]}
Exit status:
  0    every finished run was delivered
  1    done, but something was not exported: records the API sent that cannot be placed or
       mapped, spans the collector refused, a thread or run not found (HTTP 404; also when it
       was the only one asked for); the rest was delivered
  2    usage or configuration error; nothing was done
  3    could not run to the end: the API refused the credentials or stayed unreachable, the
       collector stayed unreachable, or no thread could be read for another reason than 404;
       what was delivered until then is printed
  130  interrupted (Ctrl-C); what was delivered until then is printed
`;

export const EXPORT_COMMAND_FLAGS = {
  thread: { type: 'string', multiple: true },
  'threads-file': { type: 'string' },
  run: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'dry-run': { type: 'boolean' },
  progress: { type: 'string' },
  ...EXPORT_FLAGS,
  'provider-name': { type: 'string' },
  'max-spans-per-batch': { type: 'string' },
  ...API_CONNECTION_FLAGS,
  help: { type: 'boolean', short: 'h' },
} as const;

const PROGRESS_MODES = ['auto', 'bar', 'lines', 'none'] as const;

function parseProgress(value: string | undefined, stderrIsTTY: boolean): ProgressMode {
  const mode = value ?? 'auto';
  if (!(PROGRESS_MODES as readonly string[]).includes(mode)) throw new UsageError(`--progress: expected ${PROGRESS_MODES.join(', ')}, got "${mode}"`);
  if (mode === 'auto') return stderrIsTTY ? 'bar' : 'lines';
  return mode as ProgressMode;
}

async function selection(values: { thread?: string[] | undefined; 'threads-file'?: string | undefined; run?: string | undefined; since?: string | undefined; until?: string | undefined }, io: CliIo): Promise<ExportSelection> {
  const listed = [...(values.thread ?? []).map((id) => apiId(id.trim(), '--thread')), ...(values['threads-file'] !== undefined ? await readThreadsFile(values['threads-file'], io.stdin) : [])];
  const threadIds = [...new Set(listed.map((t) => t.trim()).filter((t) => t !== ''))];
  if (threadIds.length === 0) {
    throw new UsageError(`export: name a thread: --thread ID (repeatable), or --threads-file FILE (- for standard input)${values['threads-file'] !== undefined ? `; ${values['threads-file']} holds none` : ''}. Run "assistants-otel export --help" for usage.`);
  }
  if (values.run !== undefined) {
    if (threadIds.length !== 1) throw new UsageError(`--run: a run belongs to one thread: give exactly one --thread (got ${threadIds.length})`);
    if (values.since !== undefined || values.until !== undefined) throw new UsageError('--run: names one run; --since and --until select among a thread\'s runs: give one or the other');
  }
  const sinceSeconds = values.since !== undefined ? parseTimestamp(values.since, '--since') : undefined;
  const untilSeconds = values.until !== undefined ? parseTimestamp(values.until, '--until') : undefined;
  if (sinceSeconds !== undefined && untilSeconds !== undefined && sinceSeconds >= untilSeconds) {
    throw new UsageError(`--since ${values.since} is not before --until ${values.until}: no run can be in between`);
  }
  return {
    threadIds,
    ...(values.run !== undefined ? { runId: apiId(values.run, '--run') } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(untilSeconds !== undefined ? { untilSeconds } : {}),
  };
}

function describeProblem(p: ReadProblem): string {
  const where = [p.threadId, p.runId, p.record].filter((x) => x !== undefined).join(' ');
  return `${p.severity === 'error' ? 'error' : 'warning'}: ${where}: ${p.message}`;
}

export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('export', argv, EXPORT_COMMAND_FLAGS);
  if (values.help) {
    io.stdout.write(EXPORT_HELP);
    return EXIT_OK;
  }
  const stderr = terminalOf(io.stderr);
  const progressMode = parseProgress(values.progress, stderr.isTTY);
  const maxSpansPerBatch = parsePositiveInt(values['max-spans-per-batch'], '--max-spans-per-batch');
  const api = apiConfigFromEnv(io.env, apiFlags(values));
  if (api.notice) writeLine(io.stderr, `warning: ${api.notice}`);
  const mapping: MappingOptions = { ...sourceMappingOptions(api.provider), ...mappingOptionsFromEnv(io.env, mappingFlags(values)) };
  const otlp = values['dry-run'] ? undefined : otlpOptionsFromEnv(io.env, otlpFlags(values));
  const resource = createResource(resourceOptionsFromEnv(io.env));
  const selected = await selection(values, io);

  // One signal for "stop now": Ctrl-C, or the collector being gone for good.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  io.signal.addEventListener('abort', onSignal, { once: true });
  if (io.signal.aborted) stop.abort();

  const secrets = () => [...api.provider.credentials.secrets(), ...Object.values(otlp?.headers ?? {})];
  const logger = createLogger({ stream: io.stderr, level: 'warn', secrets });
  // One cap for every wait, API or collector: a Retry-After beyond it makes a one-shot command give up, saying so.
  const delayCapMillis = retryDelayCapFromEnv(io.env, values['max-retry-delay'] as string | undefined);
  const client = createAssistantsClient({ provider: api.provider, budget: new RequestBudget(api.budget), retry: { ...DEFAULT_API_RETRY, delayCapMillis }, logger });

  const state: ProgressState = { threads: selected.threadIds.length, threadsListed: 0, runsFound: 0, runsTotal: 0, runsRead: 0, stepsRead: 0, spansDelivered: 0 };
  const progress = createProgress(progressMode, { stream: io.stderr, width: stderr.width });
  const source = new ApiExportSource(client, selected, stop.signal, (p) => {
    Object.assign(state, { threadsListed: p.threadsListed, runsFound: p.runsFound, runsRead: p.runsRead, stepsRead: p.stepsRead });
    progress.update(state);
  });

  let result: ExportRunsResult | undefined;
  let collectorGone: string | undefined;
  const dryRunUnmapped: UnmappedRun[] = [];
  try {
    progress.listing(state);
    await source.listRuns();
    state.runsTotal = source.terminal.length;
    if (!source.stoppedBy) progress.exporting(state);

    if (!otlp) {
      const terminal = terminalOf(io.stdout);
      const paint = painter(colorEnabled(io.env, terminal.isTTY));
      for await (const record of source.records()) {
        // A run the mapper cannot handle is reported, as in a real export; the others are shown.
        const mapped = mapRunContained(record, mapping);
        if (mapped.error !== undefined) dryRunUnmapped.push({ runId: record.runId, reason: mapped.error });
        const lines = renderWaterfall(mapped.spans, { width: terminal.width, paint });
        if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n\n`);
      }
    } else {
      const exporter = createOtlpTraceExporter({ ...otlp, signal: stop.signal });
      try {
        result = await exportRuns(source.records(), {
          exporter,
          resource,
          mapping,
          signal: stop.signal,
          retry: { ...ONE_SHOT_RETRY, delayCapMillis },
          ...(maxSpansPerBatch ? { maxSpansPerBatch } : {}),
          onRetry: (n) => logger.warn('export will be retried', { reason: n.reason, attempt: n.attempt, delay_ms: n.delayMillis }),
          onBatch: (outcomes) => {
            for (const outcome of outcomes) {
              if (outcome.kind === 'delivered') state.spansDelivered += outcome.spans.length;
              else if (outcome.kind === 'partially_rejected') state.spansDelivered += outcome.spans.length - outcome.rejectedSpans;
              // Out of attempts: the collector is down or unreachable; every further batch would wait the same.
              if (outcome.kind === 'gave_up' && !collectorGone) {
                collectorGone = outcome.reason;
                stop.abort();
              }
            }
            progress.update(state);
          },
        });
      } finally {
        await exporter.shutdown();
      }
    }
  } finally {
    progress.stop(state);
    io.signal.removeEventListener('abort', onSignal);
  }

  const unmapped = result?.unmapped ?? dryRunUnmapped;
  return report(io, { selected, source, result, unmapped, collectorGone, target: otlp ? redactUrl(otlp.url) : undefined, interrupted: io.signal.aborted });
}

interface Outcome {
  selected: ExportSelection;
  source: ApiExportSource;
  result: ExportRunsResult | undefined;
  /** Runs the mapper could not turn into spans (nothing of them was sent). */
  unmapped: readonly UnmappedRun[];
  collectorGone: string | undefined;
  /** Where spans went; undefined for a dry run. */
  target: string | undefined;
  interrupted: boolean;
}

/** The summary on stdout, problems on stderr, and the exit status. */
function report(io: CliIo, o: Outcome): number {
  const { source, result } = o;
  for (const problem of source.problems) writeLine(io.stderr, describeProblem(problem));
  for (const run of o.unmapped) writeLine(io.stderr, `error: run ${run.runId} could not be mapped, nothing of it was exported: ${run.reason}`);
  for (const failure of result?.failures ?? []) {
    const what = failure.kind === 'rejected'
      ? `refused by the collector${failure.status ? ` (HTTP ${failure.status})` : ''}`
      : failure.kind === 'unexportable'
        ? 'could not be exported (set aside; the other runs were exported)'
        : `not delivered after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}`;
    writeLine(io.stderr, `error: ${failure.spans.length} spans ${what}: ${failure.reason}`);
  }

  const threads = `${o.selected.threadIds.length} thread${o.selected.threadIds.length === 1 ? '' : 's'}`;
  const runs = `${source.progress.runsRead} of ${source.terminal.length} finished runs`;
  if (o.target === undefined) {
    writeLine(io.stdout, `export (dry run): ${runs} from ${threads}, ${source.progress.stepsRead} steps; nothing sent`);
  } else {
    const m = result?.mapped ?? { runs: 0, steps: 0, toolCalls: 0, spans: 0 };
    const delivered = result?.delivered ?? 0;
    writeLine(io.stdout, `export: ${runs} from ${threads} → ${delivered} of ${m.spans} spans delivered`);
    writeLine(io.stdout, `  to ${o.target}: ${counted(m.runs, 'run')}, ${counted(m.steps, 'step')}, ${counted(m.toolCalls, 'tool call')}`);
    if ((result?.inFlight ?? 0) > 0) writeLine(io.stdout, `  ${result?.inFlight} more spans were on their way when it stopped and may have arrived`);
  }
  const unfinished = source.unfinished;
  if (unfinished.length > 0) {
    const shown = unfinished.slice(0, 10).map(({ run }) => `${run.id} (${run.status})`).join(', ');
    writeLine(io.stdout, `  ${unfinished.length} run${unfinished.length === 1 ? ' is' : 's are'} still going, not exported: ${shown}${unfinished.length > 10 ? `, and ${unfinished.length - 10} more` : ''}`);
  }
  const errors = source.problems.filter((p) => p.severity === 'error').length + o.unmapped.length;
  const refused = (result?.failures.reduce((n, f) => n + f.spans.length, 0) ?? 0) + (result?.collectorRejected.spans ?? 0);
  const collectorSaid = result?.collectorRejected.messages.filter((m) => m !== '').join('; ');
  if (result && result.collectorRejected.spans > 0) {
    writeLine(io.stdout, `  ${result.collectorRejected.spans} spans rejected by the collector (partial success)${collectorSaid ? `: ${collectorSaid}` : ''}`);
  }
  if (errors > 0 || refused > 0) writeLine(io.stdout, `  ${errors} records or runs not exported, ${refused} spans not delivered (see above)`);

  const again = '  run the same export again to finish: the spans are identical, so backends keep one copy';
  if (o.interrupted) {
    writeLine(io.stdout, 'export: interrupted');
    if (source.terminal.length > source.progress.runsRead) writeLine(io.stdout, again);
    return EXIT_INTERRUPTED;
  }
  if (source.stoppedBy) {
    writeLine(io.stdout, `export: stopped: ${source.stoppedBy.message}`);
    return EXIT_STOPPED;
  }
  if (o.collectorGone) {
    writeLine(io.stdout, `export: stopped: the collector at ${o.target} could not be reached (${o.collectorGone})`);
    writeLine(io.stdout, again);
    return EXIT_STOPPED;
  }
  // Every thread failed to list, and not because it does not exist (the API answered 404: a thread
  // or run not found is exit 1, like a refused record): the export could not run at all.
  const failedThreads = new Set(source.problems.filter((p) => p.severity === 'error' && p.runId === undefined && p.record === undefined && !p.notFound).map((p) => p.threadId));
  if (failedThreads.size === o.selected.threadIds.length && source.terminal.length === 0 && source.unfinished.length === 0) return EXIT_STOPPED;
  return errors > 0 || refused > 0 ? EXIT_FAILURE : EXIT_OK;
}
