/**
 * Collecting records (README `import`): runs, steps, list envelopes of either and saved stream events,
 * in any order and mix; steps grouped under their runs; a record seen twice keeps its terminal
 * version; records of other kinds (any other `object`; stream events other than `thread.run.*`) are
 * skipped and counted by kind; a rejected record names its location and field, and every other
 * record is still collected.
 */
import { describe, expect, it } from 'vitest';
import { RecordCollector, collectRecords, formatLocation, type Collected } from '../../../src/sources/collect.js';
import {
  IDS,
  T0,
  event,
  list,
  message,
  run,
  runInProgress,
  step,
  thread,
  toolCallsStep,
  functionCall,
  without,
  type Json,
} from '../../fixtures/records.js';

const runIds = (c: Collected) => c.runs.map((r) => r.runId);
const stepIdsOf = (c: Collected, runId: string) => c.runs.find((r) => r.runId === runId)?.steps.map((s) => s.id);

describe('grouping', () => {
  it('groups steps under their runs, whatever the order of the input', () => {
    const collected = collectRecords([
      step({ id: 'step_b2', run_id: 'run_b' }),
      run({ id: 'run_a', created_at: T0 }),
      step({ id: 'step_a1', run_id: 'run_a' }),
      run({ id: 'run_b', created_at: T0 + 100 }),
      step({ id: 'step_b1', run_id: 'run_b' }),
    ]);
    expect(collected.rejected).toEqual([]);
    expect(collected.warnings).toEqual([]);
    expect(collected.ignored).toEqual({});
    expect(runIds(collected)).toEqual(['run_a', 'run_b']);
    expect(collected.runs[0]!.run?.id).toBe('run_a');
    expect(stepIdsOf(collected, 'run_a')).toEqual(['step_a1']);
    expect(stepIdsOf(collected, 'run_b')?.sort()).toEqual(['step_b1', 'step_b2']);
  });

  it('steps whose run record is absent form a run record without `run`', () => {
    const collected = collectRecords([step({ run_id: 'run_orphan' })]);
    expect(collected.runs).toHaveLength(1);
    expect(collected.runs[0]!.runId).toBe('run_orphan');
    expect(collected.runs[0]!.run).toBeUndefined();
    expect(collected.runs[0]!.steps.map((s) => s.id)).toEqual([IDS.step]);
  });

  it('orders runs by creation time, then id (stable output for the same input in any order)', () => {
    const records = [run({ id: 'run_c', created_at: T0 + 5 }), run({ id: 'run_b', created_at: T0 }), run({ id: 'run_a', created_at: T0 })];
    expect(runIds(collectRecords(records))).toEqual(['run_a', 'run_b', 'run_c']);
    expect(runIds(collectRecords([...records].reverse()))).toEqual(['run_a', 'run_b', 'run_c']);
  });
});

describe('shapes of input', () => {
  it('reads list envelopes of runs and of steps, including empty ones with null ids', () => {
    const collected = collectRecords([
      list([run()]),
      list([step(), toolCallsStep([functionCall()])]),
      { object: 'list', data: [], first_id: null, last_id: null, has_more: false },
    ]);
    expect(collected.rejected).toEqual([]);
    expect(runIds(collected)).toEqual([IDS.run]);
    expect(stepIdsOf(collected, IDS.run)?.sort()).toEqual([IDS.step, 'step_tools1']);
  });

  it('reads a list envelope saved without its `object`', () => {
    const collected = collectRecords([without(list([step()]), 'object')]);
    expect(collected.rejected).toEqual([]);
    expect(stepIdsOf(collected, IDS.run)).toEqual([IDS.step]);
  });

  it('reads a saved stream (the spec example): last versions win, message events and done skipped and counted by event', () => {
    const queued = runInProgress({ status: 'queued', started_at: null });
    const stepLive = step({ status: 'in_progress', completed_at: null, usage: null });
    const collected = collectRecords([
      event('thread.run.created', queued),
      event('thread.run.queued', queued),
      event('thread.run.in_progress', runInProgress()),
      event('thread.run.step.created', stepLive),
      event('thread.run.step.in_progress', stepLive),
      event('thread.message.created', message({ status: 'in_progress', completed_at: null })),
      event('thread.message.in_progress', message({ status: 'in_progress', completed_at: null })),
      event('thread.message.delta', { id: IDS.message, object: 'thread.message.delta', delta: { content: [{ index: 0, type: 'text', text: { value: 'Hello' } }] } }),
      event('thread.message.completed', message()),
      event('thread.run.step.completed', step()),
      event('thread.run.completed', run()),
      event('done', '[DONE]'),
    ]);
    expect(collected.rejected).toEqual([]);
    // Events that carry no run or step record are counted as `event <name>`, not by their data's `object`.
    expect(collected.ignored).toEqual({
      'event thread.message.created': 1,
      'event thread.message.in_progress': 1,
      'event thread.message.delta': 1,
      'event thread.message.completed': 1,
      'event done': 1,
    });
    expect(collected.runs).toHaveLength(1);
    expect(collected.runs[0]!.run?.status).toBe('completed');
    expect(collected.runs[0]!.steps.map((s) => [s.id, s.status])).toEqual([[IDS.step, 'completed']]);
  });

  it('skips and counts `thread.run.step.delta` events: the one `thread.run.*` event that is not unwrapped', () => {
    const delta = { id: IDS.step, object: 'thread.run.step.delta', delta: { step_details: { type: 'tool_calls' } } };
    const collected = collectRecords([event('thread.run.step.delta', delta), event('thread.run.step.delta', delta)]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({ 'event thread.run.step.delta': 2 });
    expect(collected.runs).toEqual([]);
  });

  it('unwraps only events named `thread.run.*`: other events are skipped by name, whatever their data', () => {
    const collected = collectRecords([
      event('thread.created', thread()),
      event('thread.message.completed', message()),
      // Not a run event, so its data is not read, even though it is a step.
      event('my.custom.event', step({ id: 'step_hidden' })),
      event('thread.run.requires_action', runInProgress({ status: 'requires_action' })),
      event('thread.run.step.completed', step()),
    ]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({
      'event thread.created': 1,
      'event thread.message.completed': 1,
      'event my.custom.event': 1,
    });
    expect(runIds(collected)).toEqual([IDS.run]);
    expect(collected.runs[0]!.run?.status).toBe('requires_action');
    expect(stepIdsOf(collected, IDS.run)).toEqual([IDS.step]);
  });

  it('reads a saved event whose `data` is the JSON text of the SSE line', () => {
    const collected = collectRecords([
      event('thread.run.step.completed', JSON.stringify(step())),
      event('thread.run.completed', JSON.stringify(run())),
      event('done', '[DONE]'),
    ]);
    expect(collected.rejected).toEqual([]);
    expect(collected.warnings).toEqual([]);
    expect(collected.ignored).toEqual({ 'event done': 1 });
    expect(collected.runs).toEqual([{ runId: IDS.run, run: run(), steps: [step()] }]);
  });

  it('rejects a run event whose `data` text is not JSON, at the event data', () => {
    const collected = collectRecords([event('thread.run.completed', '{"id": "run_abc123",'), step()]);
    expect(collected.rejected.map((r) => [formatLocation(r.location), r.issues.map((i) => i.path)])).toEqual([['input $[0].data', ['']]]);
    expect(collected.ignored).toEqual({});
    expect(stepIdsOf(collected, IDS.run)).toEqual([IDS.step]);
  });

  it('skips and counts a saved `error` stream event: it is not a run or a step', () => {
    const collected = collectRecords([
      event('error', { code: 'server_error', message: 'The server had an error.', param: null, type: 'server_error' }),
      step(),
    ]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({ 'event error': 1 });
    expect(collected.runs).toHaveLength(1);
  });

  it('accepts the stale `assistant.run.step` object', () => {
    const collected = collectRecords([step({ object: 'assistant.run.step' })]);
    expect(collected.rejected).toEqual([]);
    expect(stepIdsOf(collected, IDS.run)).toEqual([IDS.step]);
  });

  it('accepts runs and steps saved without `object`', () => {
    const collected = collectRecords([without(run(), 'object'), without(step(), 'object')]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(stepIdsOf(collected, IDS.run)).toEqual([IDS.step]);
  });

  it('skips and counts messages and threads (not rejected)', () => {
    const collected = collectRecords([thread(), message(), list([message(), message({ id: 'msg_2' })]), run()]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({ thread: 1, 'thread.message': 3 });
    expect(runIds(collected)).toEqual([IDS.run]);
  });

  it('skips and counts a record of another kind it does not know (a vector store in a dump)', () => {
    // README: records of other kinds ("vector stores, any other `object`") are skipped and counted by kind.
    const vectorStore = { id: 'vs_abc123', object: 'vector_store', created_at: T0, name: 'Support FAQ', status: 'completed' };
    const collected = collectRecords([vectorStore, run()]);
    expect(collected.rejected).toEqual([]);
    expect(collected.ignored).toEqual({ vector_store: 1 });
  });

  it('rejects no record with a string `object`, whatever the value: each is counted under its `object`', () => {
    const collected = collectRecords([
      { id: 'asst_abc123', object: 'assistant', created_at: T0 },
      { id: IDS.step, object: 'thread.run.step.delta', delta: {} },
      { id: 'x_1', object: 'some.kind.not.invented.yet' },
      // Even one that looks like a step: only `thread.run.step` (or the stale `assistant.run.step`) is a step.
      { ...step(), object: 'Thread.Run.Step' },
      { id: 'x_2', object: 'some.kind.not.invented.yet' },
    ]);
    expect(collected.rejected).toEqual([]);
    expect(collected.runs).toEqual([]);
    expect(collected.ignored).toEqual({
      assistant: 1,
      'thread.run.step.delta': 1,
      'some.kind.not.invented.yet': 2,
      'Thread.Run.Step': 1,
    });
  });
});

describe('dedup: a record seen twice keeps its terminal version', () => {
  it.each([
    ['in progress, then completed', [runInProgress(), run()]],
    ['completed, then in progress', [run(), runInProgress()]],
  ])('a run saved %s', (_name, records) => {
    const collected = collectRecords(records);
    expect(collected.runs).toHaveLength(1);
    expect(collected.runs[0]!.run?.status).toBe('completed');
  });

  it.each([
    ['in progress, then completed', [step({ status: 'in_progress', completed_at: null }), step()]],
    ['completed, then in progress', [step(), step({ status: 'in_progress', completed_at: null })]],
  ])('a step saved %s', (_name, records) => {
    const collected = collectRecords(records);
    expect(collected.runs[0]!.steps.map((s) => s.status)).toEqual(['completed']);
  });

  it('of two terminal versions, the later one wins', () => {
    const collected = collectRecords([step({ usage: null }), step()]);
    expect(collected.runs[0]!.steps).toHaveLength(1);
    expect(collected.runs[0]!.steps[0]!.usage).toEqual({ prompt_tokens: 20, completion_tokens: 11, total_tokens: 31 });
  });

  it('dedups across a list envelope and a stream event', () => {
    const collected = collectRecords([list([step()]), event('thread.run.step.in_progress', step({ status: 'in_progress', completed_at: null }))]);
    expect(collected.runs[0]!.steps.map((s) => s.status)).toEqual(['completed']);
  });
});

describe('rejections: location and field path; every other record is still collected', () => {
  it('collects the good records around rejected ones, each rejection with its location, id and field', () => {
    const collected = collectRecords([
      run(),
      42,
      without(step({ id: 'step_norun' }), 'run_id'),
      step({ id: 'step_neg', created_at: -5, completed_at: null }),
      without(step(), 'id'),
      without(run({ id: 'run_noc' }), 'created_at', 'started_at', 'completed_at'),
      step(),
    ]);
    // Time never rejects: the records without a usable time are collected, with a warning each.
    // run_noc has no time and no steps: it sorts at the placeholder instant, before every real run.
    expect(runIds(collected)).toEqual(['run_noc', IDS.run]);
    expect(stepIdsOf(collected, IDS.run)).toEqual(['step_neg', IDS.step]);
    expect(collected.rejected.map((r) => ({ where: formatLocation(r.location), id: r.id, paths: r.issues.map((i) => i.path) }))).toEqual([
      { where: 'input $[1]', id: undefined, paths: [''] },
      { where: 'input $[2]', id: 'step_norun', paths: ['run_id'] },
      { where: 'input $[4]', id: undefined, paths: ['id'] },
    ]);
    for (const rejection of collected.rejected) expect(rejection.issues[0]!.message).not.toBe('');
    expect(collected.warnings.map((w) => ({ where: formatLocation(w.location), id: w.id, paths: w.issues.map((i) => i.path) }))).toEqual([
      { where: 'input $[3]', id: 'step_neg', paths: ['created_at'] },
      { where: 'input $[5]', id: 'run_noc', paths: ['created_at'] },
    ]);
  });

  it('orders runs as their spans are placed: a run without a time of its own by its steps', () => {
    const collected = collectRecords([
      run({ id: 'run_late', created_at: T0 + 100, started_at: null, completed_at: T0 + 110 }),
      without(run({ id: 'run_untimed' }), 'created_at', 'started_at', 'completed_at'),
      step({ id: 'step_early', run_id: 'run_untimed', created_at: T0 + 50, completed_at: T0 + 51 }),
      run({ id: 'run_first', created_at: T0, started_at: null, completed_at: T0 + 10 }),
    ]);
    expect(runIds(collected)).toEqual(['run_first', 'run_untimed', 'run_late']);
  });

  it('locates a rejected record inside a list envelope by its JSON path', () => {
    const collected = collectRecords([list([step(), without(step({ id: 'step_x' }), 'run_id'), 'junk'])]);
    expect(collected.rejected.map((r) => formatLocation(r.location))).toEqual(['input $[0].data[1]', 'input $[0].data[2]']);
    expect(stepIdsOf(collected, IDS.run)).toEqual([IDS.step]);
  });

  it('locates a rejected record inside a stream event', () => {
    const collected = collectRecords([event('thread.run.step.completed', without(step(), 'run_id'))]);
    expect(collected.rejected.map((r) => [formatLocation(r.location), r.issues.map((i) => i.path)])).toEqual([
      ['input $[0].data', ['run_id']],
    ]);
  });

  it('rejects a record it cannot tell apart (no object, no run_id, no step_details, id not starting `run_`) at path \'\'', () => {
    const collected = collectRecords([{ id: 'abc', created_at: T0, status: 'completed' }]);
    expect(collected.rejected).toEqual([
      { location: { source: 'input', pointer: '$[0]' }, id: 'abc', issues: [{ path: '', message: expect.stringMatching(/run|step/) }] },
    ]);
    expect(collected.ignored).toEqual({});
  });

  it('rejects a list envelope whose data is not an array, at `data`', () => {
    const collected = collectRecords([{ object: 'list', data: 'nope' }]);
    expect(collected.rejected.map((r) => r.issues.map((i) => i.path))).toEqual([['data']]);
  });
});

describe('warnings: a malformed field is dropped with a warning naming its path and the record', () => {
  it('keeps the record, reports the path with the record id and location', () => {
    const collected = collectRecords([run({ temperature: 'hot' }), toolCallsStep([{ id: 'c', type: 'function', function: { name: 7, arguments: '{}', output: null } }])]);
    expect(collected.rejected).toEqual([]);
    expect(collected.warnings.map((w) => ({ where: formatLocation(w.location), id: w.id, paths: w.issues.map((i) => i.path) }))).toEqual([
      { where: 'input $[0]', id: IDS.run, paths: ['temperature'] },
      { where: 'input $[1]', id: 'step_tools1', paths: ['step_details.tool_calls[0].function.name'] },
    ]);
    expect(collected.runs[0]!.run).toBeDefined();
    expect(collected.runs[0]!.steps).toHaveLength(1);
  });
});

describe('formatLocation', () => {
  it.each([
    [{ source: 'steps.jsonl', line: 3 }, 'steps.jsonl:3'],
    [{ source: 'steps.jsonl', line: 3, pointer: '$' }, 'steps.jsonl:3'],
    [{ source: 'runs.json', pointer: '$.data[3]' }, 'runs.json $.data[3]'],
    [{ source: 'dump.jsonl', line: 2, pointer: '$.data[1]' }, 'dump.jsonl:2 $.data[1]'],
    [{ source: 'stdin' }, 'stdin'],
  ])('%j → %s', (location, text) => {
    expect(formatLocation(location)).toBe(text);
  });
});

describe('RecordCollector across sources', () => {
  it('keeps adding after a rejection and after unreadable input', () => {
    const collector = new RecordCollector();
    collector.add(run(), { source: 'a.json', pointer: '$' });
    collector.addUnreadable({ source: 'b.jsonl', line: 2 }, 'not valid JSON');
    collector.add(step(), { source: 'c.jsonl', line: 1, pointer: '$' });
    const collected = collector.result();
    expect(collected.rejected.map((r) => formatLocation(r.location))).toEqual(['b.jsonl:2']);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(collected.runs[0]!.steps.map((s) => s.id)).toEqual([IDS.step]);
  });

  it('groups steps from one file under a run from another', () => {
    const collector = new RecordCollector();
    const records: [Json, string][] = [[step(), 'steps.jsonl'], [run(), 'runs.json']];
    for (const [record, source] of records) collector.add(record, { source, pointer: '$' });
    const collected = collector.result();
    expect(collected.runs).toHaveLength(1);
    expect(collected.runs[0]!.run?.id).toBe(IDS.run);
    expect(collected.runs[0]!.steps).toHaveLength(1);
  });
});
