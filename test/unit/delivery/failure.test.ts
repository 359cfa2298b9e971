/**
 * What a failed export means (src/delivery/failure.ts), from what any exporter reports: our HTTP
 * transport's `ExportAttemptError`, a gRPC `ServiceError` (code, details, trailers with RetryInfo),
 * the official HTTP exporters' `OTLPExporterError` (HTTP status as `code`), Node's system errors,
 * engine errors (a serializer's `TypeError`, a stack overflow), and errors of unknown meaning.
 */
import { OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { classifyExportError, UnexportableBatchError } from '../../../src/delivery/failure.js';
import { GrpcCode, grpcRetryDelay, retryDelayFromStatusDetails } from '../../../src/delivery/grpc-status.js';
import { ExportAttemptError } from '../../../src/delivery/otlp-transport.js';
import { encodeRpcStatus, encodeStatusWithRetryInfo } from '../../support/otlp-proto.js';

function serviceError(code: number, details: string, retryDelayMillis?: number): Error {
  const metadata = new Metadata();
  if (retryDelayMillis !== undefined) metadata.set('grpc-status-details-bin', Buffer.from(encodeStatusWithRetryInfo(code, details, retryDelayMillis)));
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
}

describe('classifyExportError: our HTTP transport', () => {
  it.each([
    [429, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [413, 'too_large'],
    [400, 'refused'],
    [422, 'refused'],
    [500, 'refused'],
    [501, 'refused'],
    [401, 'endpoint_refused'],
    [403, 'endpoint_refused'],
    [404, 'endpoint_refused'],
    [415, 'endpoint_refused'],
  ])('HTTP %i → %s', (status, kind) => {
    const error = new ExportAttemptError(`collector answered HTTP ${status}`, status, '', [429, 502, 503, 504].includes(status), 1_500);
    expect(classifyExportError(error)).toEqual({ kind, status, reason: `collector answered HTTP ${status}`, retryAfterMillis: 1_500 });
  });

  it('a transport failure without a status is retryable', () => {
    expect(classifyExportError(new ExportAttemptError('could not reach the collector (ECONNREFUSED)', undefined, undefined, true))).toEqual({
      kind: 'retryable',
      reason: 'could not reach the collector (ECONNREFUSED)',
    });
  });
});

describe('classifyExportError: gRPC status codes (OTLP/gRPC spec)', () => {
  it.each([
    ['CANCELLED', 'retryable'],
    ['DEADLINE_EXCEEDED', 'retryable'],
    ['ABORTED', 'retryable'],
    ['OUT_OF_RANGE', 'retryable'],
    ['UNAVAILABLE', 'retryable'],
    ['DATA_LOSS', 'retryable'],
    ['UNKNOWN', 'refused'],
    ['INVALID_ARGUMENT', 'refused'],
    ['ALREADY_EXISTS', 'refused'],
    ['FAILED_PRECONDITION', 'refused'],
    ['INTERNAL', 'refused'],
    ['NOT_FOUND', 'endpoint_refused'],
    ['PERMISSION_DENIED', 'endpoint_refused'],
    ['UNIMPLEMENTED', 'endpoint_refused'],
    ['UNAUTHENTICATED', 'endpoint_refused'],
  ] as const)('%s → %s', (name, kind) => {
    const code = GrpcCode[name];
    expect(classifyExportError(serviceError(code, 'why'))).toEqual({ kind, grpcCode: code, reason: `collector answered gRPC ${name}: why` });
  });

  it('RESOURCE_EXHAUSTED: retryable with RetryInfo (honouring its delay), a message too large without', () => {
    expect(classifyExportError(serviceError(GrpcCode.RESOURCE_EXHAUSTED, 'memory limiter', 2_500))).toEqual({
      kind: 'retryable',
      grpcCode: 8,
      reason: 'collector answered gRPC RESOURCE_EXHAUSTED: memory limiter',
      retryAfterMillis: 2_500,
    });
    expect(classifyExportError(serviceError(GrpcCode.RESOURCE_EXHAUSTED, 'Received message larger than max')).kind).toBe('too_large');
  });

  it('UNAVAILABLE with RetryInfo carries the delay', () => {
    expect(classifyExportError(serviceError(GrpcCode.UNAVAILABLE, 'restarting', 1_250)).retryAfterMillis).toBe(1_250);
  });
});

describe('classifyExportError: any other exporter', () => {
  it('the official HTTP exporter\'s OTLPExporterError: its code is the HTTP status', () => {
    expect(classifyExportError(new OTLPExporterError('Bad Request', 400, '{}'))).toMatchObject({ kind: 'refused', status: 400 });
    expect(classifyExportError(new OTLPExporterError('Service Unavailable', 503))).toMatchObject({ kind: 'retryable', status: 503 });
  });

  it('Node system errors are transport failures', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']) {
      expect(classifyExportError(Object.assign(new Error('connect failed'), { code })).kind).toBe('retryable');
    }
  });

  it('the exporter could not encode the batch, or threw: unexportable (the batch is at fault)', () => {
    expect(classifyExportError(new UnexportableBatchError('could not encode 3 span(s)'))).toEqual({ kind: 'unexportable', reason: 'could not encode 3 span(s)' });
    expect(classifyExportError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toMatchObject({ kind: 'unexportable' });
    expect(classifyExportError(new RangeError('Maximum call stack size exceeded'))).toEqual({
      kind: 'unexportable',
      reason: 'the exporter failed: RangeError: Maximum call stack size exceeded',
    });
    expect(classifyExportError(new Error('Nothing to send'))).toMatchObject({ kind: 'unexportable' });
    // Thrown rather than reported: whatever it is, it is not a network failure.
    expect(classifyExportError(new Error('boom'), true)).toEqual({ kind: 'unexportable', reason: 'the exporter threw: boom' });
  });

  it('transient messages without a code are retryable; anything else is unclassified', () => {
    expect(classifyExportError(new Error('Concurrent export limit reached')).kind).toBe('retryable');
    expect(classifyExportError(new Error('Request Timeout')).kind).toBe('retryable');
    expect(classifyExportError(new Error('something odd')).kind).toBe('unclassified');
    expect(classifyExportError(undefined)).toEqual({ kind: 'unclassified', reason: 'the exporter reported a failure without an error' });
  });
});

describe('classifyExportError: gRPC details a person can act on', () => {
  it('TLS to a plaintext server: OpenSSL\'s words, the empty "Resolution note:" dropped, and the fix', () => {
    const details = 'No connection established. Last error: Error: C0EC3A1E8F7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:354:\n. Resolution note: ';
    expect(classifyExportError(serviceError(GrpcCode.UNAVAILABLE, details))).toEqual({
      kind: 'retryable',
      grpcCode: GrpcCode.UNAVAILABLE,
      reason:
        'collector answered gRPC UNAVAILABLE: No connection established. Last error: Error: C0EC3A1E8F7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:354: (the collector does not answer in TLS here: for plaintext gRPC use an http:// endpoint, or OTEL_EXPORTER_OTLP_INSECURE=true for one without a scheme)',
    });
  });

  it('other details are kept as they are, a trailing empty resolution note dropped', () => {
    expect(classifyExportError(serviceError(GrpcCode.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:4317. Resolution note: '))).toMatchObject({
      reason: 'collector answered gRPC UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:4317',
    });
  });
});

describe('RetryInfo in grpc-status-details-bin', () => {
  it('reads the delay (seconds and nanos)', () => {
    expect(retryDelayFromStatusDetails(encodeStatusWithRetryInfo(14, 'x', 1_500))).toBe(1_500);
    expect(retryDelayFromStatusDetails(encodeStatusWithRetryInfo(8, 'x', 35 * 86_400_000))).toBe(35 * 86_400_000);
  });

  it('a Status without RetryInfo, or bytes that are not a Status, give none', () => {
    expect(retryDelayFromStatusDetails(encodeRpcStatus(14, 'no details'))).toBeUndefined();
    expect(retryDelayFromStatusDetails(new Uint8Array([0xff, 0xff, 0xff]))).toBeUndefined();
    expect(grpcRetryDelay({})).toBeUndefined();
    expect(grpcRetryDelay({ metadata: new Metadata() })).toBeUndefined();
  });
});
