/**
 * What a failed export means, decided from what the exporter reported (an HTTP status, a gRPC code,
 * a system error code, or the kind of error thrown), so that any `SpanExporter` (ours over HTTP or
 * gRPC, the official ones, a user's own) is treated the same way:
 *
 * | kind               | from                                                                 | what delivery does |
 * | ------------------ | -------------------------------------------------------------------- | ------------------ |
 * | `retryable`        | HTTP 429/502/503/504; gRPC CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, RESOURCE_EXHAUSTED with RetryInfo; timeouts, connection and TLS errors; a full concurrency queue | retry with backoff |
 * | `too_large`        | HTTP 413; gRPC RESOURCE_EXHAUSTED without RetryInfo (a message over the server's size limit) | split the batch in halves |
 * | `refused`          | other HTTP 4xx/5xx; gRPC UNKNOWN, INVALID_ARGUMENT, ALREADY_EXISTS, FAILED_PRECONDITION, INTERNAL | find the run at fault (bisect by run), set it aside, deliver the rest |
 * | `endpoint_refused` | HTTP 401/403/404/405/415; gRPC NOT_FOUND, PERMISSION_DENIED, UNIMPLEMENTED, UNAUTHENTICATED: a refusal whatever the content | set the batch aside (bisecting would only repeat it) |
 * | `unexportable`     | the exporter could not encode the batch or threw (a serializer error, `TypeError`, `RangeError` such as a stack overflow) | as `refused`: find the run, set it aside |
 * | `unclassified`     | anything else (no error at all, a plain `Error` of unknown meaning) | retry a few times, then as `unexportable` |
 */
import { ExportAttemptError } from './otlp-transport.js';
import { GrpcCode, grpcCodeName, grpcRetryDelay } from './grpc-status.js';

export type FailureKind = 'retryable' | 'too_large' | 'refused' | 'endpoint_refused' | 'unexportable' | 'unclassified';

export interface ExportFailure {
  kind: FailureKind;
  /** For logs, the set-aside file and the import summary. */
  reason: string;
  /** The HTTP status, when the exporter reported one. */
  status?: number;
  /** The gRPC status code, when the exporter reported one. */
  grpcCode?: number;
  /** How long the server asked us to wait (`Retry-After`, gRPC `RetryInfo`). */
  retryAfterMillis?: number;
}

/** The batch could not be turned into a request (thrown by our serializer wrapper, or by an exporter). */
export class UnexportableBatchError extends Error {
  override readonly name = 'UnexportableBatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);
const ENDPOINT_HTTP = new Set([401, 403, 404, 405, 407, 415]);
const RETRYABLE_GRPC = new Set<number>([GrpcCode.CANCELLED, GrpcCode.DEADLINE_EXCEEDED, GrpcCode.ABORTED, GrpcCode.OUT_OF_RANGE, GrpcCode.UNAVAILABLE, GrpcCode.DATA_LOSS]);
const ENDPOINT_GRPC = new Set<number>([GrpcCode.NOT_FOUND, GrpcCode.PERMISSION_DENIED, GrpcCode.UNIMPLEMENTED, GrpcCode.UNAUTHENTICATED]);
/** Errors a JavaScript engine throws for a bug or a pathological input, never for a network. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
/** Messages of transient failures from exporters that give no code (the official delegate's own, timeouts). */
const TRANSIENT_MESSAGE = /concurrent export limit|timed? ?out|timeout|socket hang up|network|connection|ECONN|EPIPE|unavailable/i;

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

export function classifyHttpStatus(status: number, reason: string, retryAfterMillis?: number): ExportFailure {
  const base = { status, reason, ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {}) };
  if (status === 413) return { kind: 'too_large', ...base };
  if (RETRYABLE_HTTP.has(status)) return { kind: 'retryable', ...base };
  if (ENDPOINT_HTTP.has(status)) return { kind: 'endpoint_refused', ...base };
  return { kind: 'refused', ...base };
}

/** A TLS handshake answered in plaintext: OpenSSL's words for it. */
const PLAINTEXT_ANSWER = /wrong version number|WRONG_VERSION_NUMBER|packet length too long|http request/i;

/**
 * grpc-js's details, made readable: without the empty `Resolution note:` it may end with, and with
 * the likely fix when a TLS connection met a plaintext server.
 */
function explainGrpcDetails(details: string): string {
  const text = details.replace(/[\s.]*Resolution note:\s*$/i, '');
  if (!PLAINTEXT_ANSWER.test(text)) return text;
  return `${text} (the collector does not answer in TLS here: for plaintext gRPC use an http:// endpoint, or OTEL_EXPORTER_OTLP_INSECURE=true for one without a scheme)`;
}

export function classifyGrpcCode(code: number, rawDetails: string, retryAfterMillis?: number): ExportFailure {
  const details = explainGrpcDetails(rawDetails);
  const reason = `collector answered gRPC ${grpcCodeName(code)}${details ? `: ${details}` : ''}`;
  const base = { grpcCode: code, reason, ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {}) };
  if (code === GrpcCode.RESOURCE_EXHAUSTED) {
    // OTLP: retryable only when the server says recovery is possible (RetryInfo); without it, the
    // usual cause is a message over the server's size limit, which only a smaller one can fix.
    return retryAfterMillis !== undefined ? { kind: 'retryable', ...base } : { kind: 'too_large', ...base };
  }
  if (RETRYABLE_GRPC.has(code)) return { kind: 'retryable', ...base };
  if (ENDPOINT_GRPC.has(code)) return { kind: 'endpoint_refused', ...base };
  if (code === GrpcCode.OK) return { kind: 'unclassified', ...base };
  return { kind: 'refused', ...base };
}

/**
 * What a failed export (its result's `error`) means. `thrown`: the exporter threw instead of
 * answering through its callback, which a network failure never does.
 */
export function classifyExportError(error: unknown, thrown = false): ExportFailure {
  if (error === undefined || error === null) return { kind: 'unclassified', reason: 'the exporter reported a failure without an error' };
  if (error instanceof ExportAttemptError) {
    if (error.code === undefined) return { kind: 'retryable', reason: error.message };
    return classifyHttpStatus(error.code, error.message, error.retryAfterMillis);
  }
  if (error instanceof UnexportableBatchError) return { kind: 'unexportable', reason: error.message };
  if (thrown) return { kind: 'unexportable', reason: `the exporter threw: ${messageOf(error)}` };

  const fields = typeof error === 'object' ? (error as { code?: unknown; details?: unknown; metadata?: unknown }) : {};
  const code = fields.code;
  if (typeof code === 'number' && Number.isInteger(code)) {
    // A gRPC ServiceError (code 0-16, with details and trailers), or an HTTP status (the official
    // HTTP exporters' OTLPExporterError carries it as `code`).
    if (code >= 0 && code <= 16) return classifyGrpcCode(code, typeof fields.details === 'string' ? fields.details : messageOf(error), grpcRetryDelay(fields));
    if (code >= 100 && code <= 599) return classifyHttpStatus(code, `collector answered HTTP ${code}: ${messageOf(error)}`);
  }
  // Node's system errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND, certificate errors…).
  if (typeof code === 'string' && code !== '') return { kind: 'retryable', reason: `could not reach the collector (${code}: ${messageOf(error)})` };
  if (PROGRAMMING_ERRORS.some((type) => error instanceof type)) return { kind: 'unexportable', reason: `the exporter failed: ${(error as Error).name}: ${messageOf(error)}` };
  if (messageOf(error) === 'Nothing to send') return { kind: 'unexportable', reason: 'the serializer produced no request' };
  if (TRANSIENT_MESSAGE.test(messageOf(error))) return { kind: 'retryable', reason: messageOf(error) };
  return { kind: 'unclassified', reason: messageOf(error) };
}
