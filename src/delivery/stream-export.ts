/**
 * The sending half of a streaming import: batches of runs (or of records of runs already sent) come
 * in while the input is still being read; each is mapped when its turn comes, packed into requests of
 * whole runs (`batchRunGroups`), and delivered, one batch at a time. The reader goes on while a batch
 * is on its way and waits (`settle`) only when another one is already waiting behind it, so memory
 * holds at most two batches, and the network and the parsing overlap.
 *
 * `deliver` is what happens to a request's spans: sent and booked (`deliverGroups`), or drawn for
 * `--dry-run`; the mapping, the counts and what is said about runs are the same either way.
 */
import { isRunTerminal } from '../api/lifecycle.js';
import { mapStepsToSpans, type StepContext } from '../mapping/run-to-spans.js';
import type { MappingOptions, RunRecord, SpanData } from '../mapping/types.js';
import { AbortedError } from '../util/backoff.js';
import { addCounts, batchRunGroups, countSpans, mapRunContained, type MappedRun, type SpanCounts, type UnmappedRun } from './export-runs.js';

/** A run to map, or (with `sentBefore`) records of a run whose run span went before. */
export interface RunPartToExport<L> {
  runId: string;
  record: RunRecord;
  sentBefore?: StepContext;
  location: L | undefined;
}

/** A run whose last record says it is still going (it got an unfinished run span over its finished steps). */
export interface UnfinishedRun {
  runId: string;
  status: string;
  /** How many of its steps were read (finished or not). */
  steps: number;
}

export interface LocatedUnmappedRun<L> extends UnmappedRun {
  location: L | undefined;
}

export interface StreamExportOptions {
  /** As given to the mapper: one-shot callers pass `oneShotMapping(…)`. */
  mapping: MappingOptions;
  maxSpansPerBatch: number;
  /** One request's spans, one group per run (or part of one). Rejects with `AbortedError` to stop. */
  deliver: (groups: SpanData[][]) => Promise<void>;
  signal?: AbortSignal;
}

/** Maps one part; a failure is contained to it, as `mapRunContained` does for whole runs. */
function mapPart(part: RunPartToExport<unknown>, mapping: MappingOptions): MappedRun {
  if (!part.sentBefore || part.record.run) return mapRunContained(part.record, mapping);
  try {
    return { record: part.record, spans: mapStepsToSpans(part.runId, part.record.steps, part.sentBefore, mapping) };
  } catch (error) {
    return { record: part.record, spans: [], error: error instanceof Error ? error.message || error.name : String(error) };
  }
}

export class StreamExport<L> {
  readonly mapped: SpanCounts = { runs: 0, steps: 0, toolCalls: 0, spans: 0 };
  readonly unfinished: UnfinishedRun[] = [];
  readonly unmapped: Array<LocatedUnmappedRun<L>> = [];
  /** The signal stopped the export before everything was sent. */
  aborted = false;
  private readonly queue: Array<Array<RunPartToExport<L>>> = [];
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: StreamExportOptions) {}

  /** A batch, in order. Sending starts at once unless a batch is on its way. */
  push(parts: Array<RunPartToExport<L>>): void {
    if (this.aborted || this.failure) return;
    this.queue.push(parts);
    this.running ??= this.drain();
  }

  /**
   * For the reader, between chunks: a promise when a batch waits behind the one in flight
   * (resolved once it is on its way), undefined when reading may go on at once.
   */
  settle(): Promise<void> | undefined {
    if (this.queue.length === 0) return this.failure ? Promise.reject(this.failure.error) : undefined;
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => {
      if (this.failure) throw this.failure.error;
    });
  }

  /** Waits until everything pushed is sent (or the signal stopped it). Rejects with what went wrong, if anything did. */
  async finish(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure.error;
  }

  private async drain(): Promise<void> {
    try {
      for (let parts = this.queue.shift(); parts; parts = this.queue.shift()) {
        if (this.queue.length === 0) this.wake();
        await this.send(parts);
      }
    } catch (error) {
      this.queue.length = 0;
      if (error instanceof AbortedError) this.aborted = true;
      else this.failure = { error };
    } finally {
      this.running = undefined;
      this.wake();
    }
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private async send(parts: Array<RunPartToExport<L>>): Promise<void> {
    const mapped: MappedRun[] = [];
    for (const part of parts) {
      if (this.options.signal?.aborted) throw new AbortedError();
      const run = part.record.run;
      if (run !== undefined && !isRunTerminal(run)) this.unfinished.push({ runId: part.runId, status: run.status ?? 'running', steps: part.record.steps.length });
      const result = mapPart(part, this.options.mapping);
      if (result.error !== undefined) this.unmapped.push({ runId: part.runId, reason: result.error, location: part.location });
      else mapped.push(result);
    }
    for (const groups of batchRunGroups(mapped, this.options.maxSpansPerBatch)) {
      if (this.options.signal?.aborted) throw new AbortedError();
      addCounts(this.mapped, countSpans(groups.flat()));
      await this.options.deliver(groups);
    }
  }
}
