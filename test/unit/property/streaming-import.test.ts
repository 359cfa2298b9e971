/**
 * Property: the streaming import sends the spans the one-shot path gives (everything read, grouped,
 * then mapped), whatever the order of the records, however they are split into files, with in-progress
 * copies of records anywhere, steps without a usable time (placed by their run), with or without spilling, for any batch size: every span once, each
 * byte for byte the same (README `import`, "Streaming and memory"). Batches may differ.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0, TRACEPARENT, codeInterpreterCall, functionCall, run, runInProgress, step, toolCallsStep, type Json } from '../../fixtures/records.js';
import { oneShotSpans, spansById, streamImport } from '../../support/stream-import.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-streaming-property-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type RunShape = 'completed' | 'failed' | 'incomplete-no-end' | 'in_progress' | 'steps-only' | 'traceparent';

const runShape = fc.constantFrom<RunShape>('completed', 'completed', 'failed', 'incomplete-no-end', 'in_progress', 'steps-only', 'traceparent');

type StepShape = 'done' | 'going' | 'untimed';

/** One run's records: its run record (unless steps-only) and its steps, some in progress, some without a usable time. */
function recordsOf(i: number, shape: RunShape, steps: StepShape[]): Json[] {
  const id = `run_${i}`;
  const t = T0 + 50 * i;
  const stepRecords = steps.map((stepShape, s) => {
    const finished = stepShape !== 'going';
    const times = stepShape === 'untimed' ? { created_at: -1, completed_at: 0 } : { created_at: t + 2 * s + 1, completed_at: finished ? t + 2 * s + 2 : null };
    const base = { id: `step_${i}_${s}`, run_id: id, ...times, status: finished ? 'completed' : 'in_progress' };
    return s % 2 === 0 ? toolCallsStep([functionCall({ id: `call_${i}_${s}` }), codeInterpreterCall({ id: `ci_${i}_${s}` })], base) : step(base);
  });
  const overrides: Record<RunShape, Json> = {
    completed: {},
    failed: { status: 'failed', completed_at: null, failed_at: t + 40, last_error: { code: 'server_error', message: 'boom' } },
    'incomplete-no-end': { status: 'incomplete', completed_at: null, incomplete_details: { reason: 'max_prompt_tokens' } },
    in_progress: { status: 'in_progress', completed_at: null, expires_at: t + 600 },
    'steps-only': {},
    traceparent: { metadata: { traceparent: TRACEPARENT.header } },
  };
  if (shape === 'steps-only') return stepRecords;
  return [run({ id, created_at: t, started_at: t + 1, completed_at: t + 40, ...overrides[shape] }), ...stepRecords];
}

/** An older, in-progress copy of a record: whatever the order, the terminal version must win. */
function staleCopy(record: Json): Json {
  if (record['object'] === 'thread.run') return runInProgress({ id: record['id'], created_at: record['created_at'] });
  return { ...record, status: 'in_progress', completed_at: null };
}

const input = fc
  .array(fc.tuple(runShape, fc.array(fc.constantFrom<StepShape>('done', 'done', 'going', 'untimed'), { minLength: 0, maxLength: 5 })), { minLength: 1, maxLength: 12 })
  .chain((runs) => {
    const records = runs.flatMap(([shape, steps], i) => recordsOf(i, shape, steps));
    return fc.record({
      records: fc.constant(records),
      order: fc.shuffledSubarray(records.map((_, i) => i), { minLength: records.length, maxLength: records.length }),
      // Keep runs sorted by run (as dumps are) in some inputs, shuffled in the others.
      sorted: fc.boolean(),
      copies: fc.array(fc.nat(Math.max(0, records.length - 1)), { maxLength: records.length > 0 ? 4 : 0 }),
      files: fc.array(fc.nat(records.length), { maxLength: 3 }),
      maxSpansPerBatch: fc.integer({ min: 1, max: 40 }),
      spill: fc.boolean(),
    });
  });

describe('streaming import (property)', () => {
  it('sends the spans of the one-shot path, each once, whatever the order, files, copies, batch size and spilling', async () => {
    await fc.assert(
      fc.asyncProperty(input, async ({ records, order, sorted, copies, files, maxSpansPerBatch, spill }) => {
        let values = sorted ? records : order.map((i) => records[i] as Json);
        // Stale copies anywhere: before or after the record they copy.
        for (const [n, index] of copies.entries()) {
          const copy = staleCopy(records[index] as Json);
          const at = (index * 7 + n * 13) % (values.length + 1);
          values = [...values.slice(0, at), copy, ...values.slice(at)];
        }
        const cuts = [...new Set(files.map((c) => c % (values.length + 1)))].sort((a, b) => a - b);
        const split = [0, ...cuts, values.length].slice(1).map((end, i, ends) => values.slice(i === 0 ? 0 : (ends[i - 1] as number), end)).filter((f) => f.length > 0);
        const spillDir = spill ? await mkdtemp(join(dir, 'spill-')) : undefined;
        const streamed = await streamImport(split, {
          maxSpansPerBatch,
          ...(spillDir ? { holdLimitChars: 2_000, spillParentDir: spillDir } : {}),
        });
        const expected = oneShotSpans(values);
        const sent = streamed.requests.flat();
        expect(streamed.unmapped).toEqual([]);
        expect(sent.length).toBe(expected.length);
        expect(spansById(sent)).toEqual(spansById(expected));
        for (const request of streamed.requests) expect(request.length).toBeLessThanOrEqual(maxSpansPerBatch);
        if (spillDir) expect(await readdir(spillDir)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
