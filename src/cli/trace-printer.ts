/**
 * Printing traces as they are delivered (the demo): spans arrive batch by batch; each trace is
 * printed as a waterfall once its run span has arrived, with the spans of it that came before.
 */
import type { Writable } from 'node:stream';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { renderWaterfall, type Painter, type WaterfallSpan } from './waterfall.js';

export function fromReadableSpan(span: ReadableSpan): WaterfallSpan {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    ...(parent ? { parentSpanId: parent.spanId, parentIsRemote: parent.isRemote === true } : {}),
    name: span.name,
    startTime: span.startTime,
    endTime: span.endTime,
    attributes: span.attributes,
    status: span.status,
  };
}

const isRunSpan = (span: WaterfallSpan) => span.attributes['gen_ai.operation.name'] === 'invoke_agent';

export function createTracePrinter(out: Writable, options: { width: number; paint: Painter }) {
  const pending = new Map<string, WaterfallSpan[]>();
  return {
    /** Spans of one delivered request. */
    delivered(spans: readonly ReadableSpan[]): void {
      const complete = new Set<string>();
      for (const readable of spans) {
        const span = fromReadableSpan(readable);
        const list = pending.get(span.traceId) ?? [];
        list.push(span);
        pending.set(span.traceId, list);
        if (isRunSpan(span)) complete.add(span.traceId);
      }
      for (const traceId of complete) {
        const trace = pending.get(traceId) ?? [];
        pending.delete(traceId);
        out.write(`${renderWaterfall(trace, options).join('\n')}\n\n`);
      }
    },
  };
}
