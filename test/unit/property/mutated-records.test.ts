/**
 * Property: real records (the fidelity corpus and the spec-shaped builders), some of them mutated at
 * random (a field set to any JSON value, an absurd number, a time in the wrong unit, a value nested
 * thousands of levels deep; a field deleted; a record replaced by junk), go through the same path as
 * `import`: read from JSONL and from a raw event stream, validated, grouped, mapped, and serialized by
 * the official OTLP protobuf and JSON serializers.
 *
 * For every input: nothing throws, nothing hangs, every encoded time is one OTLP can carry, and every
 * record that was not mutated and is finished is exported (its span ID is in what was sent).
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRunTerminal, isStepTerminal } from '../../../src/api/lifecycle.js';
import { validateRun, validateRunStep } from '../../../src/api/validate.js';
import { exportRuns } from '../../../src/delivery/export-runs.js';
import { createResource } from '../../../src/delivery/resource.js';
import { spanIdForRun, spanIdForStep } from '../../../src/mapping/ids.js';
import { RecordCollector } from '../../../src/sources/collect.js';
import { readRecordSource } from '../../../src/sources/files.js';
import { activitiesStep, bingGroundingCall, codeInterpreterCall, fileSearchCall, functionCall, run, runInProgress, step, toolCallsStep, type Json } from '../../fixtures/records.js';

const CORPUS = fileURLToPath(new URL('../../fixtures/fidelity/', import.meta.url));
const EARLIEST_NS = 1_420_070_400n * 1_000_000_000n;
const LATEST_NS = 4_102_444_800n * 1_000_000_000n;

type Kind = 'run' | 'step';
interface Item {
  value: unknown;
  kind: Kind;
}

/** The last saved version of every run and step of the corpus that validates, plus the builders'. */
function corpus(): Item[] {
  const files = ['usage.jsonl', 'image-null.jsonl', 'unfinished.jsonl', 'azure.jsonl', 'timestamps.jsonl', 'prism.jsonl'];
  const values: Json[] = files.flatMap((f) =>
    readFileSync(`${CORPUS}${f}`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Json),
  );
  values.push(
    run({ id: 'run_b1' }),
    step({ id: 'step_b1', run_id: 'run_b1' }),
    toolCallsStep([functionCall(), codeInterpreterCall(), fileSearchCall(), bingGroundingCall()], { id: 'step_b2', run_id: 'run_b1' }),
    activitiesStep({ run_id: 'run_b1' }),
    runInProgress({ id: 'run_b2' }),
    step({ id: 'step_b3', run_id: 'run_b2' }),
    step({ id: 'step_b4', run_id: 'run_orphan' }),
  );
  // One version per id (the last, as the collector keeps it), and only what validates.
  const byId = new Map<string, Item>();
  for (const value of values) {
    const isStep = value['object'] === 'thread.run.step';
    const valid = isStep ? validateRunStep(value).ok : validateRun(value).ok;
    if (valid) byId.set(`${isStep ? 'step' : 'run'}:${String(value['id'])}`, { value, kind: isStep ? 'step' : 'run' });
  }
  return [...byId.values()];
}

const RECORDS = corpus();

// ---- mutations ---------------------------------------------------------------------------------------

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

const T = 1733050000;
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(1e300, -1, 0, -0, Infinity, -Infinity, Number.NaN, 8.64e12, 2 ** 60, T * 1000, T * 1e6, `${T}`, '2024-12-01T10:46:40Z', '', 'not a time', null, true, [], {}, [null], { type: null }),
  fc.constant<unknown>('__DEEP__'),
);

type Mutation = { op: 'set'; path: number; value: unknown } | { op: 'delete'; path: number } | { op: 'replace'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), path: fc.nat(), value: oddValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace' as const), value: fc.jsonValue({ maxDepth: 2 }) }) },
);

/** Every path into a value (objects and arrays), up to a depth, in a stable order. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (prefix.length >= 6 || typeof value !== 'object' || value === null) return out;
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, Array.isArray(value) ? Number(key) : key];
    out.push(path);
    pathsOf(child, path, out);
  }
  return out;
}

function materialize(value: unknown): unknown {
  return value === '__DEEP__' ? nested(2_000) : value;
}

function apply(record: unknown, m: Mutation): unknown {
  if (m.op === 'replace') return m.value;
  const paths = pathsOf(record);
  if (paths.length === 0) return m.op === 'set' ? materialize(m.value) : record;
  const path = paths[m.path % paths.length] as (string | number)[];
  let parent = record as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = materialize(m.value);
  }
  return record;
}

// ---- the path of `import` -------------------------------------------------------------------------------

/** Serializes every batch with both official encoders (what the OTLP exporter does), checks every time. */
class EncodingExporter implements SpanExporter {
  readonly spanIds = new Set<string>();
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    ProtobufTraceSerializer.serializeRequest(spans);
    const json = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))) as {
      resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ spanId: string; startTimeUnixNano: string; endTimeUnixNano: string }> }> }>;
    };
    for (const s of json.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans))) {
      for (const t of [s.startTimeUnixNano, s.endTimeUnixNano]) {
        const ns = BigInt(t);
        if (ns < EARLIEST_NS || ns >= LATEST_NS) throw new Error(`a time OTLP should not carry: ${t}`);
      }
    }
    for (const span of spans) this.spanIds.add(span.spanContext().spanId);
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const FAST = { maxAttempts: 1, initialDelayMillis: 1, maxDelayMillis: 1, multiplier: 1, jitterRatio: 0 };

/** JSON text of records; `undefined` (a replaced record can be nothing) is written as `null`. */
function jsonLines(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v) ?? 'null').join('\n');
}

function eventStream(values: readonly unknown[]): string {
  return values.map((v) => `event: thread.run.step.completed\r\ndata: ${JSON.stringify(v) ?? 'null'}\r\n\r\n`).join('');
}

async function importText(text: string): Promise<{ collector: RecordCollector; exporter: EncodingExporter; unmapped: number }> {
  const collector = new RecordCollector();
  await readRecordSource('-', collector, Readable.from([Buffer.from(text)]));
  const exporter = new EncodingExporter();
  const result = await exportRuns(collector.result().runs, { exporter, resource: createResource(), retry: FAST });
  expect(result.failures).toEqual([]);
  return { collector, exporter, unmapped: result.unmapped.length };
}

/** The span IDs an unmutated record must have produced: a finished step's, or its run's. */
function expectedSpanId(item: Item, others: readonly unknown[]): string | undefined {
  if (item.kind === 'step') {
    const v = validateRunStep(item.value);
    return v.ok && isStepTerminal(v.value) ? spanIdForStep(v.value.run_id, v.value.id) : undefined;
  }
  const v = validateRun(item.value);
  if (!v.ok) return undefined;
  if (isRunTerminal(v.value)) return spanIdForRun(v.value.id);
  // A run still going has a span when one of its steps finished (its unfinished run span).
  const hasFinishedStep = others.some((o) => {
    const s = validateRunStep(o);
    return s.ok && s.value.run_id === v.value.id && isStepTerminal(s.value);
  });
  return hasFinishedStep ? spanIdForRun(v.value.id) : undefined;
}

describe('mutated records (property)', () => {
  it('never crash or hang; every unmutated finished record is exported, through JSONL and SSE alike', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 8 }), fc.boolean(), async (mutations, asStream) => {
        const values = RECORDS.map((r) => structuredClone(r.value));
        const mutated = new Set<number>();
        for (const [n, m] of mutations) {
          const index = n % values.length;
          mutated.add(index);
          values[index] = apply(values[index], m);
        }
        // Identity is the record's own: an unmutated record whose id a mutated one now claims is not judged.
        const claimed = new Set([...mutated].map((i) => (values[i] as { id?: unknown } | null)?.id).filter((id) => typeof id === 'string'));
        const { exporter } = await importText(asStream ? eventStream(values) : jsonLines(values));
        const unmutatedValues = values.filter((_, i) => !mutated.has(i));
        for (const [i, item] of RECORDS.entries()) {
          if (mutated.has(i) || claimed.has((item.value as { id: string }).id)) continue;
          const spanId = expectedSpanId(item, unmutatedValues);
          if (spanId !== undefined) expect(exporter.spanIds, `${String((item.value as { id: string }).id)} exported`).toContain(spanId);
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('the corpus unmutated: every finished record exported, nothing rejected, nothing unmapped', async () => {
    const values = RECORDS.map((r) => r.value);
    const { exporter, collector, unmapped } = await importText(jsonLines(values));
    expect(collector.result().rejected).toEqual([]);
    expect(unmapped).toBe(0);
    const expected = RECORDS.map((r) => expectedSpanId(r, values)).filter((id) => id !== undefined);
    expect(expected.length).toBeGreaterThan(20);
    for (const id of expected) expect(exporter.spanIds).toContain(id);
  });
});
