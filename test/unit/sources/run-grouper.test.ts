/**
 * The streaming import's grouping (README `import`, "Streaming and memory"): a run is sent once its
 * terminal run record (with an end time) has been read and the input has moved on to another run;
 * records met after their run was sent are sent in its trace; runs that cannot be complete yet are
 * held (and spilled past the bound) until they are, or until the end of the input. Whatever the
 * order of the input, the spans are those of the one-shot path that reads everything first.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spanIdForRun } from '../../../src/mapping/ids.js';
import { T0, TRACEPARENT, event, functionCall, run, runInProgress, step, toolCallsStep, type Json } from '../../fixtures/records.js';
import { oneShotSpans, spansById, streamImport, type Streamed } from '../../support/stream-import.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-grouper-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run `i`: created at T0 + 100·i, completed 30 s later, with `steps` message steps (and one tool_calls step). */
function runRecords(i: number, steps = 3, overrides: Json = {}): { run: Json; steps: Json[] } {
  const id = `run_${String(i).padStart(3, '0')}`;
  const t = T0 + 100 * i;
  const list = Array.from({ length: steps }, (_, s) =>
    s === 0
      ? toolCallsStep([functionCall({ id: `call_${i}_a` }), functionCall({ id: `call_${i}_b` })], { id: `step_${i}_${s}`, run_id: id, created_at: t + 1, completed_at: t + 5 })
      : step({ id: `step_${i}_${s}`, run_id: id, created_at: t + 5 * s, completed_at: t + 5 * s + 3 }),
  );
  return { run: run({ id, created_at: t, started_at: t + 1, completed_at: t + 30, ...overrides }), steps: list };
}

/** Runs each followed by its steps, as a dump holds them. */
function sortedByRun(n: number, steps = 3): Json[] {
  return Array.from({ length: n }, (_, i) => runRecords(i, steps)).flatMap((r) => [r.run, ...r.steps]);
}

const releasedRuns = (s: Streamed) => s.batches.map((b) => b.parts.map((p) => `${p.runId}${p.sentBefore ? '+' : ''}`));

function expectSameSpansAsOneShot(streamed: Streamed, values: readonly unknown[]): void {
  const expected = oneShotSpans(values);
  const sent = streamed.requests.flat();
  // Every span once (no second version of any), and each exactly as the one-shot path has it.
  expect(sent.length).toBe(expected.length);
  expect(spansById(sent)).toEqual(spansById(expected));
}

describe('input sorted by run', () => {
  it('sends each run once the next one starts, not at the end: one run held at a time', async () => {
    const values = sortedByRun(6);
    // 6 spans per run (run, 3 steps, 2 tool calls): a batch of 6 is one run.
    const streamed = await streamImport(values, { maxSpansPerBatch: 6 });
    expect(releasedRuns(streamed)).toEqual([['run_000'], ['run_001'], ['run_002'], ['run_003'], ['run_004'], ['run_005']]);
    // run_000 left when run_002 started (its batch was full once run_001 came): 4 records per run.
    expect(streamed.batches.map((b) => b.afterValues)).toEqual([8, 12, 16, 20, 24, 24]);
    expect(streamed.stats.runsHeld).toBe(0);
    expectSameSpansAsOneShot(streamed, values);
  });

  it('steps before their run record (a saved stream): the run is complete at its terminal record, once the input moves on', async () => {
    const r0 = runRecords(0);
    const r1 = runRecords(1);
    const values = [
      event('thread.run.created', runInProgress({ id: 'run_000', created_at: T0 })),
      ...r0.steps.map((s) => event('thread.run.step.completed', s)),
      event('thread.run.completed', r0.run),
      event('thread.run.created', runInProgress({ id: 'run_001', created_at: T0 + 100 })),
      ...r1.steps,
      r1.run,
      ...sortedByRun(3).slice(8),
    ];
    const streamed = await streamImport(values, { maxSpansPerBatch: 6 });
    // run_000 was complete once run_001 began (value 5), run_001 once run_002 did (value 10); each
    // leaves when the next run takes its place in the batch being filled.
    expect(streamed.batches.map((b) => [b.afterValues, b.parts.map((p) => p.runId)])).toEqual([
      [10, ['run_000']],
      [14, ['run_001']],
      [14, ['run_002']],
    ]);
    expect(streamed.unfinished).toEqual([]);
    expectSameSpansAsOneShot(streamed, values);
  });

  it('batches whole runs up to the limit, and orders runs by start within a batch (a dump newest first)', async () => {
    const values = [...sortedByRun(4)].reverse(); // steps then run, newest run first
    const streamed = await streamImport(values, { maxSpansPerBatch: 12 });
    expect(releasedRuns(streamed)).toEqual([['run_002', 'run_003'], ['run_000', 'run_001']]);
    expect(streamed.requests.map((r) => r.length)).toEqual([12, 12]);
    expectSameSpansAsOneShot(streamed, values);
  });
});

describe('records of a run spread over the input', () => {
  it('runs first, then their steps (runs.json steps.jsonl): a step met after its run was sent is sent in its trace', async () => {
    const runs = Array.from({ length: 5 }, (_, i) => runRecords(i, 3, i === 2 ? { metadata: { traceparent: TRACEPARENT.header } } : {}));
    const files = [runs.map((r) => r.run), runs.flatMap((r) => r.steps)];
    const streamed = await streamImport(files, { maxSpansPerBatch: 4 });
    // Runs go as their batch fills; their steps follow, each run's sent on their own (+), in its trace.
    expect(streamed.stats.runsHeld).toBe(0);
    expect(releasedRuns(streamed)).toEqual([['run_000', 'run_001', 'run_002', 'run_003'], ['run_004'], ['run_000+'], ['run_001+'], ['run_002+'], ['run_003+'], ['run_004+']]);
    const steps = streamed.requests.flat().filter((s) => s.subject.runId === 'run_002' && s.subject.kind !== 'run');
    expect(new Set(steps.map((s) => s.traceId))).toEqual(new Set([TRACEPARENT.traceId]));
    expectSameSpansAsOneShot(streamed, files.flat());
  });

  it('steps first, then their runs (steps.jsonl runs.json): held until the run record comes, then sent whole', async () => {
    const runs = Array.from({ length: 4 }, (_, i) => runRecords(i));
    const files = [runs.flatMap((r) => r.steps), runs.map((r) => r.run)];
    const streamed = await streamImport(files, { maxSpansPerBatch: 6 });
    expect(streamed.stats.runsHeld).toBe(4);
    expect(releasedRuns(streamed)).toEqual([['run_000'], ['run_001'], ['run_002'], ['run_003']]);
    // run_000 left when run_002's record came: the first run record after all the steps is value 12.
    expect(streamed.batches[0]?.afterValues).toBe(14);
    expectSameSpansAsOneShot(streamed, files.flat());
  });

  it('a run in three pieces, records of other runs between them, in any order of pieces', async () => {
    const r = runRecords(0, 4);
    const other = sortedByRun(3).slice(5); // run_001 and run_002 whole
    const orders = [
      [r.run, r.steps[0], ...other.slice(0, 5), r.steps[1], r.steps[2], ...other.slice(5), r.steps[3]],
      [r.steps[3], ...other.slice(0, 5), r.steps[0], r.run, ...other.slice(5), r.steps[1], r.steps[2]],
    ];
    for (const values of orders) expectSameSpansAsOneShot(await streamImport(values as Json[], { maxSpansPerBatch: 5 }), values);
  });
});

describe('an input that fits in one batch', () => {
  it('gives the request the one-shot path gives, span for span, whatever the order of its records', async () => {
    const runs = Array.from({ length: 5 }, (_, i) => runRecords(i));
    const sorted = runs.flatMap((r) => [r.run, ...r.steps]);
    const orders = [
      sorted,
      [...sorted].reverse(),
      [...runs.map((r) => r.run), ...runs.flatMap((r) => r.steps)],
      [...runs.flatMap((r) => r.steps), ...runs.map((r) => r.run)],
      sorted.filter((_, i) => i % 2 === 0).concat(sorted.filter((_, i) => i % 2 === 1)),
    ];
    const expected = oneShotSpans(sorted);
    for (const values of orders) {
      const streamed = await streamImport(values);
      expect(streamed.requests).toHaveLength(1);
      expect(streamed.requests[0]).toEqual(expected);
    }
  });
});

describe('a record seen twice: the terminal version wins, then the later one', () => {
  it('an in-progress copy after the terminal one, in the same run, or after the run was sent: dropped', async () => {
    const [a, b] = [runRecords(0), runRecords(1)];
    const stale = [runInProgress({ id: 'run_000', created_at: T0 }), step({ ...a.steps[1], status: 'in_progress', completed_at: null })];
    const values = [a.run, ...a.steps, stale[0], b.run, ...b.steps, ...stale];
    const streamed = await streamImport(values, { maxSpansPerBatch: 6 });
    expect(streamed.unfinished).toEqual([]);
    expectSameSpansAsOneShot(streamed, values);
  });

  it('a terminal copy met again while its run is still in the batch being filled: folded in, the later one wins', async () => {
    const a = runRecords(0);
    const later = { ...a.steps[1], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
    const values = [a.run, ...a.steps, ...sortedByRun(2).slice(5), later];
    const streamed = await streamImport(values, { maxSpansPerBatch: 512 });
    expect(releasedRuns(streamed)).toEqual([['run_000', 'run_001']]);
    expectSameSpansAsOneShot(streamed, values);
  });

  it('a terminal copy without an end time met after a copy with one (an incomplete save of a completed run): the one with the end time wins, sent or not', async () => {
    // The copy without an end time cannot be mapped once the run is sent: its span would end at the
    // last step read since (the earlier steps are gone), a span that neither copy describes.
    const a = runRecords(0);
    const noEnd = run({ ...(a.run as Json), status: 'incomplete', completed_at: null, incomplete_details: { reason: 'max_prompt_tokens' } });
    const b = runRecords(1);
    for (const values of [
      [a.run, ...a.steps, b.run, ...b.steps, noEnd],
      [a.run, ...a.steps, noEnd, b.run, ...b.steps],
      [noEnd, ...a.steps, b.run, ...b.steps, a.run],
    ]) {
      for (const maxSpansPerBatch of [1, 6, 512]) {
        const streamed = await streamImport(values, { maxSpansPerBatch });
        const runSpans = streamed.requests.flat().filter((s) => s.spanId === spanIdForRun('run_000'));
        expect(runSpans.map((s) => [s.endTime, s.attributes['assistants.run.status']])).toEqual([[[T0 + 30, 0], 'completed']]);
        expectSameSpansAsOneShot(streamed, values);
      }
    }
  });

  it('the same record read twice, after its run was sent: sent again, identical (backends keep one copy)', async () => {
    const values = [...sortedByRun(3), ...sortedByRun(1)];
    const streamed = await streamImport(values, { maxSpansPerBatch: 6 });
    const sent = streamed.requests.flat();
    expect(sent.length).toBe(oneShotSpans(values).length + 6);
    expect(spansById(sent)).toEqual(spansById(oneShotSpans(values)));
  });
});

describe('runs that cannot be complete before the end of the input', () => {
  it('a run still going, a run known only by its steps, a terminal run without an end time: sent at the end, by start then id', async () => {
    const going = runRecords(5, 3, { status: 'in_progress', completed_at: null, expires_at: T0 + 9999 });
    const orphan = runRecords(4).steps;
    const incomplete = runRecords(3, 3, { status: 'incomplete', completed_at: null, incomplete_details: { reason: 'max_completion_tokens' } });
    const values = [going.run, ...going.steps, ...orphan, incomplete.run, ...incomplete.steps.slice(0, 2), ...sortedByRun(2), incomplete.steps[2] as Json];
    const streamed = await streamImport(values, { maxSpansPerBatch: 6 });
    expect(releasedRuns(streamed)).toEqual([['run_000'], ['run_001'], ['run_003'], ['run_004'], ['run_005']]);
    expect(streamed.batches.slice(2).every((b) => b.afterValues === values.length)).toBe(true);
    expect(streamed.unfinished).toEqual([{ runId: 'run_005', status: 'in_progress', steps: 3 }]);
    // The incomplete run ends at its last step, the one read last of all.
    const span = streamed.requests.flat().find((s) => s.spanId === spanIdForRun('run_003'));
    expect(span?.endTime).toEqual([T0 + 300 + 13, 0]);
    expectSameSpansAsOneShot(streamed, values);
  });
});

describe('spilling held runs to disk', () => {
  const stepsFirst = () => {
    const runs = Array.from({ length: 30 }, (_, i) => runRecords(i, 4));
    return [runs.flatMap((r) => r.steps).reverse(), runs.map((r) => r.run)];
  };

  it('past the bound, held runs go to a spill file and come back when complete: the same spans as held in memory', async () => {
    const files = stepsFirst();
    const spillDir = await mkdtemp(join(dir, 'spill-'));
    const inMemory = await streamImport(files, { maxSpansPerBatch: 20 });
    const spilled = await streamImport(files, { maxSpansPerBatch: 20, holdLimitChars: 5_000, spillParentDir: spillDir });
    expect(inMemory.stats.recordsSpilled).toBe(0);
    expect(spilled.stats.recordsSpilled).toBeGreaterThan(60);
    expect(spilled.stats.spillBytes).toBeGreaterThan(30_000);
    expect(spilled.stats.peakHeldChars).toBeLessThan(inMemory.stats.peakHeldChars / 4);
    expect(spilled.spillErrors).toEqual([]);
    expect(spilled.requests).toEqual(inMemory.requests);
    expectSameSpansAsOneShot(spilled, files.flat());
    // Nothing is left behind.
    expect(await readdir(spillDir)).toEqual([]);
  });

  it('held runs still open at the end (in progress, steps only) come back from the spill file too', async () => {
    const values = Array.from({ length: 20 }, (_, i) => runRecords(i, 3, { status: 'in_progress', completed_at: null })).flatMap((r) => [...r.steps, r.run]);
    const spilled = await streamImport(values, { holdLimitChars: 3_000, spillParentDir: await mkdtemp(join(dir, 'spill-')) });
    expect(spilled.stats.recordsSpilled).toBeGreaterThan(0);
    expect(spilled.unfinished).toHaveLength(20);
    expectSameSpansAsOneShot(spilled, values);
  });

  it('a spill directory that cannot be used: said once, everything held in memory instead, nothing lost', async () => {
    const files = stepsFirst();
    const streamed = await streamImport(files, { holdLimitChars: 5_000, spillParentDir: join(dir, 'no', 'such', 'dir') });
    expect(streamed.spillErrors).toHaveLength(1);
    expect(streamed.spillErrors[0]).toMatch(/cannot create a spill file under .*no\/such\/dir: ENOENT/);
    expectSameSpansAsOneShot(streamed, files.flat());
  });
});
