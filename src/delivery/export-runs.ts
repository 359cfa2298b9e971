/**
 * One-shot export: map runs to spans, batch them, send them, and say what became of each.
 * Used by `assistants-otel import` and the library's `exportRecords`.
 */
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { isRunTerminal } from '../api/lifecycle.js';
import { mapRunToSpans } from '../mapping/run-to-spans.js';
import type { MappingOptions, RunRecord, SpanData } from '../mapping/types.js';
import { ONE_SHOT_RETRY, sendGroups, type DeliveryRetryPolicy, type FailedOutcome, type RetryNotice } from './send.js';
import { toReadableSpan } from './spans.js';

/** Spans per OTLP request. A run is never split across requests unless it alone is larger. */
export const DEFAULT_MAX_SPANS_PER_BATCH = 512;

export interface MappedRun {
  record: RunRecord;
  spans: SpanData[];
  /** Set when the run could not be mapped: why (its spans are then empty). */
  error?: string;
}

/** A run whose mapping failed: reported with its reason, never the cause of another run's loss. */
export interface UnmappedRun {
  runId: string;
  reason: string;
}

/**
 * One-shot exports see a run only once: a run still going gets an unfinished run span, so that its
 * finished steps have a parent (README "import"). The caller's options win.
 */
export function oneShotMapping(mapping: MappingOptions = {}): MappingOptions {
  return { unfinishedRunSpans: true, ...mapping };
}

/**
 * Maps one run; an exception (a bug, or a hand-built record no validation saw) is contained to the
 * run and returned as its `error`, so the runs around it are still exported.
 */
export function mapRunContained(record: RunRecord, mapping: MappingOptions = {}): MappedRun {
  try {
    return { record, spans: mapRunToSpans(record, mapping) };
  } catch (error) {
    return { record, spans: [], error: error instanceof Error ? error.message || error.name : String(error) };
  }
}

export interface SpanCounts {
  runs: number;
  steps: number;
  toolCalls: number;
  spans: number;
}

export function countSpans(spans: Iterable<SpanData>): SpanCounts {
  const counts: SpanCounts = { runs: 0, steps: 0, toolCalls: 0, spans: 0 };
  for (const span of spans) {
    counts.spans++;
    if (span.subject.kind === 'run') counts.runs++;
    else if (span.subject.kind === 'step') counts.steps++;
    else counts.toolCalls++;
  }
  return counts;
}

/** Every run mapped; one that fails has no spans and says why in `error`. */
export function mapRuns(runs: readonly RunRecord[], mapping: MappingOptions = {}): MappedRun[] {
  return runs.map((record) => mapRunContained(record, mapping));
}

/** Runs whose run record says they are still going (one-shot exports give them an unfinished run span). */
export function unfinishedRuns(runs: readonly RunRecord[]): RunRecord[] {
  return runs.filter((r) => r.run !== undefined && !isRunTerminal(r.run));
}

/**
 * Groups whole runs into batches of at most `maxSpans` spans, in order; deterministic. A run larger
 * than a batch fills batches of its own. Each batch is a list of groups, one per run (or part of a
 * run), so that delivery can tell which run is at fault when a batch cannot be sent. Lazy: a batch
 * is yielded as soon as it is full, so a caller that sends as it goes never holds every span.
 */
export function* batchRunGroups(mapped: Iterable<MappedRun>, maxSpans: number = DEFAULT_MAX_SPANS_PER_BATCH): Generator<SpanData[][]> {
  let current: SpanData[][] = [];
  let size = 0;
  for (const { spans } of mapped) {
    if (spans.length === 0) continue;
    if (size > 0 && size + spans.length > maxSpans) {
      yield current;
      current = [];
      size = 0;
    }
    for (let i = 0; i < spans.length; i += maxSpans) {
      const part = spans.slice(i, i + maxSpans);
      if (size > 0 && size + part.length > maxSpans) {
        yield current;
        current = [];
        size = 0;
      }
      current.push(part);
      size += part.length;
    }
  }
  if (size > 0) yield current;
}

/** `batchRunGroups` with each batch flattened. */
export function* batchRuns(mapped: Iterable<MappedRun>, maxSpans: number = DEFAULT_MAX_SPANS_PER_BATCH): Generator<SpanData[]> {
  for (const groups of batchRunGroups(mapped, maxSpans)) yield groups.flat();
}

/** All batches at once (for tests and `--dry-run`-like uses). */
export function planBatches(mapped: readonly MappedRun[], maxSpans: number = DEFAULT_MAX_SPANS_PER_BATCH): SpanData[][] {
  return [...batchRuns(mapped, maxSpans)];
}

function* mapLazily(runs: readonly RunRecord[], mapping: MappingOptions, unmapped: UnmappedRun[]): Generator<MappedRun> {
  for (const record of runs) {
    const mapped = mapRunContained(record, mapping);
    if (mapped.error !== undefined) unmapped.push({ runId: record.runId, reason: mapped.error });
    yield mapped;
  }
}

export interface ExportRunsOptions {
  exporter: SpanExporter;
  resource: Resource;
  /** `unfinishedRunSpans` defaults to true here (see `oneShotMapping`). */
  mapping?: MappingOptions;
  /** @default ONE_SHOT_RETRY (5 attempts per batch) */
  retry?: DeliveryRetryPolicy;
  /** @default 512 */
  maxSpansPerBatch?: number;
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
}

export interface ExportRunsResult {
  /** What was mapped (and attempted). */
  mapped: SpanCounts;
  /** Spans the collector acknowledged (minus those it reported rejected in a partial success). */
  delivered: number;
  /**
   * Batches (or parts) the collector refused for good, runs the exporter could not encode
   * (`unexportable`, each alone: the other runs of their batch were delivered), or parts that ran
   * out of attempts or met a `Retry-After` beyond the cap (`gave_up`).
   */
  failures: FailedOutcome[];
  /**
   * OTLP partial success: spans in requests the collector accepted but reported rejected, with its
   * messages (distinct, at most 10). Not counted in `delivered`.
   */
  collectorRejected: { spans: number; messages: string[] };
  /** Runs whose record says they are still going (exported with an unfinished run span). */
  unfinished: RunRecord[];
  /** Runs that could not be mapped, with why; every other run was still exported. */
  unmapped: UnmappedRun[];
}

const MAX_COLLECTOR_MESSAGES = 10;

export async function exportRuns(runs: readonly RunRecord[], options: ExportRunsOptions): Promise<ExportRunsResult> {
  const result: ExportRunsResult = {
    mapped: { runs: 0, steps: 0, toolCalls: 0, spans: 0 },
    delivered: 0,
    failures: [],
    collectorRejected: { spans: 0, messages: [] },
    unfinished: unfinishedRuns(runs),
    unmapped: [],
  };
  // Map, batch and send as we go: spans of runs already sent can be collected.
  for (const groups of batchRunGroups(mapLazily(runs, oneShotMapping(options.mapping), result.unmapped), options.maxSpansPerBatch)) {
    const counts = countSpans(groups.flat());
    result.mapped.runs += counts.runs;
    result.mapped.steps += counts.steps;
    result.mapped.toolCalls += counts.toolCalls;
    result.mapped.spans += counts.spans;
    const readable: ReadableSpan[][] = groups.map((group) => group.map((span) => toReadableSpan(span, options.resource)));
    const outcomes = await sendGroups(options.exporter, readable, {
      policy: options.retry ?? ONE_SHOT_RETRY,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
    for (const outcome of outcomes) {
      if (outcome.kind === 'delivered') {
        result.delivered += outcome.spans.length;
      } else if (outcome.kind === 'partially_rejected') {
        result.delivered += outcome.spans.length - outcome.rejectedSpans;
        result.collectorRejected.spans += outcome.rejectedSpans;
        const messages = result.collectorRejected.messages;
        if (messages.length < MAX_COLLECTOR_MESSAGES && !messages.includes(outcome.message)) messages.push(outcome.message);
      } else {
        result.failures.push(outcome);
      }
    }
  }
  return result;
}
