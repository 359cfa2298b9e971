// encode: mapping + OTLP encoding, ours against the OpenTelemetry SDK's own path, on the same records.
//
// Synthetic spec-shaped runs (bench/lib/records.mjs: 20 steps each, tool calls of every type),
// validated once. Then, to a local OTLP/HTTP sink that acknowledges every request:
//
// - ours: `exportRuns` (what `import` and `exportRecords` use): `mapRunToSpans`, whole runs batched
//   by 512 spans, `toReadableSpan`, the exporter (`createOtlpTraceExporter`: the official
//   `OTLPExporterBase` and `ProtobufTraceSerializer` over our transport);
// - the SDK: the same records mapped by the same `mapRunToSpans`, each span then started and ended
//   as an SDK span by a `BasicTracerProvider` tracer, batched by `BatchSpanProcessor`, sent by the
//   official OTLP exporter (http/protobuf, rebuilt from its official parts; and gRPC, the official
//   package, to a local gRPC sink). Both pay the same mapping; what differs is the way from span
//   data to bytes acknowledged: ours hands span data to the exporter as `ReadableSpan`s, the SDK
//   makes live spans and queues them in its processor.
//
// spans/s = spans acknowledged / wall time from the first record to the last acknowledgement
// (median of the repeats, in one process, after a warm-up); bytes/span = request bytes at the sink.
// Also, ours without the network: mapping alone, and mapping + protobuf serialization.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createOtlpTraceExporter, createResource, mapRunToSpans, toReadableSpan, validateRun, validateRunStep } from '../../dist/index.js';
import { exportRuns, planBatches } from '../../dist/delivery/export-runs.js';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { syntheticRuns } from '../lib/records.mjs';
import { emitWithSdk, OTLPGrpcTraceExporter, OTLPProtoTraceExporter, sdkPipeline, startGrpcSink } from '../lib/sdk-path.mjs';
import { figure, median, round } from '../lib/util.mjs';

export const defaults = { runs: 1_000, stepsPerRun: 20, repeats: 5 };
export const quickDefaults = { runs: 100, repeats: 2 };
const MAPPING = { providerName: 'openai', serverAddress: 'api.example.com', serverPort: 443 };

function validated(raw) {
  return raw.map(({ run, steps }) => {
    const r = validateRun(run);
    if (!r.ok) throw new Error('synthetic run rejected');
    return { runId: run.id, run: r.value, steps: steps.map((s) => { const v = validateRunStep(s); if (!v.ok) throw new Error('synthetic step rejected'); return v.value; }) };
  });
}

async function timedRepeats(repeats, once) {
  await once(); // warm-up (JIT)
  const results = [];
  for (let i = 0; i < repeats; i++) {
    globalThis.gc?.();
    results.push(await once());
  }
  return pickMedian(results);
}

function pickMedian(results) {
  const ms = median(results.map((r) => r.ms));
  return { ...results.find((r) => r.ms === ms), allMs: results.map((r) => round(r.ms, 1)) };
}

/** Ours, to the sink: `exportRuns` over the validated records. */
async function oursPath(records, resource) {
  const sink = await startOtlpSink();
  const exporter = createOtlpTraceExporter({ url: sink.tracesUrl });
  return {
    async once() {
      const bytes = sink.stats.bytes;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const result = await exportRuns(records, { exporter, resource, mapping: MAPPING });
      const ms = performance.now() - t0;
      const c = process.cpuUsage(cpu);
      return { ms, spans: result.delivered, bytes: sink.stats.bytes - bytes, cpuMs: (c.user + c.system) / 1000 };
    },
    async close() {
      await exporter.shutdown();
      await sink.close();
    },
  };
}

/** The SDK's path, to the sink: the same mapping, then SDK spans, BatchSpanProcessor, the official exporter. */
async function sdkPath(records, resource, total, transport) {
  const sink = transport === 'grpc' ? await startGrpcSink() : await startOtlpSink();
  return {
    async once() {
      // The processor's forceFlush sends every batch still queued at once: no limit on concurrent
      // exports (the default, 30, would refuse them: "Concurrent export limit reached").
      const exporter = transport === 'grpc' ? new OTLPGrpcTraceExporter({ url: sink.url, concurrencyLimit: 10_000 }) : new OTLPProtoTraceExporter({ url: sink.tracesUrl, concurrencyLimit: 10_000 });
      const { provider, tracer } = sdkPipeline(exporter, { resource, queueSize: total + 1 });
      const bytes = sink.stats.bytes ?? 0;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      // A run at a time, letting the processor's timer in between, as spans of an app come over time.
      for (const record of records) {
        emitWithSdk(tracer, mapRunToSpans(record, MAPPING));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await provider.forceFlush();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(cpu);
      await provider.shutdown();
      return { ms, spans: total, bytes: transport === 'grpc' ? undefined : sink.stats.bytes - bytes, cpuMs: (c.user + c.system) / 1000 };
    },
    close: () => sink.close(),
  };
}

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const records = validated(syntheticRuns(p.runs, p.stepsPerRun));
  const resource = createResource({});
  const spans = records.reduce((n, r) => n + mapRunToSpans(r, MAPPING).length, 0);

  // Ours without the network: mapping alone, then mapping + protobuf serialization of the batches.
  const mapOnly = await timedRepeats(p.repeats, async () => {
    const t0 = performance.now();
    const out = records.map((r) => mapRunToSpans(r, MAPPING));
    return { ms: performance.now() - t0, spans: out.reduce((n, s) => n + s.length, 0) };
  });
  const serialize = await timedRepeats(p.repeats, async () => {
    const t0 = performance.now();
    let bytes = 0;
    const batches = planBatches(records.map((r) => ({ runId: r.runId, spans: mapRunToSpans(r, MAPPING) })));
    for (const batch of batches) bytes += ProtobufTraceSerializer.serializeRequest(batch.map((s) => toReadableSpan(s, resource))).length;
    return { ms: performance.now() - t0, spans, bytes };
  });

  // The three paths in alternating rounds (after a warm-up of each), so that a busy moment of the
  // shared machine falls on all of them rather than on one; the median round of each.
  const paths = { ours: await oursPath(records, resource), sdk: await sdkPath(records, resource, spans, 'http'), grpc: await sdkPath(records, resource, spans, 'grpc') };
  const rounds = { ours: [], sdk: [], grpc: [] };
  try {
    for (const path of Object.values(paths)) await path.once();
    for (let i = 0; i < p.repeats; i++) {
      for (const [name, path] of Object.entries(paths)) {
        globalThis.gc?.();
        rounds[name].push(await path.once());
      }
    }
  } finally {
    for (const path of Object.values(paths)) await path.close();
  }
  const o = pickMedian(rounds.ours);
  const s = pickMedian(rounds.sdk);
  const g = pickMedian(rounds.grpc);
  const rate = (r) => Math.round(r.spans / (r.ms / 1000));
  const summary = {
    encode: {
      spansPerSec: rate(o),
      sdkSpansPerSec: rate(s),
      sdkGrpcSpansPerSec: rate(g),
      ratioToSdk: round(rate(o) / rate(s), 2),
      bytesPerSpan: round(o.bytes / o.spans, 1),
      sdkBytesPerSpan: round(s.bytes / s.spans, 1),
      cpuMicrosPerSpan: round((o.cpuMs * 1000) / o.spans, 2),
      sdkCpuMicrosPerSpan: round((s.cpuMs * 1000) / s.spans, 2),
      mapOnlySpansPerSec: rate(mapOnly),
      mapSerializeSpansPerSec: rate(serialize),
    },
  };
  const e = summary.encode;
  return {
    params: { runs: p.runs, stepsPerRun: p.stepsPerRun, spans, repeats: p.repeats, batch: '512 spans (ours: whole runs; SDK: BatchSpanProcessor)' },
    figures: [
      figure('ours: records → spans acknowledged (map + encode + send, http/protobuf)', e.spansPerSec, 'spans/s', { note: `${o.allMs.join(' / ')} ms; CPU ${e.cpuMicrosPerSpan} µs/span` }),
      figure('SDK: records → the same mapping → SDK spans → BatchSpanProcessor → official OTLP http/protobuf exporter', e.sdkSpansPerSec, 'spans/s', { note: `${s.allMs.join(' / ')} ms; CPU ${e.sdkCpuMicrosPerSpan} µs/span` }),
      figure('ours / SDK', e.ratioToSdk, '×', { target: '≥ 1.0×', met: e.ratioToSdk >= 1 }),
      figure('SDK with the official gRPC exporter', e.sdkGrpcSpansPerSec, 'spans/s', { note: `${g.allMs.join(' / ')} ms` }),
      figure('bytes per span at the collector: ours / SDK', `${e.bytesPerSpan} / ${e.sdkBytesPerSpan}`, 'B/span'),
      figure('ours without the network: mapping alone', e.mapOnlySpansPerSec, 'spans/s'),
      figure('ours without the network: mapping + protobuf serialization', e.mapSerializeSpansPerSec, 'spans/s', { note: `${round(serialize.bytes / spans, 1)} B/span serialized` }),
    ],
    summary,
    details: { ours: o, sdkHttp: s, sdkGrpc: g, mapOnly, serialize },
  };
}
