/**
 * The library's one-call export: raw records (runs, steps, list envelopes, in any mix) → OTLP.
 */
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtlpTraceExporter, type OtlpExporterOptions } from './delivery/exporter.js';
import { exportRuns, type ExportRunsResult } from './delivery/export-runs.js';
import { createResource, type ResourceOptions } from './delivery/resource.js';
import type { DeliveryRetryPolicy } from './delivery/send.js';
import { sourceMappingOptions, type RecordSource } from './mapping/source.js';
import type { MappingOptions } from './mapping/types.js';
import { collectRecords, type Rejection, type RecordWarning } from './sources/collect.js';

export interface ExportRecordsOptions {
  /** Where to send: OTLP/HTTP options, or any `SpanExporter` (tests, an SDK pipeline). */
  otlp?: OtlpExporterOptions;
  exporter?: SpanExporter;
  resource?: ResourceOptions;
  /**
   * Where the records came from: `gen_ai.provider.name`, `server.address` and `server.port` are
   * decided from it exactly as the sidecar decides them (pass the same `createProvider(…)`
   * profile), so the same run gives the same spans either way. `mapping` wins over it.
   */
  source?: RecordSource;
  mapping?: MappingOptions;
  retry?: DeliveryRetryPolicy;
  maxSpansPerBatch?: number;
  signal?: AbortSignal;
}

export interface ExportRecordsResult extends ExportRunsResult {
  /** Records that could not be placed, each with its position (`$[i]`) and reasons. */
  rejected: Rejection[];
  /** Records exported with a field dropped or a tool call kept as generic. */
  warnings: RecordWarning[];
}

/**
 * Validates `records`, groups steps under their runs, maps them to spans and exports them. A bad
 * record is reported in `rejected` and never stops the others.
 */
export async function exportRecords(records: Iterable<unknown>, options: ExportRecordsOptions): Promise<ExportRecordsResult> {
  const exporter = options.exporter ?? (options.otlp ? createOtlpTraceExporter(options.otlp) : undefined);
  if (!exporter) throw new TypeError('exportRecords: pass `otlp` (where to send) or an `exporter`');
  const collected = collectRecords(records);
  try {
    const result = await exportRuns(collected.runs, {
      exporter,
      resource: createResource(options.resource),
      ...(options.mapping || options.source ? { mapping: { ...(options.source ? sourceMappingOptions(options.source) : {}), ...options.mapping } } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.maxSpansPerBatch ? { maxSpansPerBatch: options.maxSpansPerBatch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { ...result, rejected: collected.rejected, warnings: collected.warnings };
  } finally {
    // An exporter we created is ours to close; one passed in belongs to the caller.
    if (!options.exporter) await exporter.shutdown();
  }
}
