/**
 * Reading saved records (README `import`): `.jsonl`/`.ndjson` line by line, `.json` as one document,
 * other names and `-` (standard input) sniffed; a bad line is located by `file:line`; a bad JSON file
 * is rejected as a whole; whatever else can be read is still collected.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordCollector, formatLocation, type Collected } from '../../../src/sources/collect.js';
import { readRecordSource } from '../../../src/sources/files.js';
import { IDS, functionCall, list, message, run, step, toolCallsStep, without } from '../../fixtures/records.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-files-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text, 'utf8');
  return path;
}

const noStdin = () => Readable.from([]);

async function read(paths: string[], stdin: Readable = noStdin()): Promise<Collected> {
  const collector = new RecordCollector();
  for (const path of paths) await readRecordSource(path, collector, stdin);
  return collector.result();
}

const jsonl = (...values: unknown[]) => values.map((v) => JSON.stringify(v)).join('\n') + '\n';
const rejectedAt = (c: Collected) => c.rejected.map((r) => formatLocation(r.location));
const stepIds = (c: Collected) => c.runs.flatMap((r) => r.steps.map((s) => s.id)).sort();

describe('JSONL', () => {
  it.each(['steps.jsonl', 'steps.ndjson', 'STEPS.JSONL'])('reads %s line by line', async (name) => {
    const path = await file(name, jsonl(run(), step(), toolCallsStep([functionCall()])));
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIds(collected)).toEqual([IDS.step, 'step_tools1']);
  });

  it.each([
    ['an array', (v: unknown[]) => JSON.stringify(v, null, 2)],
    ['a list envelope', (v: unknown[]) => JSON.stringify(list(v), null, 2)],
  ])('a pretty-printed document (%s) saved as .jsonl is read as one document, not rejected line by line', async (_kind, print) => {
    const path = await file('pretty.jsonl', `${print([run(), step()])}\n`);
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('a .jsonl whose first line is "{" alone but is not one document: still read as lines, the bad ones located', async () => {
    const path = await file('broken-start.jsonl', ['{', JSON.stringify(step()), ''].join('\n'));
    const collected = await read([path]);
    expect(rejectedAt(collected)).toEqual([`${path}:1`]);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('locates a bad line by file:line (blank lines counted), and reads the lines around it', async () => {
    const text = [JSON.stringify(run()), '', '{"id": "step_broken", "object": "thread.run.step",', JSON.stringify(step()), ''].join('\n');
    const path = await file('bad-line.jsonl', text);
    const collected = await read([path]);
    expect(rejectedAt(collected)).toEqual([`${path}:3`]);
    expect(collected.rejected[0]!.issues[0]!.message).toMatch(/JSON/);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('locates a rejected record by file:line', async () => {
    const noRunId = without(step({ id: 'step_norun' }), 'run_id');
    const path = await file('reject.jsonl', jsonl(step(), noRunId));
    const collected = await read([path]);
    expect(collected.rejected.map((r) => [formatLocation(r.location), r.id, r.issues.map((i) => i.path)])).toEqual([
      [`${path}:2`, 'step_norun', ['run_id']],
    ]);
  });

  it('locates a record inside a list envelope on a line by file:line and JSON path', async () => {
    const noRunId = without(step({ id: 'step_x' }), 'run_id');
    const path = await file('lists.jsonl', jsonl(run(), list([step(), noRunId])));
    const collected = await read([path]);
    expect(rejectedAt(collected)).toEqual([`${path}:2 $.data[1]`]);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads CRLF line endings', async () => {
    const path = await file('crlf.jsonl', [JSON.stringify(run()), JSON.stringify(step())].join('\r\n') + '\r\n');
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('counts records of other kinds on their lines as skipped (by kind), not rejected', async () => {
    const path = await file('thread-dump.jsonl', jsonl(message(), run(), step()));
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({ 'thread.message': 1 });
  });

  it('reads saved stream events whose `data` is the JSON text of the SSE line', async () => {
    const path = await file(
      'stream.jsonl',
      jsonl(
        { event: 'thread.run.step.completed', data: JSON.stringify(step()) },
        { event: 'thread.run.completed', data: JSON.stringify(run()) },
        { event: 'done', data: '[DONE]' },
      ),
    );
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({ 'event done': 1 });
    expect(collected.runs).toEqual([{ runId: IDS.run, run: run(), steps: [step()] }]);
  });
});

describe('JSON', () => {
  it('reads a .json list envelope as one document, locating records by JSON path', async () => {
    const noId = without(step(), 'id');
    const path = await file('steps.json', JSON.stringify(list([step(), noId]), null, 2));
    const collected = await read([path]);
    expect(rejectedAt(collected)).toEqual([`${path} $.data[1]`]);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads a .json array of records', async () => {
    const path = await file('records.json', JSON.stringify([run(), step()], null, 2));
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads a .json single record', async () => {
    const path = await file('run.json', JSON.stringify(run(), null, 2));
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs.map((r) => r.runId)).toEqual([IDS.run]);
  });

  it('reads a .json file that starts with a UTF-8 byte-order mark (the mark is ignored)', async () => {
    const path = join(dir, 'bom.json');
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    await writeFile(path, Buffer.concat([bom, Buffer.from(JSON.stringify(list([run(), step()]), null, 2), 'utf8')]));
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs).toEqual([{ runId: IDS.run, run: run(), steps: [step()] }]);
  });

  it('rejects a bad .json file as a whole, located by the file, and still reads the other files', async () => {
    const bad = await file('bad.json', '{"object": "list", "data": [');
    const good = await file('good.jsonl', jsonl(step()));
    const collected = await read([bad, good]);
    expect(collected.rejected.map((r) => r.location.source)).toEqual([bad]);
    expect(collected.rejected[0]!.issues[0]!.message).toMatch(/not valid JSON/);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads a .json file as one document, even when its content is JSON lines', async () => {
    const path = await file('actually-lines.json', jsonl(run(), step()));
    const collected = await read([path]);
    expect(collected.rejected.map((r) => r.location.source)).toEqual([path]);
    expect(collected.runs).toEqual([]);
  });

  it('reports a file that cannot be read, and goes on', async () => {
    const missing = join(dir, 'missing.json');
    const missingLines = join(dir, 'missing.jsonl');
    const good = await file('after-missing.json', JSON.stringify(step()));
    const collected = await read([missing, missingLines, good]);
    expect(collected.rejected.map((r) => r.location.source)).toEqual([missing, missingLines]);
    for (const r of collected.rejected) expect(r.issues[0]!.message).toMatch(/cannot read/);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });
});

describe('sniffing other names and standard input', () => {
  it('reads a file of another name holding one JSON document as JSON', async () => {
    const path = await file('export.txt', JSON.stringify(list([step()]), null, 2));
    const collected = await read([path]);
    expect(collected.rejected).toEqual([]);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads a file of another name holding JSON lines as JSONL, locating bad lines', async () => {
    const path = await file('export.log', [JSON.stringify(run()), 'oops', JSON.stringify(step())].join('\n'));
    const collected = await read([path]);
    expect(rejectedAt(collected)).toEqual([`${path}:2`]);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads JSON lines from standard input (`-`), located as stdin:line', async () => {
    const noRunId = without(step({ id: 'step_norun' }), 'run_id');
    const stdin = Readable.from([jsonl(run()), jsonl(step(), noRunId)]);
    const collected = await read(['-'], stdin);
    expect(rejectedAt(collected)).toEqual(['stdin:3']);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });

  it('reads one JSON document from standard input', async () => {
    const stdin = Readable.from([Buffer.from(JSON.stringify(list([run(), step()]), null, 2))]);
    const collected = await read(['-'], stdin);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIds(collected)).toEqual([IDS.step]);
  });
});

describe('raw text/event-stream captures, recognised by content', () => {
  const capture = (newline: string, stepRecord = step()) =>
    [': saved from a stream', 'event: thread.run.created', `data: ${JSON.stringify(run({ status: 'queued', completed_at: null }))}`, '', 'event: thread.run.step.completed', `data: ${JSON.stringify(stepRecord)}`, '', 'event: thread.run.completed', `data: ${JSON.stringify(run())}`, '', 'event: done', 'data: [DONE]', ''].join(newline);

  it.each([
    ['capture.sse (read as it streams)', 'capture.sse'],
    ['capture.txt', 'capture.txt'],
    ['capture.json (the content wins over the name)', 'capture.json'],
    ['capture.jsonl (the content wins over the name)', 'capture.jsonl'],
  ])('%s', async (_name, name) => {
    const collected = await read([await file(name, capture('\r\n'))]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs.map((r) => [r.run?.status, r.steps.map((s) => s.id)])).toEqual([['completed', [IDS.step]]]);
    expect(collected.ignored).toEqual({ 'event done': 1 });
  });

  it('from standard input, with a byte-order mark and lone CR line ends', async () => {
    const collected = await read(['-'], Readable.from([Buffer.from(`\uFEFF${capture('\r')}`)]));
    expect(collected.rejected).toEqual([]);
    expect(collected.runs[0]?.steps.map((s) => s.id)).toEqual([IDS.step]);
  });

  it('an event is located by the line of its first field; a bad one does not stop the rest', async () => {
    const text = capture('\n', without(step(), 'run_id')) + '\nevent: thread.run.step.completed\ndata: {broken\n\n';
    const path = await file('located.sse', text);
    const collected = await read([path]);
    expect(collected.rejected.map((r) => [formatLocation(r.location), r.issues.map((i) => i.path)])).toEqual([
      [`${path}:5`, ['run_id']],
      [`${path}:14`, ['']],
    ]);
    expect(collected.runs.map((r) => r.run?.status)).toEqual(['completed']);
  });

  it('unnamed events (data only) hold records that say what they are', async () => {
    const path = await file('unnamed.sse', `data: ${JSON.stringify(step())}\n\ndata: ${JSON.stringify(message())}\n\n`);
    const collected = await read([path]);
    expect(stepIds(collected)).toEqual([IDS.step]);
    expect(collected.ignored).toEqual({ 'thread.message': 1 });
  });

  it('lists and events nested in each other past a bound are rejected, not followed off the stack', async () => {
    let value: unknown = step();
    for (let i = 0; i < 10_000; i++) value = { event: 'thread.run.step.completed', data: value };
    const collected = await read([await file('nested.jsonl', `${JSON.stringify(list([step({ id: 'step_ok' })]))}\n`)]);
    expect(stepIds(collected)).toEqual(['step_ok']);
    const collector = new RecordCollector();
    collector.add(value, { source: 'deep' });
    expect(collector.result().rejected[0]?.issues[0]?.message).toMatch(/nested more than 4 levels/);
  });
});

describe('a broken first line on standard input', () => {
  it('two whole records in a row after it: JSON lines from there, read as they come (the first line rejected), not held to the end', async () => {
    const { PassThrough } = await import('node:stream');
    const stdin = new PassThrough();
    const seen: string[] = [];
    const collector = new RecordCollector();
    let got!: () => void;
    const gotTwo = new Promise<void>((resolve) => (got = resolve));
    const target = {
      add: (value: unknown, location: Parameters<RecordCollector['add']>[1]) => {
        seen.push(`${(value as { id: string }).id}@${location.line}`);
        collector.add(value, location);
        if (seen.length === 2) got();
      },
      addEvent: collector.addEvent.bind(collector),
      addUnreadable: (location: Parameters<RecordCollector['addUnreadable']>[0], reason: string) => {
        seen.push(`unreadable@${location.line}`);
        collector.addUnreadable(location, reason);
      },
    };
    const reading = readRecordSource('-', target, stdin);
    const cut = JSON.stringify(step({ id: 'step_cut' })).slice(30);
    stdin.write(`${cut}\n${JSON.stringify(run({ id: 'run_1' }))}\n\n${JSON.stringify(step({ id: 'step_1', run_id: 'run_1' }))}\n`);
    await gotTwo; // while the input is still open
    stdin.end(`${JSON.stringify(run({ id: 'run_2' }))}\n`);
    await reading;
    expect(seen).toEqual(['unreadable@1', 'run_1@2', 'step_1@4', 'run_2@5']);
  });

  it('a pretty-printed document is still read whole (no two lines of it are whole records)', async () => {
    const doc = JSON.stringify(list([run(), step(), { ...step({ id: 'step_2' }), metadata: { a: {} } }]), null, 2);
    const collected = await read(['-'], Readable.from([Buffer.from(`${doc}\n`)]));
    expect(collected.rejected).toEqual([]);
    expect(stepIds(collected).sort()).toEqual([IDS.step, 'step_2'].sort());
  });
});

describe('a stream that stays open and goes quiet', () => {
  it('says so once per quiet spell (onIdle), after the lines it gave were handed on, and reads on when more comes', async () => {
    const { PassThrough } = await import('node:stream');
    const stdin = new PassThrough();
    const seen: string[] = [];
    const collector = new RecordCollector();
    const target = {
      add: (value: unknown, location: Parameters<RecordCollector['add']>[1]) => {
        seen.push(`record ${(value as { id: string }).id}`);
        collector.add(value, location);
      },
      addEvent: collector.addEvent.bind(collector),
      addUnreadable: collector.addUnreadable.bind(collector),
    };
    let idle!: () => void;
    let idled = new Promise<void>((resolve) => (idle = resolve));
    const reading = readRecordSource('-', target, stdin, {
      idleMillis: 20,
      onIdle: () => {
        seen.push('idle');
        idle();
      },
    });
    stdin.write(`${JSON.stringify(run({ id: 'run_1' }))}\n${JSON.stringify(run({ id: 'run_2' }))}\n`);
    await idled;
    idled = new Promise<void>((resolve) => (idle = resolve));
    stdin.write(`${JSON.stringify(run({ id: 'run_3' }))}\n`);
    await idled;
    stdin.end();
    await reading;
    expect(seen).toEqual(['record run_1', 'record run_2', 'idle', 'record run_3', 'idle']);
  });
});
