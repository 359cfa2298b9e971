/**
 * The real exporter (createOtlpTraceExporter: official exporter class, delegate and serializers,
 * our HTTP transport) against the real receiver, for what goes beyond "accepted":
 * - a span the official serializer cannot encode (a stack overflow: a self-containing attribute)
 *   poisons only its run: the sidecar's pipeline sets that run aside, writes what it can of it to
 *   the rejected directory, settles it (so it is not exported again), and delivers the others;
 * - a partial success (`rejected_spans`, `error_message`), over protobuf and OTLP/JSON, is
 *   counted as rejected with the collector's message, never as delivered.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createOtlpTraceExporter } from '../../../src/delivery/exporter.js';
import { exportRuns } from '../../../src/delivery/export-runs.js';
import { DeliveryPipeline, type JobResult } from '../../../src/delivery/pipeline.js';
import { createResource } from '../../../src/delivery/resource.js';
import type { DeliveryRetryPolicy } from '../../../src/delivery/send.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import type { RunRecord, SpanData } from '../../../src/mapping/types.js';
import { directorySetAside } from '../../../src/sidecar/set-aside.js';
import { run, step, validRun, validStep } from '../../fixtures/records.js';
import { partialSuccessReply, startOtlpReceiver, type OtlpReceiver } from '../../support/otlp-receiver.js';
import { recordingLogger } from '../../support/recording-logger.js';

const FAST: DeliveryRetryPolicy = { maxAttempts: Infinity, initialDelayMillis: 5, maxDelayMillis: 10, multiplier: 2, jitterRatio: 0 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function receiver(): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver();
  cleanups.push(() => r.close());
  return r;
}

function record(runId: string): RunRecord {
  return { runId, run: validRun(run({ id: runId })), steps: [validStep(step({ id: `step_${runId}`, run_id: runId }))] };
}

describe('a span the serializer cannot encode', () => {
  it('sets its run aside (written, counted, settled) and delivers the four other runs', async () => {
    const r = await receiver();
    const dir = await mkdtemp(path.join(tmpdir(), 'assistants-otel-poison-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { logger, lines } = recordingLogger();
    let setAside = 0;
    const pipeline = new DeliveryPipeline({
      exporter: createOtlpTraceExporter({ url: r.tracesUrl }),
      resource: createResource(),
      retry: FAST,
      logger,
      setAside: directorySetAside(dir),
      onSetAside: (n) => (setAside += n),
    });
    const settled = new Map<string, JobResult>();
    const ids = ['run_a', 'run_b', 'run_bad', 'run_c', 'run_d'];
    const jobs = ids.map((runId) => {
      const spans: SpanData[] = mapRunToSpans(record(runId));
      if (runId === 'run_bad') {
        const loop: unknown[] = [];
        loop.push(loop);
        (spans[0] as SpanData).attributes['assistants.run.metadata.loop'] = loop as never;
      }
      return { runId, spans, onSettled: async (result: JobResult) => void settled.set(runId, result) };
    });
    for (const job of jobs) await pipeline.enqueue(job);
    await pipeline.flush();

    expect([...new Set(r.spans().map((s) => s.attributes['assistants.run.id']))].sort()).toEqual(['run_a', 'run_b', 'run_c', 'run_d']);
    expect(r.spans()).toHaveLength(8);
    expect(Object.fromEntries(settled)).toEqual({
      run_a: { delivered: 2, setAside: 0 },
      run_b: { delivered: 2, setAside: 0 },
      run_bad: { delivered: 0, setAside: 2, setAsideReason: expect.stringMatching(/^could not encode 2 span\(s\) as OTLP/) },
      run_c: { delivered: 2, setAside: 0 },
      run_d: { delivered: 2, setAside: 0 },
    });
    expect(setAside).toBe(2);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const written = JSON.parse(await readFile(path.join(dir, files[0] as string), 'utf8')) as { reason: string; spans: number; request: unknown; unencodable: Array<{ spanId: string }> };
    expect(written.reason).toMatch(/could not encode \d+ span\(s\) as OTLP \(RangeError: Maximum call stack size exceeded\)/);
    expect(written.spans).toBe(2);
    expect(written.request).toBeNull();
    expect(written.unencodable.map((s) => s.spanId).sort()).toEqual(jobs[2]?.spans.map((s) => s.spanId).sort());
    expect(lines.filter((l) => l.level === 'error').map((l) => [l.message, l.fields['run_ids']])).toEqual([['spans could not be exported; set aside, every other run goes on', ['run_bad']]]);
  });
});

describe('partial success over OTLP/HTTP', () => {
  it.each(['http/protobuf', 'http/json'] as const)('%s: counted as rejected with the collector\'s message', async (protocol) => {
    const r = await receiver();
    r.respondWith((request) => partialSuccessReply(request, 2, 'attribute value too long'));
    const exporter = createOtlpTraceExporter({ url: r.tracesUrl, protocol });
    const result = await exportRuns(['run_a', 'run_b'].map(record), { exporter, resource: createResource(), retry: FAST });
    await exporter.shutdown();
    expect(result).toMatchObject({ delivered: 2, collectorRejected: { spans: 2, messages: ['attribute value too long'] }, failures: [] });
  });

  it('the sidecar pipeline reports it through onCollectorRejected and logs the message; the job settles', async () => {
    const r = await receiver();
    r.respondWith((request) => partialSuccessReply(request, 1, 'span too old'));
    const { logger, lines } = recordingLogger();
    const rejected: Array<[number, number, string]> = [];
    const pipeline = new DeliveryPipeline({
      exporter: createOtlpTraceExporter({ url: r.tracesUrl }),
      resource: createResource(),
      retry: FAST,
      logger,
      onCollectorRejected: (n, batch, message) => rejected.push([n, batch, message]),
    });
    let result: JobResult | undefined;
    await pipeline.enqueue({ runId: 'run_a', spans: mapRunToSpans(record('run_a')), onSettled: async (r2) => void (result = r2) });
    await pipeline.flush();
    expect(rejected).toEqual([[1, 2, 'span too old']]);
    expect(result).toEqual({ delivered: 0, setAside: 0, inPartialSuccess: 2 });
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        message: 'the collector rejected spans of an accepted request (partial success); they are counted as rejected, not delivered',
        fields: { rejected_spans: 1, spans: 2, message: 'span too old', run_ids: ['run_a'] },
      },
    ]);
  });
});
