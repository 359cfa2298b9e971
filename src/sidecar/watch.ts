/**
 * The sidecar, assembled: API client → poller → delivery pipeline → OTLP, with the state store and
 * the registration endpoint. The CLI's `watch` and `demo` commands and library users start it here.
 *
 * When it cannot go on (the API refused our credentials, the state store failed to write), `fatal`
 * resolves: `/healthz` answers 503 from then on, the failure is logged once, and the caller stops
 * it, which drains what it can.
 */
import { RequestBudget } from '../api/budget.js';
import { createAssistantsClient, DEFAULT_API_RETRY, type AssistantsClient } from '../api/client.js';
import { isApiError } from '../api/errors.js';
import type { ProviderProfile } from '../api/providers.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createOtlpTraceExporter, observeDeliveries, type OtlpExporterOptions } from '../delivery/exporter.js';
import { DeliveryPipeline } from '../delivery/pipeline.js';
import { createResource, type ResourceOptions } from '../delivery/resource.js';
import { SIDECAR_RETRY } from '../delivery/send.js';
import { sourceMappingOptions } from '../mapping/source.js';
import type { MappingOptions } from '../mapping/types.js';
import { Poller } from '../sources/poller.js';
import type { LeasingStateStore } from '../state/leasing.js';
import type { StateStore, StoreHooks } from '../state/store.js';
import { sleep } from '../util/backoff.js';
import { silentLogger, type Logger } from '../util/log.js';
import { createWatchMetrics } from './metrics.js';
import { startRegistrationServer } from './registration.js';
import { directorySetAside } from './set-aside.js';

/**
 * A request unanswered this long no longer holds a concurrency slot (it keeps its connection until
 * its timeout): the poll interval, between 1 and 5 s. An API answers a page in well under a second;
 * a request past an interval is a server not answering, and must not hold up every other thread.
 */
export function stuckRequestMillis(pollIntervalMillis: number): number {
  return Math.min(5_000, Math.max(1_000, pollIntervalMillis));
}

export interface WatchOptions {
  provider: ProviderProfile;
  budget?: { maxConcurrency: number; requestsPerSecond: number };
  /** Per-request timeout of API requests (body included). @default 30000 */
  requestTimeoutMillis?: number;
  /** See `stuckRequestMillis`. @default the poll interval, between 1 and 5 s */
  stuckRequestMillis?: number;
  otlp: OtlpExporterOptions;
  resource?: ResourceOptions;
  mapping?: MappingOptions;
  /**
   * The state store, or a function making it with the hooks through which its warnings are logged
   * and counted (`assistants_otel_state_warnings_total`) and its failure stops the sidecar.
   */
  store: StateStore | ((hooks: Required<StoreHooks>) => StateStore);
  /**
   * Run as a member of a fleet sharing this store (a PostgreSQL one): follow only the threads whose
   * leases this member holds, register into the shared set, lease metrics on /metrics. @default false
   */
  fleet?: boolean;
  /** The store keeps nothing across restarts (memory state): logs say so rather than promise a resend. */
  volatileState?: boolean;
  /** Where refused spans are written. Without it they are only counted and logged. */
  rejectedDirectory?: string;
  /** The delivery queue's bounds and the retry delay cap (README "Delivery"). */
  delivery?: { maxQueuedSpans?: number; maxQueuedBytes?: number; maxRetryDelayMillis?: number };
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

/** Why the sidecar cannot go on. */
export interface FatalReason {
  kind: 'auth' | 'state';
  error: Error;
}

export interface WatchHandle {
  /** The registration endpoint's base URL, when listening. */
  registrationUrl: string | undefined;
  poller: Poller;
  pipeline: DeliveryPipeline;
  /** Resolves if the sidecar cannot go on: the API refused our credentials, or the state store failed. */
  fatal: Promise<FatalReason>;
  /** Stops polling, drains delivery (until `force` aborts), persists, closes. Idempotent; always ends. */
  stop(force?: AbortSignal): Promise<void>;
}

/** The store as a fleet's (it must be one: `fleet` is only for a PostgreSQL store). */
function leasingStore(store: StateStore): LeasingStateStore {
  const candidate = store as Partial<LeasingStateStore>;
  if (typeof candidate.join !== 'function' || typeof candidate.leaseStats !== 'function') throw new TypeError('fleet: the state store has no leases (a fleet needs a PostgreSQL state store)');
  return store as LeasingStateStore;
}

/** How long a registration waits for the API to say whether its thread exists. */
const THREAD_CHECK_MILLIS = 10_000;

/** One listing (one run) of a thread about to be watched: does the API know it? */
async function threadExists(client: AssistantsClient, threadId: string, logger: Logger): Promise<'found' | 'not_found' | 'unknown'> {
  try {
    await client.listRuns(threadId, { limit: 1, order: 'desc' }, AbortSignal.timeout(THREAD_CHECK_MILLIS));
    return 'found';
  } catch (error) {
    if (isApiError(error, 'not_found')) return 'not_found';
    // A thread whose runs are malformed exists; anything else (a slow or failing API): watch it, the poller retries.
    if (!isApiError(error, 'invalid_payload')) logger.warn('could not check that the registered thread exists; watching it anyway', { thread_id: threadId, error: (error as Error).message });
    return isApiError(error, 'invalid_payload') ? 'found' : 'unknown';
  }
}

/** Resolves when `signal` aborts (never, without one). */
function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export async function startWatch(options: WatchOptions): Promise<WatchHandle> {
  const logger = options.logger ?? silentLogger;
  let stopping = false;
  let storeFailure: Error | undefined;
  let reportFatal: (reason: FatalReason) => void = () => {};
  const fatal = new Promise<FatalReason>((resolve) => {
    reportFatal = resolve;
  });
  const storeLogger = logger.child({ component: 'state' });
  const delivery = options.delivery ?? {};
  const delayCap = delivery.maxRetryDelayMillis !== undefined ? { delayCapMillis: delivery.maxRetryDelayMillis } : {};

  // The hooks below run later, once `metrics` exists; the gauges read the pipeline and poller when scraped.
  const hooks: Required<StoreHooks> = {
    onWarning: (message) => {
      storeLogger.warn(message);
      metrics.storeWarning();
    },
    onFailure: (error) => {
      if (storeFailure) return;
      storeFailure = error;
      storeLogger.error('the state store failed: nothing more can be recorded; draining what can be delivered, then exiting', { error: error.message });
      reportFatal({ kind: 'state', error });
    },
  };
  const store = typeof options.store === 'function' ? options.store(hooks) : options.store;
  const leases = options.fleet ? leasingStore(store) : undefined;
  const budget = new RequestBudget({ ...options.budget, stuckAfterMillis: options.stuckRequestMillis ?? stuckRequestMillis(options.pollIntervalMillis) });
  const client = createAssistantsClient({
    provider: options.provider,
    budget,
    ...(options.requestTimeoutMillis ? { timeoutMillis: options.requestTimeoutMillis } : {}),
    // The sidecar never gives up on a long Retry-After: it waits the cap and asks again.
    retry: { ...DEFAULT_API_RETRY, longRetryAfter: 'wait-cap', ...delayCap },
    logger: logger.child({ component: 'api' }),
    onResponse: (event) => metrics.apiResponse(event),
  });
  // A forced stop must also cut an export request in flight, not only the waits between attempts.
  const cancelExports = new AbortController();
  const otlpExporter = createOtlpTraceExporter({ ...options.otlp, signal: cancelExports.signal });
  const pipeline = new DeliveryPipeline({
    exporter: options.onDelivered ? observeDeliveries(otlpExporter, options.onDelivered) : otlpExporter,
    resource: createResource(options.resource),
    retry: { ...SIDECAR_RETRY, ...delayCap },
    ...(delivery.maxQueuedSpans !== undefined ? { maxQueuedSpans: delivery.maxQueuedSpans } : {}),
    ...(delivery.maxQueuedBytes !== undefined ? { maxQueuedBytes: delivery.maxQueuedBytes } : {}),
    logger: logger.child({ component: 'delivery' }),
    onRetry: () => metrics.retry(),
    onDelivered: (spans) => metrics.spansDelivered(spans.length),
    onCollectorRejected: (rejected, batch) => {
      metrics.collectorRejected(rejected);
      metrics.spansDelivered(batch - rejected);
    },
    onSetAside: (n) => {
      metrics.setAside(n);
      // Persisted, so the count survives restarts; a failing store is reported by its own hook.
      store.addSetAside(n).catch(() => {});
    },
    ...(options.rejectedDirectory ? { setAside: directorySetAside(options.rejectedDirectory) } : {}),
    ...(options.volatileState ? { resentAfterRestart: false } : {}),
  });
  const poller = new Poller({
    client,
    store,
    ...(leases ? { leases } : {}),
    delivery: pipeline,
    mapping: { ...sourceMappingOptions(options.provider), ...options.mapping },
    live: options.live ?? false,
    pollIntervalMillis: options.pollIntervalMillis,
    ...(options.maxIdleIntervalMillis ? { maxIdleIntervalMillis: options.maxIdleIntervalMillis } : {}),
    ...(options.idleTtlMillis ? { idleTtlMillis: options.idleTtlMillis } : {}),
    ...(options.backfill ? { backfill: true } : {}),
    budget,
    ...(options.includeLibraryRuns ? { includeLibraryRuns: true } : {}),
    logger: logger.child({ component: 'poller' }),
    hooks: {
      onRejected: (kind, n) => metrics.rejected(kind, n),
      onDropped: (kind, reason) => metrics.dropped(kind, reason),
      onExported: (counts, latency, result) => {
        // A run whose spans were all set aside (a poisoned run) is settled, not exported.
        if (result.delivered + (result.inPartialSuccess ?? 0) === 0 && result.setAside > 0) return;
        metrics.exported(counts, latency);
        options.onExported?.(counts);
      },
      onFatal: (error) => reportFatal({ kind: 'auth', error }),
    },
  });

  const metrics = createWatchMetrics({
    queue: () => pipeline.depth(),
    queueLimits: () => pipeline.limits(),
    lagMillis: () => pipeline.lagMillis(),
    watched: () => poller.stats(),
    polling: () => poller.stats(),
    stuckRequests: () => budget.stats().stuck,
    storeFailed: () => storeFailure !== undefined,
    ...(leases ? { leases: () => leases.leaseStats(), memberId: leases.memberId } : {}),
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
        // A thread followed here already needs no look-up (a re-registration costs no request).
        checkThread: (threadId) => (poller.watched().threads.some((t) => t.threadId === threadId) ? Promise.resolve('found' as const) : threadExists(client, threadId, logger)),
        metrics: { render: () => metrics.render(), contentType: metrics.contentType },
        healthy: () => !stopping && storeFailure === undefined,
        health: () => (storeFailure ? 'state store failed' : stopping ? 'stopping' : 'ok'),
        logger: logger.child({ component: 'http' }),
      })
    : undefined;
  if (server) logger.info('registration endpoint listening', { url: server.url });

  let stopped: Promise<void> | undefined;
  // Every `stop(force)` call's signal forces the one stop: a later call can cut a drain short.
  const forceAll = new AbortController();
  return {
    registrationUrl: server?.url,
    poller,
    pipeline,
    fatal,
    stop(force?: AbortSignal) {
      if (force?.aborted) forceAll.abort();
      else force?.addEventListener('abort', () => forceAll.abort(), { once: true });
      stopped ??= (async () => {
        stopping = true;
        const forced = aborted(forceAll.signal);
        void forced.then(() => cancelExports.abort());
        // Each step ends, whatever the one before did: a failed store must not keep the process alive.
        try {
          await poller.stop();
          const depth = pipeline.depth();
          if (depth.spans > 0) logger.info('flushing before exit', { spans: depth.spans });
          await pipeline.close(forceAll.signal);
        } finally {
          try {
            // A store that hangs (a dead network file system) is not waited for past the drain timeout.
            const closed = store.close();
            closed.catch(() => {});
            await Promise.race([closed, forced.then(() => sleep(1000))]);
          } catch (error) {
            if (!storeFailure) storeLogger.error('could not persist the state on exit', { error: (error as Error).message });
          } finally {
            await server?.close();
            logger.info('stopped');
          }
        }
      })();
      return stopped;
    },
  };
}
