/**
 * `assistants-otel import` when the user stops it or gives it nothing: Ctrl-C prints what was
 * delivered and exits 130 (during the export, and while reading a pipe that never ends); empty
 * input warns; a collector's refusal shows the collector's own reason.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killAllStartedClis, runCli, startCli } from '../support/cli.js';
import { encodeRpcStatus } from '../support/otlp-proto.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

let receiver: OtlpReceiver;
let dir: string;
beforeEach(async () => {
  receiver = await startOtlpReceiver();
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-import-'));
});
afterEach(async () => {
  await killAllStartedClis();
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

const T0 = 1_714_560_000;

/** `n` completed runs of one message step each, as JSONL. */
function runsJsonl(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `run_${String(i).padStart(4, '0')}`;
    lines.push(JSON.stringify({ id, object: 'thread.run', created_at: T0 + i, thread_id: 'thread_a', assistant_id: 'asst_a', status: 'completed', completed_at: T0 + i + 5, model: 'gpt-4o' }));
    lines.push(JSON.stringify({ id: `step_${i}`, object: 'thread.run.step', created_at: T0 + i + 1, run_id: id, thread_id: 'thread_a', assistant_id: 'asst_a', type: 'message_creation', status: 'completed', completed_at: T0 + i + 4, step_details: { type: 'message_creation', message_creation: { message_id: `msg_${i}` } } }));
  }
  return `${lines.join('\n')}\n`;
}

describe('assistants-otel import: interrupted, empty, refused', () => {
  it('Ctrl-C during the export: the spans delivered so far, exit 130', async () => {
    const file = join(dir, 'runs.jsonl');
    await writeFile(file, runsJsonl(200));
    // A slow collector: each request answered after 200 ms, 10 spans each (400 spans, 40 requests).
    receiver.respondWith(() => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, delayMs: 200 }));
    const cli = startCli(['import', '--max-spans-per-batch', '10', file], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    await receiver.waitFor((spans) => spans.length >= 30, 20_000, 'three batches delivered');
    expect(await cli.kill('SIGINT')).toEqual({ code: 130, signal: null });

    const said = /import: interrupted: (\d+) spans delivered to (\S+) \(\d+ runs, \d+ steps, 0 tool calls sent, of 200 runs read\)(?:; (\d+) more were on their way)?/.exec(cli.stdout());
    expect(said, cli.stdout() + cli.stderr()).not.toBeNull();
    const delivered = Number(said?.[1]);
    expect(said?.[2]).toBe(`${receiver.url}/v1/traces`);
    expect(delivered).toBeGreaterThanOrEqual(30);
    expect(delivered).toBeLessThan(400);
    const received = receiver.spans().length;
    expect(received).toBeGreaterThanOrEqual(delivered);
    expect(received).toBeLessThanOrEqual(delivered + Number(said?.[3] ?? 0));
    expect(cli.stdout()).toContain('importing the same records again is safe');
  });

  it('Ctrl-C while reading a pipe that never ends: the runs it completed were delivered, exit 130', async () => {
    const cli = startCli(['import', '-'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, keepStdinOpen: true });
    // More than a pipe holds (64 KiB): the write completes only once the CLI is reading, so its
    // signal handlers are in place (a SIGINT before would kill it like any process, proving nothing).
    await new Promise<void>((resolve, reject) => cli.child.stdin.write(runsJsonl(2000), (error) => (error ? reject(error) : resolve())));
    // Runs are sent as the input completes them, whether or not it ever ends.
    await receiver.waitFor((spans) => spans.length >= 512, 20_000, 'a first batch of the runs read');
    expect(await cli.kill('SIGINT')).toEqual({ code: 130, signal: null });
    const said = /^import: interrupted: (\d+) spans delivered to \S+ \((\d+) runs, \d+ steps, 0 tool calls sent, of (\d+) runs read\)(?:; (\d+) more were on their way[^\n]*)?\n/.exec(cli.stdout());
    expect(said, cli.stdout() + cli.stderr()).not.toBeNull();
    const delivered = Number(said?.[1]);
    expect(delivered).toBeGreaterThanOrEqual(512);
    // The last run read is never complete (the input had not moved on from it), and reading waits
    // for the sending: it may not have reached the end of what was written.
    expect(Number(said?.[2])).toBeLessThan(Number(said?.[3]));
    expect(Number(said?.[3])).toBeLessThanOrEqual(2000);
    expect(receiver.spans().length).toBeGreaterThanOrEqual(delivered);
    expect(receiver.spans().length).toBeLessThanOrEqual(delivered + Number(said?.[4] ?? 0));
  });

  it('Ctrl-C while reading a pipe that never ends, before any run is complete: nothing exported, exit 130', async () => {
    const cli = startCli(['import', '-'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, keepStdinOpen: true });
    // One run and many steps (more than a pipe or socket buffer holds): the input never moves on from it.
    const lines = runsJsonl(1).trimEnd().split('\n');
    const step = JSON.parse(lines[1] as string) as Record<string, unknown>;
    const steps = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ ...step, id: `step_more_${i}` }));
    await new Promise<void>((resolve, reject) => cli.child.stdin.write(`${[...lines, ...steps].join('\n')}\n`, (error) => (error ? reject(error) : resolve())));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await cli.kill('SIGINT')).toEqual({ code: 130, signal: null });
    expect(cli.stdout()).toBe('import: interrupted while reading standard input: nothing exported\n');
    expect(receiver.requests).toEqual([]);
  });

  it('empty input warns, file by file, and says there was nothing to export', async () => {
    const empty = join(dir, 'empty.jsonl');
    const blank = join(dir, 'blank.json');
    await writeFile(empty, '');
    await writeFile(blank, '\n  \n');
    const result = await runCli(['import', empty, blank], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`warning: ${empty} holds no records (it is empty)`);
    expect(result.stderr).toContain(`warning: ${blank} holds no records (it is empty)`);
    expect(result.stderr).toContain('warning: the input holds no records: nothing to export');
    expect(receiver.requests).toEqual([]);

    const stdin = await runCli(['import', '-'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, stdin: '' });
    expect(stdin.stderr).toContain('warning: standard input holds no records (it is empty)');
  });

  it('a file with records next to an empty one: only the empty one is named', async () => {
    const empty = join(dir, 'empty.jsonl');
    const full = join(dir, 'runs.jsonl');
    await writeFile(empty, '');
    await writeFile(full, runsJsonl(1));
    const result = await runCli(['import', empty, full], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trim()).toBe(`warning: ${empty} holds no records (it is empty)`);
    expect(receiver.spans()).toHaveLength(2);
  });

  it('a collector\'s refusal is shown with its own reason, cut', async () => {
    const file = join(dir, 'runs.jsonl');
    await writeFile(file, runsJsonl(1));
    receiver.failNext(1, { status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: encodeRpcStatus(3, `bad request: ${'x'.repeat(1000)}`) });
    const result = await runCli(['import', file], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(result.code).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.startsWith('export failed:')) ?? '';
    expect(line).toMatch(/^export failed: 2 spans refused by the collector HTTP 400: collector answered HTTP 400: bad request: x+…$/);
    expect(line.length).toBeLessThan(400);
  });

  it('an endpoint given with /v1/traces as the base gets a hint, exit 2', async () => {
    const file = join(dir, 'runs.jsonl');
    await writeFile(file, runsJsonl(1));
    const result = await runCli(['import', file], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`already ends in /v1/traces: give "${receiver.url}", or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to the full URL`);
    expect(receiver.requests).toEqual([]);
  });
});
