/**
 * How many bytes a span is counted for in the delivery queue's byte bound: the UTF-8 size of its
 * strings (name, attribute keys and values, event names, status message) plus a fixed amount per
 * span, attribute and event for ids, times and framing. It is a little above the span's OTLP
 * protobuf size (checked by a test), cheap to compute, and grows with what actually costs memory:
 * captured content, long tool outputs, many attributes.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { SpanData } from '../mapping/types.js';

/** Trace/span/parent ids, kind, two timestamps, status code, flags, and message framing. */
const PER_SPAN = 96;
const PER_ATTRIBUTE = 12;
const PER_EVENT = 24;
const PER_NUMBER = 11;

function scalarBytes(value: unknown): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value === undefined || value === null ? 0 : PER_NUMBER;
}

/** Attribute values are scalars or flat arrays of scalars: not recursed into (a malformed nested one must not overflow here). */
function valueBytes(value: AttributeValue | undefined): number {
  if (!Array.isArray(value)) return scalarBytes(value);
  let total = 4;
  for (const item of value as readonly unknown[]) total += scalarBytes(item) + 2;
  return total;
}

function attributesBytes(attributes: Attributes): number {
  let total = 0;
  for (const key in attributes) total += PER_ATTRIBUTE + Buffer.byteLength(key, 'utf8') + valueBytes(attributes[key]);
  return total;
}

export function estimateSpanBytes(span: SpanData): number {
  let total = PER_SPAN + Buffer.byteLength(span.name, 'utf8') + Buffer.byteLength(span.status.message ?? '', 'utf8') + attributesBytes(span.attributes);
  for (const event of span.events) total += PER_EVENT + Buffer.byteLength(event.name, 'utf8') + attributesBytes(event.attributes);
  return total;
}

export function estimateSpansBytes(spans: readonly SpanData[]): number {
  let total = 0;
  for (const span of spans) total += estimateSpanBytes(span);
  return total;
}
