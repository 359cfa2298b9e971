/**
 * The streaming import in process, as `assistants-otel import` wires it (collector → run grouper →
 * stream export), with what it released and sent captured; and the one-shot path it must agree with
 * (collect everything, map every run), for comparisons.
 */
import { mapRuns, oneShotMapping } from '../../src/delivery/export-runs.js';
import { StreamExport } from '../../src/delivery/stream-export.js';
import type { SpanData } from '../../src/mapping/types.js';
import { collectRecords, RecordCollector, type RecordLocation } from '../../src/sources/collect.js';
import { RunGrouper, type GrouperStats } from '../../src/sources/run-grouper.js';
import type { RunPart } from '../../src/sources/run-window.js';

export interface StreamOptions {
  maxSpansPerBatch?: number;
  /** @default Infinity (nothing spilled) */
  holdLimitChars?: number;
  spillParentDir?: string;
}

export interface Streamed {
  /** Each batch the grouper released, with how many values had been added when it was. */
  batches: Array<{ afterValues: number; parts: RunPart[] }>;
  /** Each request's spans, in order. */
  requests: SpanData[][];
  unfinished: Array<{ runId: string; status: string }>;
  unmapped: Array<{ runId: string; reason: string }>;
  stats: GrouperStats;
  spillErrors: string[];
}

/** Values (or files of values: arrays, read one after the other) through the streaming import. */
export async function streamImport(input: readonly unknown[] | ReadonlyArray<readonly unknown[]>, options: StreamOptions = {}): Promise<Streamed> {
  const files = input.length > 0 && input.every(Array.isArray) ? (input as ReadonlyArray<readonly unknown[]>) : [input as readonly unknown[]];
  const mapping = oneShotMapping();
  const maxSpansPerBatch = options.maxSpansPerBatch ?? 512;
  const requests: SpanData[][] = [];
  const batches: Streamed['batches'] = [];
  const spillErrors: string[] = [];
  let added = 0;
  const exported = new StreamExport<RecordLocation>({
    mapping,
    maxSpansPerBatch,
    deliver: (groups) => {
      requests.push(groups.flat());
      return Promise.resolve();
    },
  });
  const grouper = new RunGrouper({
    maxSpansPerBatch,
    mapping,
    holdLimitChars: options.holdLimitChars ?? Infinity,
    ...(options.spillParentDir !== undefined ? { spillParentDir: options.spillParentDir } : {}),
    onBatch: (parts) => {
      batches.push({ afterValues: added, parts });
      exported.push(parts);
    },
    onSpillError: (message) => spillErrors.push(message),
  });
  const collector = new RecordCollector({ sink: grouper });
  files.forEach((values, file) => {
    values.forEach((value, index) => {
      collector.add(value, { source: `file${file}`, pointer: `$[${index}]` });
      added++;
    });
  });
  grouper.end();
  await exported.finish();
  return { batches, requests, unfinished: exported.unfinished, unmapped: exported.unmapped, stats: grouper.stats, spillErrors };
}

/** The spans the one-shot path gives the same values: everything collected, every run mapped. */
export function oneShotSpans(values: readonly unknown[]): SpanData[] {
  return mapRuns(collectRecords(values).runs, oneShotMapping()).flatMap((m) => m.spans);
}

/** Spans by ID, each as its JSON text (subject left out: which record it stands for, not what is sent). */
export function spansById(spans: readonly SpanData[]): Map<string, string> {
  const byId = new Map<string, string>();
  for (const { subject: _subject, ...span } of spans) byId.set(`${span.traceId}/${span.spanId}`, JSON.stringify(span));
  return byId;
}
