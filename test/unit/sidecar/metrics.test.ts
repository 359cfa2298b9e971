/**
 * The sidecar's `/metrics` (src/sidecar/metrics.ts): the names and labels the README lists, in
 * Prometheus text format, after events; gauges read their sources when scraped; a registry of its
 * own (nothing global).
 */
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createWatchMetrics, type GaugeSources } from '../../../src/sidecar/metrics.js';

const P = 'assistants_otel_';

function sources(overrides: Partial<ReturnType<GaugeSources['watched']>> = {}) {
  const state = {
    queue: { jobs: 0, spans: 0 },
    lagMillis: 0,
    watched: { threads: 0, runs: 0, paused: false, ...overrides },
  };
  const gaugeSources: GaugeSources = {
    queue: () => state.queue,
    lagMillis: () => state.lagMillis,
    watched: () => state.watched,
  };
  return { state, gaugeSources };
}

/** The sample lines of a rendering (no HELP/TYPE), as `name{labels} value`. */
function samples(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('createWatchMetrics', () => {
  it('declares every metric the README lists, with HELP and TYPE', async () => {
    const m = createWatchMetrics(sources().gaugeSources);
    const text = await m.render();
    const types: Record<string, string> = {
      api_requests_total: 'counter',
      exported_total: 'counter',
      export_retries_total: 'counter',
      spans_set_aside_total: 'counter',
      records_rejected_total: 'counter',
      delivery_queue_spans: 'gauge',
      delivery_queue_jobs: 'gauge',
      export_lag_seconds: 'gauge',
      export_latency_seconds: 'histogram',
      watched: 'gauge',
      polling_paused: 'gauge',
      spans_rejected_by_collector_total: 'counter',
      state_warnings_total: 'counter',
      state_failed: 'gauge',
      delivery_queue_bytes: 'gauge',
      delivery_queue_peak_spans: 'gauge',
      delivery_queue_peak_bytes: 'gauge',
      delivery_queue_max_spans: 'gauge',
      delivery_queue_max_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) {
      expect(text).toContain(`# TYPE ${P}${name} ${type}\n`);
      expect(text).toMatch(new RegExp(`# HELP ${P}${name} \\S`));
    }
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('api_requests_total{operation,status,outcome}: the operation kind, not the ids', async () => {
    const m = createWatchMetrics(sources().gaugeSources);
    m.apiResponse({ operation: 'get run run_123 of thread_abc', status: 200, outcome: 'ok' });
    m.apiResponse({ operation: 'get run run_456 of thread_abc', status: 200, outcome: 'ok' });
    m.apiResponse({ operation: 'list runs of thread_abc', status: 429, outcome: 'retry' });
    m.apiResponse({ operation: 'list steps of run_123', status: 0, outcome: 'retry' });
    m.apiResponse({ operation: 'get step step_1 of run_123', status: 401, outcome: 'error' });
    const lines = samples(await m.render()).filter((l) => l.startsWith(`${P}api_requests_total`));
    expect(lines.sort()).toEqual(
      [
        `${P}api_requests_total{operation="get_run",status="200",outcome="ok"} 2`,
        `${P}api_requests_total{operation="list_runs",status="429",outcome="retry"} 1`,
        `${P}api_requests_total{operation="list_steps",status="0",outcome="retry"} 1`,
        `${P}api_requests_total{operation="get_step",status="401",outcome="error"} 1`,
      ].sort(),
    );
    expect(lines.join('\n')).not.toMatch(/run_123|thread_abc|step_1/);
  });

  it('exported_total{kind=run|step|span} and the export latency histogram', async () => {
    const m = createWatchMetrics(sources().gaugeSources);
    m.exported({ runs: 1, steps: 3 }, 1_500);
    m.exported({ runs: 0, steps: 2 }, 200);
    // Spans are counted as the collector acknowledges them, not per run settled.
    m.spansDelivered(6);
    m.spansDelivered(2);
    const text = await m.render();
    const lines = samples(text);
    expect(lines).toContain(`${P}exported_total{kind="run"} 1`);
    expect(lines).toContain(`${P}exported_total{kind="step"} 5`);
    expect(lines).toContain(`${P}exported_total{kind="span"} 8`);
    expect(lines).toContain(`${P}export_latency_seconds_count 2`);
    expect(lines).toContain(`${P}export_latency_seconds_sum 1.7`);
    expect(lines).toContain(`${P}export_latency_seconds_bucket{le="0.25"} 1`);
    expect(lines).toContain(`${P}export_latency_seconds_bucket{le="2"} 2`);
    expect(lines).toContain(`${P}export_latency_seconds_bucket{le="+Inf"} 2`);
  });

  it('export_retries_total, spans_set_aside_total, records_rejected_total{kind}', async () => {
    const m = createWatchMetrics(sources().gaugeSources);
    m.retry();
    m.retry();
    m.setAside(5);
    m.setAside(2);
    m.rejected('run', 1);
    m.rejected('step', 3);
    m.rejected('step', 1);
    const lines = samples(await m.render());
    expect(lines).toContain(`${P}export_retries_total 2`);
    expect(lines).toContain(`${P}spans_set_aside_total 7`);
    expect(lines).toContain(`${P}records_rejected_total{kind="run"} 1`);
    expect(lines).toContain(`${P}records_rejected_total{kind="step"} 4`);
  });

  it('counters start at 0 before any event', async () => {
    const lines = samples(await createWatchMetrics(sources().gaugeSources).render());
    expect(lines).toContain(`${P}export_retries_total 0`);
    expect(lines).toContain(`${P}spans_set_aside_total 0`);
  });

  it('gauges read their sources at each scrape', async () => {
    const { state, gaugeSources } = sources();
    const m = createWatchMetrics(gaugeSources);
    let lines = samples(await m.render());
    expect(lines).toContain(`${P}delivery_queue_spans 0`);
    expect(lines).toContain(`${P}polling_paused 0`);

    state.queue = { jobs: 3, spans: 1_234 };
    state.lagMillis = 2_500;
    state.watched = { threads: 7, runs: 2, paused: true };
    lines = samples(await m.render());
    expect(lines).toContain(`${P}delivery_queue_spans 1234`);
    expect(lines).toContain(`${P}delivery_queue_jobs 3`);
    expect(lines).toContain(`${P}export_lag_seconds 2.5`);
    expect(lines).toContain(`${P}watched{kind="thread"} 7`);
    expect(lines).toContain(`${P}watched{kind="run"} 2`);
    expect(lines).toContain(`${P}polling_paused 1`);

    state.watched = { threads: 0, runs: 0, paused: false };
    lines = samples(await m.render());
    expect(lines).toContain(`${P}polling_paused 0`);
    expect(lines).toContain(`${P}watched{kind="thread"} 0`);
  });

  it('has a registry of its own: two instances count apart, the global registry is untouched', async () => {
    const a = createWatchMetrics(sources().gaugeSources);
    const b = createWatchMetrics(sources().gaugeSources);
    a.retry();
    expect(samples(await a.render())).toContain(`${P}export_retries_total 1`);
    expect(samples(await b.render())).toContain(`${P}export_retries_total 0`);
    expect(await globalRegistry.metrics()).not.toContain(P);
  });

  it('a fleet member adds the lease metrics, read from the store when scraped; a lone sidecar has none', async () => {
    const stats = { held: 3, members: 2, share: 3, takeovers: 1, renewalsFailed: 0, lost: 0, staleWrites: 0, listening: true };
    const m = createWatchMetrics({ ...sources().gaugeSources, leases: () => stats, memberId: 'host-7-a1b2c3' });
    let text = await m.render();
    expect(text).toContain(`# TYPE ${P}leases_held gauge\n`);
    expect(text).toContain(`# TYPE ${P}lease_takeovers_total counter\n`);
    expect(samples(text).filter((l) => /lease|fleet/.test(l)).sort()).toEqual(
      [
        `${P}fleet_member_info{member_id="host-7-a1b2c3"} 1`,
        `${P}leases_held 3`,
        `${P}fleet_members 2`,
        `${P}lease_share 3`,
        `${P}lease_takeovers_total 1`,
        `${P}lease_renewals_failed_total 0`,
        `${P}leases_lost_total 0`,
        `${P}lease_stale_writes_total 0`,
      ].sort(),
    );
    Object.assign(stats, { held: 0, takeovers: 4, renewalsFailed: 7, lost: 3, staleWrites: 2 });
    text = await m.render();
    expect(samples(text)).toEqual(expect.arrayContaining([`${P}leases_held 0`, `${P}lease_takeovers_total 4`, `${P}lease_renewals_failed_total 7`, `${P}leases_lost_total 3`, `${P}lease_stale_writes_total 2`]));
    expect(await createWatchMetrics(sources().gaugeSources).render()).not.toMatch(/lease|fleet/);
  });
});
