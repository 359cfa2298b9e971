/**
 * One tracing session: the options resolved once, the guard, the tracker and where spans go.
 * `instrumentOpenAI` and `instrumentAzureAgents` make one per client; the `Instrumentation` one
 * for every client of the patched SDKs.
 */
import { context, createContextKey, ROOT_CONTEXT, trace, type Context, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { RequestBudget, type RequestBudgetOptions } from '../api/budget.js';
import { createOtlpTraceExporter, type OtlpExporterOptions } from '../delivery/exporter.js';
import { createResource, type ResourceOptions } from '../delivery/resource.js';
import { ONE_SHOT_RETRY, type DeliveryRetryPolicy } from '../delivery/send.js';
import { formatTraceparent } from '../mapping/ids.js';
import type { MappingOptions } from '../mapping/types.js';
import type { Logger } from '../util/log.js';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { diagLogger } from './diag-logger.js';
import { Guard } from './guard.js';
import { planMetadata, type MetadataPlan } from './metadata.js';
import { ExporterSink, TracerSink, type SpanSink } from './sink.js';
import { registerTracker, unregisterTracker } from './tool-context.js';
import { RunTracker } from './tracker.js';

export interface InstrumentOptions {
  /**
   * The TracerProvider the spans go through (its samplers, processors and exporters apply).
   * @default the global one of `@opentelemetry/api` (the library registers none)
   */
  tracerProvider?: TracerProvider;
  /** Send with the bridge's own OTLP/HTTP exporter instead (no OpenTelemetry SDK needed). */
  otlp?: OtlpExporterOptions;
  /** Or any `SpanExporter`, with the bridge's delivery (batches, retries). */
  exporter?: SpanExporter;
  /** The resource of spans sent with `otlp` / `exporter`. @default service.name `assistants-otel` */
  resource?: ResourceOptions;
  /** Retries of the bridge's own delivery. @default 5 attempts per batch */
  exportRetry?: DeliveryRetryPolicy;
  /** Record content (function arguments and outputs, …): the same opt-in as everywhere. @default false */
  captureContent?: boolean;
  /** @default 8192 */
  contentMaxLength?: number;
  attributeValueLengthLimit?: number;
  /** `gen_ai.provider.name`. @default `openai`, `azure.ai.openai` for `AzureOpenAI`, `azure.ai.agents` for `AgentsClient` */
  providerName?: string;
  /** Write the active span's `traceparent` into created runs' metadata. @default true */
  writeTraceparent?: boolean;
  /**
   * Mark created runs as traced by the library (metadata `assistants_otel: library`), so that a
   * sidecar watching the same threads leaves them to it. @default true
   */
  markRuns?: boolean;
  /** Own status reads of a run come this long after the last status seen. @default 2000 */
  pollIntervalMillis?: number;
  /** The request budget of the library's own reads: a shared `RequestBudget`, or its options. @default 4 at once, 5 per second */
  budget?: RequestBudget | RequestBudgetOptions;
  /** Where the library logs (the first failure of each kind). @default OpenTelemetry's `diag` */
  logger?: Logger;
}

export const DEFAULT_LIBRARY_POLL_INTERVAL_MILLIS = 2_000;

function sinkFor(options: InstrumentOptions, tracer: () => Tracer, guard: Guard, logger: Logger): SpanSink {
  const exporter = options.exporter ?? (options.otlp ? createOtlpTraceExporter(options.otlp) : undefined);
  if (exporter) {
    return new ExporterSink({ exporter, resource: createResource(options.resource), retry: options.exportRetry ?? ONE_SHOT_RETRY, logger });
  }
  return new TracerSink(tracer, guard);
}

export class TracingSession {
  readonly guard: Guard;
  readonly tracker: RunTracker;
  readonly logger: Logger;
  private readonly writeTraceparent: boolean;
  private readonly markRuns: boolean;
  private stopped = false;

  constructor(
    readonly options: InstrumentOptions,
    tracer?: () => Tracer,
  ) {
    this.logger = options.logger ?? diagLogger();
    this.guard = new Guard(this.logger);
    this.writeTraceparent = options.writeTraceparent ?? true;
    this.markRuns = options.markRuns ?? true;
    const provider = options.tracerProvider;
    const getTracer = tracer ?? (() => (provider ?? trace.getTracerProvider()).getTracer(PACKAGE_NAME, VERSION));
    const budget = options.budget instanceof RequestBudget ? options.budget : new RequestBudget({ maxConcurrency: 4, requestsPerSecond: 5, ...options.budget });
    const mapping: MappingOptions = {
      captureContent: options.captureContent ?? false,
      ...(options.contentMaxLength !== undefined ? { contentMaxLength: options.contentMaxLength } : {}),
      ...(options.attributeValueLengthLimit !== undefined ? { attributeValueLengthLimit: options.attributeValueLengthLimit } : {}),
    };
    this.tracker = new RunTracker({
      sink: sinkFor(options, getTracer, this.guard, this.logger),
      guard: this.guard,
      budget,
      mapping,
      pollIntervalMillis: options.pollIntervalMillis ?? DEFAULT_LIBRARY_POLL_INTERVAL_MILLIS,
      now: () => this.now(),
    });
    registerTracker(this.tracker);
  }

  get active(): boolean {
    return !this.stopped;
  }

  now(): number {
    return Date.now();
  }

  /** What to send as a created run's metadata, given the user's and the context of the call. */
  metadataFor(userMetadata: unknown, ctx: Context): MetadataPlan {
    const span = trace.getSpanContext(ctx);
    if (span === undefined && !contextPropagates()) {
      // No span can ever be active: without a context manager, context.with() and startActiveSpan()
      // do not make their span active, so every run is a root (README "Library": register one).
      this.guard.warnOnce(
        'no-context-manager',
        'assistants-otel: a run was created with no active span, and no OpenTelemetry context manager is registered (the global one is the no-op one), so no span ever is active: runs are traced as roots, not under your request spans. Register one: NodeTracerProvider#register(), the NodeSDK, or context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()) from @opentelemetry/context-async-hooks',
      );
    }
    const traceparent = this.writeTraceparent && span && trace.isSpanContextValid(span) ? formatTraceparent(span) : undefined;
    const plan = planMetadata(userMetadata, { traceparent, mark: this.markRuns });
    for (const reason of plan.skipped) {
      if (reason === 'traceparent_set_by_user') continue; // the user's parenting wins, silently
      this.guard.warnOnce(`metadata:${reason}`, `assistants-otel: run metadata: ${reason.replace(/_/g, ' ')}`);
    }
    return plan;
  }

  /** `gen_ai.provider.name` for a client, unless the options name one. */
  providerName(detected: string): string {
    return this.options.providerName ?? detected;
  }

  flush(): Promise<void> {
    return this.tracker.flush();
  }

  /** Stops following runs (in-flight finishes still complete). Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.tracker.stop();
    unregisterTracker(this.tracker);
  }

  /** Flushes, stops, and closes the bridge's own exporter when there is one. */
  async shutdown(): Promise<void> {
    await this.flush().catch((error: unknown) => this.guard.report('flushing', error));
    this.stop();
    await this.tracker.sink.shutdown().catch((error: unknown) => this.guard.report('closing the exporter', error));
  }
}

const PROBE = createContextKey('assistants-otel context manager probe');

/**
 * Whether a context made active with `context.with` is seen inside it: false with the API's no-op
 * context manager (none registered), with which no span is ever active. Public API only: the
 * registered manager itself is private to `@opentelemetry/api`.
 */
export function contextPropagates(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE, true);
  return context.with(probe, () => context.active().getValue(PROBE) === true);
}
