/**
 * `DeliveryPipeline` (src/delivery/pipeline.ts), the sidecar's delivery, against a fake
 * `SpanExporter` that records every export call and answers the way the project's OTLP transport
 * does (`ExportResultCode.SUCCESS`, or an `ExportAttemptError` with the status, whether it is
 * retryable and `Retry-After`), or holds an answer until the test gives it.
 *
 * The contract (file comment and README "Delivery"): whole jobs are batched up to
 * `maxSpansPerBatch`; a job's `onSettled` runs once, only after every one of its spans was
 * acknowledged or set aside (a 413 split included); refused spans go to the `setAside` sink, are
 * counted, and delivery goes on; retryable failures are retried without a limit, honouring
 * `Retry-After`; `isBehind()` past the high-water mark; `close(force)` gives up waiting.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeliveryPipeline, type DeliveryPipelineOptions, type ExportJob } from '../../../src/delivery/pipeline.js';
import { ExportAttemptError } from '../../../src/delivery/otlp-transport.js';
import { createResource } from '../../../src/delivery/resource.js';
import type { DeliveryRetryPolicy, RetryNotice } from '../../../src/delivery/send.js';
import type { SpanData } from '../../../src/mapping/types.js';
import { recordingLogger } from '../../support/recording-logger.js';

// ---- fakes and builders ------------------------------------------------------------------------------

const RETRYABLE = new Set([429, 502, 503, 504]);

const ok = (): ExportResult => ({ code: ExportResultCode.SUCCESS });

/** What the OTLP transport answers for an HTTP status. */
function http(status: number, retryAfterMillis?: number): ExportResult {
  return {
    code: ExportResultCode.FAILED,
    error: new ExportAttemptError(`collector answered HTTP ${status}`, status, '', RETRYABLE.has(status), retryAfterMillis),
  };
}

/** 413 for a batch of more than `max` spans, success otherwise (a collector with a size limit). */
const sizeLimit = (max: number) => (spans: ReadableSpan[]): ExportResult => (spans.length > max ? http(413) : ok());

type Answer = ExportResult | 'hold';

/** Records each export call (span names) and answers it; `hold` keeps the answer until `answerHeld`. */
class FakeExporter implements SpanExporter {
  readonly calls: string[][] = [];
  private readonly held: Array<(result: ExportResult) => void> = [];
  constructor(private readonly answer: (spans: ReadableSpan[], call: number) => Answer = () => ok()) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.calls.push(spans.map((s) => s.name));
    const answer = this.answer(spans, this.calls.length);
    if (answer === 'hold') this.held.push(resultCallback);
    // Answer asynchronously, as a network exporter does.
    else queueMicrotask(() => resultCallback(answer));
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Answers the oldest held call. */
  answerHeld(result: ExportResult = ok()): void {
    const callback = this.held.shift();
    if (!callback) throw new Error('no export call is held');
    callback(result);
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** `n` spans named `${runId}#0..n-1`: their names say which job each came from. */
function spans(runId: string, n: number): SpanData[] {
  return Array.from({ length: n }, (_, i) => ({
    subject: { kind: 'step', runId, stepId: `step_${i}` },
    traceId: 'a'.repeat(32),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: 'b'.repeat(16),
    parentIsRemote: false,
    name: `${runId}#${i}`,
    kind: SpanKind.INTERNAL,
    startTime: [1_710_330_641, 0],
    endTime: [1_710_330_642, 0],
    attributes: { 'assistants.run.id': runId },
    status: { code: SpanStatusCode.UNSET },
    events: [],
  }));
}

interface Settlement {
  runId: string;
  delivered: number;
  setAside: number;
  setAsideReason?: string;
}

/** Jobs whose `onSettled` is recorded in one shared list, in order. */
function jobs() {
  const settled: Settlement[] = [];
  return {
    settled,
    job(runId: string, n: number, onSettled?: () => Promise<void>): ExportJob {
      return {
        runId,
        spans: spans(runId, n),
        onSettled: async (result) => {
          settled.push({ runId, ...result });
          await onSettled?.();
        },
      };
    },
    settledIds: () => settled.map((s) => s.runId),
  };
}

/** Tiny delays and no jitter: exact and fast. */
const TINY: DeliveryRetryPolicy = { maxAttempts: Infinity, initialDelayMillis: 1, maxDelayMillis: 4, multiplier: 2, jitterRatio: 0 };

function pipeline(exporter: SpanExporter, options: Partial<DeliveryPipelineOptions> = {}): DeliveryPipeline {
  return new DeliveryPipeline({ exporter, resource: createResource(), retry: TINY, ...options });
}

/** Lets the answers and the worker's continuations run. */
async function ticks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Resolves with what came first: the promise, or `timeout` after `ms` of real time. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
}

afterEach(() => {
  vi.useRealTimers();
});

// ---- batching ----------------------------------------------------------------------------------------

describe('DeliveryPipeline: batching whole jobs', () => {
  it('sends the first job at once, then batches the jobs queued meanwhile, whole, up to maxSpansPerBatch', async () => {
    const exporter = new FakeExporter((_s, call) => (call === 1 ? 'hold' : ok()));
    const p = pipeline(exporter, { maxSpansPerBatch: 5 });
    const { job, settledIds } = jobs();
    void p.enqueue(job('a', 2));
    expect(exporter.calls).toEqual([['a#0', 'a#1']]); // nothing waits for a timer
    for (const id of ['b', 'c', 'd']) void p.enqueue(job(id, 2));
    exporter.answerHeld();
    await p.flush();
    // b+c = 4 spans; adding d would make 6 > 5, so d goes next, whole.
    expect(exporter.calls).toEqual([['a#0', 'a#1'], ['b#0', 'b#1', 'c#0', 'c#1'], ['d#0', 'd#1']]);
    expect(settledIds()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fills a batch exactly up to the limit', async () => {
    const exporter = new FakeExporter((_s, call) => (call === 1 ? 'hold' : ok()));
    const p = pipeline(exporter, { maxSpansPerBatch: 4 });
    const { job } = jobs();
    void p.enqueue(job('first', 1));
    void p.enqueue(job('a', 1));
    void p.enqueue(job('b', 3));
    void p.enqueue(job('c', 1));
    exporter.answerHeld();
    await p.flush();
    expect(exporter.calls.map((c) => c.length)).toEqual([1, 4, 1]);
  });

  it('a job larger than a batch is sent in batch-sized parts, in order, and settles once', async () => {
    const exporter = new FakeExporter((_s, call) => (call === 1 ? 'hold' : ok()));
    const p = pipeline(exporter, { maxSpansPerBatch: 3 });
    const { job, settled } = jobs();
    void p.enqueue(job('first', 1));
    void p.enqueue(job('small', 1));
    void p.enqueue(job('big', 7));
    void p.enqueue(job('after', 1));
    exporter.answerHeld();
    await p.flush();
    // Parts of at most a batch (so the queue's bound holds for any job); the job behind fills the last part's batch.
    expect(exporter.calls).toEqual([
      ['first#0'],
      ['small#0'],
      ['big#0', 'big#1', 'big#2'],
      ['big#3', 'big#4', 'big#5'],
      ['big#6', 'after#0'],
    ]);
    expect(settled).toContainEqual({ runId: 'big', delivered: 7, setAside: 0 });
  });

  it('batches up to 512 spans by default', async () => {
    const exporter = new FakeExporter((_s, call) => (call === 1 ? 'hold' : ok()));
    const p = pipeline(exporter);
    const { job } = jobs();
    void p.enqueue(job('first', 1));
    for (let i = 0; i < 6; i++) void p.enqueue(job(`r${i}`, 100));
    exporter.answerHeld();
    await p.flush();
    expect(exporter.calls.map((c) => c.length)).toEqual([1, 500, 100]);
  });

  it('keeps the order of jobs and of spans within a job', async () => {
    const exporter = new FakeExporter();
    const p = pipeline(exporter, { maxSpansPerBatch: 100 });
    const { job, settledIds } = jobs();
    for (const id of ['x', 'y', 'z']) void p.enqueue(job(id, 3));
    await p.flush();
    expect(exporter.calls.flat()).toEqual(['x#0', 'x#1', 'x#2', 'y#0', 'y#1', 'y#2', 'z#0', 'z#1', 'z#2']);
    expect(settledIds()).toEqual(['x', 'y', 'z']);
  });

  it('exports the spans as ReadableSpans with the pipeline\'s resource', async () => {
    const seen: ReadableSpan[] = [];
    const exporter = new FakeExporter((s) => {
      seen.push(...s);
      return ok();
    });
    const resource = createResource({ serviceName: 'svc-under-test' });
    const p = new DeliveryPipeline({ exporter, resource, retry: TINY });
    void p.enqueue(jobs().job('a', 1));
    await p.flush();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.resource).toBe(resource);
    expect(seen[0]?.spanContext().traceId).toBe('a'.repeat(32));
    expect(seen[0]?.parentSpanContext?.spanId).toBe('b'.repeat(16));
    expect(seen[0]?.ended).toBe(true);
  });
});

// ---- settlement --------------------------------------------------------------------------------------

describe('DeliveryPipeline: onSettled after every span was acknowledged', () => {
  it('runs onSettled once, only after the collector answered', async () => {
    const exporter = new FakeExporter(() => 'hold');
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 3));
    await ticks();
    expect(settled).toEqual([]);
    exporter.answerHeld(ok());
    await p.flush();
    expect(settled).toEqual([{ runId: 'a', delivered: 3, setAside: 0 }]);
  });

  it('a 413 splits the batch: the job settles once, after both halves were acknowledged', async () => {
    let call = 0;
    const exporter = new FakeExporter((s) => {
      call++;
      if (s.length > 2) return http(413);
      return call === 3 ? 'hold' : ok(); // the second half waits
    });
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 4));
    await ticks();
    expect(exporter.calls).toEqual([['a#0', 'a#1', 'a#2', 'a#3'], ['a#0', 'a#1'], ['a#2', 'a#3']]);
    expect(settled).toEqual([]); // half acknowledged is not settled
    exporter.answerHeld();
    await p.flush();
    expect(settled).toEqual([{ runId: 'a', delivered: 4, setAside: 0 }]);
  });

  it('a 413 split that cuts across jobs settles each job only when all of its spans are acknowledged', async () => {
    let heldSecondHalf = false;
    const exporter = new FakeExporter((s, call) => {
      if (call === 1) return 'hold'; // the first job, alone, until the others are queued
      if (s.length > 2) return http(413);
      if (s[0]?.name === 'b#2' && !heldSecondHalf) {
        heldSecondHalf = true;
        return 'hold';
      }
      return ok();
    });
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('first', 1));
    void p.enqueue(job('a', 1));
    void p.enqueue(job('b', 3));
    exporter.answerHeld();
    await ticks(40);
    // [a#0 b#0 b#1 b#2] → 413 → split by job first: [a#0] delivered, [b#0 b#1 b#2] → 413 →
    // [b#0 b#1] delivered, [b#2] delivered.
    expect(exporter.calls.slice(1)).toEqual([['a#0', 'b#0', 'b#1', 'b#2'], ['a#0'], ['b#0', 'b#1', 'b#2'], ['b#0', 'b#1'], ['b#2']]);
    expect(settled.map((s) => s.runId)).not.toContain('b');
    exporter.answerHeld();
    await p.flush();
    expect(settled).toEqual([
      { runId: 'first', delivered: 1, setAside: 0 },
      { runId: 'a', delivered: 1, setAside: 0 },
      { runId: 'b', delivered: 3, setAside: 0 },
    ]);
  });

  it('splits repeatedly down to what the collector accepts', async () => {
    const exporter = new FakeExporter(sizeLimit(3));
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 10));
    await p.flush();
    const accepted = exporter.calls.filter((c) => c.length <= 3);
    expect(accepted.flat().sort()).toEqual(spans('a', 10).map((s) => s.name).sort()); // every span once
    expect(settled).toEqual([{ runId: 'a', delivered: 10, setAside: 0 }]);
  });

  it('a job without spans settles at once, with nothing exported', async () => {
    const exporter = new FakeExporter();
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('empty', 0));
    await ticks();
    expect(settled).toEqual([{ runId: 'empty', delivered: 0, setAside: 0 }]);
    expect(exporter.calls).toEqual([]);
  });

  it('reports the acknowledged spans through onDelivered', async () => {
    const delivered: string[][] = [];
    const exporter = new FakeExporter(sizeLimit(2));
    const p = pipeline(exporter, { onDelivered: (s) => delivered.push(s.map((x) => x.name)) });
    void p.enqueue(jobs().job('a', 3));
    await p.flush();
    expect(delivered).toEqual([['a#0', 'a#1'], ['a#2']]);
  });
});

// ---- refusals ----------------------------------------------------------------------------------------

describe('DeliveryPipeline: refused spans are set aside, counted, and the job still settles', () => {
  it('a 400 sends the batch to the setAside sink with reason and status; the job settles with setAside counted', async () => {
    const asides: Array<{ names: string[]; reason: string; status: number | undefined }> = [];
    const counted: number[] = [];
    const exporter = new FakeExporter((s) => (s[0]?.name.startsWith('bad') ? http(400) : ok()));
    const { logger, lines } = recordingLogger();
    const p = pipeline(exporter, {
      setAside: async (s, reason, status) => {
        asides.push({ names: s.map((x) => x.name), reason, status });
      },
      onSetAside: (n) => counted.push(n),
      logger,
    });
    const { job, settled } = jobs();
    void p.enqueue(job('bad', 2));
    void p.enqueue(job('good', 1));
    await p.flush();
    expect(asides).toEqual([{ names: ['bad#0', 'bad#1'], reason: 'collector answered HTTP 400', status: 400 }]);
    expect(counted).toEqual([2]);
    expect(settled).toEqual([
      { runId: 'bad', delivered: 0, setAside: 2, setAsideReason: 'collector answered HTTP 400' },
      { runId: 'good', delivered: 1, setAside: 0 },
    ]);
    expect(exporter.calls.filter((c) => c[0] === 'bad#0')).toHaveLength(1); // never retried
    expect(lines.some((l) => l.level === 'error' && l.fields['status'] === 400 && l.fields['spans'] === 2)).toBe(true);
  });

  it.each([400, 401, 403, 404, 500, 501])('HTTP %i is final: set aside at the first answer', async (status) => {
    const asides: Array<number | undefined> = [];
    const exporter = new FakeExporter(() => http(status));
    const p = pipeline(exporter, { setAside: async (_s, _r, st) => void asides.push(st) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    await p.flush();
    expect(exporter.calls).toHaveLength(1);
    expect(asides).toEqual([status]);
    expect(settled).toEqual([{ runId: 'a', delivered: 0, setAside: 1, setAsideReason: `collector answered HTTP ${status}` }]);
  });

  it('a single span too large (413) is set aside; the rest of its job is delivered', async () => {
    const asides: Array<{ names: string[]; reason: string; status: number | undefined }> = [];
    const exporter = new FakeExporter((s) => (s.some((x) => x.name === 'a#1') ? http(413) : ok()));
    const p = pipeline(exporter, { setAside: async (s, reason, status) => void asides.push({ names: s.map((x) => x.name), reason, status }) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 2));
    await p.flush();
    expect(asides).toEqual([{ names: ['a#1'], reason: 'a single span is larger than the collector accepts (collector answered HTTP 413)', status: 413 }]);
    expect(settled).toEqual([{ runId: 'a', delivered: 1, setAside: 1, setAsideReason: 'a single span is larger than the collector accepts (collector answered HTTP 413)' }]);
  });

  it('a bounded policy that runs out of attempts sets the spans aside without a status', async () => {
    const asides: Array<{ reason: string; status: number | undefined }> = [];
    const exporter = new FakeExporter(() => http(503));
    const p = pipeline(exporter, { retry: { ...TINY, maxAttempts: 3 }, setAside: async (_s, reason, status) => void asides.push({ reason, status }) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 2));
    await p.flush();
    expect(exporter.calls).toHaveLength(3);
    expect(asides).toEqual([{ reason: 'collector answered HTTP 503', status: undefined }]);
    expect(settled).toEqual([{ runId: 'a', delivered: 0, setAside: 2, setAsideReason: 'collector answered HTTP 503' }]);
  });

  it('without a setAside sink, refused spans are still counted and the job settles', async () => {
    const counted: number[] = [];
    const p = pipeline(new FakeExporter(() => http(400)), { onSetAside: (n) => counted.push(n) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 3));
    await p.flush();
    expect(counted).toEqual([3]);
    expect(settled).toEqual([{ runId: 'a', delivered: 0, setAside: 3, setAsideReason: 'collector answered HTTP 400' }]);
  });

  it('a setAside sink that fails does not stop delivery of the jobs queued behind', async () => {
    // README: "any other refusal is final: the spans are written … to rejected/, counted, and
    // delivery goes on". A sink can fail for ordinary reasons (disk full).
    const exporter = new FakeExporter((s, call) => (call === 1 ? 'hold' : s[0]?.name.startsWith('bad') ? http(400) : ok()));
    const { logger } = recordingLogger();
    const p = pipeline(exporter, {
      maxSpansPerBatch: 1,
      logger,
      setAside: () => Promise.reject(new Error('ENOSPC: no space left on device')),
    });
    const { job, settledIds } = jobs();
    void p.enqueue(job('first', 1));
    void p.enqueue(job('bad', 1));
    void p.enqueue(job('good1', 1));
    void p.enqueue(job('good2', 1));
    exporter.answerHeld();
    await within(p.flush(), 200);
    await ticks();
    expect(settledIds()).toEqual(expect.arrayContaining(['first', 'good1', 'good2']));
    expect(p.depth()).toMatchObject({ jobs: 0, spans: 0, bytes: 0 });
  });
});

// ---- retries -----------------------------------------------------------------------------------------

describe('DeliveryPipeline: retries', () => {
  it('retries a 503 after the policy delay, then settles once', async () => {
    vi.useFakeTimers();
    const notices: RetryNotice[] = [];
    const exporter = new FakeExporter((_s, call) => (call === 1 ? http(503) : ok()));
    const p = pipeline(exporter, { retry: { ...TINY, initialDelayMillis: 100, maxDelayMillis: 1_000 }, onRetry: (n) => notices.push(n) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 2));
    await vi.advanceTimersByTimeAsync(99);
    expect(exporter.calls).toHaveLength(1);
    expect(settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exporter.calls).toHaveLength(2);
    expect(settled).toEqual([{ runId: 'a', delivered: 2, setAside: 0 }]);
    expect(notices).toEqual([{ attempt: 1, delayMillis: 100, reason: 'collector answered HTTP 503', status: 503, capped: false }]);
  });

  it('honours Retry-After: no retry before it, even with a tiny policy', async () => {
    vi.useFakeTimers();
    const notices: RetryNotice[] = [];
    const exporter = new FakeExporter((_s, call) => (call === 1 ? http(429, 5_000) : ok()));
    const p = pipeline(exporter, { onRetry: (n) => notices.push(n) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(exporter.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(exporter.calls).toHaveLength(2);
    expect(notices[0]?.delayMillis).toBe(5_000);
    expect(notices[0]?.status).toBe(429);
    expect(settled).toEqual([{ runId: 'a', delivered: 1, setAside: 0 }]);
  });

  it.each([429, 502, 503, 504])('retries HTTP %i', async (status) => {
    const exporter = new FakeExporter((_s, call) => (call <= 2 ? http(status) : ok()));
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    await p.flush();
    expect(exporter.calls).toHaveLength(3);
    expect(settled).toEqual([{ runId: 'a', delivered: 1, setAside: 0 }]);
  });

  it('retries timeouts, connection errors and the exporter\'s own failures', async () => {
    const failures: ExportResult[] = [
      { code: ExportResultCode.FAILED, error: new ExportAttemptError('could not reach the collector (no answer within 10000 ms)', undefined, undefined, true) },
      { code: ExportResultCode.FAILED, error: new ExportAttemptError('could not reach the collector (ECONNREFUSED)', undefined, undefined, true) },
      { code: ExportResultCode.FAILED, error: new Error('Concurrent export limit reached') },
      { code: ExportResultCode.FAILED },
    ];
    const exporter = new FakeExporter((_s, call) => failures[call - 1] ?? ok());
    const reasons: string[] = [];
    const p = pipeline(exporter, { onRetry: (n) => reasons.push(n.reason) });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    await p.flush();
    expect(exporter.calls).toHaveLength(5);
    expect(reasons).toHaveLength(4);
    expect(settled).toEqual([{ runId: 'a', delivered: 1, setAside: 0 }]);
  });

  it('retries without an attempt limit (50 failures, then success)', async () => {
    const exporter = new FakeExporter((_s, call) => (call <= 50 ? http(503) : ok()));
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    await p.flush();
    expect(exporter.calls).toHaveLength(51);
    expect(settled).toEqual([{ runId: 'a', delivered: 1, setAside: 0 }]);
  });

  it('jobs queued behind a retried batch wait for it, in order', async () => {
    const exporter = new FakeExporter((s, call) => (call <= 3 && s[0]?.name === 'a#0' ? http(503) : ok()));
    const p = pipeline(exporter, { maxSpansPerBatch: 1 });
    const { job, settledIds } = jobs();
    void p.enqueue(job('a', 1));
    void p.enqueue(job('b', 1));
    await p.flush();
    expect(exporter.calls.map((c) => c[0])).toEqual(['a#0', 'a#0', 'a#0', 'a#0', 'b#0']);
    expect(settledIds()).toEqual(['a', 'b']);
  });
});

// ---- back-pressure and gauges ------------------------------------------------------------------------

describe('DeliveryPipeline: isBehind(), depth(), lagMillis()', () => {
  it('isBehind() at the high-water mark (queued and in flight), and back below it once acknowledged', async () => {
    const exporter = new FakeExporter(() => 'hold');
    const p = pipeline(exporter, { highWaterMarkSpans: 5, maxSpansPerBatch: 2 });
    const { job } = jobs();
    expect(p.isBehind()).toBe(false);
    void p.enqueue(job('a', 2)); // in flight
    void p.enqueue(job('b', 2)); // queued
    expect(p.isBehind()).toBe(false); // 4 < 5
    void p.enqueue(job('c', 1));
    expect(p.isBehind()).toBe(true); // 5: at the mark
    exporter.answerHeld(); // a acknowledged: 3 left
    await ticks();
    expect(p.isBehind()).toBe(false);
    while (exporter.heldCount > 0 || p.depth().spans > 0) {
      if (exporter.heldCount > 0) exporter.answerHeld();
      await ticks();
    }
    await p.flush();
    expect(p.isBehind()).toBe(false);
  });

  it('is behind from 15,000 spans (75% of the 20,000 bound) by default', () => {
    const p = pipeline(new FakeExporter(() => 'hold'));
    void p.enqueue(jobs().job('a', 14_999));
    expect(p.isBehind()).toBe(false);
    void p.enqueue(jobs().job('b', 1));
    expect(p.isBehind()).toBe(true);
    expect(p.limits()).toEqual({ spans: 20_000, bytes: 32 * 1024 * 1024 });
  });

  it('depth(): jobs waiting and spans waiting or in flight; lagMillis(): age of the oldest unacknowledged job', async () => {
    let clock = 1_000;
    const exporter = new FakeExporter(() => 'hold');
    const p = pipeline(exporter, { now: () => clock, maxSpansPerBatch: 2 });
    const { job } = jobs();
    expect(p.depth()).toMatchObject({ jobs: 0, spans: 0, bytes: 0 });
    expect(p.lagMillis()).toBe(0);
    void p.enqueue(job('a', 2)); // in flight since 1000
    clock = 1_500;
    void p.enqueue(job('b', 2)); // queued at 1500
    clock = 4_000;
    expect(p.depth()).toMatchObject({ jobs: 1, spans: 4 });
    expect(p.lagMillis()).toBe(3_000);
    exporter.answerHeld(); // a acknowledged; b now in flight
    await ticks();
    expect(p.depth()).toMatchObject({ jobs: 0, spans: 2 });
    expect(p.lagMillis()).toBe(2_500);
    exporter.answerHeld();
    await p.flush();
    expect(p.depth()).toMatchObject({ jobs: 0, spans: 0, bytes: 0 });
    expect(p.lagMillis()).toBe(0);
  });
});

// ---- flush and close ---------------------------------------------------------------------------------

describe('DeliveryPipeline: flush() and close()', () => {
  it('flush() resolves at once when idle, and after the queue drains otherwise', async () => {
    const exporter = new FakeExporter(() => 'hold');
    const p = pipeline(exporter);
    await expect(p.flush()).resolves.toBeUndefined();
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    let flushed = 0;
    void p.flush().then(() => flushed++);
    void p.flush().then(() => flushed++);
    await ticks();
    expect(flushed).toBe(0);
    exporter.answerHeld();
    await ticks();
    expect(flushed).toBe(2);
    expect(settled).toHaveLength(1);
  });

  it('close() stops taking work, and resolves once everything was acknowledged', async () => {
    const exporter = new FakeExporter(() => 'hold');
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    void p.enqueue(job('b', 1));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await expect(p.enqueue(job('late', 1))).rejects.toThrow(/closed/);
    await ticks();
    expect(closed).toBe(false);
    exporter.answerHeld();
    await ticks();
    exporter.answerHeld();
    await closing;
    expect(settled.map((s) => s.runId)).toEqual(['a', 'b']);
  });

  it('close(force): aborting stops waiting through a retry backoff; the job is not settled and not tried again', async () => {
    vi.useFakeTimers();
    const exporter = new FakeExporter(() => http(503, 60_000));
    const { logger, lines } = recordingLogger();
    const p = pipeline(exporter, { logger });
    const { job, settled } = jobs();
    void p.enqueue(job('a', 2));
    void p.enqueue(job('b', 1));
    await vi.advanceTimersByTimeAsync(10);
    const force = new AbortController();
    let closed = false;
    const closing = p.close(force.signal).then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(closed).toBe(false);
    force.abort();
    await vi.advanceTimersByTimeAsync(0);
    await closing;
    expect(settled).toEqual([]);
    const attempts = exporter.calls.length;
    await vi.advanceTimersByTimeAsync(600_000);
    expect(exporter.calls).toHaveLength(attempts);
    expect(lines.some((l) => l.level === 'warn' && /exported again after restart/.test(l.message))).toBe(true);
  });

  it('close(force) with a signal already aborted does not wait for a retry', async () => {
    vi.useFakeTimers();
    const exporter = new FakeExporter(() => http(503, 60_000));
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    await vi.advanceTimersByTimeAsync(0);
    const closing = p.close(AbortSignal.abort());
    await vi.advanceTimersByTimeAsync(0);
    await expect(closing).resolves.toBeUndefined();
    expect(settled).toEqual([]);
  });

  it('close(force): aborting stops waiting for an export the collector never answers; the job is not settled', async () => {
    // The file comment: "`close()` … (once `force` aborts) gives up waiting"; `close`'s own doc:
    // "`force` aborting stops waiting for a collector that does not answer".
    const exporter = new FakeExporter(() => 'hold'); // never answered
    const p = pipeline(exporter);
    const { job, settled } = jobs();
    void p.enqueue(job('a', 1));
    const force = new AbortController();
    const closing = p.close(force.signal);
    await ticks();
    force.abort();
    expect(await within(closing.then(() => 'closed'), 100)).toBe('closed');
    expect(settled).toEqual([]);
  });
});

// ---- onSettled failures ------------------------------------------------------------------------------

describe('DeliveryPipeline: an onSettled that throws', () => {
  it('is logged with the run id, and delivery goes on', async () => {
    const exporter = new FakeExporter();
    const { logger, lines } = recordingLogger();
    const p = pipeline(exporter, { logger, maxSpansPerBatch: 1 });
    const { job, settledIds } = jobs();
    void p.enqueue(job('a', 1, () => Promise.reject(new Error('state file is read-only'))));
    void p.enqueue(job('b', 1));
    await p.flush();
    void p.enqueue(job('c', 1));
    await p.flush();
    expect(settledIds()).toEqual(['a', 'b', 'c']);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({ run_id: 'a', error: 'state file is read-only' });
  });

  it('a synchronous throw is handled the same way', async () => {
    const exporter = new FakeExporter();
    const { logger, lines } = recordingLogger();
    const p = pipeline(exporter, { logger });
    const settled: string[] = [];
    void p.enqueue({
      runId: 'a',
      spans: spans('a', 1),
      onSettled: () => {
        throw new Error('boom');
      },
    });
    void p.enqueue({ runId: 'b', spans: spans('b', 1), onSettled: async () => void settled.push('b') });
    await p.flush();
    expect(settled).toEqual(['b']);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.fields['run_id'])).toEqual(['a']);
  });
});

// ---- the worker's life -------------------------------------------------------------------------------

describe('DeliveryPipeline: a job enqueued at any moment is delivered', () => {
  // A job enqueued just as the worker finishes (a few microtasks after the last acknowledgement)
  // must start a worker that is tracked like the first, or later jobs and flush() wait forever.
  const depths = Array.from({ length: 12 }, (_, i) => i);
  it.each(depths)('enqueued %i microtasks after the last onSettled, then another later', async (depth) => {
    const exporter = new FakeExporter();
    const p = pipeline(exporter);
    const { job, settledIds } = jobs();
    void p.enqueue(
      job('a', 1, async () => {
        void (async () => {
          for (let i = 0; i < depth; i++) await null;
          void p.enqueue(job('b', 1));
        })();
      }),
    );
    await new Promise((r) => setTimeout(r, 1));
    void p.enqueue(job('c', 1));
    expect(await within(p.flush().then(() => 'flushed'), 50)).toBe('flushed');
    expect(settledIds()).toEqual(['a', 'b', 'c']);
  });

  it.each(depths)('enqueued %i microtasks after the collector answered, then another later', async (depth) => {
    const { job, settledIds } = jobs();
    const later: Array<() => void> = [];
    const exporter = new FakeExporter((_s, call) => {
      if (call === 1) queueMicrotask(() => later.shift()?.());
      return ok();
    });
    const p = pipeline(exporter);
    later.push(() => {
      // Starts in the same microtask turn as the first answer reaches the pipeline.
      void (async () => {
        for (let i = 0; i < depth; i++) await null;
        void p.enqueue(job('b', 1));
      })();
    });
    void p.enqueue(job('a', 1));
    await new Promise((r) => setTimeout(r, 1));
    void p.enqueue(job('c', 1));
    expect(await within(p.flush().then(() => 'flushed'), 50)).toBe('flushed');
    expect(settledIds()).toEqual(['a', 'b', 'c']);
  });
});
