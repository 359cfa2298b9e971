/**
 * The transport half of the OTLP configuration (README "Configuration"): OTLP/gRPC endpoints and
 * `INSECURE`; TLS and mTLS files read and checked at start-up, every error naming the variable;
 * header values with a line break refused without repeating the value; gRPC metadata keys; and the
 * delivery limits (`--max-retry-delay`, `--max-queued-spans`, `--max-queued-bytes`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, deliveryOptionsFromEnv, otlpOptionsFromEnv, parseByteSize, parseTimerDuration, recordSourceFromEnv, retryDelayCapFromEnv, type Env } from '../../../src/config.js';
import { grpcTarget } from '../../../src/delivery/exporter.js';
import { generateCertificates, type TestCertificates } from '../../support/certs.js';

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got none');
}

let dir: string;
let certs: TestCertificates;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-config-'));
  certs = generateCertificates(dir);
  writeFileSync(path.join(dir, 'garbage.pem'), 'not a certificate');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OTLP/gRPC endpoints', () => {
  it.each([
    [{}, 'http://localhost:4317'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }, 'http://collector:4317'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4317/' }, 'https://collector:4317'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }, 'collector:4317'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:2' }, 'http://b:2'],
  ])('%j → %s (no /v1/traces for gRPC)', (env, url) => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', ...env } as Env).url).toBe(url);
  });

  it('--otlp-endpoint is the address as is', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:1' }, { protocol: 'grpc', endpoint: 'http://flag:4317' }).url).toBe('http://flag:4317');
  });

  it('http:// is plaintext, https:// TLS, no scheme TLS unless OTEL_EXPORTER_OTLP_[TRACES_]INSECURE=true', () => {
    expect(grpcTarget('http://collector:4317')).toEqual({ address: 'collector:4317', secure: false });
    expect(grpcTarget('https://collector:4317')).toEqual({ address: 'collector:4317', secure: true });
    expect(grpcTarget('collector:4317')).toEqual({ address: 'collector:4317', secure: true });
    expect(grpcTarget('collector:4317', true)).toEqual({ address: 'collector:4317', secure: false });
    expect(grpcTarget('https://collector:4317', true).secure).toBe(true); // the scheme wins
    const env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' };
    expect(otlpOptionsFromEnv({ ...env, OTEL_EXPORTER_OTLP_INSECURE: 'true' }).insecure).toBe(true);
    expect(otlpOptionsFromEnv({ ...env, OTEL_EXPORTER_OTLP_INSECURE: 'true', OTEL_EXPORTER_OTLP_TRACES_INSECURE: 'false' }).insecure).toBe(false);
    expect(errorOf(() => otlpOptionsFromEnv({ ...env, OTEL_EXPORTER_OTLP_INSECURE: 'yes' })).message).toBe('OTEL_EXPORTER_OTLP_INSECURE: expected "true" or "false", got "yes"');
  });

  it('credentials in a gRPC endpoint are refused without being repeated', () => {
    for (const endpoint of ['http://user:hunter22@collector:4317', 'user:hunter22@collector:4317']) {
      const error = errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT: must not contain a user name or password/);
      expect(error.message).not.toContain('hunter22');
    }
  });

  it('headers become metadata: keys must be valid gRPC metadata keys', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_HEADERS: 'X-Tenant=a' }).headers).toEqual({ 'X-Tenant': 'a' });
    const error = errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_HEADERS: 'grpc-timeout=1' }));
    expect(error.message).toMatch(/^OTEL_EXPORTER_OTLP_HEADERS: header name "grpc-timeout" is not a valid gRPC metadata key/);
  });
});

describe('header values', () => {
  it.each(['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'])('a line break in a value of %s is an error naming the variable and the header, not the value', (name) => {
    for (const value of ['s3cret%0AX-Injected:%201', 's3cret%0D%0A', 'tab%09ok%7Fbad']) {
      const error = errorOf(() => otlpOptionsFromEnv({ [name]: `Authorization=Bearer%20${value}` }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(`${name}: the value of header "Authorization" contains a line break or another control character`);
      expect(error.message).not.toContain('s3cret');
    }
  });

  it('a header name that is not an HTTP token is an error', () => {
    expect(errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'Bad Name=1' })).message).toBe('OTEL_EXPORTER_OTLP_HEADERS: header name "Bad Name" is not a valid HTTP header name');
  });
});

describe('TLS and mTLS files', () => {
  it('reads the CA, the client key and certificate; _TRACES_ forms win', () => {
    const options = otlpOptionsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318',
      OTEL_EXPORTER_OTLP_CERTIFICATE: certs.otherCaCert,
      OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: certs.caCert,
      OTEL_EXPORTER_OTLP_CLIENT_KEY: certs.clientKey,
      OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: certs.clientCert,
    });
    expect(options.tls?.ca?.toString()).toBe(certs.pem.ca.toString());
    expect(options.tls?.key?.toString()).toBe(certs.pem.clientKey.toString());
    expect(options.tls?.cert?.toString()).toBe(certs.pem.clientCert.toString());
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_CERTIFICATE', '/nonexistent/ca.pem', 'cannot read /nonexistent/ca.pem: no such file'],
    ['OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE', '/tmp', 'cannot read /tmp: is a directory'],
  ])('%s=%s that cannot be read is a start-up error naming the variable', (name, value, message) => {
    const error = errorOf(() => otlpOptionsFromEnv({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`${name}: ${message}`);
  });

  it('a file that is not a PEM certificate is an error naming the variable', () => {
    const error = errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_CERTIFICATE: path.join(dir, 'garbage.pem') }));
    expect(error.message).toMatch(/^OTEL_EXPORTER_OTLP_CERTIFICATE: .*garbage\.pem is not a PEM CA certificate/);
  });

  it('a client key without its certificate (or the other way round) names the missing variable', () => {
    expect(errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_CLIENT_KEY: certs.clientKey })).message).toMatch(/^OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: required with OTEL_EXPORTER_OTLP_CLIENT_KEY/);
    expect(errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: certs.clientCert })).message).toMatch(/^OTEL_EXPORTER_OTLP_CLIENT_KEY: required with OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE/);
  });

  it('a key that does not belong to the certificate is an error naming both variables, not the key', () => {
    const error = errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_CLIENT_KEY: certs.serverKey, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: certs.clientCert }));
    expect(error.message).toMatch(/^OTEL_EXPORTER_OTLP_CLIENT_KEY\/OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: the client key and certificate are not PEM, or do not belong together/);
    expect(error.message).not.toContain('PRIVATE KEY');
  });
});

describe('delivery limits', () => {
  it('defaults: 5 minutes, 20,000 spans, 32 MiB', () => {
    expect(deliveryOptionsFromEnv({})).toEqual({ maxRetryDelayMillis: 300_000, maxQueuedSpans: 20_000, maxQueuedBytes: 32 * 1024 * 1024 });
  });

  it('flags win over the variables', () => {
    const env = { ASSISTANTS_OTEL_MAX_RETRY_DELAY: '1h', ASSISTANTS_OTEL_MAX_QUEUED_SPANS: '500', ASSISTANTS_OTEL_MAX_QUEUED_BYTES: '8MiB' };
    expect(deliveryOptionsFromEnv(env)).toEqual({ maxRetryDelayMillis: 3_600_000, maxQueuedSpans: 500, maxQueuedBytes: 8 * 1024 * 1024 });
    expect(deliveryOptionsFromEnv(env, { maxRetryDelay: '30s', maxQueuedSpans: '1000', maxQueuedBytes: '1MB' })).toEqual({ maxRetryDelayMillis: 30_000, maxQueuedSpans: 1000, maxQueuedBytes: 1_000_000 });
  });

  it('a cap past Node\'s timer limit (24.8 days) is refused, naming its source', () => {
    expect(errorOf(() => retryDelayCapFromEnv({ ASSISTANTS_OTEL_MAX_RETRY_DELAY: '30d' })).message).toBe('ASSISTANTS_OTEL_MAX_RETRY_DELAY: at most 24.8 days (2^31-1 ms, Node\'s timer limit), e.g. 24d, got "30d"');
    expect(retryDelayCapFromEnv({}, '24d')).toBe(24 * 86_400_000);
  });

  it.each([
    [{ maxQueuedSpans: '0' }, '--max-queued-spans: expected a whole number of spans ≥ 1, got "0"'],
    [{ maxQueuedBytes: '1KiB' }, '--max-queued-bytes: at least 64KiB, got "1KiB"'],
    [{ maxQueuedBytes: 'lots' }, '--max-queued-bytes: expected a size such as 33554432, 512KiB or 32MiB, got "lots"'],
    [{ maxRetryDelay: '5' }, '--max-retry-delay: needs a unit, e.g. "5s" or "5ms", got "5"'],
  ])('%j: %s', (flags, message) => {
    expect(errorOf(() => deliveryOptionsFromEnv({}, flags)).message).toBe(message);
  });

  it('every duration a timer waits is at most 24.8 days (a longer one would fire at once)', () => {
    expect(parseTimerDuration('24d', '--drain-timeout')).toBe(24 * 86_400_000);
    expect(errorOf(() => parseTimerDuration('30d', '--poll-interval')).message).toBe('--poll-interval: at most 24.8 days (2^31-1 ms, Node\'s timer limit), e.g. 24d, got "30d"');
    expect(errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '3000000000' })).message).toBe('OTEL_EXPORTER_OTLP_TIMEOUT: at most 2147483647 ms, got "3000000000"');
  });

  it('sizes', () => {
    expect(parseByteSize('33554432', 'x')).toBe(33_554_432);
    expect(parseByteSize('512KiB', 'x')).toBe(524_288);
    expect(parseByteSize('1.5 MiB', 'x')).toBe(1_572_864);
    expect(parseByteSize('2GB', 'x')).toBe(2_000_000_000);
  });
});

describe('where records come from (recordSourceFromEnv, for import)', () => {
  it('the same provider, base URL and name as watch would use, without needing credentials', () => {
    expect(recordSourceFromEnv({})).toEqual({ providerName: 'openai', baseUrl: 'https://api.openai.com/v1' });
    expect(recordSourceFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1' })).toEqual({ providerName: 'openai', baseUrl: 'http://127.0.0.1:8080/v1' });
    expect(recordSourceFromEnv({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' })).toEqual({ providerName: 'azure.ai.openai', baseUrl: 'https://x.openai.azure.com' });
    expect(recordSourceFromEnv({}, { provider: 'azure-foundry' })).toEqual({ providerName: 'azure.ai.agents' });
    expect(recordSourceFromEnv({}, { baseUrl: 'https://compat.example.com/v1', providerName: 'my-server' })).toEqual({ providerName: 'my-server', baseUrl: 'https://compat.example.com/v1' });
  });
});
