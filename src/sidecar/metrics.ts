/**
 * The sidecar's `/metrics`, in Prometheus text format, on a registry of its own (nothing global, so
 * a library user's registry is never touched). Gauges are read when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResponseEvent } from '../api/client.js';
import type { LeaseStats } from '../state/leasing.js';
import { redactUrlsInText } from '../util/redact.js';

export interface GaugeSources {
  /** Held now, and the most ever held (`peak*`), queued or in flight. */
  queue: () => { jobs: number; spans: number; bytes?: number; peakSpans?: number; peakBytes?: number };
  /** The queue's bounds (the README's promise: never more than this). */
  queueLimits?: () => { spans: number; bytes: number };
  lagMillis: () => number;
  watched: () => { threads: number; runs: number; paused: boolean };
  /** True once the state store failed (a write error): the sidecar is draining to exit. */
  storeFailed?: () => boolean;
  /** A fleet member's leases (a PostgreSQL store): adds the lease metrics. */
  leases?: () => LeaseStats;
  /** A fleet member's id: `assistants_otel_fleet_member_info{member_id}` (with `leases`). */
  memberId?: string;
  /** How polling keeps up: the oldest due key's wait, keys due and not started, the effective interval. */
  polling?: () => { overdueMillis: number; dueNow: number; effectiveIntervalMillis: number };
  /** API requests in flight past the stuck threshold (no longer holding a concurrency slot). */
  stuckRequests?: () => number;
}

/** The lease metrics of a fleet member, read from the store's totals when scraped. */
function registerLeaseMetrics(registry: Registry, prefix: string, stats: () => LeaseStats, memberId: string | undefined): void {
  if (memberId !== undefined) {
    const info = new Gauge({ name: `${prefix}fleet_member_info`, help: 'This fleet member\'s id (always 1): join on it to tell members\' metrics apart.', labelNames: ['member_id'] as const, registers: [registry] });
    info.set({ member_id: memberId }, 1);
  }
  const gauge = (name: string, help: string, read: (s: LeaseStats) => number) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(read(stats()));
      },
    });
  const counter = (name: string, help: string, read: (s: LeaseStats) => number) =>
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        // The store keeps the total; the counter shows it.
        this.reset();
        this.inc(read(stats()));
      },
    });
  gauge('leases_held', 'Leases (threads, with their runs) this member holds.', (s) => s.held);
  gauge('fleet_members', 'Live members of the fleet at the last lease round.', (s) => s.members);
  gauge('lease_share', 'The fair share at the last lease round: ceil(thread ids / live members), the most this member claims.', (s) => s.share);
  counter('lease_takeovers_total', 'Leases claimed from another member whose lease had expired.', (s) => s.takeovers);
  counter('lease_renewals_failed_total', 'Lease rounds (renewals) that failed: the database unreachable, slow or refusing.', (s) => s.renewalsFailed);
  counter('leases_lost_total', 'Leases lost other than by leaving: expired, taken, rebalanced away, or nothing left under them.', (s) => s.lost);
  counter('lease_stale_writes_total', 'Writes skipped because they were made under a lease this member had lost.', (s) => s.staleWrites);
}

export function createWatchMetrics(sources: GaugeSources) {
  const registry = new Registry();
  const prefix = 'assistants_otel_';

  const apiRequests = new Counter({
    name: `${prefix}api_requests_total`,
    help: 'API requests by operation kind, HTTP status (0 = no answer) and outcome (ok, retry, error).',
    labelNames: ['operation', 'status', 'outcome'] as const,
    registers: [registry],
  });
  const exported = new Counter({
    name: `${prefix}exported_total`,
    help: 'Records whose spans the collector acknowledged, by kind (run, step, span).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const retries = new Counter({ name: `${prefix}export_retries_total`, help: 'OTLP export attempts that will be retried.', registers: [registry] });
  const setAside = new Counter({ name: `${prefix}spans_set_aside_total`, help: 'Spans the collector refused for good, written to the rejected directory.', registers: [registry] });
  const rejected = new Counter({
    name: `${prefix}records_rejected_total`,
    help: 'API records that could not be placed in a trace, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const collectorRejected = new Counter({
    name: `${prefix}spans_rejected_by_collector_total`,
    help: 'Spans in accepted requests that the collector reported rejected (OTLP partial success); not counted as exported.',
    registers: [registry],
  });
  const storeWarnings = new Counter({
    name: `${prefix}state_warnings_total`,
    help: 'Warnings from the state store: damaged journal lines skipped, a stale lock broken, a compaction that failed and will be retried.',
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${prefix}export_latency_seconds`,
    help: 'From first seeing a run (or live step) finished to the collector acknowledging its spans.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}delivery_queue_spans`,
    help: 'Spans waiting for (or in) delivery.',
    registers: [registry],
    collect() {
      this.set(sources.queue().spans);
    },
  });
  const queueGauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(read() ?? 0);
      },
    });
  queueGauge('delivery_queue_bytes', 'Bytes (span-size estimate) waiting for (or in) delivery.', () => sources.queue().bytes);
  queueGauge('delivery_queue_peak_spans', 'The most spans the delivery queue has held at once since start.', () => sources.queue().peakSpans);
  queueGauge('delivery_queue_peak_bytes', 'The most bytes the delivery queue has held at once since start.', () => sources.queue().peakBytes);
  queueGauge('delivery_queue_max_spans', 'The delivery queue\'s bound on spans (--max-queued-spans): never exceeded.', () => sources.queueLimits?.().spans);
  queueGauge('delivery_queue_max_bytes', 'The delivery queue\'s bound on bytes (--max-queued-bytes): never exceeded.', () => sources.queueLimits?.().bytes);
  queueGauge('state_failed', '1 once the state store failed to write: the sidecar drains and exits.', () => (sources.storeFailed?.() ? 1 : 0));
  new Gauge({
    name: `${prefix}delivery_queue_jobs`,
    help: 'Export jobs waiting for delivery.',
    registers: [registry],
    collect() {
      this.set(sources.queue().jobs);
    },
  });
  new Gauge({
    name: `${prefix}export_lag_seconds`,
    help: 'Age of the oldest export not yet acknowledged (0 when none).',
    registers: [registry],
    collect() {
      this.set(sources.lagMillis() / 1000);
    },
  });
  new Gauge({
    name: `${prefix}watched`,
    help: 'Threads and runs being watched.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const w = sources.watched();
      this.set({ kind: 'thread' }, w.threads);
      this.set({ kind: 'run' }, w.runs);
    },
  });
  const dropped = new Counter({
    name: `${prefix}watch_dropped_total`,
    help: 'Threads and runs no longer watched, by kind and reason (not_found: the API answered 404; idle: past --idle-ttl; malformed).',
    labelNames: ['kind', 'reason'] as const,
    registers: [registry],
  });
  if (sources.polling) {
    const polling = sources.polling;
    new Gauge({
      name: `${prefix}poll_effective_interval_seconds`,
      help: 'How often active threads and runs are really read: the poll interval plus the mean delay before due work started, over the last minute.',
      registers: [registry],
      collect() {
        this.set(polling().effectiveIntervalMillis / 1000);
      },
    });
    new Gauge({
      name: `${prefix}poll_overdue_seconds`,
      help: 'How long the earliest due poll has been waiting to start (0 when the request budget keeps up).',
      registers: [registry],
      collect() {
        this.set(polling().overdueMillis / 1000);
      },
    });
    new Gauge({
      name: `${prefix}poll_overdue`,
      help: 'Polls (thread listings, run reads) due and not started yet: waiting for the request budget, or paused.',
      registers: [registry],
      collect() {
        this.set(polling().dueNow);
      },
    });
  }
  if (sources.stuckRequests) {
    const stuck = sources.stuckRequests;
    new Gauge({
      name: `${prefix}api_stuck_requests`,
      help: 'API requests unanswered past the stuck threshold: they keep their connection until the request timeout, but no longer a concurrency slot.',
      registers: [registry],
      collect() {
        this.set(stuck());
      },
    });
  }
  new Gauge({
    name: `${prefix}polling_paused`,
    help: '1 while polling is paused because delivery is behind.',
    registers: [registry],
    collect() {
      this.set(sources.watched().paused ? 1 : 0);
    },
  });

  if (sources.leases) registerLeaseMetrics(registry, prefix, sources.leases, sources.memberId);

  return {
    registry,
    apiResponse(event: ResponseEvent): void {
      apiRequests.inc({ operation: event.operation.split(' ').slice(0, 2).join('_'), status: String(event.status), outcome: event.outcome });
    },
    /** A run (or live steps) settled: runs and steps by kind; spans are counted as acknowledged (`spansDelivered`). */
    exported(counts: { runs: number; steps: number }, latencyMillis: number): void {
      exported.inc({ kind: 'run' }, counts.runs);
      exported.inc({ kind: 'step' }, counts.steps);
      latency.observe(latencyMillis / 1000);
    },
    /** Spans the collector acknowledged (partially rejected requests: minus the rejected ones). */
    spansDelivered: (n: number) => exported.inc({ kind: 'span' }, n),
    collectorRejected: (n: number) => collectorRejected.inc(n),
    storeWarning: () => storeWarnings.inc(),
    retry: () => retries.inc(),
    setAside: (n: number) => setAside.inc(n),
    rejected: (kind: 'run' | 'step', n: number) => rejected.inc({ kind }, n),
    dropped: (kind: 'thread' | 'run', reason: string) => dropped.inc({ kind, reason }),
    // A label value never carries a URL today; redacting anyway keeps a future one from leaking credentials.
    render: async () => redactUrlsInText(await registry.metrics()),
    contentType: registry.contentType,
  };
}

export type WatchMetrics = ReturnType<typeof createWatchMetrics>;
