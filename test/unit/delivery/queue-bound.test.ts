/**
 * The delivery queue's bound (README "Delivery"): at most `maxQueuedSpans` spans and
 * `maxQueuedBytes` bytes held, queued or in flight, never more, whatever producers do. `enqueue`
 * waits for room (first come, first served) and takes a job in parts of at most a batch, so a job
 * larger than the queue still goes through; `hasRoomFor` / `waitForRoom` let a producer check
 * before doing work; `isBehind()` from the high-water mark, or while someone waits; waits end on
 * their signal or on `close()`. The byte estimate stays above the OTLP protobuf size.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeliveryPipeline, type DeliveryPipelineOptions, type ExportJob, type JobResult } from '../../../src/delivery/pipeline.js';
import { createResource } from '../../../src/delivery/resource.js';
import { estimateSpanBytes, estimateSpansBytes } from '../../../src/delivery/span-size.js';
import { toReadableSpan } from '../../../src/delivery/spans.js';
import type { SpanData } from '../../../src/mapping/types.js';
import { AbortedError } from '../../../src/util/backoff.js';

/** Holds every export until released; records the size of each call. */
class HoldingExporter implements SpanExporter {
  readonly sizes: number[] = [];
  private readonly held: Array<() => void> = [];
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.sizes.push(spans.length);
    this.held.push(() => resultCallback({ code: ExportResultCode.SUCCESS }));
  }
  release(): void {
    this.held.shift()?.();
  }
  get holding(): number {
    return this.held.length;
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function spans(runId: string, n: number, text = ''): SpanData[] {
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
    attributes: { 'assistants.run.id': runId, ...(text ? { 'gen_ai.tool.call.result': text } : {}) },
    status: { code: SpanStatusCode.UNSET },
    events: [],
  }));
}

function job(runId: string, n: number, settled: Map<string, JobResult>, text = ''): ExportJob {
  return { runId, spans: spans(runId, n, text), onSettled: async (result) => void settled.set(runId, result) };
}

function pipeline(exporter: SpanExporter, options: Partial<DeliveryPipelineOptions> = {}): DeliveryPipeline {
  return new DeliveryPipeline({ exporter, resource: createResource(), ...options });
}

async function ticks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('the bound on spans', () => {
  it('enqueue waits while the queue is full, and the bound is never exceeded; everything is delivered once', async () => {
    const exporter = new HoldingExporter();
    const p = pipeline(exporter, { maxQueuedSpans: 10, maxSpansPerBatch: 4 });
    const settled = new Map<string, JobResult>();
    const admitted: string[] = [];
    const producing = (async () => {
      for (let i = 0; i < 8; i++) {
        await p.enqueue(job(`run_${i}`, 3, settled));
        admitted.push(`run_${i}`);
        expect(p.depth().spans).toBeLessThanOrEqual(10);
      }
    })();
    await ticks();
    // 3 runs (9 spans) fit; the 4th (3 more) waits.
    expect(admitted).toEqual(['run_0', 'run_1', 'run_2']);
    expect(p.depth().spans).toBe(9);
    expect(p.isBehind()).toBe(true); // someone waits
    while (settled.size < 8) {
      exporter.release();
      await ticks();
      expect(p.depth().spans).toBeLessThanOrEqual(10);
    }
    await producing;
    await p.flush();
    expect(p.depth()).toMatchObject({ spans: 0, bytes: 0, peakSpans: 9 });
    expect(exporter.sizes.reduce((a, b) => a + b, 0)).toBe(24);
  });

  it('a job larger than the whole queue goes through, in parts, one batch of room at a time', async () => {
    const exporter = new HoldingExporter();
    const p = pipeline(exporter, { maxQueuedSpans: 6, maxSpansPerBatch: 4 });
    const settled = new Map<string, JobResult>();
    const enqueued = p.enqueue(job('run_big', 20, settled));
    await ticks();
    expect(p.depth().spans).toBeLessThanOrEqual(6);
    while (exporter.holding > 0) {
      exporter.release();
      await ticks();
      expect(p.depth().spans).toBeLessThanOrEqual(6);
    }
    await enqueued;
    await p.flush();
    expect(settled.get('run_big')).toEqual({ delivered: 20, setAside: 0 });
    expect(p.depth().peakSpans).toBeLessThanOrEqual(6);
    expect(exporter.sizes.every((n) => n <= 4)).toBe(true);
  });

  it('first come, first served: a small job does not overtake a large one waiting for room', async () => {
    const exporter = new HoldingExporter();
    const p = pipeline(exporter, { maxQueuedSpans: 4, maxSpansPerBatch: 4 });
    const settled = new Map<string, JobResult>();
    const order: string[] = [];
    await p.enqueue(job('run_first', 3, settled));
    const big = p.enqueue(job('run_big', 4, settled)).then(() => order.push('big'));
    const small = p.enqueue(job('run_small', 1, settled)).then(() => order.push('small'));
    await ticks();
    expect(order).toEqual([]); // 1 span of room: the small one would fit, but waits its turn
    expect(p.hasRoomFor(1)).toBe(false);
    exporter.release();
    await ticks();
    exporter.release();
    await ticks();
    exporter.release();
    await Promise.all([big, small]);
    await ticks();
    exporter.release();
    await p.flush();
    expect(order).toEqual(['big', 'small']);
  });

  it('fuzzed producers and exporter: never more than the bound held, every span delivered exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 15 }), fc.integer({ min: 5, max: 40 }), async (sizes, bound) => {
        const exporter = new HoldingExporter();
        const p = pipeline(exporter, { maxQueuedSpans: bound, maxSpansPerBatch: 7 });
        const settled = new Map<string, JobResult>();
        const producing = Promise.all(sizes.map((n, i) => p.enqueue(job(`run_${i}`, n, settled))));
        let peak = 0;
        while (settled.size < sizes.length) {
          peak = Math.max(peak, p.depth().spans);
          exporter.release();
          await ticks(5);
        }
        await producing;
        expect(peak).toBeLessThanOrEqual(bound);
        expect(p.depth().peakSpans).toBeLessThanOrEqual(bound);
        expect([...settled.values()].reduce((a, r) => a + r.delivered, 0)).toBe(sizes.reduce((a, b) => a + b, 0));
      }),
      { numRuns: 40 },
    );
  });
});

describe('the bound on bytes', () => {
  it('large spans (captured content) are bounded by bytes before spans', async () => {
    const exporter = new HoldingExporter();
    const text = 'x'.repeat(20_000);
    const p = pipeline(exporter, { maxQueuedBytes: 100_000 });
    const settled = new Map<string, JobResult>();
    const producing = Promise.all([0, 1, 2].map((i) => p.enqueue(job(`run_${i}`, 3, settled, text))));
    await ticks();
    expect(p.depth().bytes).toBeLessThanOrEqual(100_000);
    expect(p.depth().spans).toBeLessThan(9);
    while (settled.size < 3) {
      exporter.release();
      await ticks();
      expect(p.depth().bytes).toBeLessThanOrEqual(100_000);
    }
    await producing;
    expect(p.depth().peakBytes).toBeLessThanOrEqual(100_000);
  });

  it('one span larger than the whole byte bound is set aside (never held), and its job still settles', async () => {
    const exporter = new HoldingExporter();
    const asides: string[] = [];
    const p = pipeline(exporter, { maxQueuedBytes: 10_000, setAside: async (s, reason) => void asides.push(`${s.length} ${reason}`) });
    const settled = new Map<string, JobResult>();
    const big = job('run_huge', 2, settled);
    (big.spans[1] as SpanData).attributes['gen_ai.tool.call.result'] = 'y'.repeat(50_000);
    await p.enqueue(big);
    exporter.release();
    await p.flush();
    expect(settled.get('run_huge')).toEqual({ delivered: 1, setAside: 1, setAsideReason: expect.stringContaining("larger than the delivery queue's bound") });
    expect(asides).toEqual([expect.stringMatching(/^1 a span of \d+ bytes is larger than the delivery queue's bound \(10000 bytes, --max-queued-bytes\)$/)]);
  });

  it('the estimate is never below what the span adds to an OTLP protobuf request', () => {
    const resource = createResource();
    const encoded = (list: SpanData[]) => (ProtobufTraceSerializer.serializeRequest(list.map((x) => toReadableSpan(x, resource))) as Uint8Array).length;
    const [base] = spans('run_x', 1) as [SpanData];
    const value = fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 30 }), value), { maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 80 }), (attributes, name) => {
        const span: SpanData = { ...base, name, attributes: Object.fromEntries(attributes) };
        // The request's resource and scope are paid once per request; a span adds its own bytes.
        expect(estimateSpanBytes(span)).toBeGreaterThanOrEqual(encoded([base, span]) - encoded([base]));
      }),
      { numRuns: 200 },
    );
    expect(estimateSpansBytes(spans('run_x', 3))).toBe(3 * estimateSpanBytes(base));
  });
});

describe('producers that check first, and waits that end', () => {
  it('hasRoomFor / waitForRoom: look without taking; a request is clamped to one batch', async () => {
    const exporter = new HoldingExporter();
    const p = pipeline(exporter, { maxQueuedSpans: 8, maxSpansPerBatch: 4 });
    const settled = new Map<string, JobResult>();
    expect(p.hasRoomFor(1_000_000)).toBe(true); // clamped to a batch (4): there is room for a part
    await p.enqueue(job('run_a', 6, settled));
    expect(p.hasRoomFor(2)).toBe(true);
    expect(p.hasRoomFor(3)).toBe(false);
    let room = false;
    const waiting = p.waitForRoom(4).then(() => (room = true));
    await ticks();
    expect(room).toBe(false);
    exporter.release(); // 4 acknowledged: 2 held
    await waiting;
    expect(room).toBe(true);
    expect(p.depth().spans).toBe(2); // looking took nothing
  });

  it('tryEnqueue: the whole job now, or nothing (false), for a producer that refuses rather than waits', async () => {
    const exporter = new HoldingExporter();
    const p = pipeline(exporter, { maxQueuedSpans: 10, maxSpansPerBatch: 4 });
    const settled = new Map<string, JobResult>();
    expect(p.tryEnqueue(job('run_a', 7, settled))).toBe(true);
    expect(p.depth().spans).toBe(7);
    expect(p.tryEnqueue(job('run_b', 4, settled))).toBe(false); // 11 > 10: nothing of it queued
    expect(p.depth().spans).toBe(7);
    expect(p.tryEnqueue(job('run_c', 3, settled))).toBe(true);
    expect(p.tryEnqueue(job('run_huge', 11, settled))).toBe(false); // never fits whole: enqueue it
    while (exporter.holding > 0) {
      exporter.release();
      await ticks();
    }
    await p.flush();
    expect([...settled.keys()].sort()).toEqual(['run_a', 'run_c']);
    expect(settled.get('run_a')).toEqual({ delivered: 7, setAside: 0 });
  });

  it('an enqueue waiting for room ends with AbortedError on its signal; close() refuses waiting producers', async () => {
    const exporter = new HoldingExporter();
    const p = pipeline(exporter, { maxQueuedSpans: 2 });
    const settled = new Map<string, JobResult>();
    await p.enqueue(job('run_a', 2, settled));
    const controller = new AbortController();
    const aborted = p.enqueue(job('run_b', 1, settled), controller.signal);
    const closedOut = p.enqueue(job('run_c', 1, settled));
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    const closing = p.close();
    await expect(closedOut).rejects.toThrow(/closed/);
    exporter.release();
    await closing;
    expect([...settled.keys()]).toEqual(['run_a']);
  });
});
