/**
 * The sidecar's delivery: a bounded queue of export jobs (a run's spans, or a few finished steps in
 * live mode), sent in batches by one worker, retried without a time limit, and acknowledged job by
 * job.
 *
 * - Bounded: at most `maxQueuedSpans` spans and `maxQueuedBytes` bytes (span-size.ts) are held,
 *   queued or in flight, never more. `enqueue` waits for room (first come, first served) and takes
 *   a job in parts of at most a batch, so a job larger than the queue still goes through.
 *   `hasRoomFor` / `waitForRoom` let a producer check before doing the work; `isBehind()` says
 *   when to stop producing (past the high-water mark, or someone is waiting for room).
 * - A job's `onSettled` runs only after every one of its spans was acknowledged by the collector
 *   (or set aside as refused for good, or unexportable): that is when the state store marks the
 *   work exported. A poisoned run (the exporter cannot encode it, the collector refuses its
 *   content) is found by bisecting its batch (send.ts), set aside alone, and settled like any
 *   other: it is never exported again, and every other run goes on.
 * - `close()` stops taking work, waits for the queue to drain, and (once `force` aborts) gives up
 *   waiting; what was not acknowledged is simply exported again after restart.
 */
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AbortedError } from '../util/backoff.js';
import { silentLogger, type Logger } from '../util/log.js';
import { Admission, ClosedError, type Room } from './admission.js';
import { sendGroups, SIDECAR_RETRY, type DeliveryRetryPolicy, type RetryNotice } from './send.js';
import { cutJob, Settlement, type ExportJob, type JobProgress, type Part, type SetAsideSink } from './settlement.js';
import { toReadableSpan } from './spans.js';

export type { ExportJob, JobResult, SetAsideSink } from './settlement.js';

/** Default bound on spans held by the queue (queued or in flight). */
export const DEFAULT_MAX_QUEUED_SPANS = 20_000;
/** Default bound on the bytes (span-size.ts) held by the queue. */
export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/** `isBehind()` from this share of either bound on. */
const HIGH_WATER_RATIO = 0.75;

export interface DeliveryPipelineOptions {
  exporter: SpanExporter;
  resource: Resource;
  /** @default SIDECAR_RETRY (no attempt limit) */
  retry?: DeliveryRetryPolicy;
  /** @default 512 */
  maxSpansPerBatch?: number;
  /** Never more spans than this held, queued or in flight. @default 20000 */
  maxQueuedSpans?: number;
  /** Never more bytes (span-size.ts) than this held. @default 32 MiB */
  maxQueuedBytes?: number;
  /** From this many held spans on, `isBehind()` is true. @default 75% of `maxQueuedSpans` */
  highWaterMarkSpans?: number;
  setAside?: SetAsideSink;
  logger?: Logger;
  onRetry?: (notice: RetryNotice) => void;
  onDelivered?: (spans: readonly ReadableSpan[]) => void;
  /** Spans set aside (refused, unexportable, out of attempts). */
  onSetAside?: (count: number) => void;
  /** A partial success: the collector took `batchSpans` spans but reports `rejected` of them rejected. */
  onCollectorRejected?: (rejected: number, batchSpans: number, message: string) => void;
  /**
   * Whether what is not acknowledged when delivery is cut short is exported again after a restart
   * (a persistent state store), for the log line that says so. @default true
   */
  resentAfterRestart?: boolean;
  now?: () => number;
}

export class DeliveryPipeline {
  private readonly queue: Part[] = [];
  private readonly admission: Admission;
  private queuedJobs = 0;
  private worker: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private readonly options: DeliveryPipelineOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly partSpans: number;
  private readonly highWater: Room;
  private readonly settlement: Settlement;
  /** When the oldest part of the batch in flight was enqueued. */
  private inFlightSince: number | undefined;

  constructor(options: DeliveryPipelineOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    const limits = { spans: options.maxQueuedSpans ?? DEFAULT_MAX_QUEUED_SPANS, bytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES };
    this.admission = new Admission(limits);
    this.settlement = new Settlement({
      resource: options.resource,
      logger: this.logger,
      setAside: options.setAside,
      onDelivered: options.onDelivered,
      onSetAside: options.onSetAside,
      onCollectorRejected: options.onCollectorRejected,
    });
    this.partSpans = Math.max(1, Math.min(options.maxSpansPerBatch ?? 512, limits.spans));
    this.highWater = {
      spans: options.highWaterMarkSpans ?? Math.max(1, Math.floor(limits.spans * HIGH_WATER_RATIO)),
      bytes: Math.max(1, Math.floor(limits.bytes * HIGH_WATER_RATIO)),
    };
  }

  /** The bounds, for /metrics and the README's promise. */
  limits(): Room {
    return { ...this.admission.limits };
  }

  /**
   * Queues a job; resolves once all of it is admitted (at once when there is room), not when it is
   * delivered. Waits for room otherwise; `signal` gives up waiting (`AbortedError`: the parts
   * already admitted are delivered, the job is never settled, and is exported again after restart).
   * Rejects when the pipeline is closed.
   */
  async enqueue(job: ExportJob, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new ClosedError('the delivery pipeline is closed');
    const progress: JobProgress = { job, remaining: job.spans.length, delivered: 0, setAside: 0, inPartialSuccess: 0 };
    if (job.spans.length === 0) {
      void this.settlement.settle(progress);
      return;
    }
    this.queuedJobs++;
    try {
      for (const part of cutJob(progress, this.partSpans, this.admission.limits.bytes)) {
        if (part.bytes > this.admission.limits.bytes) {
          // One span larger than the whole byte bound can never be admitted: it is set aside, not held.
          await this.setAsideOversized(part);
          continue;
        }
        const waiting = this.admission.take({ spans: part.spans.length, bytes: part.bytes }, signal);
        if (waiting) await waiting; // the fast path stays synchronous: no await with room to spare
        part.enqueuedAt = this.now();
        this.queue.push(part);
        this.startWorker();
      }
    } finally {
      this.queuedJobs--;
    }
  }

  /**
   * Queues the whole job if it fits now (and nobody waits for room), else queues nothing and
   * returns false: for a producer that would rather refuse work than wait. A job larger than the
   * bounds never fits whole: `enqueue` it.
   */
  tryEnqueue(job: ExportJob): boolean {
    if (this.closed) return false;
    const progress: JobProgress = { job, remaining: job.spans.length, delivered: 0, setAside: 0, inPartialSuccess: 0 };
    if (job.spans.length === 0) {
      void this.settlement.settle(progress);
      return true;
    }
    const parts = cutJob(progress, this.partSpans, this.admission.limits.bytes);
    const room = { spans: 0, bytes: 0 };
    for (const part of parts) {
      room.spans += part.spans.length;
      room.bytes += part.bytes;
    }
    if (!this.admission.tryTake(room)) return false;
    const now = this.now();
    for (const part of parts) {
      part.enqueuedAt = now;
      this.queue.push(part);
    }
    this.startWorker();
    return true;
  }

  /** Room for `spans` more spans (at most a batch is asked for: jobs are admitted in parts) and `bytes` more bytes, with nobody waiting. */
  hasRoomFor(spans: number, bytes = 0): boolean {
    return this.admission.hasRoomFor(this.clampRoom(spans, bytes));
  }

  /** Resolves once `hasRoomFor(spans, bytes)` would be true (without taking the room). */
  waitForRoom(spans: number, bytes = 0, signal?: AbortSignal): Promise<void> {
    return this.admission.waitFor(this.clampRoom(spans, bytes), signal);
  }

  /** True from the high-water mark on, or while a producer waits for room: do not create more work. */
  isBehind(): boolean {
    const { used } = this.admission.usage();
    return used.spans >= this.highWater.spans || used.bytes >= this.highWater.bytes || this.admission.waiting > 0;
  }

  /** Jobs waiting (or being admitted), and spans/bytes held (queued or in flight), now and at the most. */
  depth(): { jobs: number; spans: number; bytes: number; peakSpans: number; peakBytes: number } {
    const { used, peak } = this.admission.usage();
    const jobs = new Set(this.queue.map((p) => p.progress)).size;
    return { jobs: Math.max(jobs, this.queuedJobs), spans: used.spans, bytes: used.bytes, peakSpans: peak.spans, peakBytes: peak.bytes };
  }

  /** Age in ms of the oldest job not yet acknowledged (0 when none). */
  lagMillis(): number {
    const oldest = Math.min(this.inFlightSince ?? Infinity, this.queue[0]?.enqueuedAt ?? Infinity);
    return Number.isFinite(oldest) ? Math.max(0, this.now() - oldest) : 0;
  }

  /** Resolves once nothing is queued or in flight. */
  flush(): Promise<void> {
    if (!this.worker && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting jobs (producers waiting for room are refused) and drains. `force` aborting
   * stops waiting for a collector that does not answer; unacknowledged spans are exported again
   * after restart.
   */
  async close(force?: AbortSignal): Promise<void> {
    this.closed = true;
    this.admission.close(new ClosedError('the delivery pipeline is closed'));
    const onForce = () => this.abort.abort();
    if (force?.aborted) onForce();
    force?.addEventListener('abort', onForce, { once: true });
    try {
      await this.flush();
    } finally {
      force?.removeEventListener('abort', onForce);
    }
  }

  private clampRoom(spans: number, bytes: number): Room {
    return { spans: Math.min(Math.max(0, spans), this.partSpans), bytes: Math.min(Math.max(0, bytes), this.admission.limits.bytes) };
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

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Takes whole parts up to the batch size. */
  private takeBatch(): Part[] {
    const max = this.options.maxSpansPerBatch ?? 512;
    const taken: Part[] = [];
    let spans = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Part;
      if (taken.length > 0 && spans + next.spans.length > max) break;
      this.queue.shift();
      taken.push(next);
      spans += next.spans.length;
    }
    return taken;
  }

  private async work(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const batch = this.takeBatch();
      const room: Room = { spans: 0, bytes: 0 };
      for (const part of batch) {
        room.spans += part.spans.length;
        room.bytes += part.bytes;
      }
      this.inFlightSince = batch[0]?.enqueuedAt;
      try {
        await this.deliver(batch);
      } catch (error) {
        if (!(error instanceof AbortedError)) throw error;
        // Everything not acknowledged: this batch and what still waited behind it.
        const queued = this.queue.reduce((n, part) => n + part.spans.length, 0);
        const fate = this.options.resentAfterRestart === false ? 'they are not delivered (no state is kept for a restart)' : 'they will be exported again after restart';
        this.logger.warn(`delivery stopped before the collector acknowledged ${room.spans + queued} spans; ${fate}`, { spans: room.spans + queued, in_flight: room.spans, queued });
      } finally {
        this.inFlightSince = undefined;
        this.admission.release(room);
      }
    }
  }

  /** Sends one batch (one group per job) and accounts for every span. */
  private async deliver(batch: Part[]): Promise<void> {
    const owners = new Map<ReadableSpan, JobProgress>();
    const groups: ReadableSpan[][] = [];
    let last: { progress: JobProgress; group: ReadableSpan[] } | undefined;
    for (const part of batch) {
      let readable: ReadableSpan[];
      try {
        readable = part.spans.map((span) => toReadableSpan(span, this.options.resource));
      } catch (error) {
        await this.settlement.setAsideData(part, `could not prepare the spans for export (${(error as Error).message})`);
        continue;
      }
      for (const span of readable) owners.set(span, part.progress);
      if (last?.progress === part.progress) last.group.push(...readable);
      else {
        last = { progress: part.progress, group: readable };
        groups.push(last.group);
      }
    }
    const outcomes = await sendGroups(this.options.exporter, groups, {
      policy: this.options.retry ?? SIDECAR_RETRY,
      signal: this.abort.signal,
      onRetry: (notice) => {
        this.logger.warn(notice.capped ? 'export will be retried after the longest wait allowed, sooner than the collector asked' : 'export will be retried', {
          spans: owners.size,
          reason: notice.reason,
          attempt: notice.attempt,
          delay_ms: notice.delayMillis,
        });
        this.options.onRetry?.(notice);
      },
    });
    for (const outcome of outcomes) await this.settlement.record(outcome, owners);
    for (const progress of new Set(batch.map((part) => part.progress))) await this.settlement.settle(progress);
  }

  private async setAsideOversized(part: Part): Promise<void> {
    await this.settlement.setAsideData(part, `a span of ${part.bytes} bytes is larger than the delivery queue's bound (${this.admission.limits.bytes} bytes, --max-queued-bytes)`);
    await this.settlement.settle(part.progress);
  }

}
