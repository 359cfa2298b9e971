/**
 * Spans the collector refused for good, or that could not be exported at all (a poisoned run), are
 * written here, one JSON file per set-aside batch, so they can be inspected (and, as OTLP/JSON,
 * replayed with curl) instead of vanishing. When the spans cannot even be encoded as OTLP/JSON
 * (the very reason they were set aside), the file holds what can be written of them: their ids,
 * names and attributes as plain JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SetAsideSink } from '../delivery/pipeline.js';

/** Plain JSON of what a span is, for spans the OTLP serializer fails on. */
function describeSpans(spans: ReadableSpan[]): unknown[] {
  return spans.map((span) => {
    const context = span.spanContext();
    let attributes: unknown;
    try {
      // A replacer that survives what broke the serializer: bigints, cycles (too deep to stringify).
      attributes = JSON.parse(JSON.stringify(span.attributes, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
    } catch (error) {
      attributes = `<not serializable: ${(error as Error).message}>`;
    }
    return { traceId: context.traceId, spanId: context.spanId, name: span.name, attributes };
  });
}

export function directorySetAside(directory: string, now: () => Date = () => new Date()): SetAsideSink {
  let sequence = 0;
  return async (spans: ReadableSpan[], reason: string, status: number | undefined) => {
    await mkdir(directory, { recursive: true });
    let request: unknown = null;
    let unencodable: unknown[] | undefined;
    try {
      const bytes = JsonTraceSerializer.serializeRequest(spans);
      request = bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown) : null;
    } catch {
      unencodable = describeSpans(spans);
    }
    const stamp = now().toISOString().replace(/[:.]/g, '-');
    const file = join(directory, `${stamp}-${process.pid}-${++sequence}.json`);
    const body = { reason, status: status ?? null, spans: spans.length, request, ...(unencodable ? { unencodable } : {}) };
    await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  };
}
