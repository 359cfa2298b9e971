/**
 * The sidecar, assembled: API client → poller → delivery pipeline → OTLP, with the state store and
 * the registration endpoint. The CLI's `watch` and `demo` commands and library users start it here.
 */
import { RequestBudget } from '../api/budget.js';
import { createAssistantsClient } from '../api/client.js';
import type { ApiError } from '../api/errors.js';
import type { ProviderProfile } from '../api/providers.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createOtlpTraceExporter, observeDeliveries, type OtlpExporterOptions } from '../delivery/exporter.js';
import { DeliveryPipeline } from '../delivery/pipeline.js';
import { createResource, type ResourceOptions } from '../delivery/resource.js';
import type { MappingOptions } from '../mapping/types.js';
import { Poller } from '../sources/poller.js';
import type { StateStore } from '../state/store.js';
import { silentLogger, type Logger } from '../util/log.js';
import { createWatchMetrics } from './metrics.js';
import { startRegistrationServer } from './registration.js';
import { directorySetAside } from './set-aside.js';

export interface WatchOptions {
  provider: ProviderProfile;
  budget?: { maxConcurrency: number; requestsPerSecond: number };
  otlp: OtlpExporterOptions;
  resource?: ResourceOptions;
  mapping?: MappingOptions;
  store: StateStore;
  /** Where refused spans are written. Without it they are only counted and logged. */
  rejectedDirectory?: string;
  live?: boolean;
  pollIntervalMillis: number;
  maxIdleIntervalMillis?: number;
  idleTtlMillis?: number;
  backfill?: boolean;
  /** Also export runs the library instrumentation traces (see `PollerOptions.includeLibraryRuns`). */
  includeLibraryRuns?: boolean;
  /** Watched from the start (added to the persisted set if new). */
  threads?: readonly string[];
  runs?: ReadonlyArray<{ threadId: string; runId: string }>;
  listen?: { host: string; port: number; token?: string };
  logger?: Logger;
  /** Called when the collector acknowledged a run's (or live steps') spans. */
  onExported?: (counts: { runs: number; steps: number; spans: number }) => void;
  /** Called with the spans of each request the collector acknowledged (the demo prints them). Must not throw. */
  onDelivered?: (spans: readonly ReadableSpan[]) => void;
}

export interface WatchHandle {
  /** The registration endpoint's base URL, when listening. */
  registrationUrl: string | undefined;
  poller: Poller;
  pipeline: DeliveryPipeline;
  /** Resolves with the error if the sidecar cannot go on (authentication refused). */
  fatal: Promise<ApiError>;
  /** Stops polling, drains delivery (until `force` aborts), persists, closes. Idempotent. */
  stop(force?: AbortSignal): Promise<void>;
}

/** `server.address`/`server.port` of the API, for the spans. */
export function serverOf(baseUrl: string): Pick<MappingOptions, 'serverAddress' | 'serverPort'> {
  const url = new URL(baseUrl);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { serverAddress: url.hostname, serverPort: port };
}

export async function startWatch(options: WatchOptions): Promise<WatchHandle> {
  const logger = options.logger ?? silentLogger;
  let healthy = true;
  let reportFatal: (error: ApiError) => void = () => {};
  const fatal = new Promise<ApiError>((resolve) => {
    reportFatal = resolve;
  });

  // The hooks below run later, once `metrics` exists; the gauges read the pipeline and poller when scraped.
  const client = createAssistantsClient({
    provider: options.provider,
    budget: new RequestBudget(options.budget),
    logger: logger.child({ component: 'api' }),
    onResponse: (event) => metrics.apiResponse(event),
  });
  // A forced stop must also cut an export request in flight, not only the waits between attempts.
  const cancelExports = new AbortController();
  const otlpExporter = createOtlpTraceExporter({ ...options.otlp, signal: cancelExports.signal });
  const pipeline = new DeliveryPipeline({
    exporter: options.onDelivered ? observeDeliveries(otlpExporter, options.onDelivered) : otlpExporter,
    resource: createResource(options.resource),
    logger: logger.child({ component: 'delivery' }),
    onRetry: () => metrics.retry(),
    onSetAside: (n) => metrics.setAside(n),
    ...(options.rejectedDirectory ? { setAside: directorySetAside(options.rejectedDirectory) } : {}),
  });
  const store = options.store;
  const poller = new Poller({
    client,
    store,
    delivery: pipeline,
    mapping: { providerName: options.provider.providerName, ...serverOf(options.provider.baseUrl), ...options.mapping },
    live: options.live ?? false,
    pollIntervalMillis: options.pollIntervalMillis,
    ...(options.maxIdleIntervalMillis ? { maxIdleIntervalMillis: options.maxIdleIntervalMillis } : {}),
    ...(options.idleTtlMillis ? { idleTtlMillis: options.idleTtlMillis } : {}),
    ...(options.backfill ? { backfill: true } : {}),
    ...(options.includeLibraryRuns ? { includeLibraryRuns: true } : {}),
    logger: logger.child({ component: 'poller' }),
    hooks: {
      onRejected: (kind, n) => metrics.rejected(kind, n),
      onExported: (counts, latency) => {
        metrics.exported(counts, latency);
        options.onExported?.(counts);
      },
      onFatal: (error) => reportFatal(error),
    },
  });

  const metrics = createWatchMetrics({
    queue: () => pipeline.depth(),
    lagMillis: () => pipeline.lagMillis(),
    watched: () => poller.stats(),
  });

  await poller.start();
  for (const threadId of options.threads ?? []) await poller.watchThread(threadId);
  for (const { threadId, runId } of options.runs ?? []) await poller.watchRun(threadId, runId);

  const server = options.listen
    ? await startRegistrationServer({
        host: options.listen.host,
        port: options.listen.port,
        ...(options.listen.token ? { token: options.listen.token } : {}),
        control: poller,
        metrics: { render: () => metrics.render(), contentType: metrics.contentType },
        healthy: () => healthy,
        logger: logger.child({ component: 'http' }),
      })
    : undefined;
  if (server) logger.info('registration endpoint listening', { url: server.url });

  let stopping: Promise<void> | undefined;
  return {
    registrationUrl: server?.url,
    poller,
    pipeline,
    fatal,
    stop(force?: AbortSignal) {
      stopping ??= (async () => {
        healthy = false;
        await poller.stop();
        const depth = pipeline.depth();
        if (depth.spans > 0) logger.info('flushing before exit', { spans: depth.spans });
        const cancel = () => cancelExports.abort();
        if (force?.aborted) cancel();
        force?.addEventListener('abort', cancel, { once: true });
        await pipeline.close(force);
        await store.close();
        await server?.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
