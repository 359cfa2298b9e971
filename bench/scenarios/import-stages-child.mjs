// Where the import's time goes: the import's own pipeline, in one process, stopped after a stage:
//   parse     read + split lines + JSON.parse (the parse floor, through the import's reader)
//   validate  + validation (zod) and routing of every record
//   group     + grouping by run (run-grouper: the flush rule, the batch window)
//   map       + mapping to spans (mapRunToSpans), batch by batch
//   encode    + toReadableSpan and the official protobuf serializer, request by request
// Nothing is sent: the difference between `encode` and the CLI's time is HTTP, startup and GC of
// a process that also sends. Usage: node import-stages-child.mjs FILE STAGE; prints JSON.
import { performance } from 'node:perf_hooks';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { oneShotMapping } from '../../dist/delivery/export-runs.js';
import { createResource } from '../../dist/delivery/resource.js';
import { toReadableSpan } from '../../dist/delivery/spans.js';
import { StreamExport } from '../../dist/delivery/stream-export.js';
import { RecordCollector } from '../../dist/sources/collect.js';
import { readRecordSource } from '../../dist/sources/files.js';
import { RunGrouper } from '../../dist/sources/run-grouper.js';

const [file, stage] = process.argv.slice(2);
const resource = createResource();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let count = 0;
if (stage === 'parse') {
  const target = { add: () => count++, addEvent: () => count++, addUnreadable: () => count++ };
  await readRecordSource(file, target, process.stdin);
} else if (stage === 'validate') {
  await readRecordSource(file, new RecordCollector({ sink: { run: () => count++, step: () => count++ } }), process.stdin);
} else {
  const mapping = oneShotMapping();
  const exported = new StreamExport({
    mapping,
    maxSpansPerBatch: 512,
    deliver: async (groups) => {
      if (stage === 'map') return void (count += groups.length);
      count += ProtobufTraceSerializer.serializeRequest(groups.flat().map((s) => toReadableSpan(s, resource))).length;
    },
  });
  const grouper = new RunGrouper({
    maxSpansPerBatch: 512,
    mapping,
    holdLimitChars: 16e6,
    onBatch: (parts) => (stage === 'group' ? void (count += parts.length) : exported.push(parts)),
  });
  await readRecordSource(file, new RecordCollector({ sink: grouper }), process.stdin, { settle: () => exported.settle() });
  grouper.end();
  await exported.finish();
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ stage, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, count })}\n`);
