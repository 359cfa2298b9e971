/**
 * The sidecar's `/metrics`, in Prometheus text format, on a registry of its own (nothing global, so
 * a library user's registry is never touched). Gauges are read when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResponseEvent } from '../api/client.js';
import type { LeaseStats } from '../state/leasing.js';

export interface GaugeSources {
  queue: () => { jobs: number; spans: number };
  lagMillis: () => number;
  watched: () => { threads: number; runs: number; paused: boolean };
  /** A fleet member's leases (a PostgreSQL store): adds the lease metrics. */
  leases?: () => LeaseStats;
}

/** The lease metrics of a fleet member, read from the store's totals when scraped. */
function registerLeaseMetrics(registry: Registry, prefix: string, stats: () => LeaseStats): void {
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
  new Gauge({
    name: `${prefix}polling_paused`,
    help: '1 while polling is paused because delivery is behind.',
    registers: [registry],
    collect() {
      this.set(sources.watched().paused ? 1 : 0);
    },
  });

  if (sources.leases) registerLeaseMetrics(registry, prefix, sources.leases);

  return {
    registry,
    apiResponse(event: ResponseEvent): void {
      apiRequests.inc({ operation: event.operation.split(' ').slice(0, 2).join('_'), status: String(event.status), outcome: event.outcome });
    },
    exported(counts: { runs: number; steps: number; spans: number }, latencyMillis: number): void {
      exported.inc({ kind: 'run' }, counts.runs);
      exported.inc({ kind: 'step' }, counts.steps);
      exported.inc({ kind: 'span' }, counts.spans);
      latency.observe(latencyMillis / 1000);
    },
    retry: () => retries.inc(),
    setAside: (n: number) => setAside.inc(n),
    rejected: (kind: 'run' | 'step', n: number) => rejected.inc({ kind }, n),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

export type WatchMetrics = ReturnType<typeof createWatchMetrics>;
