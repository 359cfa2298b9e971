/**
 * Poison isolation (README "Delivery"): a batch the exporter cannot send because of its content (a
 * serializer that throws, an exporter that throws, a stack overflow, a collector's 400 or
 * INVALID_ARGUMENT) fails that run only: the batch is bisected by run, the run at fault is set
 * aside with the reason, every other run is delivered. Classified by what the exporter reports, so
 * any `SpanExporter` behaves the same (custom ones here; the real exporter in
 * test/integration/delivery/poison.test.ts). Also: partial success outcomes, and a `Retry-After`
 * beyond the cap (one-shot gives up at once; the sidecar waits the cap).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PartialSuccessError } from '../../../src/delivery/partial-success.js';
import { exportRuns } from '../../../src/delivery/export-runs.js';
import { ExportAttemptError } from '../../../src/delivery/otlp-transport.js';
import { createResource } from '../../../src/delivery/resource.js';
import { ONE_SHOT_RETRY, SIDECAR_RETRY, sendGroups, UNCLASSIFIED_ATTEMPTS, type DeliveryRetryPolicy, type RetryNotice } from '../../../src/delivery/send.js';
import { toReadableSpan } from '../../../src/delivery/spans.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import type { RunRecord } from '../../../src/mapping/types.js';
import { run, step, validRun, validStep } from '../../fixtures/records.js';

const FAST: DeliveryRetryPolicy = { maxAttempts: 5, initialDelayMillis: 1, maxDelayMillis: 2, multiplier: 2, jitterRatio: 0 };
const runIdOf = (span: ReadableSpan) => String(span.attributes['assistants.run.id']);

function record(runId: string): RunRecord {
  return { runId, run: validRun(run({ id: runId })), steps: [validStep(step({ id: `step_${runId}`, run_id: runId }))] };
}

function group(runId: string): ReadableSpan[] {
  return mapRunToSpans(record(runId)).map((s) => toReadableSpan(s, createResource()));
}

/** A custom exporter: `answer` decides from the spans of each call; records the runs of each call. */
class CustomExporter implements SpanExporter {
  readonly calls: string[][] = [];
  constructor(private readonly answer: (spans: ReadableSpan[]) => ExportResult | 'throw' | 'overflow') {}
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.calls.push([...new Set(spans.map(runIdOf))]);
    const answer = this.answer(spans);
    if (answer === 'throw') throw new Error('exporter exploded');
    if (answer === 'overflow') {
      const recurse = (n: number): number => recurse(n + 1) + 1;
      recurse(0); // a real stack overflow, thrown synchronously
    }
    queueMicrotask(() => resultCallback(answer as ExportResult));
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const ok: ExportResult = { code: ExportResultCode.SUCCESS };
const failed = (error?: Error): ExportResult => ({ code: ExportResultCode.FAILED, ...(error ? { error } : {}) });
const has = (spans: ReadableSpan[], runId: string) => spans.some((s) => runIdOf(s) === runId);

const HEALTHY = ['run_a', 'run_b', 'run_c', 'run_d'];

afterEach(() => {
  vi.useRealTimers();
});

describe('poison isolation: one bad run among healthy ones', () => {
  it.each([
    ['an exporter that throws synchronously', (): ExportResult | 'throw' => 'throw', /the exporter threw: exporter exploded/],
    ['a stack overflow inside the exporter', (): ExportResult | 'overflow' => 'overflow', /Maximum call stack size exceeded/],
    ['a serializer error reported through the callback (TypeError)', () => failed(new TypeError('Cannot convert a BigInt value to a number')), /TypeError: Cannot convert a BigInt/],
    ['a collector that refuses the content (400)', () => failed(new ExportAttemptError('collector answered HTTP 400', 400, 'bad', false)), /HTTP 400/],
    ['a gRPC INVALID_ARGUMENT', () => failed(Object.assign(new Error('3 INVALID_ARGUMENT: bad'), { code: 3, details: 'bad' })), /gRPC INVALID_ARGUMENT: bad/],
  ])('%s: the bad run is set aside with the reason, the four others are delivered', async (_name, poison, reason) => {
    const exporter = new CustomExporter((spans) => (has(spans, 'run_bad') ? poison() : ok));
    const groups = ['run_a', 'run_b', 'run_bad', 'run_c', 'run_d'].map(group);
    const outcomes = await sendGroups(exporter, groups, { policy: SIDECAR_RETRY });
    const delivered = outcomes.filter((o) => o.kind === 'delivered').flatMap((o) => o.spans.map(runIdOf));
    const setAside = outcomes.filter((o) => o.kind !== 'delivered');
    expect([...new Set(delivered)].sort()).toEqual(HEALTHY);
    expect(delivered).toHaveLength(8); // every healthy span, once
    expect(setAside).toHaveLength(1);
    expect(setAside[0]?.spans.map(runIdOf)).toEqual(['run_bad', 'run_bad']);
    expect(setAside[0]).toMatchObject({ kind: expect.stringMatching(/^(unexportable|rejected)$/), reason: expect.stringMatching(reason) });
    // Bisection, not one request per run up front: 5 runs cost at most 2·5-1 calls.
    expect(exporter.calls.length).toBeLessThanOrEqual(9);
  });

  it('two bad runs: both are found and set aside, the others delivered', async () => {
    const exporter = new CustomExporter((spans) => (has(spans, 'run_bad1') || has(spans, 'run_bad2') ? 'throw' : ok));
    const groups = ['run_bad1', 'run_a', 'run_b', 'run_c', 'run_bad2', 'run_d'].map(group);
    const outcomes = await sendGroups(exporter, groups, { policy: SIDECAR_RETRY });
    expect(outcomes.filter((o) => o.kind === 'unexportable').map((o) => runIdOf(o.spans[0] as ReadableSpan)).sort()).toEqual(['run_bad1', 'run_bad2']);
    expect([...new Set(outcomes.filter((o) => o.kind === 'delivered').flatMap((o) => o.spans.map(runIdOf)))].sort()).toEqual(HEALTHY);
  });

  it('a refusal whatever the content (401) sets the whole batch aside at once, without bisecting', async () => {
    const exporter = new CustomExporter(() => failed(new ExportAttemptError('collector answered HTTP 401', 401, '', false)));
    const outcomes = await sendGroups(exporter, HEALTHY.map(group), { policy: SIDECAR_RETRY });
    expect(exporter.calls).toHaveLength(1);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: 'rejected', status: 401 });
  });

  it(`an error of unknown meaning is retried ${UNCLASSIFIED_ATTEMPTS} times, then treated as the batch's fault`, async () => {
    const exporter = new CustomExporter((spans) => (has(spans, 'run_bad') ? failed(new Error('something odd')) : ok));
    const outcomes = await sendGroups(exporter, [group('run_bad')], { policy: { ...SIDECAR_RETRY, initialDelayMillis: 1, maxDelayMillis: 2 } });
    expect(exporter.calls).toHaveLength(UNCLASSIFIED_ATTEMPTS);
    expect(outcomes).toEqual([{ kind: 'unexportable', spans: expect.any(Array), reason: `something odd (failed ${UNCLASSIFIED_ATTEMPTS} times, with no sign of a network problem)` }]);
  });

  it('a transient failure met while bisecting is retried, not set aside', async () => {
    let flaky = 2;
    const exporter = new CustomExporter((spans) => {
      if (has(spans, 'run_bad')) return 'throw';
      if (has(spans, 'run_a') && flaky-- > 0) return failed(new ExportAttemptError('collector answered HTTP 503', 503, '', true));
      return ok;
    });
    const outcomes = await sendGroups(exporter, ['run_a', 'run_bad'].map(group), { policy: FAST });
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['delivered', 'unexportable']);
  });

  it('the library\'s exportRuns: the same, with any SpanExporter; the run at fault is a failure, the others are delivered', async () => {
    const exporter = new CustomExporter((spans) => (has(spans, 'run_bad') ? 'overflow' : ok));
    const result = await exportRuns(['run_a', 'run_b', 'run_bad', 'run_c', 'run_d'].map(record), { exporter, resource: createResource(), retry: FAST });
    expect(result.delivered).toBe(8);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ kind: 'unexportable', reason: expect.stringMatching(/Maximum call stack size exceeded/) });
  });
});

describe('partial success', () => {
  it('is reported with the count and message, never as delivered; a message without rejections is a warning', async () => {
    const partial = (rejectedSpans: number, message: string): ExportResult => ({ code: ExportResultCode.SUCCESS, error: new PartialSuccessError({ rejectedSpans, message }) });
    const spans = group('run_a');
    expect(await sendGroups(new CustomExporter(() => partial(1, 'invalid span')), [spans], { policy: FAST })).toEqual([
      { kind: 'partially_rejected', spans, rejectedSpans: 1, message: 'invalid span' },
    ]);
    expect(await sendGroups(new CustomExporter(() => partial(0, 'deprecated field')), [spans], { policy: FAST })).toEqual([
      { kind: 'delivered', spans, collectorWarning: 'deprecated field' },
    ]);
    // More rejected than sent (a confused collector): no more than the batch.
    expect(await sendGroups(new CustomExporter(() => partial(99, '')), [spans], { policy: FAST })).toEqual([{ kind: 'partially_rejected', spans, rejectedSpans: 2, message: '' }]);
  });

  it('exportRuns counts it in collectorRejected, not in delivered', async () => {
    const exporter = new CustomExporter(() => ({ code: ExportResultCode.SUCCESS, error: new PartialSuccessError({ rejectedSpans: 3, message: 'too many attributes' }) }));
    const result = await exportRuns(['run_a', 'run_b'].map(record), { exporter, resource: createResource(), retry: FAST });
    expect(result).toMatchObject({ delivered: 1, collectorRejected: { spans: 3, messages: ['too many attributes'] }, failures: [] });
  });
});

describe('a Retry-After beyond the cap', () => {
  const thirtyFiveDays = 35 * 86_400 * 1000;
  const slowDown = () => failed(new ExportAttemptError('collector answered HTTP 503', 503, '', true, thirtyFiveDays));

  it('one-shot: gives up at once, saying how long the collector asked for and what the cap is', async () => {
    const exporter = new CustomExporter(slowDown);
    const outcomes = await sendGroups(exporter, [group('run_a')], { policy: ONE_SHOT_RETRY });
    expect(exporter.calls).toHaveLength(1);
    expect(outcomes).toEqual([
      {
        kind: 'gave_up',
        spans: expect.any(Array),
        attempts: 1,
        reason: 'the collector asked to wait 35 days (collector answered HTTP 503), longer than the longest wait allowed (5 min, --max-retry-delay); giving up',
      },
    ]);
  });

  it('sidecar: waits the cap (not 35 days, and not zero: no hot loop), then asks again', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const exporter = new CustomExporter(() => (++calls <= 2 ? slowDown() : ok));
    const notices: RetryNotice[] = [];
    const pending = sendGroups(exporter, [group('run_a')], { policy: { ...SIDECAR_RETRY, delayCapMillis: 60_000 }, onRetry: (n) => notices.push(n), random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(exporter.calls).toHaveLength(1); // not a hot loop: a timer past the limit would have fired at once
    await vi.advanceTimersByTimeAsync(1_000);
    expect(exporter.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await pending).toEqual([{ kind: 'delivered', spans: expect.any(Array) }]);
    expect(notices.map((n) => [n.delayMillis, n.capped])).toEqual([
      [60_000, true],
      [60_000, true],
    ]);
  });
});
