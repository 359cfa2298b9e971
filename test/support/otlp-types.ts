// The one normalised shape that both OTLP encodings (protobuf and JSON) are decoded into,
// so assertions never depend on which encoding an exporter chose.

/**
 * An attribute value. Integers become `number` when they are safe integers and `bigint` otherwise;
 * `bytesValue` becomes a Uint8Array; an empty AnyValue (allowed since OTLP v1.9) becomes `null`.
 */
export type AttrValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | null
  | AttrValue[]
  | { [key: string]: AttrValue };

export type Attributes = Record<string, AttrValue>;

/** OTLP SpanKind enum values. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP Status.StatusCode enum values. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface ReceivedEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface ReceivedLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface ReceivedSpan {
  /** 32 lower-case hex characters, or '' when the exporter sent none. */
  traceId: string;
  /** 16 lower-case hex characters, or '' when the exporter sent none. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** See {@link SpanKind}. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: ReceivedEvent[];
  droppedEventsCount: number;
  links: ReceivedLink[];
  droppedLinksCount: number;
  /** `code` is a {@link StatusCode} value. */
  status: { code: number; message: string };
  /** Span.flags: W3C trace flags in bits 0-7, parent-is-remote bits 8-9. 0 when not sent. */
  flags: number;
  resource: Attributes;
  resourceDroppedAttributesCount: number;
  resourceSchemaUrl: string;
  scope: { name: string; version: string; attributes: Attributes };
  scopeSchemaUrl: string;
}

export type OtlpEncoding = 'protobuf' | 'json';
