/**
 * `Poller` (src/sources/poller.ts), the sidecar's source, as a loop under fake timers: a fake API
 * client (only `getRun`, `listRuns`, `listRunSteps`, answering `Page`/`Fetched` shapes with records
 * that went through the validation boundary), the memory state store, a fake delivery sink and the
 * clock of vitest's fake timers (`now` is injected as the faked `Date.now`).
 *
 * The contract (file comment, README "watch"): a thread's runs created since it was watched are
 * discovered, followed while active, and exported once when terminal with all their steps; a
 * terminal run is never polled again; discovery keeps the poll interval through an idle grace
 * period, then slows down, resets on activity, waits while a run is active, and drops a thread idle
 * past its TTL; failures are values (gone → unwatched, malformed run → reported and unwatched,
 * auth → fatal, the rest → retried with backoff); live mode exports each finished step once; the
 * state store always holds what a restart needs; delivery behind pauses polling.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AssistantsClient, Fetched, ListQuery, Page, StepQuery } from '../../../src/api/client.js';
import { ApiError } from '../../../src/api/errors.js';
import type { Run, RunStep } from '../../../src/api/schemas.js';
import { validateRun, validateRunStep } from '../../../src/api/validate.js';
import type { ExportJob } from '../../../src/delivery/pipeline.js';
import type { SpanData } from '../../../src/mapping/types.js';
import { Poller, type DeliverySink, type PollerOptions } from '../../../src/sources/poller.js';
import { createMemoryStateStore } from '../../../src/state/memory-store.js';
import type { StateSnapshot, StateStore } from '../../../src/state/store.js';
import { run as rawRun, step as rawStep, TRACEPARENT, type Json } from '../../fixtures/records.js';
import { recordingLogger } from '../../support/recording-logger.js';

// ---- the clock -----------------------------------------------------------------------------------------

/** Start of each test (a whole second, so API seconds and ms line up). */
const START = 1_763_700_000_000;
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** Ms since START. */
const elapsed = () => Date.now() - START;

// ---- the fake API ------------------------------------------------------------------------------------

type Op = 'getRun' | 'listRuns' | 'listRunSteps';

interface Call {
  op: Op;
  at: number;
  threadId: string;
  runId?: string;
  query?: ListQuery | StepQuery;
}

interface Hold {
  op: Op;
  id: string | undefined;
  release: () => void;
  started: boolean;
}

/**
 * A thread's runs and each run's steps, as raw records the test changes between ticks. Lists follow
 * the API's cursor rules (`order`, `after`, `limit`, `has_more`). Failures and held answers are
 * queued per operation (optionally per thread or run id). A held call rejects with an `aborted`
 * `ApiError` when its signal aborts, as the real client does.
 */
class FakeApi {
  readonly calls: Call[] = [];
  private readonly runsByThread = new Map<string, Json[]>();
  private readonly stepsByRun = new Map<string, Json[]>();
  private readonly failures: Array<{ op: Op; id: string | undefined; error: Error }> = [];
  private readonly holds: Hold[] = [];

  addRun(threadId: string, id: string, overrides: Json = {}): Json {
    const record = rawRun({ id, thread_id: threadId, created_at: nowSeconds(), started_at: nowSeconds(), completed_at: null, status: 'in_progress', usage: null, ...overrides });
    this.runsByThread.set(threadId, [...(this.runsByThread.get(threadId) ?? []), record]);
    return record;
  }

  /** Ends a run: `completed` now (or another terminal status given in `overrides`). */
  finishRun(id: string, overrides: Json = {}): void {
    this.updateRun(id, { status: 'completed', completed_at: nowSeconds(), usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, ...overrides });
  }

  updateRun(id: string, overrides: Json): void {
    for (const list of this.runsByThread.values()) {
      const index = list.findIndex((r) => r['id'] === id);
      if (index >= 0) list[index] = { ...list[index], ...overrides };
    }
  }

  addStep(runId: string, id: string, overrides: Json = {}): void {
    const run = this.findRun(runId);
    const record = rawStep({ id, run_id: runId, thread_id: run?.['thread_id'], created_at: nowSeconds(), completed_at: nowSeconds(), ...overrides });
    this.stepsByRun.set(runId, [...(this.stepsByRun.get(runId) ?? []), record]);
  }

  updateStep(runId: string, id: string, overrides: Json): void {
    const list = this.stepsByRun.get(runId) ?? [];
    const index = list.findIndex((s) => s['id'] === id);
    if (index >= 0) list[index] = { ...list[index], ...overrides };
  }

  /** The next call of `op` (for `id`: the run, or the thread for `listRuns`) throws `error`. */
  failNext(op: Op, error: Error, id?: string): void {
    this.failures.push({ op, id, error });
  }

  /** The next call of `op` (for `id`) waits until the returned function is called. */
  holdNext(op: Op, id?: string): Hold {
    const hold: Hold = { op, id, release: () => {}, started: false };
    this.holds.push(hold);
    return hold;
  }

  count(op: Op, id?: string): number {
    return this.calls.filter((c) => c.op === op && (id === undefined || (c.runId ?? c.threadId) === id)).length;
  }

  times(op: Op, id?: string): number[] {
    return this.calls.filter((c) => c.op === op && (id === undefined || (c.runId ?? c.threadId) === id)).map((c) => c.at);
  }

  private findRun(runId: string): Json | undefined {
    for (const list of this.runsByThread.values()) {
      const found = list.find((r) => r['id'] === runId);
      if (found) return found;
    }
    return undefined;
  }

  /** Records the call, then throws a queued failure or waits for a hold, as asked. */
  private async enter(call: Omit<Call, 'at'>, signal: AbortSignal | undefined): Promise<void> {
    this.calls.push({ ...call, at: elapsed() });
    const id = call.runId ?? call.threadId;
    const matches = (x: { op: Op; id: string | undefined }) => x.op === call.op && (x.id === undefined || x.id === id);
    const failure = this.failures.findIndex(matches);
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      throw f?.error;
    }
    const holdIndex = this.holds.findIndex((h) => !h.started && matches(h));
    if (holdIndex >= 0) {
      const hold = this.holds[holdIndex] as Hold;
      hold.started = true;
      await new Promise<void>((resolve, reject) => {
        hold.release = () => {
          this.holds.splice(this.holds.indexOf(hold), 1);
          resolve();
        };
        signal?.addEventListener('abort', () => reject(new ApiError('aborted', `${call.op}: aborted`)), { once: true });
      });
    }
    if (signal?.aborted) throw new ApiError('aborted', `${call.op}: aborted`);
  }

  private page<T>(records: Json[], query: ListQuery, validate: (raw: unknown) => { ok: true; value: T } | { ok: false }): Page<T> {
    let ordered = query.order === 'asc' ? [...records] : [...records].reverse();
    if (query.after !== undefined) {
      const index = ordered.findIndex((r) => r['id'] === query.after);
      if (index < 0) throw new ApiError('invalid_request', `after: no such object ${query.after}`, { status: 400 });
      ordered = ordered.slice(index + 1);
    }
    const limit = query.limit ?? 20;
    const data = ordered.slice(0, limit);
    const items: T[] = [];
    for (const raw of data) {
      const result = validate(raw);
      if (!result.ok) throw new Error(`fake API: a test record is invalid: ${JSON.stringify(raw)}`);
      items.push(result.value);
    }
    return { items, rejected: [], warnings: [], hasMore: ordered.length > limit, lastId: data.at(-1)?.['id'] as string | undefined };
  }

  readonly client = {
    getRun: async (threadId: string, runId: string, signal?: AbortSignal): Promise<Fetched<Run>> => {
      await this.enter({ op: 'getRun', threadId, runId }, signal);
      const raw = this.findRun(runId);
      if (!raw) throw new ApiError('not_found', `get run ${runId}: HTTP 404`, { status: 404 });
      const result = validateRun(raw);
      if (!result.ok) throw new Error('fake API: invalid run record');
      return { value: result.value, warnings: [] };
    },
    listRuns: async (threadId: string, query: ListQuery = {}, signal?: AbortSignal): Promise<Page<Run>> => {
      await this.enter({ op: 'listRuns', threadId, query }, signal);
      return this.page(this.runsByThread.get(threadId) ?? [], query, validateRun);
    },
    listRunSteps: async (threadId: string, runId: string, query: StepQuery = {}, signal?: AbortSignal): Promise<Page<RunStep>> => {
      await this.enter({ op: 'listRunSteps', threadId, runId, query }, signal);
      return this.page(this.stepsByRun.get(runId) ?? [], query, validateRunStep);
    },
  };
}

// ---- the fake delivery ---------------------------------------------------------------------------

/**
 * Records jobs, and acknowledges each on the next timer tick (as a collector's answer arrives on a
 * later turn of the event loop), unless `autoSettle` is off and the test settles them itself.
 */
class FakeDelivery implements DeliverySink {
  readonly jobs: ExportJob[] = [];
  readonly settledJobs = new Set<ExportJob>();
  autoSettle = true;
  /** `microtask`: acknowledged before the poller's next await resumes (a very fast sink). */
  ackOn: 'timer' | 'microtask' = 'timer';
  behind = false;

  enqueue(job: ExportJob): void {
    this.jobs.push(job);
    if (!this.autoSettle) return;
    if (this.ackOn === 'microtask') queueMicrotask(() => void this.settle(job));
    else setTimeout(() => void this.settle(job), 0);
  }

  isBehind(): boolean {
    return this.behind;
  }

  async settle(job: ExportJob | undefined = this.jobs.find((j) => !this.settledJobs.has(j))): Promise<void> {
    if (!job) throw new Error('no job to settle');
    this.settledJobs.add(job);
    await job.onSettled({ delivered: job.spans.length, setAside: 0 });
  }

  /** Every span handed over, by subject: `run:<id>`, `step:<id>`, `tool:<id>`. */
  subjects(): string[] {
    return this.jobs.flatMap((j) => j.spans.map(subjectOf));
  }
}

function subjectOf(span: SpanData): string {
  const s = span.subject;
  return s.kind === 'run' ? `run:${s.runId}` : s.kind === 'step' ? `step:${s.stepId}` : `tool:${s.toolCallKey}`;
}

/** Every store mutation, in call order, for "persisted before" checks. */
function recordingStore(inner: StateStore) {
  const ops: string[] = [];
  const store: StateStore = {
    load: () => inner.load(),
    putThread: (t) => (ops.push(`putThread ${t.threadId}${t.cursor ? ` cursor=${t.cursor}` : ''}`), inner.putThread(t)),
    removeThread: (id) => (ops.push(`removeThread ${id}`), inner.removeThread(id)),
    putRun: (r) => (ops.push(`putRun ${r.runId}`), inner.putRun(r)),
    markStepsExported: (runId, ids) => (ops.push(`markStepsExported ${runId} ${ids.join(',')}`), inner.markStepsExported(runId, ids)),
    markRunDone: (runId, at) => (ops.push(`markRunDone ${runId}`), inner.markRunDone(runId, at)),
    removeRun: (runId) => (ops.push(`removeRun ${runId}`), inner.removeRun(runId)),
    pruneDone: (before) => (ops.push('pruneDone'), inner.pruneDone(before)),
    addSetAside: (n) => inner.addSetAside(n),
    close: () => inner.close(),
  };
  return { store, ops };
}

// ---- the rig -------------------------------------------------------------------------------------

const THREAD = 'thread_1';
const POLL = 1_000;

interface Rig {
  api: FakeApi;
  delivery: FakeDelivery;
  store: StateStore;
  ops: string[];
  poller: Poller;
  lines: ReturnType<typeof recordingLogger>['lines'];
  rejected: Array<[string, number]>;
  exported: Array<{ runs: number; steps: number; spans: number }>;
  paused: boolean[];
  fatal: ApiError[];
  state: () => Promise<StateSnapshot>;
}

const rigs: Rig[] = [];

async function rig(options: Partial<Omit<PollerOptions, 'client' | 'store' | 'delivery' | 'hooks'>> & { api?: FakeApi; snapshot?: StateSnapshot } = {}): Promise<Rig> {
  const { api = new FakeApi(), snapshot, ...pollerOptions } = options;
  const memory = createMemoryStateStore(snapshot);
  const { store, ops } = recordingStore(memory);
  const delivery = new FakeDelivery();
  const { logger, lines } = recordingLogger();
  const rejected: Array<[string, number]> = [];
  const exported: Array<{ runs: number; steps: number; spans: number }> = [];
  const paused: boolean[] = [];
  const fatal: ApiError[] = [];
  const poller = new Poller({
    client: api.client as unknown as AssistantsClient,
    store,
    delivery,
    mapping: {},
    live: false,
    pollIntervalMillis: POLL,
    logger,
    now: () => Date.now(),
    hooks: {
      onRejected: (kind, n) => rejected.push([kind, n]),
      onExported: (counts) => exported.push(counts),
      onPausedChange: (p) => paused.push(p),
      onFatal: (error) => fatal.push(error),
    },
    ...pollerOptions,
  });
  await poller.start();
  const r: Rig = { api, delivery, store, ops, poller, lines, rejected, exported, paused, fatal, state: () => memory.load() };
  rigs.push(r);
  return r;
}

/** Advances the fake clock, running every timer and promise callback on the way. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Runs what is due now (and the promise callbacks it starts). */
const settleNow = () => vi.advanceTimersByTimeAsync(0);
/** Lets the fake delivery's acknowledgements (one timer tick after the hand-over) land. */
const acked = () => vi.advanceTimersByTimeAsync(1);

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});

afterEach(async () => {
  for (const r of rigs.splice(0)) await r.poller.stop();
  vi.useRealTimers();
});

// ---- discovery and following -----------------------------------------------------------------------

describe('Poller: a watched thread\'s new run', () => {
  it('is discovered, followed while active, and exported once when terminal, with all its steps', async () => {
    const { api, poller, delivery, exported, state } = await rig();
    expect(await poller.watchThread(THREAD)).toBe('added');
    expect(await poller.watchThread(THREAD)).toBe('already');
    await settleNow();
    expect(api.count('listRuns')).toBe(1);

    await advance(500);
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await advance(500); // discovery at 1 s finds the run
    expect(api.count('listRuns')).toBe(2);
    expect(poller.stats()).toMatchObject({ threads: 1, runs: 1 });
    expect(delivery.jobs).toEqual([]); // active: nothing exported

    await advance(POLL); // its status, one interval later
    expect(api.times('getRun', 'run_1')).toEqual([2_000]);
    expect(delivery.jobs).toEqual([]);

    api.addStep('run_1', 'step_2', { type: 'tool_calls', step_details: { type: 'tool_calls', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}', output: '1' } }] } });
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(api.times('getRun', 'run_1')).toEqual([2_000, 3_000]);
    expect(api.count('listRunSteps', 'run_1')).toBe(1);
    expect(delivery.jobs).toHaveLength(1);
    expect(delivery.jobs[0]?.runId).toBe('run_1');
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1', 'step:step_2', 'tool:id:call_1'].sort());
    expect(exported).toEqual([{ runs: 1, steps: 2, toolCalls: 1, spans: 4 }]);
    expect((await state()).done).toHaveProperty('run_1');
    expect(poller.stats().runs).toBe(0);

    // A terminal run is never polled again, and never exported twice, however long we watch.
    await advance(10 * 60_000);
    expect(api.count('getRun', 'run_1')).toBe(2);
    expect(api.count('listRunSteps', 'run_1')).toBe(1);
    expect(delivery.jobs).toHaveLength(1);
  });

  it('lists the steps 100 per page, following every page', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchRun(THREAD, 'run_1');
    api.addRun(THREAD, 'run_1');
    for (let i = 0; i < 150; i++) api.addStep('run_1', `step_${String(i).padStart(3, '0')}`);
    api.finishRun('run_1');
    await advance(POLL);
    const queries = api.calls.filter((c) => c.op === 'listRunSteps').map((c) => c.query);
    expect(queries).toEqual([
      { order: 'asc', limit: 100 },
      { order: 'asc', limit: 100, after: 'step_099' },
    ]);
    expect(delivery.subjects().filter((s) => s.startsWith('step:'))).toHaveLength(150);
  });

  it('a run found already terminal by discovery is exported at once, without a status read', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    api.finishRun('run_1');
    await advance(POLL);
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
    expect(api.count('getRun')).toBe(0);
  });

  it('while a run is active, discovery waits for it to end, then looks again at once', async () => {
    const { api, poller } = await rig({ maxIdleIntervalMillis: 30_000 });
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    await settleNow(); // discovery finds it active
    await advance(20_000);
    expect(api.times('listRuns')).toEqual([0]); // not at the poll interval while a run is active
    api.finishRun('run_1');
    await advance(POLL); // the run's read sees it finished…
    await advance(5); // …its export is acknowledged (21,001), and discovery looks again at once
    expect(api.times('listRuns')).toEqual([0, 21_002]); // a timer set for "now" fires 1 ms later
 // discovery right after the run ended
  });

  it('a run found finished by discovery and acknowledged before that discovery ends: the thread is looked at again at the poll interval', async () => {
    // README: discovery "runs at the poll interval while the thread is active and for a minute
    // after". Here the acknowledgement lands while discovery awaits the store (between counting the
    // thread's active runs and scheduling its next look): the run's end asks for a look "now", and
    // the discovery then overwrites it with the "a run is active" wait of maxIdleIntervalMillis.
    const { api, poller, delivery } = await rig({ maxIdleIntervalMillis: 30_000 });
    delivery.ackOn = 'microtask';
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await advance(POLL);
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_1']);
    expect(poller.stats().runs).toBe(0); // acknowledged and done
    await advance(30_000);
    const next = api.times('listRuns').find((t) => t > POLL);
    expect({ nextDiscoveryAt: next }).toEqual({ nextDiscoveryAt: expect.toSatisfy((t: number) => t <= 2 * POLL + 2) });
  });

  it('with a run active for long, discovery still looks after the max idle interval', async () => {
    const { api, poller } = await rig({ maxIdleIntervalMillis: 30_000 });
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    await settleNow();
    await advance(65_000);
    expect(api.times('listRuns')).toEqual([0, 30_000, 60_000]);
  });

  it('discovery lists runs after the newest one seen', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await settleNow();
    await advance(POLL);
    api.addRun(THREAD, 'run_2');
    api.finishRun('run_2');
    await advance(POLL);
    const queries = api.calls.filter((c) => c.op === 'listRuns').map((c) => c.query);
    expect(queries[0]).toEqual({ order: 'desc', limit: 100 }); // first look: newest first
    expect(queries.slice(1)).toContainEqual({ order: 'asc', limit: 100, after: 'run_1' });
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_1', 'run_2']);
  });
});

describe('Poller: history', () => {
  function history(api: FakeApi): void {
    vi.setSystemTime(START - 3_600_000);
    api.addRun(THREAD, 'run_old_done');
    api.finishRun('run_old_done');
    api.addRun(THREAD, 'run_old_active');
    vi.setSystemTime(START - 30_000); // within the registration grace (clock skew)
    api.addRun(THREAD, 'run_recent_done');
    api.finishRun('run_recent_done');
    vi.setSystemTime(START);
  }

  it('runs that ended before the thread was watched are not traced; an old run still active is', async () => {
    const api = new FakeApi();
    history(api);
    const { poller, delivery } = await rig({ api });
    await poller.watchThread(THREAD);
    await settleNow();
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_recent_done']);
    expect(poller.stats().runs).toBe(1); // run_old_active is followed
    api.finishRun('run_old_active');
    await advance(POLL);
    expect(delivery.jobs.map((j) => j.runId).sort()).toEqual(['run_old_active', 'run_recent_done']);
  });

  it('a finished run whose record has no usable time is not taken for history: it is traced', async () => {
    const api = new FakeApi();
    history(api);
    // A mock server's placeholders: nothing says when it was created, so nothing says it is old.
    api.addRun(THREAD, 'run_untimed', { created_at: 0, started_at: 0 });
    api.finishRun('run_untimed', { completed_at: 0 });
    const { poller, delivery } = await rig({ api });
    await poller.watchThread(THREAD);
    await settleNow();
    await acked();
    expect(delivery.jobs.map((j) => j.runId).sort()).toEqual(['run_recent_done', 'run_untimed']);
  });

  it('backfill traces the thread\'s history too', async () => {
    const api = new FakeApi();
    history(api);
    const { poller, delivery } = await rig({ api, backfill: true });
    await poller.watchThread(THREAD);
    await settleNow();
    expect(delivery.jobs.map((j) => j.runId).sort()).toEqual(['run_old_done', 'run_recent_done']);
  });
});

describe('Poller: runs the library instrumentation traces (one version of each span)', () => {
  const MARK = { metadata: { assistants_otel: 'library', traceparent: TRACEPARENT } };

  it('are left to it by default: discovered, but never read, listed or exported', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_library', MARK);
    api.addRun(THREAD, 'run_plain');
    await advance(POLL);
    api.finishRun('run_library');
    api.finishRun('run_plain');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_plain']);
    expect(api.count('getRun', 'run_library')).toBe(0);
    expect(api.count('listRunSteps', 'run_library')).toBe(0);
  });

  it('with includeLibraryRuns they are exported like any other', async () => {
    const { api, poller, delivery } = await rig({ includeLibraryRuns: true });
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_library', MARK);
    api.finishRun('run_library');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_library']);
  });

  it('a marked run registered by id is exported all the same (an explicit registration wins)', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_library', MARK);
    api.finishRun('run_library');
    await poller.watchRun(THREAD, 'run_library');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_library']);
  });
});

describe('Poller: single runs', () => {
  it('a run registered as it is created is first read one interval later, and each interval while active', async () => {
    const { api, poller } = await rig();
    api.addRun(THREAD, 'run_1');
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('added');
    await advance(POLL - 1);
    expect(api.count('getRun')).toBe(0);
    await advance(1);
    await advance(2 * POLL);
    expect(api.times('getRun', 'run_1')).toEqual([1_000, 2_000, 3_000]);
  });

  it('answers already, updated and exported as the README says', async () => {
    const { api, poller, state } = await rig();
    api.addRun(THREAD, 'run_1');
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('added');
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('already');
    expect(await poller.watchRun(THREAD, 'run_1', TRACEPARENT.header)).toBe('updated');
    expect(await poller.watchRun(THREAD, 'run_1', TRACEPARENT.header)).toBe('already');
    expect((await state()).runs).toEqual([{ threadId: THREAD, runId: 'run_1', exportedStepIds: [], traceparent: TRACEPARENT.header }]);
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('exported');
  });

  it('a registered traceparent parents the run\'s spans (its trace id, the run span\'s remote parent)', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_tp');
    api.addStep('run_tp', 'step_1');
    api.finishRun('run_tp');
    await poller.watchRun(THREAD, 'run_tp', TRACEPARENT.header);
    await advance(POLL);
    const spans = delivery.jobs.flatMap((j) => j.spans);
    expect(spans).toHaveLength(2);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([TRACEPARENT.traceId]));
    const runSpan = spans.find((s) => s.subject.kind === 'run');
    expect(runSpan?.parentSpanId).toBe(TRACEPARENT.spanId);
    expect(runSpan?.parentIsRemote).toBe(true);
  });

  it('without a traceparent, the run span is a root', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    const runSpan = delivery.jobs[0]?.spans.find((s) => s.subject.kind === 'run');
    expect(runSpan?.parentSpanId).toBeUndefined();
    expect(runSpan?.traceId).not.toBe(TRACEPARENT.traceId);
  });

  it('unwatchRun stops following a run and forgets it in the store', async () => {
    const { api, poller, state } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchRun(THREAD, 'run_1');
    expect(await poller.unwatchRun('run_1')).toBe(true);
    expect(await poller.unwatchRun('run_1')).toBe(false);
    await advance(10 * POLL);
    expect(api.count('getRun')).toBe(0);
    expect((await state()).runs).toEqual([]);
  });
});

// ---- the pace of discovery ---------------------------------------------------------------------------

describe('Poller: discovery pace', () => {
  it('keeps the poll interval through the idle grace, then doubles up to the max idle interval', async () => {
    const { api, poller } = await rig({ idleGraceMillis: 5_000, maxIdleIntervalMillis: 8_000 });
    await poller.watchThread(THREAD);
    await advance(36_000);
    expect(api.times('listRuns')).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 7_000, 11_000, 19_000, 27_000, 35_000]);
  });

  it('activity (a new run) resets the pace to the poll interval', async () => {
    const { api, poller, delivery } = await rig({ idleGraceMillis: 5_000, maxIdleIntervalMillis: 8_000 });
    await poller.watchThread(THREAD);
    await advance(36_000); // slowed down to 8 s: the next look is at 43 s
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await advance(7_000);
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_1']);
    await advance(5_000);
    // The export acknowledged (43,001), discovery looks again at once, then at the poll interval.
    expect(api.times('listRuns').filter((t) => t > 43_000)).toEqual([43_002, 44_002, 45_002, 46_002, 47_002]);
  });

  it('defaults: a 60 s grace at the poll interval, then slower, up to 60 s', async () => {
    const { api, poller } = await rig();
    await poller.watchThread(THREAD);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(61); // 0, 1 s, …, 60 s
    await advance(4 * 60_000);
    const times = api.times('listRuns');
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.slice(60)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]); // 60 s, 62, 66, 74, 90, 122, 182, 242
  });

  it('a thread idle past idleTtlMillis is dropped, and persisted as removed', async () => {
    const { api, poller, state, lines } = await rig({ idleGraceMillis: 1_000, maxIdleIntervalMillis: 4_000, idleTtlMillis: 10_000 });
    await poller.watchThread(THREAD);
    expect((await state()).threads.map((t) => t.threadId)).toEqual([THREAD]);
    await advance(60_000);
    expect(api.times('listRuns')).toEqual([0, 1_000, 3_000, 7_000, 11_000]);
    expect(poller.stats().threads).toBe(0);
    expect((await state()).threads).toEqual([]);
    expect(lines.some((l) => /idle past its TTL/.test(l.message) && l.fields['thread_id'] === THREAD)).toBe(true);
  });

  it('a thread with a run active is not dropped, however long the run', async () => {
    const { api, poller, state } = await rig({ idleGraceMillis: 1_000, maxIdleIntervalMillis: 4_000, idleTtlMillis: 10_000 });
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    await advance(60_000);
    expect(poller.stats().threads).toBe(1);
    expect((await state()).threads).toHaveLength(1);
    expect(api.times('listRuns').at(-1)).toBeGreaterThan(50_000);
  });

  it('unwatchThread stops discovery and forgets the thread', async () => {
    const { api, poller, state } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    expect(await poller.unwatchThread(THREAD)).toBe(true);
    expect(await poller.unwatchThread(THREAD)).toBe(false);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(1);
    expect((await state()).threads).toEqual([]);
  });
});

// ---- failures ----------------------------------------------------------------------------------------

describe('Poller: failures', () => {
  it('not_found on a run: no longer watched, and forgotten in the store', async () => {
    const { api, poller, state } = await rig();
    await poller.watchRun(THREAD, 'run_gone'); // the API has no such run
    await advance(POLL);
    expect(api.count('getRun')).toBe(1);
    expect(poller.stats().runs).toBe(0);
    await settleNow();
    expect((await state()).runs).toEqual([]);
    await advance(60_000);
    expect(api.count('getRun')).toBe(1);
  });

  it('not_found on a thread: no longer watched, and forgotten in the store', async () => {
    const { api, poller, state } = await rig();
    api.failNext('listRuns', new ApiError('not_found', 'list runs of thread_1: HTTP 404', { status: 404 }));
    await poller.watchThread(THREAD);
    await settleNow();
    expect(poller.stats().threads).toBe(0);
    expect((await state()).threads).toEqual([]);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(1);
  });

  it('invalid_payload on a run: reported (counted, logged with the run and issues) and no longer watched', async () => {
    const { api, poller, state, rejected, lines } = await rig();
    api.addRun(THREAD, 'run_bad');
    const issues = [{ path: 'id', message: 'required to place the record in a trace, but missing' }];
    api.failNext('getRun', new ApiError('invalid_payload', 'get run run_bad: the record cannot be placed', { issues }));
    await poller.watchRun(THREAD, 'run_bad');
    await advance(POLL);
    expect(rejected).toEqual([['run', 1]]);
    expect(poller.stats().runs).toBe(0);
    expect((await state()).runs).toEqual([]);
    const line = lines.find((l) => l.level === 'error' && /malformed run/.test(l.message));
    expect(line?.fields).toMatchObject({ run_id: 'run_bad', thread_id: THREAD, issues });
    await advance(60_000);
    expect(api.count('getRun')).toBe(1);
  });

  it.each([
    { mode: 'batch', live: false },
    { mode: 'live', live: true },
  ])('a run whose records cannot be mapped: reported once, counted, and not polled again ($mode mode)', async ({ live }) => {
    const { api, poller, state, rejected, lines, delivery } = await rig({ live });
    api.addRun(THREAD, 'run_unmappable');
    if (!live) api.finishRun('run_unmappable');
    // A step the validation boundary never saw: an empty id, so the mapper throws.
    const broken = { ...(validateRunStep(rawStep({ id: 'step_broken', run_id: 'run_unmappable' })) as { value: RunStep }).value, id: '' };
    api.client.listRunSteps = async () => {
      api.calls.push({ op: 'listRunSteps', at: elapsed(), threadId: THREAD, runId: 'run_unmappable' });
      return { items: [broken], rejected: [], warnings: [], hasMore: false, lastId: 'step_broken' };
    };
    await poller.watchRun(THREAD, 'run_unmappable');
    await advance(POLL);
    expect(rejected).toEqual([['run', 1]]);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toEqual([expect.objectContaining({ message: 'run cannot be mapped: reported once and no longer watched', fields: expect.objectContaining({ run_id: 'run_unmappable', thread_id: THREAD, error: expect.stringMatching(/step 0 of run run_unmappable has no id/) }) })]);
    expect(poller.stats().runs).toBe(0);
    expect((await state()).runs).toEqual([]);
    await advance(60_000);
    expect([api.count('getRun'), api.count('listRunSteps'), rejected.length, delivery.jobs.length]).toEqual([1, 1, 1, 0]);
  });

  it('auth: onFatal, with the error', async () => {
    const { api, poller, fatal } = await rig();
    api.addRun(THREAD, 'run_1');
    const error = new ApiError('auth', 'get run run_1: the API refused the credentials (HTTP 401). Check: OPENAI_API_KEY', { status: 401 });
    api.failNext('getRun', error);
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(fatal).toEqual([error]);
  });

  it('auth on discovery: onFatal too', async () => {
    const { api, poller, fatal } = await rig();
    const error = new ApiError('auth', 'list runs: the API denied access (HTTP 403)', { status: 403 });
    api.failNext('listRuns', error);
    await poller.watchThread(THREAD);
    await settleNow();
    expect(fatal).toEqual([error]);
  });

  it('a run whose reads keep failing is retried with growing backoff, and reset after a success', async () => {
    const { api, poller } = await rig({ maxIdleIntervalMillis: 60_000 });
    api.addRun(THREAD, 'run_1');
    const flaky = () => new ApiError('retries_exhausted', 'get run run_1: gave up after 6 attempts (last: HTTP 503)', { attempts: 6 });
    for (let i = 0; i < 3; i++) api.failNext('getRun', flaky());
    await poller.watchRun(THREAD, 'run_1');
    await advance(20_000);
    // Read at 1 s fails → 2 s later; fails → 4 s; fails → 8 s; succeeds (active) → back to the poll interval.
    expect(api.times('getRun').slice(0, 6)).toEqual([1_000, 3_000, 7_000, 15_000, 16_000, 17_000]);
    api.failNext('getRun', flaky());
    const at = api.times('getRun').at(-1) as number;
    await advance(POLL + 2 * POLL);
    expect(api.times('getRun').filter((t) => t > at)).toEqual([at + POLL, at + 3 * POLL]); // fails, then 2 s (not 16 s)
    expect(poller.stats().runs).toBe(1); // still watched
  });

  it('run backoff is capped by the max idle interval', async () => {
    const { api, poller } = await rig({ maxIdleIntervalMillis: 5_000 });
    api.addRun(THREAD, 'run_1');
    for (let i = 0; i < 6; i++) api.failNext('getRun', new Error('socket hang up'));
    await poller.watchRun(THREAD, 'run_1');
    await advance(40_000);
    const times = api.times('getRun');
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.slice(0, 6)).toEqual([2_000, 4_000, 5_000, 5_000, 5_000, 5_000]);
  });

  it('a discovery that fails is tried again later, not at once, and the thread stays watched', async () => {
    const { api, poller, state } = await rig();
    api.failNext('listRuns', new ApiError('retries_exhausted', 'list runs: gave up', { attempts: 6 }));
    await poller.watchThread(THREAD);
    await settleNow();
    await advance(5_000);
    const times = api.times('listRuns');
    expect(times[0]).toBe(0);
    expect(times[1]).toBeGreaterThanOrEqual(2 * POLL);
    expect(poller.stats().threads).toBe(1);
    expect((await state()).threads).toHaveLength(1);
  });

  it('a failed step listing of a finished run is retried, and the run is exported once', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    api.finishRun('run_1');
    api.failNext('listRunSteps', new ApiError('retries_exhausted', 'list steps: gave up', { attempts: 6 }));
    await poller.watchRun(THREAD, 'run_1');
    await advance(10_000);
    expect(api.count('listRunSteps')).toBe(2);
    expect(delivery.jobs).toHaveLength(1);
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
  });
});

// ---- live mode ---------------------------------------------------------------------------------------

describe('Poller: live mode', () => {
  it('exports each finished step once, as soon as it is seen; the final run export excludes them', async () => {
    const { api, poller, delivery, state } = await rig({ live: true });
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    api.addStep('run_1', 'step_2', { status: 'in_progress', completed_at: null });
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.spans.map(subjectOf))).toEqual([['step:step_1']]);
    expect((await state()).runs[0]?.exportedStepIds).toEqual(['step_1']);

    await advance(POLL); // nothing new finished
    await acked();
    expect(delivery.jobs).toHaveLength(1);

    api.updateStep('run_1', 'step_2', { status: 'completed', completed_at: nowSeconds() });
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.spans.map(subjectOf))).toEqual([['step:step_1'], ['step:step_2']]);
    const listings = api.calls.filter((c) => c.op === 'listRunSteps').map((c) => c.query);
    expect(listings.at(-1)).toMatchObject({ order: 'asc', after: 'step_1' }); // from the last exported step on

    api.addStep('run_1', 'step_3');
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.at(-1)?.spans.map(subjectOf).sort()).toEqual(['run:run_1', 'step:step_3']);
    const steps = delivery.subjects().filter((s) => s.startsWith('step:'));
    expect(steps.sort()).toEqual(['step:step_1', 'step:step_2', 'step:step_3']); // each once
    expect((await state()).done).toHaveProperty('run_1');
  });

  it('a step acknowledged while the steps are being listed is not exported again', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(delivery.jobs).toHaveLength(1); // step_1 handed over, not yet acknowledged

    const hold = api.holdNext('listRunSteps');
    await advance(POLL); // the next read lists the steps; the listing is out…
    expect(hold.started).toBe(true);
    await delivery.settle(); // …when step_1's acknowledgement lands
    hold.release();
    await settleNow();
    expect(delivery.subjects()).toEqual(['step:step_1']);

    api.finishRun('run_1');
    await advance(POLL);
    await delivery.settle();
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
  });

  it('a step acknowledged while a finished run\'s steps are being listed is not in the run\'s export', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(delivery.subjects()).toEqual(['step:step_1']);

    api.addStep('run_1', 'step_2');
    api.finishRun('run_1');
    const hold = api.holdNext('listRunSteps');
    await advance(POLL); // the run is finished: its steps are listed for the final export…
    expect(hold.started).toBe(true);
    await delivery.settle(); // …and step_1 is acknowledged meanwhile
    hold.release();
    await settleNow();
    expect(delivery.jobs).toHaveLength(2);
    expect(delivery.jobs[1]?.spans.map(subjectOf).sort()).toEqual(['run:run_1', 'step:step_2']);
    await delivery.settle();
    expect(delivery.subjects().filter((s) => s === 'step:step_1')).toHaveLength(1);
  });

  it('a step handed over but not yet acknowledged is not handed over again', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(5 * POLL);
    expect(delivery.subjects()).toEqual(['step:step_1']);
    api.finishRun('run_1');
    await advance(POLL);
    expect(delivery.subjects()).toEqual(['step:step_1', 'run:run_1']);
  });

  it('a finished run is not read again while its export waits for the acknowledgement', async () => {
    const { api, poller, delivery, state } = await rig();
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(delivery.jobs).toHaveLength(1);
    expect((await state()).done).toEqual({}); // not marked before the acknowledgement
    expect((await state()).runs.map((r) => r.runId)).toEqual(['run_1']);
    await advance(30_000);
    expect(api.count('getRun')).toBe(1);
    expect(delivery.jobs).toHaveLength(1);
    await delivery.settle();
    expect((await state()).done).toHaveProperty('run_1');
    expect((await state()).runs).toEqual([]);
  });
});

// ---- back-pressure -------------------------------------------------------------------------------------

describe('Poller: delivery behind pauses polling', () => {
  it('makes no API calls while delivery is behind, reports the pause, and resumes', async () => {
    const { api, poller, delivery, paused } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchThread(THREAD);
    await poller.watchRun(THREAD, 'run_1');
    delivery.behind = true;
    await advance(30_000);
    expect(api.calls).toEqual([]);
    expect(paused).toEqual([true]);
    expect(poller.stats().paused).toBe(true);
    delivery.behind = false;
    await advance(250);
    expect(paused).toEqual([true, false]);
    expect(poller.stats().paused).toBe(false);
    expect(api.count('listRuns')).toBeGreaterThan(0);
    expect(api.count('getRun')).toBe(1);
  });

  it('pauses between reads of an active run too', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(3 * POLL);
    const before = api.count('getRun');
    delivery.behind = true;
    await advance(60_000);
    expect(api.count('getRun')).toBe(before);
    delivery.behind = false;
    await advance(POLL);
    expect(api.count('getRun')).toBeGreaterThan(before);
  });
});

// ---- stopping ------------------------------------------------------------------------------------

describe('Poller: stop()', () => {
  it('aborts the request in flight, waits for it, and leaves nothing running', async () => {
    const { api, poller, fatal, lines } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchThread(THREAD);
    await poller.watchRun(THREAD, 'run_1');
    await settleNow();
    const hold = api.holdNext('getRun');
    await advance(POLL);
    expect(hold.started).toBe(true);
    await poller.stop();
    await poller.stop(); // idempotent
    expect(vi.getTimerCount()).toBe(0);
    const calls = api.calls.length;
    await advance(3_600_000);
    expect(api.calls).toHaveLength(calls);
    expect(fatal).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn' && /poll failed/.test(l.message))).toEqual([]); // an abort is not a failure
  });

  it('stops with nothing in flight', async () => {
    const { api, poller } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    await poller.stop();
    expect(vi.getTimerCount()).toBe(0);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(1);
  });
});

// ---- state ---------------------------------------------------------------------------------------

describe('Poller: the state store holds what a restart needs', () => {
  it('after each step: the thread, the run before the cursor passes it, the cursor, the done mark', async () => {
    const { api, poller, delivery, state, ops } = await rig();
    delivery.autoSettle = false;
    await poller.watchThread(THREAD);
    expect((await state()).threads).toEqual([{ threadId: THREAD, since: START / 1000 - 60, lastActivityAt: START }]);
    await settleNow();

    api.addRun(THREAD, 'run_1');
    await advance(POLL);
    let s = await state();
    expect(s.runs).toEqual([{ threadId: THREAD, runId: 'run_1', exportedStepIds: [] }]);
    expect(s.threads[0]?.cursor).toBe('run_1');
    expect(ops.indexOf('putRun run_1')).toBeLessThan(ops.indexOf(`putThread ${THREAD} cursor=run_1`));

    api.finishRun('run_1');
    await advance(POLL);
    s = await state();
    expect(s.runs.map((r) => r.runId)).toEqual(['run_1']); // handed over, not acknowledged: still followed
    expect(s.done).toEqual({});

    await delivery.settle();
    s = await state();
    expect(s.runs).toEqual([]);
    expect(s.done).toEqual({ run_1: START + 2 * POLL });
  });

  it('live mode: the steps acknowledged are persisted with the run', async () => {
    const { api, poller, state } = await rig({ live: true });
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    await acked();
    expect((await state()).runs).toEqual([{ threadId: THREAD, runId: 'run_1', exportedStepIds: ['step_1'] }]);
  });

  it('a restart from the persisted state goes on where it stopped: nothing lost, nothing exported twice', async () => {
    const api = new FakeApi();
    const first = await rig({ api, live: true });
    await first.poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_done');
    api.finishRun('run_done');
    await advance(POLL); // run_done exported
    api.addRun(THREAD, 'run_active');
    api.addStep('run_active', 'step_1');
    await advance(POLL); // run_active found (after the cursor run_done); step_1 exported live
    await advance(POLL);
    expect(first.delivery.subjects().sort()).toEqual(['run:run_done', 'step:step_1']);
    await first.poller.stop();
    const snapshot = await first.state();
    expect(snapshot.threads[0]?.cursor).toBe('run_active');
    expect(snapshot.runs).toEqual([{ threadId: THREAD, runId: 'run_active', exportedStepIds: ['step_1'] }]);
    expect(Object.keys(snapshot.done)).toEqual(['run_done']);

    const second = await rig({ api, live: true, snapshot });
    expect(second.poller.stats()).toMatchObject({ threads: 1, runs: 1 });
    api.addStep('run_active', 'step_2');
    api.finishRun('run_active');
    await advance(POLL);
    expect(second.delivery.subjects().sort()).toEqual(['run:run_active', 'step:step_2']);
    await advance(60_000);
    expect(second.delivery.subjects().sort()).toEqual(['run:run_active', 'step:step_2']);
  });

  it('a restart does not export again a run already done, even when discovery starts over', async () => {
    const api = new FakeApi();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    const snapshot: StateSnapshot = {
      threads: [{ threadId: THREAD, since: START / 1000 - 60, lastActivityAt: START }], // no cursor
      runs: [],
      done: { run_1: START },
      setAsideSpans: 0,
    };
    const { poller, delivery } = await rig({ api, snapshot });
    expect(poller.stats().threads).toBe(1);
    await advance(5 * POLL);
    expect(api.count('listRuns')).toBeGreaterThan(0);
    expect(delivery.jobs).toEqual([]);
  });

  it('the done marks are pruned after a day', async () => {
    const { api, poller, state } = await rig();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    await acked();
    expect((await state()).done).toHaveProperty('run_1');
    await advance(24 * 3_600_000 + 20 * 60_000);
    expect((await state()).done).toEqual({});
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('added');
  });
});
