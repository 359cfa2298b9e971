// mapping: the pure mapper (`mapRunToSpans`) over synthetic spec-shaped runs, then the spans through
// the exporter's serialization path (toReadableSpan + the official ProtobufTraceSerializer, in the
// pipeline's 512-span batches of whole runs): runs/s, spans/s, bytes per span.
import { performance } from 'node:perf_hooks';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createResource, mapRunToSpans, spanIdForStep, toReadableSpan, validateRun, validateRunStep } from '../../dist/index.js';
import { planBatches } from '../../dist/delivery/export-runs.js';
import { syntheticRuns } from '../lib/records.mjs';
import { figure, median, round } from '../lib/util.mjs';

export const defaults = { runs: 2000, stepsPerRun: 20, repeats: 3 };

function timed(repeats, fn) {
  const times = [];
  let result;
  for (let i = 0; i < repeats; i++) {
    result = undefined; // let the previous repeat's output go before timing the next
    globalThis.gc?.();
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), all: times, result };
}

export async function run(params = {}) {
  const { runs: runCount, stepsPerRun, repeats } = { ...defaults, ...params };
  const raw = syntheticRuns(runCount, stepsPerRun);
  const rawRecords = runCount * (stepsPerRun + 1);

  // Validation (zod): the boundary every source crosses before mapping.
  const validation = timed(repeats, () =>
    raw.map(({ run, steps }) => {
      const r = validateRun(run);
      if (!r.ok) throw new Error(`synthetic run rejected: ${JSON.stringify(r.issues)}`);
      return {
        runId: run.id,
        run: r.value,
        steps: steps.map((s) => {
          const v = validateRunStep(s);
          if (!v.ok) throw new Error(`synthetic step rejected: ${JSON.stringify(v.issues)}`);
          return v.value;
        }),
      };
    }),
  );
  const records = validation.result;

  // Mapping, content capture off (the default) and on.
  const mapAll = (options) => records.map((record) => mapRunToSpans(record, options));
  mapAll({}); // warm-up
  const mapping = timed(repeats, () => mapAll({ serverAddress: 'api.example.com', serverPort: 443 }));
  const spansPerRun = mapping.result.map((s) => s.length);
  const totalSpans = spansPerRun.reduce((a, b) => a + b, 0);
  const mappingContent = timed(repeats, () => mapAll({ serverAddress: 'api.example.com', serverPort: 443, captureContent: true }));
  const totalSpansContent = mappingContent.result.reduce((a, s) => a + s.length, 0);

  // The share of mapping spent deriving IDs (SHA-256 per span ID, see mapping/ids.ts).
  const idCount = 100_000;
  const idStart = performance.now();
  for (let i = 0; i < idCount; i++) spanIdForStep('run_bench_1', `step_${i}`);
  const idMicros = ((performance.now() - idStart) * 1000) / idCount;

  // Serialization through the exporter path, in the pipeline's batches (whole runs, ≤ 512 spans).
  const resource = createResource();
  const batchesOf = (mapped) => planBatches(mapped.map((spans, i) => ({ record: records[i], spans })), 512);
  const serialize = (batches, serializer) => {
    let bytes = 0;
    for (const batch of batches) {
      const readable = batch.map((span) => toReadableSpan(span, resource));
      bytes += serializer.serializeRequest(readable).byteLength;
    }
    return bytes;
  };
  const batches = batchesOf(mapping.result);
  serialize(batches.slice(0, 20), ProtobufTraceSerializer); // warm-up
  const protobuf = timed(repeats, () => serialize(batches, ProtobufTraceSerializer));
  const batchesContent = batchesOf(mappingContent.result);
  const protobufContent = timed(Math.min(2, repeats), () => serialize(batchesContent, ProtobufTraceSerializer));
  const json = timed(Math.min(2, repeats), () => serialize(batches, JsonTraceSerializer));

  const perSecond = (n, ms) => Math.round(n / (ms / 1000));
  const figures = [
    figure('validation (zod), records/s', perSecond(rawRecords, validation.ms), 'records/s'),
    figure('mapRunToSpans, runs/s', perSecond(runCount, mapping.ms), 'runs/s'),
    figure('mapRunToSpans, spans/s', perSecond(totalSpans, mapping.ms), 'spans/s'),
    figure('mapRunToSpans, µs per run', round((mapping.ms * 1000) / runCount, 1), 'µs'),
    figure('span ID derivation (SHA-256), µs per ID', round(idMicros, 2), 'µs'),
    figure('mapRunToSpans with content, spans/s', perSecond(totalSpansContent, mappingContent.ms), 'spans/s'),
    figure('protobuf serialization, spans/s', perSecond(totalSpans, protobuf.ms), 'spans/s'),
    figure('protobuf bytes per span', round(protobuf.result / totalSpans, 1), 'B/span'),
    figure('protobuf bytes per span, with content', round(protobufContent.result / totalSpansContent, 1), 'B/span'),
    figure('http/json bytes per span (for comparison)', round(json.result / totalSpans, 1), 'B/span'),
    figure('map + serialize, end-to-end spans/s', perSecond(totalSpans, mapping.ms + protobuf.ms), 'spans/s'),
  ];
  return {
    params: { runs: runCount, stepsPerRun, repeats, batchSpans: 512 },
    figures,
    details: {
      spans: totalSpans,
      spansPerRun: round(totalSpans / runCount, 1),
      toolCallSpans: totalSpans - runCount * (stepsPerRun + 1),
      batches: batches.length,
      protobufBytes: protobuf.result,
      jsonBytes: json.result,
      msMedian: { validation: round(validation.ms), mapping: round(mapping.ms), mappingWithContent: round(mappingContent.ms), protobuf: round(protobuf.ms), json: round(json.ms) },
      msAllRepeats: { mapping: mapping.all.map((v) => round(v)), protobuf: protobuf.all.map((v) => round(v)) },
    },
  };
}
