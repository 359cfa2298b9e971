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

export function mapRuns(runs: readonly RunRecord[], mapping: MappingOptions = {}): MappedRun[] {
  return runs.map((record) => ({ record, spans: mapRunToSpans(record, mapping) }));
}

/** Runs whose run record says they are still going: their finished steps are exported, the run span is not. */
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

function* mapLazily(runs: readonly RunRecord[], mapping: MappingOptions | undefined): Generator<MappedRun> {
  for (const record of runs) yield { record, spans: mapRunToSpans(record, mapping) };
}

export interface ExportRunsOptions {
  exporter: SpanExporter;
  resource: Resource;
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
  /** Runs still going: not exported as a run span. */
  unfinished: RunRecord[];
}

const MAX_COLLECTOR_MESSAGES = 10;

export async function exportRuns(runs: readonly RunRecord[], options: ExportRunsOptions): Promise<ExportRunsResult> {
  const result: ExportRunsResult = {
    mapped: { runs: 0, steps: 0, toolCalls: 0, spans: 0 },
    delivered: 0,
    failures: [],
    collectorRejected: { spans: 0, messages: [] },
    unfinished: unfinishedRuns(runs),
  };
  // Map, batch and send as we go: spans of runs already sent can be collected.
  for (const groups of batchRunGroups(mapLazily(runs, options.mapping), options.maxSpansPerBatch)) {
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
