/**
 * OTLP/gRPC end to end (README "Configuration", "Delivery"): the real CLI with
 * `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` against a real gRPC server (grpc-js with the vendored official
 * OTLP protos) that decodes what was sent. The sidecar sends exactly the spans the mapping makes
 * (the same content as over HTTP), headers as metadata; UNAVAILABLE with RetryInfo is retried
 * after the RetryInfo delay; a run the collector refuses with INVALID_ARGUMENT is set aside while
 * the others are delivered. `import` speaks gRPC too.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { grpc, startOtlpGrpcReceiver, type OtlpGrpcReceiver } from '../support/otlp-grpc-receiver.js';
import { cleanupAll, comparable, expectedSpans, outputOf, pickComparable, scenario, startWatch, startWorld, waitUntil } from './watch/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/records/', import.meta.url));
const receivers: OtlpGrpcReceiver[] = [];
afterEach(async () => {
  await cleanupAll();
  for (const r of receivers.splice(0)) await r.close();
});

async function grpcReceiver(): Promise<OtlpGrpcReceiver> {
  const r = await startOtlpGrpcReceiver();
  receivers.push(r);
  return r;
}

describe('watch over OTLP/gRPC', () => {
  it('sends the mapping\'s spans with headers as metadata; UNAVAILABLE+RetryInfo is retried after the delay; an INVALID_ARGUMENT run is set aside', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    const r = await grpcReceiver();
    const poisoned = 'run_failed'; // every-type's failed run: its content is what this collector refuses
    r.respondWith((request, index) => {
      if (index === 0) return { kind: 'error', code: grpc.status.UNAVAILABLE, message: 'collector starting', retryDelayMillis: 700 };
      if (request.spans.some((s) => s.attributes['assistants.run.id'] === poisoned)) return { kind: 'error', code: grpc.status.INVALID_ARGUMENT, message: 'invalid span' };
      return undefined;
    });
    const cli = startWatch(world, ['--state', join(world.dir, 'state.json')], {
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=team-a' },
    });
    const expected = () => expectedSpans(world).filter((s) => s.subject.runId !== poisoned);
    await waitUntil(() => world.sim.idle && expected().every((s) => r.spans().some((got) => got.spanId === s.spanId)), {
      what: 'every run but the poisoned one over gRPC',
      timeoutMs: 30_000,
      details: () => `${r.requests.map((q) => q.answer).join(',')}\n${outputOf(cli)}`,
    });
    const files = await waitUntil(async () => (await readdir(join(world.dir, 'rejected')).catch(() => [])).length > 0 && readdir(join(world.dir, 'rejected')), { what: 'the refused run written aside' });
    expect(files).toHaveLength(1);

    // Exactly the mapping's spans, field by field (the same content as over HTTP).
    const got = new Map(r.spans().map((s) => [s.spanId, s]));
    for (const span of expected()) expect(pickComparable(got.get(span.spanId) as never)).toEqual(comparable(span));
    expect(r.spans().filter((s) => s.attributes['assistants.run.id'] === poisoned)).toEqual([]);
    expect(r.requests[0]?.answer).toBe('UNAVAILABLE');
    expect((r.requests[1]?.receivedAt ?? 0) - (r.requests[0]?.receivedAt ?? 0)).toBeGreaterThanOrEqual(690);
    expect(r.requests.every((q) => q.metadata['x-tenant'] === 'team-a')).toBe(true);
    expect(cli.stderr()).toMatch(/export will be retried .*reason="collector answered gRPC UNAVAILABLE: collector starting"/);
    expect(cli.stderr()).toMatch(/collector refused spans; set aside .*reason="collector answered gRPC INVALID_ARGUMENT: invalid span"/);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });
});

describe('import over OTLP/gRPC', () => {
  it('exports every record to the gRPC collector, gzip-compressed', async () => {
    const r = await grpcReceiver();
    const result = await runCli(['import', `${FIXTURES}runs.json`, `${FIXTURES}steps.jsonl`], {
      env: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' },
    });
    expect(result.code, result.stderr).toBe(1); // the fixtures hold rejected records on purpose
    const exported = /→ (\d+) of (\d+) spans exported to http:\/\/127\.0\.0\.1:\d+/.exec(result.stdout);
    expect(exported?.[1]).toBe(exported?.[2]);
    expect(r.spans()).toHaveLength(Number(exported?.[1]));
    expect(result.stderr).not.toMatch(/export failed/);
  });

  it('TLS to a plaintext gRPC collector: the reason says so and how to fix it, no empty "Resolution note"', async () => {
    const r = await grpcReceiver();
    const tlsUrl = r.url.replace(/^http:/, 'https:');
    const result = await runCli(['import', `${FIXTURES}runs.json`, '--max-retry-delay', '100ms'], {
      env: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: tlsUrl },
      timeoutMs: 60_000,
    });
    expect(result.code).not.toBe(0);
    expect(r.spans()).toEqual([]);
    expect(result.stderr).toContain('(the collector does not answer in TLS here: for plaintext gRPC use an http:// endpoint, or OTEL_EXPORTER_OTLP_INSECURE=true for one without a scheme)');
    expect(result.stderr).not.toMatch(/Resolution note: *$/m);
    // Its retry lines are labelled by the command that prints them.
    expect(result.stderr).toMatch(/^import: collector answered gRPC UNAVAILABLE: .*; retry 1 in 0\.1s$/m);
  });
});
