/**
 * The run tracker (src/instrumentation/tracker.ts) as a loop under fake timers, with a fake reader
 * and a recording sink: when it reads the run itself and when it does not (the application's own
 * reads, streams, a wait for tool outputs), what it lists, and what it emits.
 */
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import type { Creation, RunReader } from '../../../src/instrumentation/followed-run.js';
import { Guard } from '../../../src/instrumentation/guard.js';
import type { EmitInput, SpanSink } from '../../../src/instrumentation/sink.js';
import { RunTracker } from '../../../src/instrumentation/tracker.js';
import { run as rawRun, step as rawStep, type Json } from '../../fixtures/records.js';
import { recordingLogger } from '../../support/recording-logger.js';

const START = 1_767_225_600_000; // a whole second
const SECONDS = START / 1000;
const POLL = 1_000;
const THREAD = 'thread_abc123';
const RUN = 'run_abc123';

class FakeApi implements RunReader {
  run: Json = rawRun({ status: 'queued', created_at: SECONDS, started_at: null, completed_at: null, expires_at: SECONDS + 600, usage: null });
  steps: Json[] = [];
  readonly reads: Array<{ what: string; at: number }> = [];
  failWith: Error | undefined;

  async getRun(threadId: string, runId: string): Promise<unknown> {
    expect([threadId, runId]).toEqual([THREAD, RUN]);
    this.reads.push({ what: 'getRun', at: Date.now() - START });
    if (this.failWith) throw this.failWith;
    return structuredClone(this.run);
  }

  async listSteps(_threadId: string, _runId: string, query: { order: 'asc' | 'desc'; limit: number; after?: string | undefined }) {
    this.reads.push({ what: `listSteps ${query.order} ${query.limit}`, at: Date.now() - START });
    const ordered = query.order === 'asc' ? this.steps : [...this.steps].reverse();
    const from = query.after === undefined ? 0 : ordered.findIndex((s) => s['id'] === query.after) + 1;
    const data = ordered.slice(from, from + query.limit);
    return { data: structuredClone(data), hasMore: from + query.limit < ordered.length };
  }

  set(overrides: Json): void {
    this.run = { ...this.run, ...overrides };
  }

  finish(): void {
    this.set({ status: 'completed', completed_at: Math.floor(Date.now() / 1000), expires_at: null, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
  }

  count(what: string): number {
    return this.reads.filter((r) => r.what === what).length;
  }
}

class RecordingSink implements SpanSink {
  readonly deterministic = true;
  readonly emitted: EmitInput[] = [];
  emit(input: EmitInput): void {
    this.emitted.push(input);
  }
  flush = async () => {};
  shutdown = async () => {};
}

function rig() {
  const api = new FakeApi();
  const sink = new RecordingSink();
  const { logger, lines } = recordingLogger();
  const tracker = new RunTracker({
    sink,
    guard: new Guard(logger),
    budget: new RequestBudget({ now: () => Date.now() }),
    mapping: {},
    pollIntervalMillis: POLL,
    now: () => Date.now(),
  });
  const creation: Creation = { context: ROOT_CONTEXT, source: { reader: api, mapping: {} }, calledAt: Date.now() };
  return { api, sink, lines, tracker, creation };
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RunTracker: a run created without a stream', () => {
  it('nobody reads it: read once per poll interval until it ends, then its steps listed once, its spans emitted', async () => {
    const { api, sink, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    await advance(POLL * 2.5);
    expect(api.reads.map((r) => r.at)).toEqual([POLL, POLL * 2]);
    api.steps = [rawStep({ created_at: SECONDS + 1, completed_at: SECONDS + 2 })];
    api.finish();
    await advance(POLL);
    expect(api.reads.map((r) => r.what)).toEqual(['getRun', 'getRun', 'getRun', 'listSteps asc 100']);
    expect(sink.emitted).toHaveLength(1);
    expect(sink.emitted[0]?.spans.map((s) => s.name)).toEqual(['invoke_agent asst_abc123', 'step message_creation']);
    await advance(POLL * 10);
    expect(api.reads).toHaveLength(4); // a finished run is never read again
  });

  it('the application reading it itself (its SDK polling every 5 s) holds ours off; when it stops, ours resume', async () => {
    const { api, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    for (let i = 0; i < 4; i++) {
      tracker.observeRun({ ...api.run, status: 'in_progress' }, Date.now(), 'read');
      await advance(5_000);
    }
    expect(api.count('getRun')).toBe(0);
    // Its reads stopped (say its poll helper failed): ours resume after the hold (3 × its pace).
    await advance(15_000);
    expect(api.count('getRun')).toBeGreaterThan(0);
  });

  it('waiting for outputs the application saw it must give: no read until the deadline (expires_at), then one', async () => {
    const { api, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    api.set({ status: 'requires_action' });
    tracker.observeRun(api.run, Date.now(), 'read');
    await advance(599_000);
    expect(api.count('getRun')).toBe(0);
    // The API expires the run at its deadline; our one read then sees it, and its steps are listed.
    api.set({ status: 'expired', expired_at: SECONDS + 600, expires_at: SECONDS + 600 });
    await advance(10_000);
    expect(api.reads.map((r) => r.what)).toEqual(['getRun', 'listSteps asc 100']);
    expect(api.reads[0]?.at).toBe(605_000);
  });

  it('waiting for outputs that come from elsewhere (only our read saw it): read less and less often', async () => {
    const { api, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    api.set({ status: 'requires_action' });
    await advance(POLL * 16);
    expect(api.reads.map((r) => r.at)).toEqual([1_000, 3_000, 7_000, 15_000]);
  });

  it('a run gone (404) is dropped and logged once: no spans', async () => {
    const { api, sink, lines, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    api.failWith = Object.assign(new Error('not found'), { status: 404 });
    await advance(POLL * 5);
    expect(api.count('getRun')).toBe(1);
    expect(tracker.isFollowing(RUN)).toBe(false);
    expect(sink.emitted).toEqual([]);
    expect(lines.filter((l) => l.message.includes('gone (404)'))).toHaveLength(1);
  });

  it('a failing read is retried with backoff and logged once', async () => {
    const { api, lines, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    api.failWith = new Error('connection reset');
    await advance(POLL * 16);
    expect(api.reads.map((r) => r.at)).toEqual([1_000, 3_000, 7_000, 15_000]);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('stop(): nothing more is read or emitted', async () => {
    const { api, sink, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    tracker.stop();
    await advance(POLL * 10);
    expect(api.reads).toEqual([]);
    expect(sink.emitted).toEqual([]);
  });
});

describe('RunTracker: streams', () => {
  const live = () => rawRun({ status: 'in_progress', created_at: SECONDS, started_at: SECONDS, completed_at: null, expires_at: SECONDS + 600, usage: null });
  const stepDone = () => rawStep({ created_at: SECONDS, completed_at: SECONDS + 1 });

  it('followed from creation to the end: no request at all, the steps from the events, the times seen', async () => {
    const { api, sink, tracker, creation } = rig();
    const stream = tracker.creationStream(creation);
    const at = async (ms: number, name: string, data: Json) => {
      await advance(START + ms - Date.now());
      stream.event(name, data, Date.now());
    };
    const step = rawStep({ created_at: SECONDS, completed_at: SECONDS + 1 });
    await at(0, 'thread.run.created', { ...live(), status: 'queued' });
    await at(300, 'thread.run.in_progress', live());
    await at(600, 'thread.run.step.created', { ...step, status: 'in_progress', completed_at: null });
    await at(1_100, 'thread.run.step.completed', step);
    await at(1_400, 'thread.run.completed', rawRun({ created_at: SECONDS, started_at: SECONDS, completed_at: SECONDS + 1 }));
    stream.end('done');
    await advance(POLL * 5);
    expect(api.reads).toEqual([]);
    expect(sink.emitted).toHaveLength(1);
    const [runSpan, stepSpan] = sink.emitted[0]!.spans;
    expect([runSpan!.name, stepSpan!.name]).toEqual(['invoke_agent asst_abc123', 'step message_creation']);
    expect([runSpan!.startTime, runSpan!.endTime, runSpan!.events[0]?.time]).toEqual([[SECONDS, 0], [SECONDS + 1, 400e6], [SECONDS, 300e6]]);
    expect([stepSpan!.startTime, stepSpan!.endTime]).toEqual([[SECONDS, 600e6], [SECONDS + 1, 100e6]]);
  });

  it('abandoned half way: our reads take over, and the steps are listed at the end', async () => {
    const { api, sink, tracker, creation } = rig();
    const stream = tracker.creationStream(creation);
    stream.event('thread.run.created', { ...live(), status: 'queued' }, Date.now());
    stream.event('thread.run.in_progress', live(), Date.now());
    stream.end('closed');
    api.set({ status: 'in_progress' });
    await advance(POLL);
    expect(api.count('getRun')).toBe(1);
    api.steps = [stepDone()];
    api.finish();
    await advance(POLL + 10);
    expect(api.reads.map((r) => r.what)).toEqual(['getRun', 'getRun', 'listSteps asc 100']);
    expect(sink.emitted).toHaveLength(1);
  });

  it('past the deadline, a run that is still not over is read less and less often', async () => {
    const { api, tracker, creation } = rig();
    tracker.created(creation, api.run, Date.now());
    api.set({ status: 'requires_action' });
    tracker.observeRun(api.run, Date.now(), 'read');
    await advance(640_000);
    expect(api.reads.map((r) => r.at)).toEqual([605_000, 609_000, 617_000, 633_000]);
  });

  it('a stream still open at the deadline (the application stopped reading it) is not waited for', async () => {
    const { api, sink, tracker, creation } = rig();
    const stream = tracker.creationStream(creation);
    stream.event('thread.run.created', { ...live(), status: 'queued' }, Date.now());
    await advance(600_000);
    expect(api.reads).toEqual([]);
    api.steps = [stepDone()];
    api.finish();
    await advance(10_000);
    expect(api.reads.map((r) => r.what)).toEqual(['getRun', 'listSteps asc 100']);
    expect(sink.emitted).toHaveLength(1);
  });

  it('a tool call’s identity: from the stream’s delta, or (a polled run) from one lookup of the newest step', async () => {
    const { api, tracker, creation } = rig();
    const stream = tracker.creationStream(creation);
    stream.event('thread.run.created', { ...live(), status: 'queued' }, Date.now());
    stream.event('thread.run.step.created', { ...rawStep({ id: 'step_t', type: 'tool_calls', step_details: { type: 'tool_calls', tool_calls: [] } }), status: 'in_progress' }, Date.now());
    stream.event('thread.run.step.delta', { id: 'step_t', delta: { step_details: { type: 'tool_calls', tool_calls: [{ index: 0, id: 'call_s' }] } } }, Date.now());
    await expect(tracker.toolCallIdentity('call_s')).resolves.toMatchObject({ runId: RUN, stepId: 'step_t' });
    expect(api.reads).toEqual([]);

    const polled = rig();
    polled.tracker.created(polled.creation, polled.api.run, Date.now());
    polled.api.set({ status: 'requires_action', required_action: { type: 'submit_tool_outputs', submit_tool_outputs: { tool_calls: [{ id: 'call_p', type: 'function', function: { name: 'f', arguments: '{}' } }] } } });
    polled.tracker.observeRun(polled.api.run, Date.now(), 'read');
    polled.api.steps = [rawStep({ id: 'step_p', type: 'tool_calls', status: 'in_progress', completed_at: null, step_details: { type: 'tool_calls', tool_calls: [{ id: 'call_p', type: 'function', function: { name: 'f', arguments: '{}', output: null } }] } })];
    const [first, second] = await Promise.all([polled.tracker.toolCallIdentity('call_p'), polled.tracker.toolCallIdentity('call_p')]);
    expect(first).toMatchObject({ runId: RUN, stepId: 'step_p' });
    expect(second).toEqual(first);
    expect(polled.api.reads.map((r) => r.what)).toEqual(['listSteps desc 1']);
    await expect(polled.tracker.toolCallIdentity('call_unknown')).resolves.toBeUndefined();
  });
});
