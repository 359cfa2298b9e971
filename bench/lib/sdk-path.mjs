// The OpenTelemetry SDK's own path, for the encode benchmark: the same mapped span data made into
// SDK spans (a tracer of `BasicTracerProvider`, each span started with its name, kind, start time
// and attributes under its parent's context, its events added, its status set, ended at its end),
// batched by `BatchSpanProcessor`, and exported by the official OTLP exporter:
//
// - http/protobuf: `@opentelemetry/exporter-trace-otlp-proto` is not a dependency of this project;
//   its `OTLPTraceExporter` is `OTLPExporterBase` over `createOtlpHttpExportDelegate(
//   convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', {Content-Type: application/x-protobuf}),
//   ProtobufTraceSerializer, …)`, all from the official packages installed here; reproduced below,
//   line for line.
// - gRPC: the official `@opentelemetry/exporter-trace-otlp-grpc`, to a local gRPC sink.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = dirname(fileURLToPath(import.meta.url));

/** exporter-trace-otlp-proto's OTLPTraceExporter (0.2xx), from its parts. */
export class OTLPProtoTraceExporter extends OTLPExporterBase {
  constructor(config = {}) {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        ProtobufTraceSerializer,
        'otlp_http_span_exporter',
        TraceExporterMetricsHelper,
        undefined,
      ),
    );
  }
}

/**
 * A tracer provider with a batch processor in front of `exporter`. The queue is made big enough
 * for the whole benchmark: with the default 2,048 the SDK drops spans that come faster than they
 * are exported, and a dropped span costs nothing to encode.
 */
export function sdkPipeline(exporter, { resource, queueSize }) {
  const processor = new BatchSpanProcessor(exporter, { maxQueueSize: queueSize, maxExportBatchSize: 512, scheduledDelayMillis: 50 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('assistants-otel-bench');
  return { provider, tracer };
}

const ORDER = { run: 0, step: 1, tool_call: 2 };

/** One run's mapped spans as SDK spans: parents first, each child under its parent's context. */
export function emitWithSdk(tracer, spans) {
  const sdkSpans = new Map();
  const ordered = [...spans].sort((a, b) => ORDER[a.subject.kind] - ORDER[b.subject.kind]);
  for (const data of ordered) {
    const parent = data.parentSpanId ? sdkSpans.get(data.parentSpanId) : undefined;
    const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const span = tracer.startSpan(data.name, { kind: data.kind, startTime: data.startTime, attributes: data.attributes }, ctx);
    for (const event of data.events) span.addEvent(event.name, event.attributes, event.time);
    span.setStatus(data.status);
    span.end(data.endTime);
    sdkSpans.set(data.spanId, span);
  }
}

/** A gRPC OTLP sink on 127.0.0.1 that acknowledges every export and counts spans and bytes. */
export async function startGrpcSink() {
  const definition = protoLoader.loadSync(join(here, '..', '..', 'test', 'support', 'proto', 'opentelemetry', 'proto', 'collector', 'trace', 'v1', 'trace_service.proto'), {
    includeDirs: [join(here, '..', '..', 'test', 'support', 'proto')],
    keepCase: true,
  });
  const service = grpc.loadPackageDefinition(definition).opentelemetry.proto.collector.trace.v1.TraceService.service;
  const stats = { requests: 0, spans: 0 };
  const server = new grpc.Server();
  server.addService(service, {
    Export(call, callback) {
      stats.requests++;
      for (const rs of call.request.resource_spans ?? []) for (const ss of rs.scope_spans ?? []) stats.spans += (ss.spans ?? []).length;
      callback(null, {});
    },
  });
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

export { OTLPGrpcTraceExporter };
