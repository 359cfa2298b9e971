/**
 * The demo's stand-in for a collector: an OTLP/HTTP (JSON) endpoint on loopback that prints each
 * trace as a tree when its run span arrives. The spans it prints went through the real exporter.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Attributes } from '@opentelemetry/api';
import type { HrTime, SpanData } from '../mapping/types.js';

interface OtlpJsonValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpJsonValue[] };
}
interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: Array<{ key: string; value: OtlpJsonValue }>;
  status?: { code?: number; message?: string };
}
interface OtlpJsonRequest {
  resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpJsonSpan[] }> }>;
}

function value(v: OtlpJsonValue): Attributes[string] {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return (v.arrayValue?.values ?? []).map((x) => String(value(x))) as string[];
}

function hrTime(nanos: string): HrTime {
  const n = BigInt(nanos);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

/** OTLP/JSON spans as the mapper's shape, enough to print them. */
export function spansFromOtlpJson(body: OtlpJsonRequest): SpanData[] {
  const spans: SpanData[] = [];
  for (const rs of body.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const attributes: Attributes = {};
        for (const a of s.attributes ?? []) attributes[a.key] = value(a.value);
        const isRun = attributes['gen_ai.operation.name'] === 'invoke_agent';
        spans.push({
          subject: isRun ? { kind: 'run', runId: String(attributes['assistants.run.id'] ?? ''), synthesized: false } : { kind: 'step', runId: '', stepId: '' },
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          parentIsRemote: false,
          name: s.name,
          kind: Math.max(0, (s.kind ?? 1) - 1),
          startTime: hrTime(s.startTimeUnixNano),
          endTime: hrTime(s.endTimeUnixNano),
          attributes,
          status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
          events: [],
        });
      }
    }
  }
  return spans;
}

export interface ConsoleReceiver {
  /** Base URL (the exporter appends `/v1/traces`). */
  url: string;
  spans: SpanData[];
  close(): Promise<void>;
}

export async function startConsoleReceiver(onSpans: (spans: SpanData[]) => void): Promise<ConsoleReceiver> {
  const received: SpanData[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const spans = spansFromOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJsonRequest);
        received.push(...spans);
        onSpans(spans);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"message":"expected OTLP/JSON"}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
