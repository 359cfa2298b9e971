/**
 * TLS and mTLS (README "Configuration"): with the standard variables read by config.ts
 * (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_KEY`, `..._CLIENT_CERTIFICATE`), the exporter
 * trusts a private CA and presents a client certificate, over HTTPS and over gRPC. Certificates
 * are generated for each run by `openssl`. Without the CA the server is not trusted; without the
 * client certificate an mTLS server refuses the connection: both are transport failures (retried,
 * never set aside).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otlpOptionsFromEnv } from '../../../src/config.js';
import { createOtlpTraceExporter } from '../../../src/delivery/exporter.js';
import { exportRuns } from '../../../src/delivery/export-runs.js';
import { createResource } from '../../../src/delivery/resource.js';
import type { DeliveryRetryPolicy } from '../../../src/delivery/send.js';
import type { RunRecord } from '../../../src/mapping/types.js';
import { run, step, validRun, validStep } from '../../fixtures/records.js';
import { generateCertificates, type TestCertificates } from '../../support/certs.js';
import { startOtlpGrpcReceiver, type OtlpGrpcReceiver } from '../../support/otlp-grpc-receiver.js';
import { startOtlpReceiver, type OtlpReceiver } from '../../support/otlp-receiver.js';

const FAST: DeliveryRetryPolicy = { maxAttempts: 2, initialDelayMillis: 10, maxDelayMillis: 20, multiplier: 2, jitterRatio: 0, longRetryAfter: 'give-up' };
const RECORD: RunRecord = { runId: 'run_tls', run: validRun(run({ id: 'run_tls' })), steps: [validStep(step({ run_id: 'run_tls' }))] };

let certs: TestCertificates;
let dir: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-tls-'));
  certs = generateCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function https(mtls: boolean): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver({ tls: { key: certs.pem.serverKey, cert: certs.pem.serverCert, ...(mtls ? { clientCa: certs.pem.ca } : {}) } });
  closers.push(() => r.close());
  return r;
}

async function grpcTls(mtls: boolean): Promise<OtlpGrpcReceiver> {
  const r = await startOtlpGrpcReceiver({ tls: { key: certs.pem.serverKey, cert: certs.pem.serverCert, ...(mtls ? { clientCa: certs.pem.ca } : {}) } });
  closers.push(() => r.close());
  return r;
}

async function send(env: Record<string, string>) {
  const exporter = createOtlpTraceExporter(otlpOptionsFromEnv(env));
  try {
    return await exportRuns([RECORD], { exporter, resource: createResource(), retry: FAST });
  } finally {
    await exporter.shutdown();
  }
}

describe('HTTPS', () => {
  it('trusts the CA in OTEL_EXPORTER_OTLP_CERTIFICATE', async () => {
    const r = await https(false);
    const result = await send({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert });
    expect(result.failures).toEqual([]);
    expect(r.spans()).toHaveLength(2);
  });

  it('without the CA the server is not trusted: a transport failure, retried, never set aside as refused', async () => {
    const r = await https(false);
    const result = await send({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.otherCaCert });
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ kind: 'gave_up', attempts: 2 });
    expect(result.failures[0]?.reason).toMatch(/could not reach the collector \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)/);
  });

  it('mTLS: presents the client certificate from OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY / _CLIENT_CERTIFICATE', async () => {
    const r = await https(true);
    const result = await send({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: r.tracesUrl,
      OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: certs.caCert,
      OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: certs.clientKey,
      OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: certs.clientCert,
    });
    expect(result.failures).toEqual([]);
    expect(r.requests.map((q) => q.clientCertificate)).toEqual(['assistants-otel-test-client']);
  });

  it('mTLS without a client certificate: the server refuses the connection (retried, then given up)', async () => {
    const r = await https(true);
    const result = await send({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert });
    expect(result.failures[0]).toMatchObject({ kind: 'gave_up' });
    expect(r.requests).toEqual([]);
  });
});

describe('gRPC over TLS', () => {
  it('https:// endpoint with the CA: TLS', async () => {
    const r = await grpcTls(false);
    const result = await send({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert });
    expect(result.failures).toEqual([]);
    expect(r.spans()).toHaveLength(2);
  });

  it('an endpoint without a scheme is TLS (unless OTEL_EXPORTER_OTLP_INSECURE=true)', async () => {
    const r = await grpcTls(false);
    const result = await send({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: r.address, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert });
    expect(result.failures).toEqual([]);
    const plain = await startOtlpGrpcReceiver();
    closers.push(() => plain.close());
    const insecure = await send({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: plain.address, OTEL_EXPORTER_OTLP_INSECURE: 'true' });
    expect(insecure.failures).toEqual([]);
    expect(plain.spans()).toHaveLength(2);
  });

  it('mTLS: the client certificate is presented; without it, UNAVAILABLE (retried, then given up)', async () => {
    const r = await grpcTls(true);
    const env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert };
    const ok = await send({ ...env, OTEL_EXPORTER_OTLP_CLIENT_KEY: certs.clientKey, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: certs.clientCert });
    expect(ok.failures).toEqual([]);
    expect(r.requests.map((q) => q.clientCertificate)).toEqual(['assistants-otel-test-client']);
    const refused = await send(env);
    expect(refused.failures[0]).toMatchObject({ kind: 'gave_up' });
    expect(refused.failures[0]?.reason).toMatch(/UNAVAILABLE/);
    expect(r.requests).toHaveLength(1);
  });
});
