/**
 * Where a finished run's spans go.
 *
 * - `TracerSink` (the default): through the application's TracerProvider, via `@opentelemetry/api`,
 *   so its samplers, processors and exporters apply. Each span is started with its past start time
 *   and ended with its past end time; its IDs come from the provider's IdGenerator, which gives the
 *   deterministic ones when `createDeterministicIdGenerator()` is installed (see id-generator.ts).
 * - `ExporterSink`: the bridge's own OTLP exporter and delivery pipeline (src/delivery), with the
 *   mapping's IDs as they are, for applications without an OpenTelemetry SDK.
 */
import {
  ROOT_CONTEXT,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { DeliveryPipeline } from '../delivery/pipeline.js';
import type { DeliveryRetryPolicy } from '../delivery/send.js';
import type { SpanData } from '../mapping/types.js';
import type { Logger } from '../util/log.js';
import type { Guard } from './guard.js';
import { deterministicIdGeneratorCreated, withPendingIds } from './id-generator.js';

export interface EmitInput {
  runId: string;
  /** A run's spans, the run span first, each step before its tool calls. */
  spans: SpanData[];
  /** The context active when the run was created; its span parents the run span when it is the one named. */
  creation: Context | undefined;
  /** Trace flags of a parent known only by its traceparent. */
  remoteParentFlags?: number | undefined;
}

export interface SpanSink {
  emit(input: EmitInput): void;
  /** Resolves once what was emitted has been handed on (the exporter sink: acknowledged or given up). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  /**
   * Whether spans get the deterministic IDs: true or false once the first span showed it,
   * undefined before. With false, a child cannot be parented to a span that does not exist yet.
   */
  readonly deterministic: boolean | undefined;
}

export class TracerSink implements SpanSink {
  private verified: boolean | undefined;

  constructor(
    private readonly tracer: () => Tracer,
    private readonly guard: Guard,
  ) {}

  get deterministic(): boolean | undefined {
    // Before the first span tells: no generator was ever made in this process, so none is installed.
    return this.verified ?? (deterministicIdGeneratorCreated() ? undefined : false);
  }

  emit(input: EmitInput): void {
    const tracer = this.tracer();
    const started = new Map<string, Span>();
    const creationSpan = input.creation ? trace.getSpanContext(input.creation) : undefined;
    for (const data of input.spans) {
      let parent: Context = ROOT_CONTEXT;
      if (data.parentSpanId !== undefined) {
        const startedParent = started.get(data.parentSpanId);
        if (startedParent) parent = trace.setSpan(ROOT_CONTEXT, startedParent);
        else if (input.creation && creationSpan?.traceId === data.traceId && creationSpan.spanId === data.parentSpanId) parent = input.creation;
        else {
          parent = trace.setSpanContext(ROOT_CONTEXT, {
            traceId: data.traceId,
            spanId: data.parentSpanId,
            traceFlags: input.remoteParentFlags ?? TraceFlags.SAMPLED,
            isRemote: data.parentIsRemote,
          });
        }
      }
      const span = withPendingIds({ traceId: data.traceId, spanId: data.spanId }, () =>
        tracer.startSpan(data.name, { kind: data.kind, startTime: data.startTime, attributes: data.attributes, root: data.parentSpanId === undefined }, parent),
      );
      this.check(span, data);
      if (data.status.code !== 0) span.setStatus(data.status);
      for (const event of data.events) span.addEvent(event.name, event.attributes, event.time);
      span.end(data.endTime);
      started.set(data.spanId, span);
    }
  }

  private check(span: Span, data: SpanData): void {
    if (this.verified !== undefined) return;
    const got = span.spanContext();
    if (!isSpanContextValid(got)) return; // a no-op tracer (no SDK registered) says nothing about IDs
    this.verified = got.spanId === data.spanId && got.traceId === data.traceId;
    if (!this.verified) {
      this.guard.warnOnce(
        'ids',
        'assistants-otel: spans of runs get random IDs from your TracerProvider; install createDeterministicIdGenerator() as its idGenerator for the IDs the sidecar and import use (and for tool code parented to its tool call span)',
      );
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface ExporterSinkOptions {
  exporter: SpanExporter;
  resource: Resource;
  retry: DeliveryRetryPolicy;
  logger: Logger;
}

export class ExporterSink implements SpanSink {
  readonly deterministic = true;
  private readonly pipeline: DeliveryPipeline;

  constructor(private readonly options: ExporterSinkOptions) {
    this.pipeline = new DeliveryPipeline({ exporter: options.exporter, resource: options.resource, retry: options.retry, logger: options.logger });
  }

  /** Runs dropped because the queue was full (the collector down for long): counted, logged once. */
  dropped = 0;

  emit(input: EmitInput): void {
    // Never block or grow the host's memory without bound: like an SDK span processor, a full queue
    // drops (the same records can be exported later with `import`: same IDs).
    if (this.pipeline.tryEnqueue({ runId: input.runId, spans: input.spans, onSettled: async () => {} })) return;
    this.dropped++;
    if (this.dropped === 1 || this.dropped % 100 === 0) {
      this.options.logger.warn('assistants-otel: the export queue is full (is the collector reachable?): a run\'s spans were dropped', { run_id: input.runId, dropped_runs: this.dropped });
    }
  }

  flush(): Promise<void> {
    return this.pipeline.flush();
  }

  async shutdown(): Promise<void> {
    await this.pipeline.close();
    await this.options.exporter.shutdown();
  }
}
