/**
 * From the mapper's plain `SpanData` to the SDK's `ReadableSpan`, which the official OTLP serializers
 * encode. The resource and scope objects are shared by every span of a batch, so the serializer groups
 * them under one `ResourceSpans` / `ScopeSpans`.
 */
import { TraceFlags, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { HrTime, SpanData } from '../mapping/types.js';
import { PACKAGE_NAME, VERSION } from '../version.js';

export interface InstrumentationScope {
  name: string;
  version?: string;
}

export const INSTRUMENTATION_SCOPE: InstrumentationScope = { name: PACKAGE_NAME, version: VERSION };

function duration(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [seconds, nanos];
}

const NO_LINKS: ReadableSpan['links'] = Object.freeze([]) as unknown as ReadableSpan['links'];

/**
 * A finished span as the exporter reads it. A class, not an object literal with a spread and a
 * closure: every span has the same shape (the serializer's property reads stay monomorphic) and
 * costs one object plus its span contexts; the events and attributes are the mapper's own, not copies.
 */
class ExportedSpan implements ReadableSpan {
  readonly name: string;
  readonly kind: ReadableSpan['kind'];
  readonly parentSpanContext?: SpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly ended = true;
  readonly status: ReadableSpan['status'];
  readonly attributes: ReadableSpan['attributes'];
  readonly links = NO_LINKS;
  readonly events: ReadableSpan['events'];
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private readonly context: SpanContext;

  constructor(
    span: SpanData,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {
    this.name = span.name;
    this.kind = span.kind;
    this.context = { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED };
    if (span.parentSpanId) this.parentSpanContext = { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: span.parentIsRemote };
    this.startTime = span.startTime;
    this.endTime = span.endTime;
    this.duration = duration(span.startTime, span.endTime);
    this.status = span.status;
    this.attributes = span.attributes;
    this.events = span.events;
  }

  spanContext(): SpanContext {
    return this.context;
  }
}

export function toReadableSpan(span: SpanData, resource: Resource, scope: InstrumentationScope = INSTRUMENTATION_SCOPE): ReadableSpan {
  return new ExportedSpan(span, resource, scope);
}
