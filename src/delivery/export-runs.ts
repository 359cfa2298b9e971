/**
 * One-shot export: map runs to spans, batch them, send them, and say what became of each.
 * Used by `assistants-otel import` and the library's `exportRecords`.
 */
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { isRunTerminal } from '../api/lifecycle.js';
import { mapRunToSpans } from '../mapping/run-to-spans.js';
import type { MappingOptions, RunRecord, SpanData } from '../mapping/types.js';
import { AbortedError } from '../util/backoff.js';
import { ONE_SHOT_RETRY, sendGroups, type BatchOutcome, type DeliveryRetryPolicy, type FailedOutcome, type RetryNotice } from './send.js';
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
 * run), so that delivery can tell which run is at fault when a batch cannot be sent. `add` returns
 * the batches a run completed, so a caller that sends as it goes never holds every span in memory.
 */
class RunBatcher {
  private current: SpanData[][] = [];
  private size = 0;
  constructor(private readonly maxSpans: number) {}

  add(spans: readonly SpanData[]): SpanData[][][] {
    const full: SpanData[][][] = [];
    if (spans.length === 0) return full;
    if (this.size > 0 && this.size + spans.length > this.maxSpans) full.push(this.take());
    for (let i = 0; i < spans.length; i += this.maxSpans) {
      const part = spans.slice(i, i + this.maxSpans);
      if (this.size > 0 && this.size + part.length > this.maxSpans) full.push(this.take());
      this.current.push(part);
      this.size += part.length;
    }
    return full;
  }

  flush(): SpanData[][][] {
    return this.size > 0 ? [this.take()] : [];
  }

  private take(): SpanData[][] {
    const batch = this.current;
    this.current = [];
    this.size = 0;
    return batch;
  }
}

/** Batches of mapped runs as groups per run, lazily (see `RunBatcher`). */
export function* batchRunGroups(mapped: Iterable<MappedRun>, maxSpans: number = DEFAULT_MAX_SPANS_PER_BATCH): Generator<SpanData[][]> {
  const batcher = new RunBatcher(maxSpans);
  for (const { spans } of mapped) yield* batcher.add(spans);
  yield* batcher.flush();
}

/** `batchRunGroups` with each batch flattened. */
export function* batchRuns(mapped: Iterable<MappedRun>, maxSpans: number = DEFAULT_MAX_SPANS_PER_BATCH): Generator<SpanData[]> {
  for (const groups of batchRunGroups(mapped, maxSpans)) yield groups.flat();
}

/** All batches at once (for tests and `--dry-run`-like uses). */
export function planBatches(mapped: readonly MappedRun[], maxSpans: number = DEFAULT_MAX_SPANS_PER_BATCH): SpanData[][] {
  return [...batchRuns(mapped, maxSpans)];
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
  /** Aborting stops at once; the result then says what was delivered (`aborted`, `inFlight`). */
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /** After each batch: what became of it (for progress, or to stop when the collector is gone). */
  onBatch?: (outcomes: readonly BatchOutcome[], counts: SpanCounts) => void;
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
  /** The signal stopped the export before every run was sent. */
  aborted: boolean;
  /** When aborted: spans of the batch that was on its way, which may or may not have arrived. */
  inFlight: number;
}

const MAX_COLLECTOR_MESSAGES = 10;

export function addCounts(total: SpanCounts, counts: SpanCounts): void {
  total.runs += counts.runs;
  total.steps += counts.steps;
  total.toolCalls += counts.toolCalls;
  total.spans += counts.spans;
}

/** What became of the spans sent so far. */
export type DeliveryTally = Pick<ExportRunsResult, 'delivered' | 'failures' | 'collectorRejected' | 'inFlight'>;

export type DeliverOptions = Pick<ExportRunsOptions, 'exporter' | 'resource' | 'retry' | 'signal' | 'onRetry'>;

/**
 * Sends one request's groups (one run, or part of one, each) and books what became of them in
 * `tally`. Rejects with `AbortedError` when the signal aborts, the request then counted `inFlight`.
 */
export async function deliverGroups(groups: SpanData[][], tally: DeliveryTally, options: DeliverOptions): Promise<BatchOutcome[]> {
  if (options.signal?.aborted) throw new AbortedError();
  const readable: ReadableSpan[][] = groups.map((group) => group.map((span) => toReadableSpan(span, options.resource)));
  let outcomes: BatchOutcome[];
  try {
    outcomes = await sendGroups(options.exporter, readable, {
      policy: options.retry ?? ONE_SHOT_RETRY,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
  } catch (error) {
    if (error instanceof AbortedError) tally.inFlight = readable.reduce((n, g) => n + g.length, 0);
    throw error;
  }
  for (const outcome of outcomes) {
    if (outcome.kind === 'delivered') {
      tally.delivered += outcome.spans.length;
    } else if (outcome.kind === 'partially_rejected') {
      tally.delivered += outcome.spans.length - outcome.rejectedSpans;
      tally.collectorRejected.spans += outcome.rejectedSpans;
      const messages = tally.collectorRejected.messages;
      if (messages.length < MAX_COLLECTOR_MESSAGES && !messages.includes(outcome.message)) messages.push(outcome.message);
    } else {
      tally.failures.push(outcome);
    }
  }
  return outcomes;
}

/**
 * Maps, batches and sends runs as they come (an array, or an async source reading them from the
 * API), and says what became of every span. An abort does not reject: the partial result is returned.
 */
export async function exportRuns(runs: Iterable<RunRecord> | AsyncIterable<RunRecord>, options: ExportRunsOptions): Promise<ExportRunsResult> {
  const result: ExportRunsResult = {
    mapped: { runs: 0, steps: 0, toolCalls: 0, spans: 0 },
    delivered: 0,
    failures: [],
    collectorRejected: { spans: 0, messages: [] },
    unfinished: [],
    unmapped: [],
    aborted: false,
    inFlight: 0,
  };
  const mapping = oneShotMapping(options.mapping);
  const batcher = new RunBatcher(options.maxSpansPerBatch ?? DEFAULT_MAX_SPANS_PER_BATCH);

  const send = async (groups: SpanData[][]): Promise<void> => {
    const counts = countSpans(groups.flat());
    addCounts(result.mapped, counts);
    const outcomes = await deliverGroups(groups, result, options);
    options.onBatch?.(outcomes, counts);
  };

  try {
    // Map, batch and send as we go: spans of runs already sent can be collected.
    for await (const record of runs) {
      if (options.signal?.aborted) throw new AbortedError();
      if (record.run !== undefined && !isRunTerminal(record.run)) result.unfinished.push(record);
      const mapped = mapRunContained(record, mapping);
      if (mapped.error !== undefined) result.unmapped.push({ runId: record.runId, reason: mapped.error });
      for (const batch of batcher.add(mapped.spans)) await send(batch);
    }
    if (options.signal?.aborted) throw new AbortedError();
    for (const batch of batcher.flush()) await send(batch);
  } catch (error) {
    if (!(error instanceof AbortedError)) throw error;
    result.aborted = true;
  }
  return result;
}
