/**
 * The OTLP trace exporter: the official exporter class (`OTLPExporterBase`) and the official
 * serializers (`ProtobufTraceSerializer`, `JsonTraceSerializer`), with our transport, so that retries,
 * `Retry-After` and 413 splitting are decided by `send.ts` rather than by the SDK's fixed five attempts.
 * It is a standard `SpanExporter`: anything that takes one (an SDK span processor) can use it.
 */
import {
  ExporterMetrics,
  OTLPExporterBase,
  createOtlpNetworkExportDelegate,
} from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtlpHttpTransport } from './otlp-transport.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface OtlpExporterOptions {
  /** The full traces URL, e.g. `http://localhost:4318/v1/traces`. */
  url: string;
  /** @default 'http/protobuf' */
  protocol?: OtlpProtocol;
  /** Extra request headers (authentication for a hosted collector). Never logged. */
  headers?: Readonly<Record<string, string>>;
  /** Per-request timeout. @default 10000 */
  timeoutMillis?: number;
  /** @default 'none' */
  compression?: 'none' | 'gzip';
  /** Aborting cancels requests in flight (for a forced shutdown). */
  signal?: AbortSignal;
}

export const DEFAULT_OTLP_TIMEOUT_MILLIS = 10_000;

export function createOtlpTraceExporter(options: OtlpExporterOptions): SpanExporter {
  const protocol = options.protocol ?? 'http/protobuf';
  const transport = createOtlpHttpTransport({
    url: options.url,
    contentType: protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.compression ? { compression: options.compression } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const serializer = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  const metrics = new ExporterMetrics({
    componentType: protocol === 'http/json' ? 'otlp_http_json_span_exporter' : 'otlp_http_span_exporter',
    metricsHelper: TraceExporterMetricsHelper,
    url: options.url,
    // No meter provider: the exporter's self-metrics stay no-ops; ours are on the sidecar's /metrics.
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: options.timeoutMillis ?? DEFAULT_OTLP_TIMEOUT_MILLIS, concurrencyLimit: 8, compression: 'none' },
    serializer,
    metrics,
    transport,
  );
  return new OTLPExporterBase<ReadableSpan[]>(delegate);
}

/** `exporter`, telling `onDelivered` about each batch the collector acknowledged. */
export function observeDeliveries(exporter: SpanExporter, onDelivered: (spans: readonly ReadableSpan[]) => void): SpanExporter {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) onDelivered(spans);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => (exporter.forceFlush as () => Promise<void>)() } : {}),
  };
}
