/**
 * TLS and mTLS end to end (README "Configuration"): the real CLI, receivers over HTTPS and gRPC/TLS
 * with certificates generated for this run by `openssl`, configured only by the standard variables
 * (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_KEY`, `..._CLIENT_CERTIFICATE` and the `_TRACES_`
 * forms). A file that cannot be read, or a header value with a line break, is a start-up error
 * naming the variable (and never the header's value).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates, type TestCertificates } from '../support/certs.js';
import { runCli } from '../support/cli.js';
import { startOtlpGrpcReceiver } from '../support/otlp-grpc-receiver.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { cleanupAll, expectedSpans, outputOf, scenario, startWatch, startWorld, waitUntil } from './watch/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/records/', import.meta.url));
const RUNS = `${FIXTURES}runs.json`;

let dir: string;
let certs: TestCertificates;
const closers: Array<() => Promise<void>> = [];
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-tls-e2e-'));
  certs = generateCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await cleanupAll();
  for (const close of closers.splice(0)) await close();
});

describe('HTTPS and mTLS receivers', () => {
  it('import trusts a private CA (OTEL_EXPORTER_OTLP_CERTIFICATE)', async () => {
    const receiver = await startOtlpReceiver({ tls: { key: certs.pem.serverKey, cert: certs.pem.serverCert } });
    closers.push(() => receiver.close());
    const result = await runCli(['import', RUNS], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert } });
    expect(result.stdout).toMatch(/→ (\d+) of \1 spans exported to https:\/\/127\.0\.0\.1/);
    expect(receiver.spans().length).toBeGreaterThan(0);
  });

  it('watch presents its client certificate to an mTLS collector (the _TRACES_ forms)', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    const receiver = await startOtlpReceiver({ tls: { key: certs.pem.serverKey, cert: certs.pem.serverCert, clientCa: certs.pem.ca } });
    closers.push(() => receiver.close());
    const cli = startWatch(world, ['--memory-state'], {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: certs.caCert,
        OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: certs.clientKey,
        OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: certs.clientCert,
      },
    });
    await waitUntil(() => world.sim.idle && expectedSpans(world).every((s) => receiver.spans().some((r) => r.spanId === s.spanId)), {
      what: 'every span over mTLS',
      details: () => outputOf(cli),
    });
    expect(new Set(receiver.requests.map((r) => r.clientCertificate))).toEqual(new Set(['assistants-otel-test-client']));
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });

  it('import over gRPC with mTLS', async () => {
    const receiver = await startOtlpGrpcReceiver({ tls: { key: certs.pem.serverKey, cert: certs.pem.serverCert, clientCa: certs.pem.ca } });
    closers.push(() => receiver.close());
    const result = await runCli(['import', RUNS], {
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caCert,
        OTEL_EXPORTER_OTLP_CLIENT_KEY: certs.clientKey,
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: certs.clientCert,
      },
    });
    expect(result.stdout).toMatch(/→ (\d+) of \1 spans exported to https:\/\/127\.0\.0\.1/);
    expect(receiver.requests.map((r) => r.clientCertificate)).toEqual(['assistants-otel-test-client']);
  });
});

describe('start-up errors name the variable', () => {
  it.each([
    [{ OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' }, 'OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read /nonexistent/ca.pem: no such file'],
    [{ OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: '/nonexistent/client.key', OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: '/nonexistent/client.crt' }, 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: cannot read /nonexistent/client.key: no such file'],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20tok-9f8e7d%0AX-Evil:%201' }, 'OTEL_EXPORTER_OTLP_HEADERS: the value of header "Authorization" contains a line break or another control character'],
  ])('%j', async (env, message) => {
    for (const command of [['import', RUNS], ['watch', '--memory-state', '--thread', 'thread_a']]) {
      const result = await runCli(command, { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', ...env } });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr + result.stdout).not.toContain('tok-9f8e7d');
    }
  });
});
