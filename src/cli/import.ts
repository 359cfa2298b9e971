/**
 * `assistants-otel import FILE... | -`: saved records → spans → OTLP.
 */
import { colorEnabled, mappingOptionsFromEnv, otlpOptionsFromEnv, recordSourceFromEnv, resourceOptionsFromEnv, retryDelayCapFromEnv } from '../config.js';
import { countSpans, exportRuns, mapRuns, oneShotMapping, unfinishedRuns, type ExportRunsResult, type UnmappedRun } from '../delivery/export-runs.js';
import type { RunRecord } from '../mapping/types.js';
import { createOtlpTraceExporter } from '../delivery/exporter.js';
import { createResource } from '../delivery/resource.js';
import { ONE_SHOT_RETRY } from '../delivery/send.js';
import { sourceMappingOptions } from '../mapping/source.js';
import { formatLocation, RecordCollector, type Collected } from '../sources/collect.js';
import { readRecordSource } from '../sources/files.js';
import { redactUrl } from '../util/redact.js';
import { parseFlags, parsePositiveInt, UsageError } from './args.js';
import { EXPORT_FLAGS, mappingFlags, otlpFlags } from './flags.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, writeLine, type CliIo } from './io.js';
import { painter, terminalOf } from './terminal.js';
import { renderWaterfall } from './waterfall.js';

export const IMPORT_HELP = `Usage: assistants-otel import [options] FILE... | -

Reads saved run and run-step records (JSON or JSONL; single records, arrays, API list
envelopes, saved stream events, or raw text/event-stream captures; in any order and mix across
files; "-" reads standard input), groups steps under their runs and exports them as OTLP traces.
A run still in progress gets an unfinished run span over its finished steps.

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
  -h, --help                 show this help

Exit status: 0 when every record was exported; 1 when a record was rejected, a run could not
be mapped, the export failed, or the collector reported spans rejected (everything else is still
exported); 2 on a usage error; 130 when interrupted (Ctrl-C: what was delivered until then is
printed).
`;

function reportProblems(io: CliIo, collected: Collected): void {
  for (const rejection of collected.rejected) {
    const id = rejection.id ? ` (${rejection.id})` : '';
    for (const issue of rejection.issues) {
      const path = issue.path ? `${issue.path}: ` : '';
      writeLine(io.stderr, `rejected: ${formatLocation(rejection.location)}${id}: ${path}${issue.message}`);
    }
  }
  for (const warning of collected.warnings) {
    for (const issue of warning.issues) {
      writeLine(io.stderr, `warning: ${formatLocation(warning.location)} (${warning.id}): ${issue.path}: ${issue.message}`);
    }
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
  const mapping = { ...sourceMappingOptions(source), ...mappingOptionsFromEnv(io.env, mappingFlags(values)) };
  const retry = { ...ONE_SHOT_RETRY, delayCapMillis: retryDelayCapFromEnv(io.env, values['max-retry-delay']) };
  const maxSpansPerBatch = parsePositiveInt(values['max-spans-per-batch'], '--max-spans-per-batch');
  const otlp = values['dry-run'] ? undefined : otlpOptionsFromEnv(io.env, otlpFlags(values));
  const resource = createResource(resourceOptionsFromEnv(io.env));

  const collector = new RecordCollector();
  const interrupted = aborted(io.signal);
  for (const path of positionals) {
    const before = collector.valuesSeen;
    if ((await Promise.race([readRecordSource(path, collector, io.stdin), interrupted])) === 'aborted') {
      writeLine(io.stdout, `import: interrupted while reading ${path === '-' ? 'standard input' : path}: nothing exported`);
      io.stdin.destroy();
      return EXIT_INTERRUPTED;
    }
    if (collector.valuesSeen === before) writeLine(io.stderr, `warning: ${path === '-' ? 'standard input' : path} holds no records (it is empty)`);
  }
  const collected = collector.result();
  reportProblems(io, collected);
  if (collector.valuesSeen === 0) writeLine(io.stderr, 'warning: the input holds no records: nothing to export');

  if (!otlp) {
    const mapped = mapRuns(collected.runs, oneShotMapping(mapping));
    const spans = mapped.flatMap((m) => m.spans);
    const terminal = terminalOf(io.stdout);
    const lines = renderWaterfall(spans, { width: terminal.width, paint: painter(colorEnabled(io.env, terminal.isTTY)) });
    if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n\n`);
    const counts = countSpans(spans);
    const unmapped = mapped.flatMap((m) => (m.error !== undefined ? [{ runId: m.record.runId, reason: m.error }] : []));
    writeLine(io.stdout, `dry run: ${counts.runs} runs, ${counts.steps} steps, ${counts.toolCalls} tool calls → ${counts.spans} spans (not exported); ${collected.rejected.length} records rejected`);
    return writeSummary(io, collected, { unfinished: unfinishedRuns(collected.runs), unmapped, failed: false, collectorRejected: { spans: 0, messages: [] } });
  }

  // Ctrl-C also cuts the request in flight: the user asked to stop now.
  const exporter = createOtlpTraceExporter({ ...otlp, signal: io.signal });
  const result = await exportRuns(collected.runs, {
    exporter,
    resource,
    mapping: oneShotMapping(mapping),
    signal: io.signal,
    retry,
    ...(maxSpansPerBatch ? { maxSpansPerBatch } : {}),
    onRetry: (n) => writeLine(io.stderr, `export: ${n.reason}; retry ${n.attempt} in ${(n.delayMillis / 1000).toFixed(1)}s`),
  });
  await exporter.shutdown();

  const { mapped } = result;
  if (result.aborted) {
    const onTheirWay = result.inFlight > 0 ? `; ${result.inFlight} more were on their way and may have arrived` : '';
    writeLine(
      io.stdout,
      `import: interrupted: ${result.delivered} spans delivered to ${redactUrl(otlp.url)} (${mapped.runs} runs, ${mapped.steps} steps, ${mapped.toolCalls} tool calls sent, of ${collected.runs.length} runs read)${onTheirWay}`,
    );
    writeLine(io.stdout, '  importing the same records again is safe: the spans are identical, so backends keep one copy');
    return EXIT_INTERRUPTED;
  }
  writeLine(
    io.stdout,
    `import: ${mapped.runs} runs, ${mapped.steps} steps, ${mapped.toolCalls} tool calls → ${result.delivered} of ${mapped.spans} spans exported to ${redactUrl(otlp.url)}`,
  );
  for (const failure of result.failures) {
    const status = failure.kind === 'rejected' && failure.status ? ` HTTP ${failure.status}` : '';
    const what = failure.kind === 'rejected'
      ? 'refused by the collector'
      : failure.kind === 'unexportable'
        ? 'could not be exported (set aside; the other runs were exported)'
        : `not delivered after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}`;
    writeLine(io.stderr, `export failed: ${failure.spans.length} spans ${what}${status}: ${failure.reason}`);
  }
  return writeSummary(io, collected, { unfinished: result.unfinished, unmapped: result.unmapped, failed: result.failures.length > 0, collectorRejected: result.collectorRejected });
}

/**
 * The lines after the counts, the same for `--dry-run` and a real import: runs still in progress,
 * records skipped by kind, rejections, runs that could not be mapped. Returns the exit status.
 */
function writeSummary(
  io: CliIo,
  collected: Collected,
  outcome: { unfinished: readonly RunRecord[]; unmapped: readonly UnmappedRun[]; failed: boolean; collectorRejected: ExportRunsResult['collectorRejected'] },
): number {
  for (const run of outcome.unfinished) {
    writeLine(io.stdout, `  ${run.runId} is still ${run.run?.status ?? 'running'}: its finished steps are under an unfinished run span (assistants.run.unfinished=true) that ends at its last known activity`);
  }
  const ignored = Object.entries(collected.ignored);
  if (ignored.length > 0) {
    const kinds = ignored.map(([kind, n]) => `${kind} ×${n}`).join(', ');
    writeLine(io.stdout, `  skipped records that are not runs or steps: ${kinds}`);
  }
  const rejectedCount = collected.rejected.length;
  writeLine(io.stdout, `  ${rejectedCount} records rejected${rejectedCount > 0 ? ' (see above)' : ''}`);
  for (const run of outcome.unmapped) {
    const location = collected.runLocations.get(run.runId);
    writeLine(io.stderr, `error: run ${run.runId}${location ? ` (${formatLocation(location)})` : ''} could not be mapped, nothing of it was exported: ${run.reason}`);
  }
  if (outcome.unmapped.length > 0) writeLine(io.stdout, `  ${outcome.unmapped.length} runs could not be mapped (see above); every other run was`);
  const { collectorRejected } = outcome;
  if (collectorRejected.spans > 0) {
    const said = collectorRejected.messages.filter((m) => m !== '').join('; ');
    writeLine(io.stdout, `  ${collectorRejected.spans} spans rejected by the collector (partial success)${said ? `: ${said}` : ''}`);
  }
  return rejectedCount > 0 || outcome.unmapped.length > 0 || outcome.failed || collectorRejected.spans > 0 ? EXIT_FAILURE : EXIT_OK;
}
