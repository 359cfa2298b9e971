/**
 * gRPC status codes, and the server's `google.rpc.RetryInfo` (how long to wait before retrying),
 * which a gRPC server sends in the `grpc-status-details-bin` trailer as a serialized
 * `google.rpc.Status { code = 1; message = 2; repeated Any details = 3 }`, one detail being
 * `Any { type_url = 1: "type.googleapis.com/google.rpc.RetryInfo"; value = 2: RetryInfo }` with
 * `RetryInfo { google.protobuf.Duration retry_delay = 1 }` and `Duration { int64 seconds = 1; int32 nanos = 2 }`.
 * A tiny reader for just these messages: no protobuf runtime for four fields.
 */

/** The codes (grpc/status.h). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = Object.fromEntries(Object.entries(GrpcCode).map(([name, code]) => [code, name])) as Record<number, string>;

export function grpcCodeName(code: number): string {
  return NAMES[code] ?? `code ${code}`;
}

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

interface Field {
  number: number;
  /** Varint value (wire type 0) */
  varint?: number;
  /** Length-delimited bytes (wire type 2) */
  bytes?: Uint8Array;
}

/** The top-level fields of one message; throws on bytes that are not protobuf. */
function fields(data: Uint8Array): Field[] {
  const out: Field[] = [];
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (offset >= data.length) throw new RangeError('truncated varint');
      const byte = data[offset++] as number;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new RangeError('varint too long');
  };
  while (offset < data.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) out.push({ number, varint: varint() });
    else if (wireType === 2) {
      const length = varint();
      if (offset + length > data.length) throw new RangeError('truncated field');
      out.push({ number, bytes: data.subarray(offset, offset + length) });
      offset += length;
    } else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw new RangeError(`unsupported wire type ${wireType}`);
  }
  return out;
}

/** The retry delay in `grpc-status-details-bin` (a serialized google.rpc.Status), if it holds a RetryInfo. */
export function retryDelayFromStatusDetails(details: Uint8Array): number | undefined {
  try {
    for (const detail of fields(details).filter((f) => f.number === 3 && f.bytes)) {
      const any = fields(detail.bytes as Uint8Array);
      const typeUrl = any.find((f) => f.number === 1)?.bytes;
      const value = any.find((f) => f.number === 2)?.bytes;
      if (!typeUrl || !value || Buffer.from(typeUrl).toString('utf8') !== RETRY_INFO_TYPE) continue;
      const duration = fields(value).find((f) => f.number === 1)?.bytes;
      if (!duration) return 0;
      const parts = fields(duration);
      const seconds = parts.find((f) => f.number === 1)?.varint ?? 0;
      const nanos = parts.find((f) => f.number === 2)?.varint ?? 0;
      return seconds * 1000 + Math.round(nanos / 1e6);
    }
  } catch {
    // Not a google.rpc.Status: no retry delay to honour.
  }
  return undefined;
}

/** A `@grpc/grpc-js` ServiceError's trailers, read without importing grpc-js. */
interface MetadataLike {
  get(key: string): Array<string | Buffer>;
}

/** The RetryInfo delay a gRPC error carries in its trailers, if any. */
export function grpcRetryDelay(error: { metadata?: unknown }): number | undefined {
  const metadata = error.metadata as MetadataLike | undefined;
  if (!metadata || typeof metadata.get !== 'function') return undefined;
  for (const value of metadata.get('grpc-status-details-bin')) {
    if (typeof value === 'string') continue;
    const delay = retryDelayFromStatusDetails(value);
    if (delay !== undefined) return delay;
  }
  return undefined;
}
