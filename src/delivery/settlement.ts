/**
 * A job's life in the delivery pipeline after it is queued: cut into parts of at most a batch
 * (`cutJob`), then what became of each of its spans: counting them as they are
 * acknowledged, set aside or partially rejected; logging and writing aside what is refused; and
 * calling the job's `onSettled` once all its spans are accounted for.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';
import type { SpanData } from '../mapping/types.js';
import type { Logger } from '../util/log.js';
import type { BatchOutcome } from './send.js';
import { estimateSpanBytes } from './span-size.js';
import { toReadableSpan } from './spans.js';

export interface JobResult {
  /** Spans the collector acknowledged. */
  delivered: number;
  /** Spans set aside: refused for good, unexportable, or out of attempts. */
  setAside: number;
  /** Why (the first reason seen, as the collector or the encoder gave it), when some were set aside. */
  setAsideReason?: string;
  /**
   * Spans that went in a request the collector accepted while reporting some of its spans
   * rejected (OTLP partial success; which ones, it does not say). Present only when not zero.
   */
  inPartialSuccess?: number;
}

export interface ExportJob {
  /** For logs and metrics. */
  runId: string;
  spans: SpanData[];
  /** Called once, after all spans were acknowledged or set aside; a rejection is logged, not retried. */
  onSettled: (result: JobResult) => Promise<void>;
}

/** Where refused spans go, so they can be inspected (the sidecar writes them to a directory). */
export type SetAsideSink = (spans: ReadableSpan[], reason: string, status: number | undefined) => Promise<void>;

export interface JobProgress {
  job: ExportJob;
  remaining: number;
  delivered: number;
  setAside: number;
  inPartialSuccess: number;
  /** The first reason spans of the job were set aside for. */
  setAsideReason?: string;
  /** `onSettled` was called: once only. */
  settled?: boolean;
}

/** A slice of one job (at most a batch), as it waits in the queue. */
export interface Part {
  progress: JobProgress;
  spans: SpanData[];
  bytes: number;
  enqueuedAt: number;
}

/** A job in parts of at most `partSpans` spans, each within `maxBytes` (a single span may stand alone above it). */
export function cutJob(progress: JobProgress, partSpans: number, maxBytes: number): Part[] {
  const parts: Part[] = [];
  let current: SpanData[] = [];
  let bytes = 0;
  for (const span of progress.job.spans) {
    const size = estimateSpanBytes(span);
    if (current.length > 0 && (current.length >= partSpans || bytes + size > maxBytes)) {
      parts.push({ progress, spans: current, bytes, enqueuedAt: 0 });
      current = [];
      bytes = 0;
    }
    current.push(span);
    bytes += size;
  }
  if (current.length > 0) parts.push({ progress, spans: current, bytes, enqueuedAt: 0 });
  return parts;
}

export interface SettlementHooks {
  resource: Resource;
  logger: Logger;
  setAside?: SetAsideSink | undefined;
  onDelivered?: ((spans: readonly ReadableSpan[]) => void) | undefined;
  onSetAside?: ((count: number) => void) | undefined;
  onCollectorRejected?: ((rejected: number, batchSpans: number, message: string) => void) | undefined;
}

export class Settlement {
  private settleFailures = 0;
  private readonly logger: Logger;

  constructor(private readonly hooks: SettlementHooks) {
    this.logger = hooks.logger;
  }

  async record(outcome: BatchOutcome, owners: Map<ReadableSpan, JobProgress>): Promise<void> {
    const runIds = () => [...new Set(outcome.spans.map((s) => owners.get(s)?.job.runId).filter((id) => id !== undefined))];
    switch (outcome.kind) {
      case 'delivered':
        if (outcome.collectorWarning) this.logger.warn('the collector accepted the spans with a warning', { spans: outcome.spans.length, message: outcome.collectorWarning });
        this.hooks.onDelivered?.(outcome.spans);
        for (const span of outcome.spans) this.account(owners, span, 'delivered');
        return;
      case 'partially_rejected':
        this.logger.error('the collector rejected spans of an accepted request (partial success); they are counted as rejected, not delivered', {
          rejected_spans: outcome.rejectedSpans,
          spans: outcome.spans.length,
          message: outcome.message,
          run_ids: runIds(),
        });
        this.hooks.onCollectorRejected?.(outcome.rejectedSpans, outcome.spans.length, outcome.message);
        for (const span of outcome.spans) this.account(owners, span, 'inPartialSuccess');
        return;
      case 'rejected':
      case 'unexportable':
      case 'gave_up': {
        // `gave_up` only happens with a bounded policy; either way these spans are not coming back.
        const status = outcome.kind === 'rejected' ? outcome.status : undefined;
        const message = outcome.kind === 'unexportable'
          ? 'spans could not be exported; set aside, every other run goes on'
          : 'collector refused spans; set aside';
        this.logger.error(message, { spans: outcome.spans.length, run_ids: runIds(), reason: outcome.reason, ...(status ? { status } : {}) });
        await this.writeAside(outcome.spans, outcome.reason, status);
        this.hooks.onSetAside?.(outcome.spans.length);
        for (const span of outcome.spans) this.account(owners, span, 'setAside', outcome.reason);
        return;
      }
      default: {
        const never: never = outcome;
        throw new TypeError(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  }

  private async writeAside(spans: ReadableSpan[], reason: string, status: number | undefined): Promise<void> {
    try {
      await this.hooks.setAside?.(spans, reason, status);
    } catch (error) {
      // A full disk must not stop delivery: the spans are counted (and logged) all the same.
      this.logger.error('could not write refused spans aside; they are only counted', { spans: spans.length, error: (error as Error).message });
    }
  }

  /** Spans that never became ReadableSpans (or one too large for the queue): set aside as data. */
  async setAsideData(part: Part, reason: string): Promise<void> {
    this.logger.error('spans could not be exported; set aside, every other run goes on', { spans: part.spans.length, run_ids: [part.progress.job.runId], reason });
    let readable: ReadableSpan[] = [];
    try {
      readable = part.spans.map((span) => toReadableSpan(span, this.hooks.resource));
    } catch {
      // Only counted: there is nothing readable to write.
    }
    if (readable.length > 0) await this.writeAside(readable, reason, undefined);
    this.hooks.onSetAside?.(part.spans.length);
    part.progress.remaining -= part.spans.length;
    part.progress.setAside += part.spans.length;
    part.progress.setAsideReason ??= reason;
  }

  private account(owners: Map<ReadableSpan, JobProgress>, span: ReadableSpan, how: 'delivered' | 'setAside' | 'inPartialSuccess', reason?: string): void {
    const progress = owners.get(span);
    if (!progress) return;
    progress.remaining--;
    progress[how]++;
    if (reason !== undefined) progress.setAsideReason ??= reason;
  }

  async settle(progress: JobProgress): Promise<void> {
    if (progress.remaining > 0 || progress.settled) return;
    progress.settled = true;
    const result: JobResult = {
      delivered: progress.delivered,
      setAside: progress.setAside,
      ...(progress.setAside > 0 && progress.setAsideReason !== undefined ? { setAsideReason: progress.setAsideReason } : {}),
      ...(progress.inPartialSuccess > 0 ? { inPartialSuccess: progress.inPartialSuccess } : {}),
    };
    try {
      await progress.job.onSettled(result);
    } catch (error) {
      // Logged once, then at 10, 100, 1000…: a state store that fails fails for every job.
      this.settleFailures++;
      if (Number.isInteger(Math.log10(this.settleFailures))) {
        this.logger.error('could not record an export as done; it will be exported again after restart', {
          run_id: progress.job.runId,
          error: (error as Error).message,
          ...(this.settleFailures > 1 ? { failures_so_far: this.settleFailures } : {}),
        });
      }
    }
  }
}
