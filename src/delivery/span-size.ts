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

function valueBytes(value: AttributeValue | undefined): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return PER_NUMBER;
  let total = 4;
  for (const item of value as ReadonlyArray<unknown>) total += valueBytes(item as AttributeValue) + 2;
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
