/**
 * The OTLP trace exporters: the official exporter class (`OTLPExporterBase`), the official export
 * delegates and serializers (`ProtobufTraceSerializer`, `JsonTraceSerializer`), and
 * - for OTLP/HTTP, our transport (`otlp-transport.ts`), so that retries, `Retry-After` and 413
 *   splitting are decided by `send.ts` (the SDK's own HTTP exporter retries 5 times inside);
 * - for OTLP/gRPC, the official gRPC transport of `@opentelemetry/exporter-trace-otlp-grpc`
 *   (`createOtlpGrpcExportDelegate` from its `otlp-grpc-exporter-base`, exactly what its
 *   `OTLPTraceExporter` builds, minus the environment reading: options come from config.ts). That
 *   delegate makes one attempt per export (no retry loop inside), and grpc-js retries only what
 *   never reached the server, so the retry policy stays ours.
 * Both report partial success and encoding failures (partial-success.ts). Each is a standard
 * `SpanExporter`: anything that takes one (an SDK span processor) can use it.
 */
import { ExporterMetrics, createOtlpNetworkExportDelegate } from '@opentelemetry/otlp-exporter-base';
import { createEmptyMetadata, createInsecureCredentials, createOtlpGrpcExportDelegate, createSslCredentials } from '@opentelemetry/otlp-grpc-exporter-base';
import { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { AcknowledgingTraceExporter, answerAwareSerializer } from './partial-success.js';
import { createOtlpHttpTransport, type OtlpTlsOptions } from './otlp-transport.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type { OtlpTlsOptions };

export interface OtlpExporterOptions {
  /**
   * HTTP: the full traces URL, e.g. `http://localhost:4318/v1/traces`. gRPC: the collector's
   * address, e.g. `http://localhost:4317` (plaintext), `https://collector:4317` (TLS), or
   * `collector:4317` (TLS unless `insecure`).
   */
  url: string;
  /** @default 'http/protobuf' */
  protocol?: OtlpProtocol;
  /** Extra request headers (gRPC: metadata), e.g. authentication for a hosted collector. Never logged. */
  headers?: Readonly<Record<string, string>>;
  /** Per-request timeout (gRPC: deadline). @default 10000 */
  timeoutMillis?: number;
  /** @default 'none' */
  compression?: 'none' | 'gzip';
  /** A private CA and a client certificate (mTLS), for https:// (and gRPC over TLS). */
  tls?: OtlpTlsOptions;
  /** gRPC only: plaintext for an address without a scheme (`OTEL_EXPORTER_OTLP_INSECURE`). @default false */
  insecure?: boolean;
  /** Aborting cancels HTTP requests in flight (for a forced shutdown). */
  signal?: AbortSignal;
}

export const DEFAULT_OTLP_TIMEOUT_MILLIS = 10_000;
const GRPC_SERVICE = 'TraceExportService';
const GRPC_METHOD_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export function createOtlpTraceExporter(options: OtlpExporterOptions): SpanExporter {
  return options.protocol === 'grpc' ? createGrpcExporter(options) : createHttpExporter(options);
}

function createHttpExporter(options: OtlpExporterOptions): SpanExporter {
  const json = options.protocol === 'http/json';
  const transport = createOtlpHttpTransport({
    url: options.url,
    contentType: json ? 'application/json' : 'application/x-protobuf',
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.compression ? { compression: options.compression } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const answers = answerAwareSerializer(json ? JsonTraceSerializer : ProtobufTraceSerializer);
  const metrics = new ExporterMetrics({
    componentType: json ? 'otlp_http_json_span_exporter' : 'otlp_http_span_exporter',
    metricsHelper: TraceExporterMetricsHelper,
    url: options.url,
    // No meter provider: the exporter's self-metrics stay no-ops; ours are on the sidecar's /metrics.
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: options.timeoutMillis ?? DEFAULT_OTLP_TIMEOUT_MILLIS, concurrencyLimit: 8, compression: 'none' },
    answers.serializer,
    metrics,
    transport,
  );
  return new AcknowledgingTraceExporter(delegate, answers);
}

/** `http://host:port` → plaintext to `host:port`; `https://…` or no scheme → TLS (unless `insecure` without a scheme). */
export function grpcTarget(url: string, insecure = false): { address: string; secure: boolean } {
  const trimmed = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  const parsed = new URL(scheme ? trimmed : `https://${trimmed}`);
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') throw new TypeError(`gRPC endpoint: expected http://, https:// or host:port, got ${scheme}://`);
  return { address: parsed.host, secure: scheme === 'https' || (scheme === undefined && !insecure) };
}

function createGrpcExporter(options: OtlpExporterOptions): SpanExporter {
  const { address, secure } = grpcTarget(options.url, options.insecure);
  const metadata = createEmptyMetadata();
  // Metadata keys are validated by grpc-js (config.ts checks them first, with a clearer message).
  for (const [key, value] of Object.entries(options.headers ?? {})) metadata.set(key.toLowerCase(), value);
  const tls = options.tls ?? {};
  const toBuffer = (pem: string | Buffer | undefined) => (pem === undefined ? undefined : Buffer.isBuffer(pem) ? pem : Buffer.from(pem));
  // Built once (the transport asks for them once, when it creates its client).
  const credentials = secure ? createSslCredentials(toBuffer(tls.ca), toBuffer(tls.key), toBuffer(tls.cert)) : createInsecureCredentials();
  const answers = answerAwareSerializer(ProtobufTraceSerializer);
  const delegate = createOtlpGrpcExportDelegate(
    {
      url: address,
      metadata: () => metadata.clone(),
      credentials: () => credentials,
      compression: options.compression ?? 'none',
      timeoutMillis: options.timeoutMillis ?? DEFAULT_OTLP_TIMEOUT_MILLIS,
      concurrencyLimit: 8,
      userAgent: `${PACKAGE_NAME}/${VERSION}`,
    },
    answers.serializer,
    'otlp_grpc_span_exporter',
    TraceExporterMetricsHelper,
    undefined,
    GRPC_SERVICE,
    GRPC_METHOD_PATH,
  );
  return new AcknowledgingTraceExporter(delegate, answers);
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
