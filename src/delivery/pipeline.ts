/**
 * The sidecar's delivery: a queue of export jobs (a run's spans, or a few finished steps in live
 * mode), sent in batches by one worker, retried without a time limit, and acknowledged job by job.
 *
 * - A job's `onSettled` runs only after every one of its spans was acknowledged by the collector
 *   (or set aside as refused for good): that is when the state store marks the work exported.
 * - Nothing is dropped: when the queue passes its high-water mark, `isBehind()` tells the poller to
 *   pause; the API keeps the records meanwhile.
 * - `close()` stops taking work, waits for the queue to drain, and (once `force` aborts) gives up
 *   waiting; what was not acknowledged is simply exported again after restart.
 */
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { SpanData } from '../mapping/types.js';
import { AbortedError } from '../util/backoff.js';
import { silentLogger, type Logger } from '../util/log.js';
import { sendBatch, SIDECAR_RETRY, type DeliveryRetryPolicy, type RetryNotice } from './send.js';
import { toReadableSpan } from './spans.js';

export interface ExportJob {
  /** For logs and metrics. */
  runId: string;
  spans: SpanData[];
  /** Called once, after all spans were acknowledged or set aside; a rejection is logged, not retried. */
  onSettled: (result: { delivered: number; setAside: number }) => Promise<void>;
}

/** Where refused spans go, so they can be inspected (the sidecar writes them to a directory). */
export type SetAsideSink = (spans: ReadableSpan[], reason: string, status: number | undefined) => Promise<void>;

export interface DeliveryPipelineOptions {
  exporter: SpanExporter;
  resource: Resource;
  /** @default SIDECAR_RETRY (no attempt limit) */
  retry?: DeliveryRetryPolicy;
  /** @default 512 */
  maxSpansPerBatch?: number;
  /** From this many queued spans on, `isBehind()` is true. @default 20000 */
  highWaterMarkSpans?: number;
  setAside?: SetAsideSink;
  logger?: Logger;
  onRetry?: (notice: RetryNotice) => void;
  onDelivered?: (spans: readonly ReadableSpan[]) => void;
  onSetAside?: (count: number) => void;
  now?: () => number;
}

interface QueuedJob {
  job: ExportJob;
  enqueuedAt: number;
}

interface JobProgress {
  job: ExportJob;
  remaining: number;
  delivered: number;
  setAside: number;
}

export class DeliveryPipeline {
  private readonly queue: QueuedJob[] = [];
  private queuedSpans = 0;
  private inFlightSpans = 0;
  private worker: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private readonly options: DeliveryPipelineOptions;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(options: DeliveryPipelineOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  enqueue(job: ExportJob): void {
    if (this.closed) throw new Error('the delivery pipeline is closed');
    if (job.spans.length === 0) {
      void this.settle({ job, remaining: 0, delivered: 0, setAside: 0 });
      return;
    }
    this.queue.push({ job, enqueuedAt: this.now() });
    this.queuedSpans += job.spans.length;
    this.startWorker();
  }

  /** One worker at a time; when it ends with work left (enqueued as it finished), another starts. */
  private startWorker(): void {
    if (this.worker) return;
    let failed = false;
    this.worker = this.work()
      .catch((error: unknown) => {
        // A bug, not a delivery failure: do not spin on it; the next job enqueued starts a worker again.
        failed = true;
        this.logger.error('delivery worker failed; queued spans stay queued', { error: (error as Error).message });
      })
      .finally(() => {
        this.worker = undefined;
        if (!failed && this.queue.length > 0 && !this.abort.signal.aborted) this.startWorker();
        else this.notifyIdle();
      });
  }

  /** True while at least the high-water mark of spans wait: the poller should not create more work. */
  isBehind(): boolean {
    return this.queuedSpans + this.inFlightSpans >= (this.options.highWaterMarkSpans ?? 20_000);
  }

  depth(): { jobs: number; spans: number } {
    return { jobs: this.queue.length, spans: this.queuedSpans + this.inFlightSpans };
  }

  /** Age in ms of the oldest job not yet acknowledged (0 when none). */
  lagMillis(): number {
    const oldest = Math.min(this.inFlightSince ?? Infinity, this.queue[0]?.enqueuedAt ?? Infinity);
    return Number.isFinite(oldest) ? Math.max(0, this.now() - oldest) : 0;
  }

  /** When the oldest job of the batch in flight was enqueued. */
  private inFlightSince: number | undefined;

  /** Resolves once nothing is queued or in flight. */
  flush(): Promise<void> {
    if (!this.worker && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting jobs and drains. `force` aborting stops waiting for a collector that does not
   * answer; unacknowledged spans are exported again after restart.
   */
  async close(force?: AbortSignal): Promise<void> {
    this.closed = true;
    const onForce = () => this.abort.abort();
    if (force?.aborted) onForce();
    force?.addEventListener('abort', onForce, { once: true });
    try {
      await this.flush();
    } finally {
      force?.removeEventListener('abort', onForce);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Takes whole jobs up to the batch size (a job larger than a batch goes alone). */
  private takeBatch(): QueuedJob[] {
    const max = this.options.maxSpansPerBatch ?? 512;
    const taken: QueuedJob[] = [];
    let spans = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as QueuedJob;
      if (taken.length > 0 && spans + next.job.spans.length > max) break;
      this.queue.shift();
      taken.push(next);
      spans += next.job.spans.length;
    }
    return taken;
  }

  private async work(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const batch = this.takeBatch();
      const owners = new Map<ReadableSpan, JobProgress>();
      const readable: ReadableSpan[] = [];
      this.inFlightSince = batch[0]?.enqueuedAt;
      for (const { job } of batch) {
        const progress: JobProgress = { job, remaining: job.spans.length, delivered: 0, setAside: 0 };
        for (const span of job.spans) {
          const r = toReadableSpan(span, this.options.resource);
          owners.set(r, progress);
          readable.push(r);
        }
      }
      this.queuedSpans -= readable.length;
      this.inFlightSpans += readable.length;
      try {
        const outcomes = await sendBatch(this.options.exporter, readable, {
          policy: this.options.retry ?? SIDECAR_RETRY,
          signal: this.abort.signal,
          onRetry: (notice) => {
            this.logger.warn('export will be retried', { spans: readable.length, reason: notice.reason, attempt: notice.attempt, delay_ms: notice.delayMillis });
            this.options.onRetry?.(notice);
          },
        });
        for (const outcome of outcomes) {
          if (outcome.kind === 'delivered') {
            this.options.onDelivered?.(outcome.spans);
            for (const span of outcome.spans) this.account(owners, span, 'delivered');
          } else {
            // `gave_up` only happens with a bounded policy; either way these spans are not coming back.
            const status = outcome.kind === 'rejected' ? outcome.status : undefined;
            this.logger.error('collector refused spans; set aside', { spans: outcome.spans.length, reason: outcome.reason, ...(status ? { status } : {}) });
            try {
              await this.options.setAside?.(outcome.spans, outcome.reason, status);
            } catch (error) {
              // A full disk must not stop delivery: the spans are counted (and logged) all the same.
              this.logger.error('could not write refused spans aside; they are only counted', { spans: outcome.spans.length, error: (error as Error).message });
            }
            this.options.onSetAside?.(outcome.spans.length);
            for (const span of outcome.spans) this.account(owners, span, 'setAside');
          }
        }
        const settled = new Set(owners.values());
        for (const progress of settled) await this.settle(progress);
      } catch (error) {
        if (!(error instanceof AbortedError)) throw error;
        this.logger.warn('delivery stopped before the collector acknowledged; these spans will be exported again after restart', { spans: readable.length });
      } finally {
        this.inFlightSpans -= readable.length;
        this.inFlightSince = undefined;
      }
    }
  }

  private account(owners: Map<ReadableSpan, JobProgress>, span: ReadableSpan, how: 'delivered' | 'setAside'): void {
    const progress = owners.get(span);
    if (!progress) return;
    progress.remaining--;
    progress[how]++;
  }

  private async settle(progress: JobProgress): Promise<void> {
    if (progress.remaining > 0) return;
    try {
      await progress.job.onSettled({ delivered: progress.delivered, setAside: progress.setAside });
    } catch (error) {
      this.logger.error('could not record an export as done; it will be exported again after restart', { run_id: progress.job.runId, error: (error as Error).message });
    }
  }
}
