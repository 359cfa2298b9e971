// The vendored OTLP .proto files, loaded once with protobufjs, plus the few message types the
// receiver and the self-tests need. Test support only: src/ must never import this.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { Enum, Root, Type } from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const TRACE_SERVICE_PROTO = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';

export interface OtlpSchema {
  readonly root: Root;
  readonly exportRequest: Type;
  readonly exportResponse: Type;
  /** google.rpc.Status, which OTLP/HTTP error bodies carry; not vendored, so it is defined in code. */
  readonly rpcStatus: Type;
  readonly spanKind: Enum;
  readonly statusCode: Enum;
}

let cached: OtlpSchema | undefined;

/** Loads the schema on first use; later calls return the same instance. */
export function otlpSchema(): OtlpSchema {
  cached ??= loadSchema();
  return cached;
}

function loadSchema(): OtlpSchema {
  const root = new protobuf.Root();
  // The .proto imports are written relative to the proto root ("opentelemetry/proto/..."),
  // so resolve every import against the vendored directory instead of the importing file.
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync(TRACE_SERVICE_PROTO);
  root.add(
    new protobuf.Type('Status')
      .add(new protobuf.Field('code', 1, 'int32'))
      .add(new protobuf.Field('message', 2, 'string')),
  );
  root.resolveAll();
  return {
    root,
    exportRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    exportResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    rpcStatus: root.lookupType('Status'),
    spanKind: root.lookupEnum('opentelemetry.proto.trace.v1.Span.SpanKind'),
    statusCode: root.lookupEnum('opentelemetry.proto.trace.v1.Status.StatusCode'),
  };
}

/**
 * Encodes a plain ExportTraceServiceRequest object (protobufjs camelCase field names; bytes as
 * Uint8Array; 64-bit values as bigint, decimal string or safe number) to protobuf bytes.
 * Throws on an object the schema rejects, so a test cannot send something no exporter would.
 */
export function encodeExportTraceRequest(request: Record<string, unknown>): Uint8Array {
  const { exportRequest } = otlpSchema();
  // long.js (protobufjs's 64-bit type) silently turns a bigint into 0, so pass decimal strings.
  const message = exportRequest.fromObject(bigintsToStrings(request) as Record<string, unknown>);
  const problem = exportRequest.verify(message);
  if (problem !== null) throw new Error(`invalid ExportTraceServiceRequest: ${problem}`);
  // protobufjs hands back a Buffer under Node; a plain Uint8Array compares equal to received bytes.
  return new Uint8Array(exportRequest.encode(message).finish());
}

function bigintsToStrings(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(bigintsToStrings);
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, bigintsToStrings(item)]));
}

/**
 * An ExportTraceServiceResponse with a partial success (`partial_success = 1 { rejected_spans = 1
 * int64; error_message = 2 string }`). The vendored trace_service.proto predates that field (see
 * proto/README.md), so the message is defined here, with the upstream field numbers.
 */
export function encodePartialSuccessResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  const root = new protobuf.Root();
  const partial = new protobuf.Type('ExportTracePartialSuccess')
    .add(new protobuf.Field('rejectedSpans', 1, 'int64'))
    .add(new protobuf.Field('errorMessage', 2, 'string'));
  const response = new protobuf.Type('ExportTraceServiceResponse').add(new protobuf.Field('partialSuccess', 1, 'ExportTracePartialSuccess'));
  root.add(partial).add(response);
  root.resolveAll();
  const message = response.fromObject({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } });
  return new Uint8Array(response.encode(message).finish());
}

/**
 * A serialized google.rpc.Status with one google.rpc.RetryInfo detail, as a gRPC server sends it in
 * the `grpc-status-details-bin` trailer (not vendored: defined here, like Status above).
 */
export function encodeStatusWithRetryInfo(code: number, message: string, retryDelayMillis: number): Uint8Array {
  const root = new protobuf.Root();
  const duration = new protobuf.Type('Duration').add(new protobuf.Field('seconds', 1, 'int64')).add(new protobuf.Field('nanos', 2, 'int32'));
  const retryInfo = new protobuf.Type('RetryInfo').add(new protobuf.Field('retryDelay', 1, 'Duration'));
  const any = new protobuf.Type('Any').add(new protobuf.Field('typeUrl', 1, 'string')).add(new protobuf.Field('value', 2, 'bytes'));
  const status = new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string'))
    .add(new protobuf.Field('details', 3, 'Any', 'repeated'));
  root.add(duration).add(retryInfo).add(any).add(status);
  root.resolveAll();
  const delay = { seconds: String(Math.floor(retryDelayMillis / 1000)), nanos: (retryDelayMillis % 1000) * 1e6 };
  const info = retryInfo.encode(retryInfo.fromObject({ retryDelay: delay })).finish();
  const detail = { typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: info };
  return new Uint8Array(status.encode(status.fromObject({ code, message, details: [detail] })).finish());
}

export function encodeEmptyExportResponse(): Uint8Array {
  const { exportResponse } = otlpSchema();
  return exportResponse.encode(exportResponse.create({})).finish();
}

export function encodeRpcStatus(code: number, message: string): Uint8Array {
  const { rpcStatus } = otlpSchema();
  return rpcStatus.encode(rpcStatus.create({ code, message })).finish();
}
