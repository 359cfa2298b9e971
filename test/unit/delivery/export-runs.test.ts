/**
 * The one-shot export (README `import`, "Delivery", "Identity and parenting", "Library"): runs mapped,
 * batched as whole runs of up to 512 spans, sent, and what became of each reported; a refused batch
 * does not stop the others; the same records give byte-identical OTLP requests.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_MAX_SPANS_PER_BATCH,
  countSpans,
  exportRuns,
  mapRuns,
  planBatches,
  unfinishedRuns,
  type MappedRun,
} from '../../../src/delivery/export-runs.js';
import { ExportAttemptError } from '../../../src/delivery/otlp-transport.js';
import { createResource } from '../../../src/delivery/resource.js';
import type { DeliveryRetryPolicy } from '../../../src/delivery/send.js';
import { exportRecords } from '../../../src/export-records.js';
import type { RunRecord, SpanData } from '../../../src/mapping/types.js';
import { collectRecords } from '../../../src/sources/collect.js';
import {
  IDS,
  T0,
  TRACEPARENT,
  functionCall,
  message,
  run,
  runInProgress,
  step,
  toolCallsStep,
  validRun,
  validStep,
  without,
  type Json,
} from '../../fixtures/records.js';

// ---- helpers -------------------------------------------------------------------------------------

class CapturingExporter implements SpanExporter {
  readonly batches: ReadableSpan[][] = [];
  shutdown = vi.fn(() => Promise.resolve());
  constructor(private readonly answer: (spans: ReadableSpan[]) => ExportResult = () => ({ code: ExportResultCode.SUCCESS })) {}
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.batches.push(spans);
    const result = this.answer(spans);
    queueMicrotask(() => resultCallback(result));
  }
}

const FAST: DeliveryRetryPolicy = { maxAttempts: 2, initialDelayMillis: 1, maxDelayMillis: 1, multiplier: 1, jitterRatio: 0 };

/** Raw records of one completed run with `n` spans in all: the run, a tool_calls step, n-2 tool calls. */
function runRecords(runId: string, n: number, createdAt = T0): Json[] {
  const calls = Array.from({ length: n - 2 }, (_, i) => functionCall({ id: `call_${i}` }));
  return [run({ id: runId, created_at: createdAt }), toolCallsStep(calls, { run_id: runId, created_at: createdAt + 1 })];
}

function record(runId: string, n: number): RunRecord {
  const [r, s] = runRecords(runId, n);
  return { runId, run: validRun(r!), steps: [validStep(s!)] };
}

function mappedRuns(...sizes: number[]): MappedRun[] {
  return mapRuns(sizes.map((n, i) => record(`run_${String(i).padStart(3, '0')}`, n)));
}

const runIdOf = (span: SpanData) => span.subject.runId;

function batchShape(batches: SpanData[][]): { size: number; runs: string[] }[] {
  return batches.map((b) => ({ size: b.length, runs: [...new Set(b.map(runIdOf))] }));
}

// ---- planBatches ---------------------------------------------------------------------------------------

describe('planBatches', () => {
  it('defaults to 512 spans per batch', () => {
    expect(DEFAULT_MAX_SPANS_PER_BATCH).toBe(512);
    expect(batchShape(planBatches(mappedRuns(300, 300)))).toEqual([
      { size: 300, runs: ['run_000'] },
      { size: 300, runs: ['run_001'] },
    ]);
  });

  it('packs whole runs together, in order, up to the limit', () => {
    expect(batchShape(planBatches(mappedRuns(200, 200, 100, 20), 512))).toEqual([
      { size: 500, runs: ['run_000', 'run_001', 'run_002'] },
      { size: 20, runs: ['run_003'] },
    ]);
  });

  it('never splits a run that fits in a batch', () => {
    const mapped = mappedRuns(5, 7, 3, 9, 4, 6, 8, 4, 10);
    const batches = planBatches(mapped, 12);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(12);
    for (const { record: r, spans } of mapped) {
      const holding = batches.filter((b) => b.some((s) => runIdOf(s) === r.runId));
      expect(holding).toHaveLength(1);
      expect(holding[0]!.filter((s) => runIdOf(s) === r.runId)).toEqual(spans);
    }
  });

  it('splits only a run larger than a batch, keeping its spans in order', () => {
    const mapped = mappedRuns(10, 3);
    const batches = planBatches(mapped, 4);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(4);
    expect(batches.flat()).toEqual(mapped.flatMap((m) => m.spans));
    // The 3-span run is not split.
    expect(batches.filter((b) => b.some((s) => runIdOf(s) === 'run_001'))).toHaveLength(1);
  });

  it('puts a run of exactly the limit in one batch', () => {
    expect(batchShape(planBatches(mappedRuns(512), 512))).toEqual([{ size: 512, runs: ['run_000'] }]);
  });

  it('skips runs without spans', () => {
    const mapped = [...mapRuns([{ runId: 'run_live', run: validRun(runInProgress({ id: 'run_live' })), steps: [] }]), ...mappedRuns(3)];
    expect(batchShape(planBatches(mapped, 512))).toEqual([{ size: 3, runs: ['run_000'] }]);
  });

  it('is deterministic', () => {
    const first = planBatches(mappedRuns(7, 5, 9, 3, 11), 10);
    const second = planBatches(mappedRuns(7, 5, 9, 3, 11), 10);
    expect(second).toEqual(first);
  });
});

// ---- counting -------------------------------------------------------------------------------------------

describe('countSpans and unfinishedRuns', () => {
  it('counts runs, steps, tool calls and spans', () => {
    const mapped = mapRuns([record('run_a', 5), { runId: 'run_b', steps: [validStep(step({ run_id: 'run_b' }))] }]);
    expect(countSpans(mapped.flatMap((m) => m.spans))).toEqual({ runs: 2, steps: 2, toolCalls: 3, spans: 7 });
  });

  it('lists the runs whose run record says they are still going', () => {
    const live: RunRecord = { runId: 'run_live', run: validRun(runInProgress({ id: 'run_live' })), steps: [] };
    const orphan: RunRecord = { runId: 'run_orphan', steps: [validStep(step({ run_id: 'run_orphan' }))] };
    expect(unfinishedRuns([record('run_done', 3), live, orphan]).map((r) => r.runId)).toEqual(['run_live']);
  });
});

// ---- exportRuns ------------------------------------------------------------------------------------------

describe('exportRuns', () => {
  it('sends every span and says so', async () => {
    const exporter = new CapturingExporter();
    const runs = [record('run_a', 4), record('run_b', 3)];
    const result = await exportRuns(runs, { exporter, resource: createResource(), retry: FAST });
    expect(result).toEqual({
      mapped: { runs: 2, steps: 2, toolCalls: 3, spans: 7 },
      delivered: 7,
      collectorRejected: { spans: 0, messages: [] },
      failures: [],
      unfinished: [],
      aborted: false,
      inFlight: 0,
      unmapped: [],
    });
    expect(exporter.batches.map((b) => b.length)).toEqual([7]);
    expect(exporter.shutdown).not.toHaveBeenCalled();
  });

  it('exports the finished steps of a run still going under an unfinished run span, and lists the run as unfinished', async () => {
    const exporter = new CapturingExporter();
    const live: RunRecord = { runId: IDS.run, run: validRun(runInProgress()), steps: [validStep(step())] };
    const result = await exportRuns([live], { exporter, resource: createResource(), retry: FAST });
    expect(result.mapped).toEqual({ runs: 1, steps: 1, toolCalls: 0, spans: 2 });
    expect(result.delivered).toBe(2);
    expect(result.unfinished).toEqual([live]);
    const runSpan = exporter.batches.flat().find((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
    expect(runSpan?.attributes['assistants.run.unfinished']).toBe(true);
  });

  it('the caller can still leave unfinished runs without a run span', async () => {
    const exporter = new CapturingExporter();
    const live: RunRecord = { runId: IDS.run, run: validRun(runInProgress()), steps: [validStep(step())] };
    const result = await exportRuns([live], { exporter, resource: createResource(), retry: FAST, mapping: { unfinishedRunSpans: false } });
    expect(result.mapped).toEqual({ runs: 0, steps: 1, toolCalls: 0, spans: 1 });
  });

  it('a run whose mapping throws is reported with its reason; every other run is exported', async () => {
    const exporter = new CapturingExporter();
    // Hand-built (not validated): a step without an id makes the mapper throw.
    const broken: RunRecord = { runId: 'run_broken', steps: [{ ...validStep(step({ run_id: 'run_broken' })), id: '' }] };
    const runs = [record('run_a', 2), broken, record('run_b', 3)];
    const result = await exportRuns(runs, { exporter, resource: createResource(), retry: FAST });
    expect(result.unmapped).toEqual([{ runId: 'run_broken', reason: 'step 0 of run run_broken has no id (got an empty string)' }]);
    expect(result.delivered).toBe(result.mapped.spans);
    const runIds = new Set(exporter.batches.flat().map((s) => s.attributes['assistants.run.id']));
    expect([...runIds].sort()).toEqual(['run_a', 'run_b']);
  });

  it('a batch the collector refuses is reported; the other batches are still delivered', async () => {
    const refused = (spans: ReadableSpan[]) => spans.some((s) => s.attributes['assistants.run.id'] === 'run_b');
    const exporter = new CapturingExporter((spans) =>
      refused(spans)
        ? { code: ExportResultCode.FAILED, error: new ExportAttemptError('collector answered HTTP 400', 400, 'bad', false) }
        : { code: ExportResultCode.SUCCESS },
    );
    const runs = [record('run_a', 4), record('run_b', 4), record('run_c', 4)];
    const result = await exportRuns(runs, { exporter, resource: createResource(), retry: FAST, maxSpansPerBatch: 4 });
    expect(result.delivered).toBe(8);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ kind: 'rejected', status: 400 });
    expect(result.failures[0]!.spans.map((s) => s.attributes['assistants.run.id'])).toEqual(['run_b', 'run_b', 'run_b', 'run_b']);
    expect(exporter.batches).toHaveLength(3);
  });

  it('a batch that runs out of attempts is reported as given up', async () => {
    const exporter = new CapturingExporter(() => ({
      code: ExportResultCode.FAILED,
      error: new ExportAttemptError('collector answered HTTP 503', 503, '', true),
    }));
    const result = await exportRuns([record('run_a', 3)], { exporter, resource: createResource(), retry: FAST });
    expect(result.delivered).toBe(0);
    expect(result.failures).toEqual([expect.objectContaining({ kind: 'gave_up', attempts: 2 })]);
  });

  it('the same records give byte-identical OTLP requests (protobuf), from separate collections', async () => {
    const records = [...runRecords('run_a', 4), step({ id: 'step_msg', run_id: 'run_a' }), ...runRecords('run_b', 3, T0 + 50)];
    const bytes = async (input: Json[]) => {
      const exporter = new CapturingExporter();
      await exportRuns(collectRecords(input).runs, { exporter, resource: createResource(), retry: FAST });
      return exporter.batches.map((b) => Buffer.from(ProtobufTraceSerializer.serializeRequest(b)!));
    };
    const first = await bytes(structuredClone(records));
    const second = await bytes(structuredClone(records));
    expect(first.length).toBeGreaterThan(0);
    expect(second).toEqual(first);
  });

  it('reads runs from an async source as it sends, reporting each batch', async () => {
    const exporter = new CapturingExporter();
    const read: string[] = [];
    async function* source(): AsyncGenerator<RunRecord> {
      for (const id of ['run_a', 'run_b', 'run_c']) {
        read.push(id);
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield record(id, 4);
      }
    }
    const batches: Array<{ delivered: number; spans: number; readSoFar: number }> = [];
    const result = await exportRuns(source(), {
      exporter,
      resource: createResource(),
      retry: FAST,
      maxSpansPerBatch: 4,
      onBatch: (outcomes, counts) =>
        batches.push({ delivered: outcomes.filter((o) => o.kind === 'delivered').reduce((n, o) => n + o.spans.length, 0), spans: counts.spans, readSoFar: read.length }),
    });
    expect(result.delivered).toBe(12);
    // Run a's batch went out once run b was read (the batch was full), before run c was read.
    expect(batches).toEqual([
      { delivered: 4, spans: 4, readSoFar: 2 },
      { delivered: 4, spans: 4, readSoFar: 3 },
      { delivered: 4, spans: 4, readSoFar: 3 },
    ]);
  });

  it('an abort returns what was delivered, with the batch in flight counted apart, instead of rejecting', async () => {
    const controller = new AbortController();
    let calls = 0;
    const exporter: SpanExporter = {
      export(_spans, done) {
        calls++;
        // The first batch is acknowledged; the second never is: the user presses Ctrl-C meanwhile.
        if (calls === 1) queueMicrotask(() => done({ code: ExportResultCode.SUCCESS }));
        else setTimeout(() => controller.abort(), 5);
      },
      shutdown: () => Promise.resolve(),
    };
    const result = await exportRuns([record('run_a', 4), record('run_b', 3), record('run_c', 4)], {
      exporter,
      resource: createResource(),
      retry: FAST,
      maxSpansPerBatch: 4,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ aborted: true, delivered: 4, inFlight: 3, failures: [] });
    expect(calls).toBe(2);
  });

  it('an abort before anything is sent sends nothing', async () => {
    const exporter = new CapturingExporter();
    const result = await exportRuns([record('run_a', 4)], { exporter, resource: createResource(), retry: FAST, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ aborted: true, delivered: 0, inFlight: 0 });
    expect(exporter.batches).toEqual([]);
  });

  it('a run parented by a traceparent goes out in that trace, under that span', async () => {
    const exporter = new CapturingExporter();
    const parented: RunRecord = {
      runId: IDS.run,
      run: validRun(run({ metadata: { traceparent: TRACEPARENT.header } })),
      steps: [validStep(step())],
    };
    await exportRuns([parented], { exporter, resource: createResource(), retry: FAST });
    const request = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(exporter.batches[0]!)!).toString('utf8')) as {
      resourceSpans: { resource: { attributes: { key: string }[] }; scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[] }[];
    };
    const otlpSpans = request.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(otlpSpans.map((s) => s.traceId)).toEqual([TRACEPARENT.traceId, TRACEPARENT.traceId]);
    expect(otlpSpans[0]!.parentSpanId).toBe(TRACEPARENT.spanId);
    expect(otlpSpans[1]!.parentSpanId).toBe(otlpSpans[0]!.spanId);
    // Nothing per-process in the resource.
    expect(request.resourceSpans[0]!.resource.attributes.map((a) => a.key)).toEqual(['service.name']);
  });
});

// ---- exportRecords (the library call) ------------------------------------------------------------------------

describe('exportRecords', () => {
  it('validates, groups, maps and exports; reports rejected records and warnings; everything else is exported', async () => {
    const exporter = new CapturingExporter();
    const result = await exportRecords(
      [run({ temperature: 'hot' }), message(), without(step({ id: 'step_bad' }), 'run_id'), step()],
      { exporter, retry: FAST },
    );
    expect(result.delivered).toBe(2);
    expect(result.mapped).toEqual({ runs: 1, steps: 1, toolCalls: 0, spans: 2 });
    expect(result.rejected.map((r) => [r.location.pointer, r.id, r.issues.map((i) => i.path)])).toEqual([['$[2]', 'step_bad', ['run_id']]]);
    expect(result.warnings.map((w) => [w.id, w.issues.map((i) => i.path)])).toEqual([[IDS.run, ['temperature']]]);
    expect(exporter.shutdown).not.toHaveBeenCalled();
  });

  it('passes mapping options through (content off by default, on when asked)', async () => {
    const off = new CapturingExporter();
    await exportRecords([run()], { exporter: off, retry: FAST });
    expect(off.batches[0]![0]!.attributes).not.toHaveProperty('gen_ai.system_instructions');
    const on = new CapturingExporter();
    await exportRecords([run()], { exporter: on, retry: FAST, mapping: { captureContent: true } });
    expect(on.batches[0]![0]!.attributes['gen_ai.system_instructions']).toBe('You are a helpful assistant.');
  });

  it('needs somewhere to send', async () => {
    await expect(exportRecords([run()], {})).rejects.toThrow(/otlp|exporter/);
  });
});
