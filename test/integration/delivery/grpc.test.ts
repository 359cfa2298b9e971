/**
 * OTLP/gRPC (README "Delivery"): our exporter over the official gRPC transport against a real
 * gRPC server (grpc-js, the vendored OTLP protos) that decodes what was sent. The same guarantees
 * as over HTTP: the same span content; headers as metadata; gzip; UNAVAILABLE, DEADLINE_EXCEEDED
 * and RESOURCE_EXHAUSTED with RetryInfo retried, honouring RetryInfo; INVALID_ARGUMENT sets the run
 * at fault aside and delivers the others; RESOURCE_EXHAUSTED without RetryInfo splits the batch;
 * a partial success is counted as rejected; one attempt per export (no retry loop inside the
 * official delegate).
 */
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOtlpTraceExporter, type OtlpExporterOptions } from '../../../src/delivery/exporter.js';
import { exportRuns } from '../../../src/delivery/export-runs.js';
import { createResource } from '../../../src/delivery/resource.js';
import type { DeliveryRetryPolicy } from '../../../src/delivery/send.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import type { RunRecord } from '../../../src/mapping/types.js';
import { functionCall, run, step, toolCallsStep, validRun, validStep } from '../../fixtures/records.js';
import { grpc, startOtlpGrpcReceiver, type OtlpGrpcReceiver } from '../../support/otlp-grpc-receiver.js';

const FAST: DeliveryRetryPolicy = { maxAttempts: 6, initialDelayMillis: 10, maxDelayMillis: 40, multiplier: 2, jitterRatio: 0, longRetryAfter: 'give-up' };

const receivers: OtlpGrpcReceiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(): Promise<OtlpGrpcReceiver> {
  const r = await startOtlpGrpcReceiver();
  receivers.push(r);
  return r;
}

function record(runId: string, calls = 1): RunRecord {
  const steps = [validStep(toolCallsStep(Array.from({ length: calls }, (_, i) => functionCall({ id: `call_${runId}_${i}` })), { id: `step_${runId}_tools`, run_id: runId }))];
  steps.push(validStep(step({ id: `step_${runId}_msg`, run_id: runId })));
  return { runId, run: validRun(run({ id: runId })), steps };
}

function grpcOptions(r: OtlpGrpcReceiver, extra: Partial<OtlpExporterOptions> = {}): OtlpExporterOptions {
  return { url: r.url, protocol: 'grpc', timeoutMillis: 5_000, ...extra };
}

/** A TCP proxy in front of the receiver that counts the bytes clients send: gzip must send fewer. */
async function countingProxy(target: string): Promise<{ url: string; sent: () => number; close: () => Promise<void> }> {
  const [host, port] = target.split(':') as [string, string];
  let sent = 0;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host, port: Number(port) });
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const idsOf = (records: RunRecord[]) => records.flatMap((r) => mapRunToSpans(r)).map((s) => s.spanId).sort();

describe('OTLP/gRPC export', () => {
  it('delivers the same span content as the mapping, with headers as metadata, plaintext and gzip', async () => {
    const r = await receiver();
    const bytesSent: Record<string, number> = {};
    for (const compression of ['none', 'gzip'] as const) {
      const proxy = await countingProxy(r.address);
      const exporter = createOtlpTraceExporter({ ...grpcOptions(r, { headers: { 'X-Tenant': 'team-a', authorization: 'Bearer s3cret' }, compression }), url: proxy.url });
      const records = [record('run_g1', 40), record('run_g2')];
      const result = await exportRuns(records, { exporter, resource: createResource({ serviceName: 'svc' }), retry: FAST });
      await exporter.shutdown();
      bytesSent[compression] = proxy.sent();
      await proxy.close();
      expect(result.failures).toEqual([]);
      expect(result.delivered).toBe(result.mapped.spans);
      const request = r.requests.at(-1);
      expect(request?.metadata).toMatchObject({ 'x-tenant': 'team-a', authorization: 'Bearer s3cret' });
      expect(request?.metadata['user-agent']).toMatch(/^assistants-otel\/\S+ .*grpc-node-js/);
      const expected = records.flatMap((rec) => mapRunToSpans(rec));
      const got = request?.spans ?? [];
      expect(got.map((s) => s.spanId).sort()).toEqual(expected.map((s) => s.spanId).sort());
      for (const span of expected) {
        const received = got.find((s) => s.spanId === span.spanId);
        expect(received?.name).toBe(span.name);
        expect(received?.traceId).toBe(span.traceId);
        expect(received?.attributes).toEqual(span.attributes);
        expect(received?.resource['service.name']).toBe('svc');
        expect(received?.scope.name).toBe('assistants-otel');
      }
    }
    // 42 similar tool call spans compress well: gzip really went over the wire.
    expect(bytesSent['gzip']).toBeLessThan((bytesSent['none'] ?? 0) / 2);
  });

  it('retries UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED with RetryInfo, waiting at least the RetryInfo delay', async () => {
    const r = await receiver();
    const codes = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED];
    r.respondWith((_req, i) => (i < codes.length ? { kind: 'error', code: codes[i] as grpc.status, message: 'busy', retryDelayMillis: 300 } : undefined));
    const exporter = createOtlpTraceExporter(grpcOptions(r));
    const retries: Array<{ reason: string; delayMillis: number }> = [];
    const result = await exportRuns([record('run_retry')], { exporter, resource: createResource(), retry: FAST, onRetry: (n) => retries.push(n) });
    await exporter.shutdown();
    expect(result.failures).toEqual([]);
    expect(result.delivered).toBe(result.mapped.spans);
    expect(r.requests.map((q) => q.answer)).toEqual(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ok']);
    expect(retries.map((n) => n.reason)).toEqual([
      'collector answered gRPC UNAVAILABLE: busy',
      'collector answered gRPC DEADLINE_EXCEEDED: busy',
      'collector answered gRPC RESOURCE_EXHAUSTED: busy',
    ]);
    // The policy alone would wait 10, 20, 40 ms: RetryInfo (300 ms) wins, on the wire too.
    expect(retries.every((n) => n.delayMillis >= 300)).toBe(true);
    for (let i = 1; i < r.requests.length; i++) {
      expect((r.requests[i]?.receivedAt ?? 0) - (r.requests[i - 1]?.receivedAt ?? 0)).toBeGreaterThanOrEqual(290);
    }
  });

  it('INVALID_ARGUMENT for one run: that run is set aside, every other run is delivered', async () => {
    const r = await receiver();
    r.respondWith((req) => (req.spans.some((s) => s.attributes['assistants.run.id'] === 'run_bad') ? { kind: 'error', code: grpc.status.INVALID_ARGUMENT, message: 'bad span' } : undefined));
    const exporter = createOtlpTraceExporter(grpcOptions(r));
    const records = ['run_a', 'run_b', 'run_bad', 'run_c', 'run_d'].map((id) => record(id));
    const result = await exportRuns(records, { exporter, resource: createResource(), retry: FAST });
    await exporter.shutdown();
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ kind: 'rejected', grpcCode: grpc.status.INVALID_ARGUMENT, reason: 'collector answered gRPC INVALID_ARGUMENT: bad span' });
    expect(result.failures[0]?.spans.map((s) => s.attributes['assistants.run.id'])).toEqual(expect.arrayContaining(['run_bad']));
    expect(new Set(result.failures[0]?.spans.map((s) => s.attributes['assistants.run.id']))).toEqual(new Set(['run_bad']));
    expect(r.spans().map((s) => s.spanId).sort()).toEqual(idsOf(records.filter((rec) => rec.runId !== 'run_bad')));
  });

  it('RESOURCE_EXHAUSTED without RetryInfo is a message too large: the batch is split until it fits', async () => {
    const r = await receiver();
    r.respondWith((req) => (req.spans.length > 3 ? { kind: 'error', code: grpc.status.RESOURCE_EXHAUSTED, message: 'Received message larger than max' } : undefined));
    const exporter = createOtlpTraceExporter(grpcOptions(r));
    const records = [record('run_big', 6)];
    const result = await exportRuns(records, { exporter, resource: createResource(), retry: FAST });
    await exporter.shutdown();
    expect(result.failures).toEqual([]);
    expect(r.spans().map((s) => s.spanId).sort()).toEqual(idsOf(records));
  });

  it('a partial success is counted as rejected, with the collector\'s message, not as delivered', async () => {
    const r = await receiver();
    r.respondWith(() => ({ kind: 'partial', rejectedSpans: 2, errorMessage: 'span name too long' }));
    const exporter = createOtlpTraceExporter(grpcOptions(r));
    const result = await exportRuns([record('run_p', 2)], { exporter, resource: createResource(), retry: FAST });
    await exporter.shutdown();
    expect(result.collectorRejected).toEqual({ spans: 2, messages: ['span name too long'] });
    expect(result.delivered).toBe(result.mapped.spans - 2);
    expect(result.failures).toEqual([]);
  });

  it('a collector that is not there: UNAVAILABLE, retried, then given up by a bounded policy', async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    receivers.splice(receivers.indexOf(r), 1);
    const exporter = createOtlpTraceExporter({ url, protocol: 'grpc', timeoutMillis: 2_000 });
    const result = await exportRuns([record('run_gone')], { exporter, resource: createResource(), retry: { ...FAST, maxAttempts: 3 } });
    await exporter.shutdown();
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ kind: 'gave_up', attempts: 3 });
    expect(result.failures[0]?.reason).toMatch(/gRPC (UNAVAILABLE|DEADLINE_EXCEEDED)/);
  });
});
