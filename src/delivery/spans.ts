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

export function toReadableSpan(span: SpanData, resource: Resource, scope: InstrumentationScope = INSTRUMENTATION_SCOPE): ReadableSpan {
  const context: SpanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED };
  const parent: SpanContext | undefined = span.parentSpanId
    ? { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: span.parentIsRemote }
    : undefined;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    ...(parent ? { parentSpanContext: parent } : {}),
    startTime: span.startTime,
    endTime: span.endTime,
    duration: duration(span.startTime, span.endTime),
    ended: true,
    status: span.status,
    attributes: span.attributes,
    links: [],
    events: span.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
