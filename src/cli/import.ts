/**
 * `assistants-otel import FILE... | -`: saved records → spans → OTLP, as a stream: records are read,
 * validated and grouped by run (`sources/run-grouper.ts`), and each run is mapped and sent once the
 * input is done with it (`delivery/stream-export.ts`), so memory does not grow with the input.
 */
import { colorEnabled, mappingOptionsFromEnv, otlpOptionsFromEnv, recordSourceFromEnv, resourceOptionsFromEnv, retryDelayCapFromEnv, spillDirFromEnv } from '../config.js';
import { DEFAULT_MAX_SPANS_PER_BATCH, deliverGroups, oneShotMapping, type DeliveryTally } from '../delivery/export-runs.js';
import { createOtlpTraceExporter } from '../delivery/exporter.js';
import { createResource } from '../delivery/resource.js';
import { ONE_SHOT_RETRY } from '../delivery/send.js';
import { StreamExport, type LocatedUnmappedRun, type UnfinishedRun } from '../delivery/stream-export.js';
import { sourceMappingOptions } from '../mapping/source.js';
import type { SpanData } from '../mapping/types.js';
import { formatLocation, RecordCollector, type RecordLocation, type RecordWarning, type Rejection } from '../sources/collect.js';
import { counted } from './format.js';
import { readRecordSource } from '../sources/files.js';
import { RunGrouper, type GrouperStats } from '../sources/run-grouper.js';
import { redactUrl } from '../util/redact.js';
import { parseFlags, parsePositiveInt, UsageError } from './args.js';
import { FailureSummary } from './export-failures.js';
import { EXPORT_FLAGS, mappingFlags, otlpFlags } from './flags.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, writeLine, type CliIo } from './io.js';
import { painter, terminalOf } from './terminal.js';
import { renderWaterfall } from './waterfall.js';

/** Input text held in memory for runs not complete yet, before they go to the spill file. */
export const DEFAULT_MAX_HELD_MB = 16;

export const IMPORT_HELP = `Usage: assistants-otel import [options] FILE... | -

Reads saved run and run-step records (JSON or JSONL; single records, arrays, API list
envelopes, saved stream events, or raw text/event-stream captures; in any order and mix across
files; "-" reads standard input), groups steps under their runs and exports them as OTLP traces.
A run still in progress gets an unfinished run span over its finished steps.

Each run is sent as soon as the input is done with it: once its terminal run record has been read
and the input has moved on to another run. Runs that cannot be complete yet (steps before their
run record, runs still going, runs known only by their steps) are held until they are, or until
the end of the input: in memory up to --max-held-mb, then in a temporary file.

Options:
  --dry-run                  print the traces as waterfalls instead of exporting
  --otlp-endpoint URL        collector base URL (default: OTEL_EXPORTER_OTLP_ENDPOINT or
                             http://localhost:4318); /v1/traces is appended
  --otlp-protocol P          http/protobuf (default) or http/json
  --capture-content          record tool arguments, outputs, logs and results
                             (also OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true)
  --content-max-length N     cut each content attribute to N characters (default 8192)
  --provider KIND            where the records came from, for gen_ai.provider.name, server.address
  --base-url URL             and server.port: the same flags and variables as "watch" (default:
                             openai at OPENAI_BASE_URL or https://api.openai.com/v1), so a run
                             imported gives the same spans as the same run watched
  --provider-name NAME       gen_ai.provider.name (default: from the provider)
  --max-retry-delay DUR      the longest wait between two attempts (default 5m); a collector
                             asking for longer (Retry-After) makes the export fail at once
  --max-spans-per-batch N    spans per OTLP request (default 512)
  --max-held-mb N            records held in memory for runs not complete yet, in MB of JSON,
                             before the rest is written to a temporary file (default 16)
  --spill-dir DIR            where that file goes (default: TMPDIR, else the system's temporary
                             directory); it is removed when the import ends, however it ends
  -h, --help                 show this help

Exit status: 0 when every record was exported; 1 when a record was rejected, a run could not
be mapped, the export failed, or the collector reported spans rejected (everything else is still
exported); 2 on a usage error; 130 when interrupted (Ctrl-C: what was delivered until then is
printed).
`;

function reportRejection(io: CliIo, rejection: Rejection): void {
  const id = rejection.id ? ` (${rejection.id})` : '';
  for (const issue of rejection.issues) {
    const path = issue.path ? `${issue.path}: ` : '';
    writeLine(io.stderr, `rejected: ${formatLocation(rejection.location)}${id}: ${path}${issue.message}`);
  }
}

function reportWarning(io: CliIo, warning: RecordWarning): void {
  for (const issue of warning.issues) {
    writeLine(io.stderr, `warning: ${formatLocation(warning.location)} (${warning.id}): ${issue.path}: ${issue.message}`);
  }
}

export const IMPORT_FLAGS = {
  'dry-run': { type: 'boolean' },
  ...EXPORT_FLAGS,
  provider: { type: 'string' },
  'base-url': { type: 'string' },
  'provider-name': { type: 'string' },
  'max-retry-delay': { type: 'string' },
  'max-spans-per-batch': { type: 'string' },
  'max-held-mb': { type: 'string' },
  'spill-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Resolves when `signal` aborts (Ctrl-C), so reading a pipe that never ends can be given up. */
function aborted(signal: AbortSignal): Promise<'aborted'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('aborted');
    signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}

export async function importCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('import', argv, IMPORT_FLAGS, true);
  if (values.help) {
    io.stdout.write(IMPORT_HELP);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError('import: name at least one FILE, or - for standard input. Run "assistants-otel import --help" for usage.');

  // The same attributes as `watch` gives the same records: one decision, in mapping/source.ts.
  const source = recordSourceFromEnv(io.env, { provider: values.provider, baseUrl: values['base-url'], providerName: values['provider-name'] });
  const mapping = oneShotMapping({ ...sourceMappingOptions(source), ...mappingOptionsFromEnv(io.env, mappingFlags(values)) });
  const retry = { ...ONE_SHOT_RETRY, delayCapMillis: retryDelayCapFromEnv(io.env, values['max-retry-delay']) };
  const maxSpansPerBatch = parsePositiveInt(values['max-spans-per-batch'], '--max-spans-per-batch') ?? DEFAULT_MAX_SPANS_PER_BATCH;
  const maxHeldMb = parsePositiveInt(values['max-held-mb'], '--max-held-mb') ?? DEFAULT_MAX_HELD_MB;
  const spillDir = spillDirFromEnv(io.env, values['spill-dir']);
  const otlp = values['dry-run'] ? undefined : otlpOptionsFromEnv(io.env, otlpFlags(values));
  const resource = createResource(resourceOptionsFromEnv(io.env));

  const tally: DeliveryTally = { delivered: 0, failures: [], collectorRejected: { spans: 0, messages: [] }, inFlight: 0 };
  const failures = new FailureSummary();
  // Ctrl-C also cuts the request in flight: the user asked to stop now.
  const exporter = otlp ? createOtlpTraceExporter({ ...otlp, signal: io.signal }) : undefined;
  const dryRun = waterfallPrinter(io);
  const deliver = exporter
    ? async (groups: SpanData[][]) => {
        try {
          await deliverGroups(groups, tally, {
            exporter,
            resource,
            retry,
            signal: io.signal,
            onRetry: (n) => writeLine(io.stderr, `import: ${n.reason}; retry ${n.attempt} in ${(n.delayMillis / 1000).toFixed(1)}s`),
          });
        } finally {
          failures.absorb(tally.failures);
        }
      }
    : (groups: SpanData[][]) => Promise.resolve(dryRun.print(groups.flat()));
  // A dry run draws each batch whole (a run is never drawn in two pieces); an export packs requests.
  const exported = new StreamExport<RecordLocation>({ mapping, maxSpansPerBatch: otlp ? maxSpansPerBatch : Infinity, deliver, signal: io.signal });
  const grouper = new RunGrouper({
    maxSpansPerBatch,
    mapping,
    holdLimitChars: maxHeldMb * 1_000_000,
    spillParentDir: spillDir,
    onBatch: (parts) => exported.push(parts),
    onSpillError: (message) => writeLine(io.stderr, `warning: ${message}: the records of runs not complete yet are held in memory instead`),
  });
  const collector = new RecordCollector({ sink: grouper, onRejected: (r) => reportRejection(io, r), onWarning: (w) => reportWarning(io, w) });

  let interruptedWhile: string | undefined;
  try {
    const interrupted = aborted(io.signal);
    for (const path of positionals) {
      const name = path === '-' ? 'standard input' : path;
      const before = collector.valuesSeen;
      const read = readRecordSource(path, collector, io.stdin, { settle: () => exported.settle(), signal: io.signal, onIdle: () => grouper.flush() });
      if ((await Promise.race([read, interrupted])) === 'aborted' || io.signal.aborted) {
        interruptedWhile = name;
        io.stdin.destroy();
        break;
      }
      if (collector.valuesSeen === before) writeLine(io.stderr, `warning: ${name} holds no records (it is empty)`);
    }
    if (interruptedWhile === undefined) grouper.end();
    await exported.finish();
  } finally {
    grouper.close();
    await exporter?.shutdown();
  }
  if (collector.valuesSeen === 0 && interruptedWhile === undefined) writeLine(io.stderr, 'warning: the input holds no records: nothing to export');
  const { mapped } = exported;

  if (interruptedWhile !== undefined || exported.aborted) {
    if (mapped.spans === 0) {
      writeLine(io.stdout, `import: interrupted${interruptedWhile !== undefined ? ` while reading ${interruptedWhile}` : ''}: nothing exported`);
      return EXIT_INTERRUPTED;
    }
    const onTheirWay = tally.inFlight > 0 ? `; ${tally.inFlight} more were on their way and may have arrived` : '';
    const target = otlp ? `delivered to ${redactUrl(otlp.url)}` : 'drawn (dry run)';
    writeLine(
      io.stdout,
      `import: interrupted: ${counted(tally.delivered, 'span')} ${target} (${countsOf(mapped)} sent, of ${counted(grouper.runsSeen, 'run')} read)${onTheirWay}`,
    );
    writeLine(io.stdout, '  importing the same records again is safe: the spans are identical, so backends keep one copy');
    return EXIT_INTERRUPTED;
  }

  if (!otlp) {
    dryRun.end();
    writeLine(io.stdout, `dry run: ${countsOf(mapped)} → ${counted(mapped.spans, 'span')} (not exported)`);
  } else {
    writeLine(io.stdout, `import: ${countsOf(mapped)} → ${tally.delivered} of ${counted(mapped.spans, 'span')} exported to ${redactUrl(otlp.url)}`);
    for (const line of failures.lines()) writeLine(io.stderr, line);
  }
  return writeSummary(io, {
    unfinished: exported.unfinished,
    ignored: collector.ignoredKinds(),
    rejected: collector.rejectedCount,
    unmapped: exported.unmapped,
    failed: failures.failed,
    collectorRejected: tally.collectorRejected,
    spilled: grouper.stats,
  });
}

/** `3 runs, 1 step, 0 tool calls`. */
function countsOf(mapped: { runs: number; steps: number; toolCalls: number }): string {
  return `${counted(mapped.runs, 'run')}, ${counted(mapped.steps, 'step')}, ${counted(mapped.toolCalls, 'tool call')}`;
}

/** `--dry-run`: each request's spans drawn as waterfalls as they come, a blank line between traces. */
function waterfallPrinter(io: CliIo): { print: (spans: SpanData[]) => void; end: () => void } {
  const terminal = terminalOf(io.stdout);
  const paint = painter(colorEnabled(io.env, terminal.isTTY));
  let printed = false;
  return {
    print: (spans) => {
      const lines = renderWaterfall(spans, { width: terminal.width, paint });
      if (lines.length === 0) return;
      io.stdout.write(`${printed ? '\n\n' : ''}${lines.join('\n')}`);
      printed = true;
    },
    end: () => {
      if (printed) io.stdout.write('\n\n');
    },
  };
}

interface Outcome {
  unfinished: readonly UnfinishedRun[];
  ignored: Record<string, number>;
  rejected: number;
  unmapped: ReadonlyArray<LocatedUnmappedRun<RecordLocation>>;
  failed: boolean;
  collectorRejected: DeliveryTally['collectorRejected'];
  spilled: GrouperStats;
}

/**
 * The lines after the counts, the same for `--dry-run` and a real import: runs still in progress,
 * records skipped by kind, rejections, runs that could not be mapped. Returns the exit status.
 */
function writeSummary(io: CliIo, outcome: Outcome): number {
  for (const run of outcome.unfinished) {
    writeLine(
      io.stdout,
      run.steps > 0
        ? `  ${run.runId} is still ${run.status}: its finished steps are under an unfinished run span (assistants.run.unfinished=true) that ends at its last known activity`
        : `  ${run.runId} is still ${run.status}, with no step yet: nothing of it exported (import its records again once it ends)`,
    );
  }
  const ignored = Object.entries(outcome.ignored);
  if (ignored.length > 0) {
    const kinds = ignored.map(([kind, n]) => `${kind} ×${n}`).join(', ');
    writeLine(io.stdout, `  skipped records that are not runs or steps: ${kinds}`);
  }
  const { recordsSpilled, spillBytes } = outcome.spilled;
  if (recordsSpilled > 0) {
    writeLine(io.stdout, `  ${recordsSpilled} records of runs not complete when read were held on disk (${(spillBytes / 1e6).toFixed(1)} MB in a temporary file, now removed)`);
  }
  const rejectedCount = outcome.rejected;
  writeLine(io.stdout, `  ${counted(rejectedCount, 'record')} rejected${rejectedCount > 0 ? ' (see above)' : ''}`);
  const unmappedRuns = new Set<string>();
  for (const run of outcome.unmapped) {
    unmappedRuns.add(run.runId);
    writeLine(io.stderr, `error: run ${run.runId}${run.location ? ` (${formatLocation(run.location)})` : ''} could not be mapped, nothing of it was exported: ${run.reason}`);
  }
  if (unmappedRuns.size > 0) writeLine(io.stdout, `  ${unmappedRuns.size} runs could not be mapped (see above); every other run was`);
  const { collectorRejected } = outcome;
  if (collectorRejected.spans > 0) {
    const said = collectorRejected.messages.filter((m) => m !== '').join('; ');
    writeLine(io.stdout, `  ${collectorRejected.spans} spans rejected by the collector (partial success)${said ? `: ${said}` : ''}`);
  }
  return rejectedCount > 0 || unmappedRuns.size > 0 || outcome.failed || collectorRejected.spans > 0 ? EXIT_FAILURE : EXIT_OK;
}
