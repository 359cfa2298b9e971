/**
 * `assistants-otel import` as a stream (README `import`, "Streaming and memory"), the real CLI over
 * loopback: runs are sent while the input is still being read; records spread over files in any
 * order give the spans a sorted input gives; past `--max-held-mb`, held records go to a spill file
 * that is gone when the import ends.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killAllStartedClis, runCli, startCli } from '../support/cli.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

let receiver: OtlpReceiver;
let dir: string;
beforeEach(async () => {
  receiver = await startOtlpReceiver();
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-import-streaming-'));
});
afterEach(async () => {
  await killAllStartedClis();
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

const T0 = 1_714_560_000;

/** Run `i` (completed) and its `steps` steps, a tool call in every other one. */
function runOf(i: number, steps = 2): { run: string; steps: string[] } {
  const id = `run_${String(i).padStart(5, '0')}`;
  const t = T0 + 60 * i;
  const base = { object: 'thread.run.step', run_id: id, thread_id: 'thread_a', assistant_id: 'asst_a', status: 'completed' };
  return {
    run: JSON.stringify({ id, object: 'thread.run', created_at: t, thread_id: 'thread_a', assistant_id: 'asst_a', status: 'completed', started_at: t + 1, completed_at: t + 50, model: 'gpt-4o', instructions: 'x'.repeat(200) }),
    steps: Array.from({ length: steps }, (_, s) =>
      JSON.stringify(
        s % 2 === 0
          ? { ...base, id: `step_${i}_${s}`, created_at: t + 2 + s, completed_at: t + 3 + s, type: 'tool_calls', step_details: { type: 'tool_calls', tool_calls: [{ id: `call_${i}_${s}`, type: 'function', function: { name: 'lookup', arguments: '{"q":"y"}', output: 'z'.repeat(300) } }] } }
          : { ...base, id: `step_${i}_${s}`, created_at: t + 2 + s, completed_at: t + 3 + s, type: 'message_creation', step_details: { type: 'message_creation', message_creation: { message_id: `msg_${i}_${s}` } } },
      ),
    ),
  };
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => runOf(from + k)).flatMap((r) => [r.run, ...r.steps]);

function env() {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
}

/** Each span as what a backend stores: ids, parent, name, times, status, attributes. */
function stored(spans: readonly ReceivedSpan[]): string[] {
  return spans
    .map((s) => JSON.stringify([s.traceId, s.spanId, s.parentSpanId, s.name, String(s.startTimeUnixNano), String(s.endTimeUnixNano), s.status, s.attributes]))
    .sort();
}

describe('assistants-otel import, streaming', () => {
  it('sends runs while the input is still being read: the first request arrives before the input ends', async () => {
    const cli = startCli(['import', '-'], { env: env(), keepStdinOpen: true });
    // 300 runs of 4 spans: more than a batch (512 spans), so the first batch is complete.
    await new Promise<void>((resolve, reject) => cli.child.stdin.write(`${lines(0, 300).join('\n')}\n`, (error) => (error ? reject(error) : resolve())));
    // The input is still open: only a CLI that sends as it reads can get a request to the receiver.
    await receiver.waitFor((spans) => spans.length > 0, 30_000, 'a first request while standard input is open');
    const early = receiver.spans().length;
    expect(early).toBeGreaterThanOrEqual(512);
    expect(early).toBeLessThan(1200);
    cli.child.stdin.end(`${lines(300, 600).join('\n')}\n`);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/import: 600 runs, 1200 steps, 600 tool calls → 2400 of 2400 spans exported/);
    expect(receiver.spans()).toHaveLength(2400);
    expect(new Set(receiver.spans().map((s) => s.spanId)).size).toBe(2400);
  });

  it('a pipe that stays open and goes quiet: what it completed is sent without waiting for a full batch or the end', async () => {
    // A producer that writes three runs (12 spans, far less than a batch) and then waits: the runs
    // must not sit in the batch being filled (or, for the last, in the run being read) until more comes.
    const cli = startCli(['import', '-'], { env: env(), keepStdinOpen: true });
    cli.child.stdin.write(`${lines(0, 3).join('\n')}\n`);
    await receiver.waitFor((spans) => spans.length >= 12, 20_000, 'the three runs while standard input is open and quiet');
    // More of the last run after it was sent (a copy of a step), then more runs: the same spans, once each.
    cli.child.stdin.write(`${runOf(2).steps[1]}\n`);
    cli.child.stdin.end(`${lines(3, 5).join('\n')}\n`);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    // The copy is sent again on its own (identical): 20 distinct spans, 21 sent.
    expect(cli.stdout()).toMatch(/import: 5 runs, 11 steps, 5 tool calls → 21 of 21 spans exported/);
    expect(new Set(receiver.spans().map((s) => s.spanId)).size).toBe(20);
    const byId = new Map<string, string>();
    for (const span of receiver.spans()) {
      const [one] = stored([span]);
      expect(byId.get(span.spanId) ?? one).toBe(one);
      byId.set(span.spanId, one as string);
    }
  });

  it('steps in one file before their runs in another, past --max-held-mb: spilled, then the same spans as sorted input, and no file left', async () => {
    const runs = Array.from({ length: 1500 }, (_, i) => runOf(i, 3));
    const sorted = join(dir, 'sorted.jsonl');
    const steps = join(dir, 'steps.jsonl');
    const runsFile = join(dir, 'runs.jsonl');
    await writeFile(sorted, `${runs.flatMap((r) => [r.run, ...r.steps]).join('\n')}\n`);
    await writeFile(steps, `${runs.flatMap((r) => r.steps).join('\n')}\n`); // about 2.5 MB
    await writeFile(runsFile, `${runs.map((r) => r.run).join('\n')}\n`);
    const spillDir = await mkdtemp(join(dir, 'spill-'));

    const fromSorted = await runCli(['import', sorted], { env: env() });
    expect(fromSorted.code, fromSorted.stderr).toBe(0);
    const expected = stored(receiver.spans());
    expect(expected).toHaveLength(1500 * 6);
    receiver.reset();

    const cli = startCli(['import', '--max-held-mb', '1', '--spill-dir', spillDir, steps, runsFile], { env: env() });
    const exit = await cli.exited;
    expect(exit, cli.stderr()).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toBe('');
    expect(cli.stdout()).toMatch(/\n {2}\d+ records of runs not complete when read were held on disk \(\d+\.\d MB in a temporary file, now removed\)\n/);
    expect(stored(receiver.spans())).toEqual(expected);
    expect(await readdir(spillDir)).toEqual([]);
  });

  it('the same records in any order of files and lines, sorted or not: the same spans', async () => {
    const all = lines(0, 40);
    const shuffled = all.map((line, i) => ({ line, key: (i * 7919) % all.length })).sort((a, b) => a.key - b.key).map((x) => x.line);
    await writeFile(join(dir, 'a.jsonl'), `${all.join('\n')}\n`);
    await writeFile(join(dir, 'b1.jsonl'), `${shuffled.slice(0, 50).join('\n')}\n`);
    await writeFile(join(dir, 'b2.jsonl'), `${shuffled.slice(50).join('\n')}\n`);
    expect((await runCli(['import', '--max-spans-per-batch', '7', join(dir, 'a.jsonl')], { env: env() })).code).toBe(0);
    const expected = stored(receiver.spans());
    receiver.reset();
    expect((await runCli(['import', '--max-spans-per-batch', '7', join(dir, 'b2.jsonl'), join(dir, 'b1.jsonl')], { env: env() })).code).toBe(0);
    expect(stored(receiver.spans())).toEqual(expected);
  });
});
