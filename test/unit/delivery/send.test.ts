/**
 * Delivering one batch (README "Delivery"): 429, 502, 503, 504, timeouts and connection errors are
 * retried with jittered exponential backoff that never fires before `Retry-After`; a 413 splits the
 * batch in halves; any other refusal (other 4xx, 500, 501) is final for that batch; one-shot commands
 * give up after 5 attempts per batch.
 *
 * The exporter is a fake `SpanExporter` that answers each attempt the way the project's OTLP transport
 * does (an `ExportAttemptError` carrying the status, whether it is retryable and `Retry-After`).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExportAttemptError } from '../../../src/delivery/otlp-transport.js';
import { createResource } from '../../../src/delivery/resource.js';
import { ONE_SHOT_RETRY, sendBatch, type BatchOutcome, type DeliveryRetryPolicy, type RetryNotice } from '../../../src/delivery/send.js';
import { toReadableSpan } from '../../../src/delivery/spans.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { AbortedError } from '../../../src/util/backoff.js';
import { functionCall, run, toolCallsStep, validRun, validStep } from '../../fixtures/records.js';

// ---- fakes -----------------------------------------------------------------------------------------

type Answer = (spans: ReadableSpan[], attempt: number) => ExportResult;

class FakeExporter implements SpanExporter {
  readonly calls: ReadableSpan[][] = [];
  constructor(private readonly answer: Answer) {}
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.calls.push(spans);
    const result = this.answer(spans, this.calls.length);
    // Answer asynchronously, as a network exporter does.
    queueMicrotask(() => resultCallback(result));
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The statuses the README says are worth retrying. */
const RETRYABLE = new Set([429, 502, 503, 504]);

const ok = (): ExportResult => ({ code: ExportResultCode.SUCCESS });

function http(status: number, retryAfterMillis?: number): ExportResult {
  return {
    code: ExportResultCode.FAILED,
    error: new ExportAttemptError(`collector answered HTTP ${status}`, status, '', RETRYABLE.has(status), retryAfterMillis),
  };
}

const connectionRefused = (): ExportResult => ({
  code: ExportResultCode.FAILED,
  error: new ExportAttemptError('could not reach the collector (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:4318)', undefined, undefined, true),
});

const timedOut = (): ExportResult => ({
  code: ExportResultCode.FAILED,
  error: new ExportAttemptError('could not reach the collector (no answer within 10000 ms)', undefined, undefined, true),
});

/** Fails with `first` on the first `times` attempts, then succeeds. */
const failing = (first: () => ExportResult, times = 1): Answer => (_spans, attempt) => (attempt <= times ? first() : ok());

/** Tiny delays keep the suite fast; no jitter makes them exact. */
const FAST: DeliveryRetryPolicy = { maxAttempts: 5, initialDelayMillis: 1, maxDelayMillis: 4, multiplier: 2, jitterRatio: 0 };

/** `n` real spans: a run, its tool_calls step and n-2 tool calls. */
function spans(n: number): ReadableSpan[] {
  const calls = Array.from({ length: n - 2 }, (_, i) => functionCall({ id: `call_${i}` }));
  const data = mapRunToSpans({ runId: 'run_abc123', run: validRun(run()), steps: [validStep(toolCallsStep(calls))] });
  expect(data).toHaveLength(n);
  const resource = createResource();
  return data.map((s) => toReadableSpan(s, resource));
}

const idsOf = (list: ReadableSpan[]) => list.map((s) => s.spanContext().spanId);
const sizes = (calls: ReadableSpan[][]) => calls.map((c) => c.length);

afterEach(() => {
  vi.useRealTimers();
});

// ---- tests -------------------------------------------------------------------------------------------

describe('sendBatch', () => {
  it('delivers in one attempt when the collector accepts', async () => {
    const batch = spans(4);
    const exporter = new FakeExporter(ok);
    expect(await sendBatch(exporter, batch, { policy: FAST })).toEqual([{ kind: 'delivered', spans: batch }]);
    expect(exporter.calls).toEqual([batch]);
  });

  it('sends nothing for an empty batch', async () => {
    const exporter = new FakeExporter(ok);
    expect(await sendBatch(exporter, [], { policy: FAST })).toEqual([]);
    expect(exporter.calls).toEqual([]);
  });

  it.each<[string, () => ExportResult, number | undefined]>([
    ['429', () => http(429), 429],
    ['502', () => http(502), 502],
    ['503', () => http(503), 503],
    ['504', () => http(504), 504],
    ['a connection error', connectionRefused, undefined],
    ['a timeout', timedOut, undefined],
  ])('retries after %s, then delivers', async (_name, failure, status) => {
    const batch = spans(3);
    const exporter = new FakeExporter(failing(failure, 2));
    const notices: RetryNotice[] = [];
    const outcomes = await sendBatch(exporter, batch, { policy: FAST, onRetry: (n) => notices.push(n) });
    expect(outcomes).toEqual([{ kind: 'delivered', spans: batch }]);
    expect(exporter.calls).toEqual([batch, batch, batch]);
    expect(notices.map((n) => [n.attempt, n.status])).toEqual([
      [1, status],
      [2, status],
    ]);
  });

  it.each([400, 401, 403, 404, 409, 422, 500, 501])('does not retry HTTP %i: the batch is rejected for good', async (status) => {
    const batch = spans(3);
    const exporter = new FakeExporter(() => http(status));
    const onRetry = vi.fn();
    const outcomes = await sendBatch(exporter, batch, { policy: FAST, onRetry });
    expect(outcomes).toEqual([{ kind: 'rejected', spans: batch, status, reason: expect.any(String) }]);
    expect(exporter.calls).toHaveLength(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('gives up after maxAttempts, reporting the attempts', async () => {
    const batch = spans(3);
    const exporter = new FakeExporter(() => http(503));
    const outcomes = await sendBatch(exporter, batch, { policy: { ...FAST, maxAttempts: 3 } });
    expect(outcomes).toEqual([{ kind: 'gave_up', spans: batch, attempts: 3, reason: expect.any(String) }]);
    expect(exporter.calls).toHaveLength(3);
  });

  it('one-shot commands give up after 5 attempts per batch', async () => {
    vi.useFakeTimers();
    expect(ONE_SHOT_RETRY.maxAttempts).toBe(5);
    const batch = spans(3);
    const exporter = new FakeExporter(() => http(502));
    const pending = sendBatch(exporter, batch, { policy: ONE_SHOT_RETRY, random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(120_000);
    const outcomes = await pending;
    expect(outcomes).toEqual([{ kind: 'gave_up', spans: batch, attempts: 5, reason: expect.any(String) }]);
    expect(exporter.calls).toHaveLength(5);
  });

  describe('Retry-After', () => {
    it.each([0, 0.5, 0.999999])('never retries before Retry-After (random=%s)', async (r) => {
      vi.useFakeTimers();
      const batch = spans(3);
      const exporter = new FakeExporter(failing(() => http(429, 3_000)));
      const notices: RetryNotice[] = [];
      const pending = sendBatch(exporter, batch, { policy: ONE_SHOT_RETRY, random: () => r, onRetry: (n) => notices.push(n) });
      await vi.advanceTimersByTimeAsync(2_999);
      expect(exporter.calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await pending).toEqual([{ kind: 'delivered', spans: batch }]);
      expect(exporter.calls).toHaveLength(2);
      expect(notices[0]!.delayMillis).toBeGreaterThanOrEqual(3_000);
    });

    it('waits for a Retry-After longer than the policy ceiling', async () => {
      vi.useFakeTimers();
      const batch = spans(3);
      const exporter = new FakeExporter(failing(() => http(503, 60_000)));
      const pending = sendBatch(exporter, batch, { policy: ONE_SHOT_RETRY, random: () => 0 });
      await vi.advanceTimersByTimeAsync(59_999);
      expect(exporter.calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(await pending).toEqual([{ kind: 'delivered', spans: batch }]);
    });

    it('backs off exponentially without Retry-After', async () => {
      const exporter = new FakeExporter(() => http(503));
      const notices: RetryNotice[] = [];
      const policy: DeliveryRetryPolicy = { maxAttempts: 5, initialDelayMillis: 1, maxDelayMillis: 4, multiplier: 2, jitterRatio: 0 };
      await sendBatch(exporter, spans(3), { policy, onRetry: (n) => notices.push(n) });
      expect(notices.map((n) => n.delayMillis)).toEqual([1, 2, 4, 4]);
    });
  });

  describe('413 Payload Too Large', () => {
    it('splits the batch in halves until the parts are accepted, delivering every span once, in order', async () => {
      const batch = spans(8);
      const exporter = new FakeExporter((s) => (s.length > 2 ? http(413) : ok()));
      const outcomes = await sendBatch(exporter, batch, { policy: FAST });
      expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
      expect(outcomes.map((o) => o.spans.length)).toEqual([2, 2, 2, 2]);
      expect(idsOf(outcomes.flatMap((o) => o.spans))).toEqual(idsOf(batch));
      expect(sizes(exporter.calls)).toEqual([8, 4, 2, 2, 4, 2, 2]);
    });

    it('splits down to single spans; a single span still too large is rejected, the others delivered', async () => {
      const batch = spans(5);
      const huge = batch[3]!.spanContext().spanId;
      const exporter = new FakeExporter((s) => (s.some((span) => span.spanContext().spanId === huge) ? http(413) : ok()));
      const outcomes = await sendBatch(exporter, batch, { policy: FAST });
      const rejected = outcomes.filter((o): o is Extract<BatchOutcome, { kind: 'rejected' }> => o.kind === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.status).toBe(413);
      expect(idsOf(rejected[0]!.spans)).toEqual([huge]);
      const delivered = outcomes.filter((o) => o.kind === 'delivered').flatMap((o) => o.spans);
      expect(idsOf(delivered)).toEqual(idsOf(batch).filter((id) => id !== huge));
    });

    it('a part that then meets a retryable error is retried on its own', async () => {
      const batch = spans(4);
      let failedOnce = false;
      const exporter = new FakeExporter((s) => {
        if (s.length > 2) return http(413);
        if (!failedOnce) {
          failedOnce = true;
          return http(503);
        }
        return ok();
      });
      const outcomes = await sendBatch(exporter, batch, { policy: FAST });
      expect(outcomes.map((o) => [o.kind, o.spans.length])).toEqual([
        ['delivered', 2],
        ['delivered', 2],
      ]);
      expect(sizes(exporter.calls)).toEqual([4, 2, 2, 2]);
    });
  });

  describe('abort', () => {
    it('rejects with AbortedError, without exporting, when already aborted', async () => {
      const exporter = new FakeExporter(ok);
      const controller = new AbortController();
      controller.abort();
      await expect(sendBatch(exporter, spans(3), { policy: FAST, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
      expect(exporter.calls).toEqual([]);
    });

    it('stops waiting between attempts as soon as the signal aborts', async () => {
      // A minute: under the one-shot cap (5 minutes), so it is waited for, until the abort.
      const exporter = new FakeExporter(() => http(503, 60_000));
      const controller = new AbortController();
      const started = Date.now();
      const pending = sendBatch(exporter, spans(3), {
        policy: ONE_SHOT_RETRY,
        signal: controller.signal,
        onRetry: () => setTimeout(() => controller.abort(), 5),
      });
      await expect(pending).rejects.toBeInstanceOf(AbortedError);
      expect(exporter.calls).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });
});
