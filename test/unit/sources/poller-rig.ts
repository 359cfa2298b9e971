/**
 * The machinery of the poller's loop tests (poller.test.ts, poller-load.test.ts): a fake API client,
 * a fake delivery sink, a recording state store, and a rig that starts a `Poller` on vitest's fake
 * clock (`now` is the faked `Date.now`).
 *
 * The fake API answers `Page`/`Fetched` shapes with records that went through the validation
 * boundary, follows the API's cursor rules (`order`, `after`, `limit`, `has_more`), shows its own
 * clock in each answer (the `Date` header: `serverTimeSeconds`), which may run behind or ahead of
 * the poller's, and can fail, or hold, the next call of an operation (for one thread or run).
 */
import { vi } from 'vitest';
import type { AssistantsClient, Fetched, ListQuery, Page, StepQuery } from '../../../src/api/client.js';
import { ApiError } from '../../../src/api/errors.js';
import type { Run, RunStep } from '../../../src/api/schemas.js';
import { validateRun, validateRunStep, type Issue } from '../../../src/api/validate.js';
import type { ExportJob } from '../../../src/delivery/pipeline.js';
import type { SpanData } from '../../../src/mapping/types.js';
import { Poller, type DeliverySink, type PollerOptions } from '../../../src/sources/poller.js';
import { createMemoryStateStore } from '../../../src/state/memory-store.js';
import type { StateSnapshot, StateStore } from '../../../src/state/store.js';
import { run as rawRun, step as rawStep, type Json } from '../../fixtures/records.js';
import { recordingLogger, type RecordedLine } from '../../support/recording-logger.js';

/** Start of each test (a whole second, so API seconds and ms line up). */
export const START = 1_763_700_000_000;
/** Ms since START. */
export const elapsed = () => Date.now() - START;

export type Op = 'getRun' | 'listRuns' | 'listRunSteps';

export interface Call {
  op: Op;
  at: number;
  threadId: string;
  runId?: string;
  query?: ListQuery | StepQuery;
}

export interface Hold {
  op: Op;
  id: string | undefined;
  release: () => void;
  started: boolean;
}

export class FakeApi {
  readonly calls: Call[] = [];
  /** The API's clock runs this many seconds ahead of the poller's (negative: behind). */
  clockOffsetSeconds = 0;
  /** Whether answers carry the server's clock (a `Date` header). */
  sendsDate = true;
  private readonly runsByThread = new Map<string, Json[]>();
  private readonly stepsByRun = new Map<string, Json[]>();
  private readonly failures: Array<{ op: Op; id: string | undefined; error: Error }> = [];
  private readonly holds: Hold[] = [];
  /** Records meant to fail validation: listed as rejections, as the client lists them (any other invalid record is a test's mistake). */
  private readonly malformed = new Set<Json>();

  /** The API's clock, in Unix seconds. */
  nowSeconds(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffsetSeconds;
  }

  addRun(threadId: string, id: string, overrides: Json = {}): Json {
    const now = this.nowSeconds();
    const record = rawRun({ id, thread_id: threadId, created_at: now, started_at: now, completed_at: null, status: 'in_progress', usage: null, ...overrides });
    this.runsByThread.set(threadId, [...(this.runsByThread.get(threadId) ?? []), record]);
    return record;
  }

  /** A run record that fails validation (no usable id), newest on its thread: listings show it as a rejection. */
  addMalformedRun(threadId: string, overrides: Json = {}): Json {
    const now = this.nowSeconds();
    const record = rawRun({ id: '', thread_id: threadId, created_at: now, started_at: now, completed_at: null, status: 'in_progress', usage: null, ...overrides });
    this.malformed.add(record);
    this.runsByThread.set(threadId, [...(this.runsByThread.get(threadId) ?? []), record]);
    return record;
  }

  /** Ends a run: `completed` now (or another terminal status given in `overrides`). */
  finishRun(id: string, overrides: Json = {}): void {
    this.updateRun(id, { status: 'completed', completed_at: this.nowSeconds(), usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, ...overrides });
  }

  updateRun(id: string, overrides: Json): void {
    for (const list of this.runsByThread.values()) {
      const index = list.findIndex((r) => r['id'] === id);
      if (index >= 0) list[index] = { ...list[index], ...overrides };
    }
  }

  deleteRun(id: string): void {
    for (const [threadId, list] of this.runsByThread) this.runsByThread.set(threadId, list.filter((r) => r['id'] !== id));
  }

  addStep(runId: string, id: string, overrides: Json = {}): void {
    const run = this.findRun(runId);
    const now = this.nowSeconds();
    const record = rawStep({ id, run_id: runId, thread_id: run?.['thread_id'], created_at: now, completed_at: now, ...overrides });
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

  queries(op: Op, id?: string): Array<ListQuery | StepQuery | undefined> {
    return this.calls.filter((c) => c.op === op && (id === undefined || (c.runId ?? c.threadId) === id)).map((c) => c.query);
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

  private date(): { serverTimeSeconds?: number } {
    return this.sendsDate ? { serverTimeSeconds: this.nowSeconds() } : {};
  }

  private page<T>(records: Json[], query: ListQuery, validate: (raw: unknown) => { ok: true; value: T } | { ok: false; issues: Issue[] }): Page<T> {
    let ordered = query.order === 'asc' ? [...records] : [...records].reverse();
    if (query.after !== undefined) {
      const index = ordered.findIndex((r) => r['id'] === query.after);
      if (index < 0) throw new ApiError('invalid_request', `after: no such object ${query.after}`, { status: 400 });
      ordered = ordered.slice(index + 1);
    }
    const limit = query.limit ?? 20;
    const data = ordered.slice(0, limit);
    const items: T[] = [];
    const rejected: Page<T>['rejected'] = [];
    for (const [index, raw] of data.entries()) {
      const result = validate(raw);
      if (result.ok) items.push(result.value);
      else if (this.malformed.has(raw)) rejected.push({ index, issues: result.issues });
      else throw new Error(`fake API: a test record is invalid: ${JSON.stringify(raw)}`);
    }
    return { items, rejected, warnings: [], records: data.map((raw) => structuredClone(raw)), hasMore: ordered.length > limit, lastId: data.at(-1)?.['id'] as string | undefined, ...this.date() };
  }

  readonly client = {
    getRun: async (threadId: string, runId: string, signal?: AbortSignal): Promise<Fetched<Run>> => {
      await this.enter({ op: 'getRun', threadId, runId }, signal);
      const raw = this.findRun(runId);
      if (!raw) throw new ApiError('not_found', `get run ${runId} of ${threadId}: HTTP 404`, { status: 404 });
      const result = validateRun(raw);
      if (!result.ok) throw new Error('fake API: invalid run record');
      return { value: result.value, warnings: [], ...this.date() };
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

/**
 * Records jobs, and acknowledges each on the next timer tick (as a collector's answer arrives on a
 * later turn of the event loop), unless `autoSettle` is off and the test settles them itself.
 */
export class FakeDelivery implements DeliverySink {
  readonly jobs: ExportJob[] = [];
  readonly settledJobs = new Set<ExportJob>();
  autoSettle = true;
  /** `microtask`: acknowledged before the poller's next await resumes (a very fast sink). */
  ackOn: 'timer' | 'microtask' = 'timer';
  behind = false;
  /** Called as each job is handed over (a test may make delivery fall behind here). */
  onEnqueue: ((job: ExportJob) => void) | undefined;

  enqueue(job: ExportJob): void {
    this.jobs.push(job);
    this.onEnqueue?.(job);
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

  runIds(): string[] {
    return this.jobs.map((j) => j.runId);
  }
}

export function subjectOf(span: SpanData): string {
  const s = span.subject;
  return s.kind === 'run' ? `run:${s.runId}` : s.kind === 'step' ? `step:${s.stepId}` : `tool:${s.toolCallKey}`;
}

/** Every store mutation, in call order, for "persisted before" checks. */
export function recordingStore(inner: StateStore) {
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

export const THREAD = 'thread_1';
export const POLL = 1_000;

export interface Rig {
  api: FakeApi;
  delivery: FakeDelivery;
  store: StateStore;
  ops: string[];
  poller: Poller;
  lines: RecordedLine[];
  rejected: Array<[string, number]>;
  exported: Array<{ runs: number; steps: number; spans: number }>;
  dropped: Array<[string, string]>;
  paused: boolean[];
  fatal: ApiError[];
  state: () => Promise<StateSnapshot>;
}

const rigs: Rig[] = [];

export type RigOptions = Partial<Omit<PollerOptions, 'client' | 'store' | 'delivery' | 'hooks'>> & { api?: FakeApi; snapshot?: StateSnapshot };

/** A started poller on the fake API, with everything it reports recorded. `random` is 0.5 (no jitter) unless given. */
export async function rig(options: RigOptions = {}): Promise<Rig> {
  const { api = new FakeApi(), snapshot, ...pollerOptions } = options;
  const memory = createMemoryStateStore(snapshot);
  const { store, ops } = recordingStore(memory);
  const delivery = new FakeDelivery();
  const { logger, lines } = recordingLogger();
  const rejected: Array<[string, number]> = [];
  const exported: Array<{ runs: number; steps: number; spans: number }> = [];
  const dropped: Array<[string, string]> = [];
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
    random: () => 0.5,
    hooks: {
      onRejected: (kind, n) => rejected.push([kind, n]),
      onExported: (counts) => exported.push(counts),
      onDropped: (kind, reason) => dropped.push([kind, reason]),
      onPausedChange: (p) => paused.push(p),
      onFatal: (error) => fatal.push(error),
    },
    ...pollerOptions,
  });
  await poller.start();
  const r: Rig = { api, delivery, store, ops, poller, lines, rejected, exported, dropped, paused, fatal, state: () => memory.load() };
  rigs.push(r);
  return r;
}

/** Call in `afterEach`: stops every poller the rig started. */
export async function stopRigs(): Promise<void> {
  for (const r of rigs.splice(0)) await r.poller.stop();
}

/** Advances the fake clock, running every timer and promise callback on the way. */
export const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Runs what is due now (and the promise callbacks it starts). */
export const settleNow = () => vi.advanceTimersByTimeAsync(0);
/** Lets the fake delivery's acknowledgements (one timer tick after the hand-over) land. */
export const acked = () => vi.advanceTimersByTimeAsync(1);
