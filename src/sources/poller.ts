/**
 * The sidecar's source: polls the API for the runs of watched threads and single watched runs, and
 * hands each finished run (or, in live mode, each finished step) to the delivery pipeline.
 *
 * Polls only what can still change, at a pace that fits:
 * - an active run: its status once per poll interval; a terminal run is never polled again;
 * - a thread: discovery of new runs at the poll interval while it is active and for a grace period
 *   after, then less and less often (doubling up to `maxIdleIntervalMillis`); dropped after
 *   `idleTtlMillis` without activity. While a run is active the API accepts no other on its thread,
 *   so discovery waits for it to end;
 * - when a run ends, its steps are listed (100 per page) once and the run is exported.
 * Keys are dispatched by a due-time scheduler, so the work of a tick is what is due, not what is
 * watched. When delivery is behind, polling pauses: nothing is dropped, the API keeps the records.
 */
import { setMaxListeners } from 'node:events';
import type { AssistantsClient } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { isRunTerminal } from '../api/lifecycle.js';
import { isTracedByLibrary } from '../api/run-marks.js';
import type { Run } from '../api/schemas.js';
import type { ExportJob, JobResult } from '../delivery/pipeline.js';
import type { MappingOptions } from '../mapping/types.js';
import type { StateStore, WatchedRun, WatchedThread } from '../state/store.js';
import { silentLogger, type Logger } from '../util/log.js';
import { discoverRuns } from './discovery.js';
import { exportSpansForFinishedSteps, exportSpansForRun, RunMappingError, type RunFollowup } from './run-export.js';
import { Scheduler } from './scheduler.js';

/**
 * What the poller needs from delivery. `enqueue` resolves once the job is admitted to the bounded
 * queue (waiting for room when it is full; `signal` gives up the wait), so a poller that awaits it
 * can never overflow the queue.
 */
export interface DeliverySink {
  enqueue(job: ExportJob, signal?: AbortSignal): void | Promise<void>;
  isBehind(): boolean;
}

export interface PollerHooks {
  /** Records the API sent that could not be placed. */
  onRejected?: (kind: 'run' | 'step', count: number) => void;
  /**
   * A run (or live steps) settled: spans by kind, ms from "seen finished" to settled, and what
   * delivery made of its spans (all set aside means it was not exported).
   */
  onExported?: (counts: { runs: number; steps: number; spans: number }, latencyMillis: number, result: JobResult) => void;
  onPausedChange?: (paused: boolean) => void;
  /** An authentication failure: the sidecar cannot go on. */
  onFatal?: (error: ApiError) => void;
}

export interface PollerOptions {
  client: AssistantsClient;
  store: StateStore;
  delivery: DeliverySink;
  mapping: MappingOptions;
  /** Export each finished step as soon as it is seen, instead of the whole run at its end. */
  live: boolean;
  /** Active runs are read this often; discovery starts at this pace. */
  pollIntervalMillis: number;
  /** Discovery on an idle thread slows down to this. @default 60000 */
  maxIdleIntervalMillis?: number;
  /**
   * Discovery keeps the poll interval this long after a thread's last activity (a conversation's
   * next turn usually comes within it), and only then slows down. @default 60000
   */
  idleGraceMillis?: number;
  /** A thread without new or active runs for this long is no longer watched. @default 86400000 */
  idleTtlMillis?: number;
  /** Trace every run of a thread, not only those created since it was first watched. @default false */
  backfill?: boolean;
  /**
   * Also export runs the library instrumentation marked as its own (`metadata.assistants_otel` =
   * `library`). Off by default: the library traces them, with finer times, and a second version of
   * the same spans would conflict in the backend. A run registered by id is exported either way.
   * @default false
   */
  includeLibraryRuns?: boolean;
  logger?: Logger;
  hooks?: PollerHooks;
  now?: () => number;
}

/** Runs newer than registration minus this many seconds are traced even if already finished (clock skew). */
export const REGISTRATION_GRACE_SECONDS = 60;
const PRUNE_EVERY_MILLIS = 10 * 60_000;
const DONE_RETENTION_MILLIS = 24 * 3600_000;

type Key = `thread:${string}` | `run:${string}` | 'prune';

interface ThreadState {
  watched: WatchedThread;
  /** Current discovery interval; doubles once idle past the grace period. */
  intervalMillis: number;
  /** Consecutive failed discoveries, for error backoff. */
  failures: number;
}

interface RunState {
  watched: WatchedRun;
  /** Handed to delivery and not yet acknowledged: not polled meanwhile. */
  exporting: boolean;
  /** Live mode: steps handed to delivery and not yet acknowledged. */
  pendingStepIds: Set<string>;
  /** Live mode: steps acknowledged (the same ids as `watched.exportedStepIds`, for lookups). */
  exportedStepIds: Set<string>;
  /** When the run was first seen finished, for the export latency. */
  finishedSeenAt?: number;
  /** Consecutive failed polls, for error backoff. */
  failures: number;
}

export class Poller {
  private readonly threads = new Map<string, ThreadState>();
  private readonly runs = new Map<string, RunState>();
  /** Runs followed per thread, kept with `runs` so a thread poll need not scan every run. */
  private readonly runsPerThread = new Map<string, number>();
  private readonly done = new Map<string, number>();
  private readonly scheduler: Scheduler<Key>;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stopController = new AbortController();

  constructor(private readonly options: PollerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    // Every request waiting for the budget listens to this signal: many listeners are expected.
    setMaxListeners(0, this.stopController.signal);
    this.scheduler = new Scheduler<Key>({
      process: (key) => this.process(key),
      shouldPause: () => options.delivery.isBehind(),
      onPausedChange: (paused) => {
        this.logger[paused ? 'warn' : 'info'](paused ? 'delivery is behind: polling paused' : 'delivery caught up: polling resumed');
        options.hooks?.onPausedChange?.(paused);
      },
      now: this.now,
    });
  }

  /** What is watched now (`GET /v1/watch`). */
  watched(): { threads: WatchedThread[]; runs: WatchedRun[] } {
    return { threads: [...this.threads.values()].map((t) => t.watched), runs: [...this.runs.values()].map((r) => r.watched) };
  }

  stats(): { threads: number; runs: number; paused: boolean; due: number } {
    return { threads: this.threads.size, runs: this.runs.size, paused: this.scheduler.isPaused(), due: this.scheduler.size };
  }

  /** Loads the persisted watch set and starts polling it. */
  async start(): Promise<void> {
    const snapshot = await this.options.store.load();
    for (const thread of snapshot.threads) this.addThread(thread);
    for (const run of snapshot.runs) this.addRun(run, 0);
    for (const [runId, at] of Object.entries(snapshot.done)) this.done.set(runId, at);
    this.scheduler.schedule('prune', this.now() + PRUNE_EVERY_MILLIS);
    this.logger.info('watching', { threads: this.threads.size, runs: this.runs.size, from: 'state' });
  }

  /** Starts watching a thread (idempotent). Resolves once the registration is durable. */
  async watchThread(threadId: string): Promise<'added' | 'already'> {
    if (this.threads.has(threadId)) return 'already';
    const since = this.options.backfill ? 0 : Math.floor(this.now() / 1000) - REGISTRATION_GRACE_SECONDS;
    const watched: WatchedThread = { threadId, since, lastActivityAt: this.now() };
    await this.options.store.putThread(watched);
    if (this.threads.has(threadId)) return 'already'; // registered twice at once
    this.addThread(watched);
    return 'added';
  }

  async unwatchThread(threadId: string): Promise<boolean> {
    if (!this.threads.has(threadId)) return false;
    this.threads.delete(threadId);
    this.scheduler.cancel(`thread:${threadId}`);
    await this.options.store.removeThread(threadId);
    return true;
  }

  /** Starts following one run (idempotent; a new traceparent replaces the old). */
  async watchRun(threadId: string, runId: string, traceparent?: string): Promise<'added' | 'updated' | 'already' | 'exported'> {
    if (this.done.has(runId)) return 'exported';
    const existing = this.runs.get(runId);
    if (existing && (traceparent === undefined || existing.watched.traceparent === traceparent)) return 'already';
    const kept = traceparent ?? existing?.watched.traceparent;
    const watched: WatchedRun = { threadId, runId, exportedStepIds: existing?.watched.exportedStepIds ?? [], ...(kept ? { traceparent: kept } : {}) };
    await this.options.store.putRun(watched);
    const current = this.runs.get(runId);
    if (current) {
      current.watched = { ...current.watched, ...(kept ? { traceparent: kept } : {}) };
      return existing ? 'updated' : 'already';
    }
    // Registered as it is created: its first read a poll interval from now can only be fresher.
    this.addRun(watched, this.options.pollIntervalMillis);
    return 'added';
  }

  async unwatchRun(runId: string): Promise<boolean> {
    if (!this.runs.has(runId)) return false;
    this.deleteRun(runId);
    this.scheduler.cancel(`run:${runId}`);
    await this.options.store.removeRun(runId);
    return true;
  }

  /** Stops polling and waits for the work in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.scheduler.stop();
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  private addThread(watched: WatchedThread): void {
    this.threads.set(watched.threadId, { watched, intervalMillis: this.options.pollIntervalMillis, failures: 0 });
    this.scheduler.schedule(`thread:${watched.threadId}`);
  }

  /**
   * Follows a run; its first read is due after `firstReadInMillis`, or, when that is not given, the
   * caller handles the run now and schedules what comes next itself (one path at a time per run).
   */
  private addRun(watched: WatchedRun, firstReadInMillis?: number): RunState {
    const state: RunState = { watched, exporting: false, pendingStepIds: new Set(), exportedStepIds: new Set(watched.exportedStepIds), failures: 0 };
    this.runs.set(watched.runId, state);
    this.runsPerThread.set(watched.threadId, (this.runsPerThread.get(watched.threadId) ?? 0) + 1);
    if (firstReadInMillis !== undefined) this.scheduler.schedule(`run:${watched.runId}`, this.now() + firstReadInMillis);
    return state;
  }

  private deleteRun(runId: string): void {
    const state = this.runs.get(runId);
    if (!state) return;
    this.runs.delete(runId);
    const left = (this.runsPerThread.get(state.watched.threadId) ?? 1) - 1;
    if (left > 0) this.runsPerThread.set(state.watched.threadId, left);
    else this.runsPerThread.delete(state.watched.threadId);
  }

  private async prune(): Promise<void> {
    const before = this.now() - DONE_RETENTION_MILLIS;
    for (const [runId, at] of this.done) if (at < before) this.done.delete(runId);
    await this.options.store.pruneDone(before).catch((error: Error) => this.logger.warn('could not prune the state', { error: error.message }));
    this.scheduler.schedule('prune', this.now() + PRUNE_EVERY_MILLIS);
  }

  /** Never rejects: every failure is logged, counted and rescheduled (or fatal, via the hook). */
  private async process(key: Key): Promise<void> {
    if (key === 'prune') return this.prune();
    const [kind, id] = key.startsWith('thread:') ? (['thread', key.slice(7)] as const) : (['run', key.slice(4)] as const);
    try {
      if (kind === 'thread') await this.pollThread(id);
      else await this.pollRun(id);
    } catch (error) {
      this.handleFailure(kind, id, error);
    }
  }

  private handleFailure(kind: 'thread' | 'run', id: string, error: unknown): void {
    if (this.stopController.signal.aborted) return;
    const threadId = kind === 'thread' ? id : this.runs.get(id)?.watched.threadId;
    const where = { [`${kind}_id`]: id, ...(kind === 'run' && threadId ? { thread_id: threadId } : {}) };
    const forget = () => void (kind === 'thread' ? this.unwatchThread(id) : this.unwatchRun(id)).catch(() => {});
    if (error instanceof RunMappingError && kind === 'run') {
      // Mapping the same records again would fail again: once reported and counted, the run is dropped.
      this.logger.error('run cannot be mapped: reported once and no longer watched', { ...where, error: error.reason });
      this.options.hooks?.onRejected?.('run', 1);
      forget();
      return;
    }
    if (error instanceof ApiError) {
      if (error.kind === 'aborted') return;
      if (error.kind === 'auth') {
        this.logger.error(error.message);
        this.options.hooks?.onFatal?.(error);
        return;
      }
      if (error.kind === 'not_found') {
        this.logger.warn(`${kind} is gone; no longer watched`, where);
        forget();
        return;
      }
      if (error.kind === 'invalid_payload' && kind === 'run') {
        // A run record that cannot be placed will not get better by polling it every second.
        this.logger.error('malformed run record: reported and no longer watched', { ...where, issues: error.details.issues ?? [], error: error.message });
        this.options.hooks?.onRejected?.('run', 1);
        forget();
        return;
      }
    }
    const state = kind === 'run' ? this.runs.get(id) : this.threads.get(id);
    const failures = state ? ++state.failures : 1;
    const delay = Math.min(this.options.maxIdleIntervalMillis ?? 60_000, this.options.pollIntervalMillis * 2 ** Math.min(failures, 6));
    this.logger.warn(`${kind} poll failed; will try again`, { ...where, error: (error as Error).message, retry_in_ms: delay });
    if (kind === 'thread' ? this.threads.has(id) : this.runs.has(id)) this.scheduler.schedule(`${kind}:${id}`, this.now() + delay);
  }

  // ---- threads ----------------------------------------------------------------------------------

  private async pollThread(threadId: string): Promise<void> {
    const state = this.threads.get(threadId);
    if (!state) return;
    const found = await discoverRuns(this.options.client, state.watched, this.stopController.signal);
    // Unwatched while the request was out: leave it so (do not write it back to the store).
    if (this.threads.get(threadId) !== state) return;
    if (found.rejected > 0) this.options.hooks?.onRejected?.('run', found.rejected);
    for (const issue of found.issues) this.logger.error('malformed run in a list page: skipped', { thread_id: threadId, ...issue });

    let newRuns = 0;
    for (const run of found.runs) {
      if (this.done.has(run.id) || this.runs.has(run.id)) continue;
      // History before we watched is skipped; a run of unknown creation time is not known to be history.
      if (isRunTerminal(run) && run.created_at !== undefined && run.created_at < state.watched.since) continue;
      if (!this.options.includeLibraryRuns && isTracedByLibrary(run)) {
        this.logger.debug('run traced by the library instrumentation: left to it', { thread_id: threadId, run_id: run.id });
        continue;
      }
      newRuns++;
      const watched: WatchedRun = { threadId, runId: run.id, exportedStepIds: [] };
      // Persist the run before the cursor moves past it, so a crash in between cannot lose it.
      await this.options.store.putRun(watched);
      // The list page just gave its status: handle it now (this also schedules its next read).
      const runState = this.addRun(watched);
      try {
        await this.afterRunRead(runState, run);
      } catch (error) {
        this.handleFailure('run', run.id, error);
      }
    }
    if (this.threads.get(threadId) !== state) return;

    const now = this.now();
    const active = this.runsPerThread.get(threadId) ?? 0;
    const cursorMoved = found.cursor !== undefined && found.cursor !== state.watched.cursor;
    if (newRuns > 0 || active > 0) {
      state.watched = { ...state.watched, lastActivityAt: now };
      state.intervalMillis = this.options.pollIntervalMillis;
    } else if (now - state.watched.lastActivityAt >= (this.options.idleGraceMillis ?? 60_000)) {
      state.intervalMillis = Math.min(this.options.maxIdleIntervalMillis ?? 60_000, state.intervalMillis * 2);
    }
    if (cursorMoved) state.watched = { ...state.watched, cursor: found.cursor as string };
    if (cursorMoved || newRuns > 0) await this.options.store.putThread(state.watched);
    state.failures = 0;
    this.logger.debug('discovery', { thread_id: threadId, new_runs: newRuns, active_runs: active, next_in_ms: state.intervalMillis });

    if (active === 0 && now - state.watched.lastActivityAt > (this.options.idleTtlMillis ?? 86_400_000)) {
      this.logger.info('thread idle past its TTL: no longer watched', { thread_id: threadId });
      await this.unwatchThread(threadId);
      return;
    }
    // Counted again: a run may have ended (and asked for a look at once) while the state was written.
    // With a run active, look again when it ends (its export reschedules this), or at the latest after the max idle interval.
    const activeNow = this.runsPerThread.get(threadId) ?? 0;
    const interval = activeNow > 0 ? (this.options.maxIdleIntervalMillis ?? 60_000) : state.intervalMillis;
    this.scheduler.schedule(`thread:${threadId}`, this.now() + interval);
  }

  /** A thread's run ended: it had activity, and a new run may start on it now. */
  private threadRunEnded(threadId: string): void {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    thread.watched = { ...thread.watched, lastActivityAt: this.now() };
    thread.intervalMillis = this.options.pollIntervalMillis;
    this.scheduler.schedule(`thread:${threadId}`);
  }

  // ---- runs -------------------------------------------------------------------------------------

  private async pollRun(runId: string): Promise<void> {
    const state = this.runs.get(runId);
    if (!state || state.exporting) return;
    const { value: run, warnings } = await this.options.client.getRun(state.watched.threadId, runId, this.stopController.signal);
    if (warnings.length > 0) this.logger.warn('run record has malformed fields (dropped)', { run_id: runId, issues: warnings });
    state.failures = 0;
    this.logger.debug('run status', { run_id: runId, status: run.status });
    await this.afterRunRead(state, run);
  }

  /** After reading a run's status: export it if finished, else (live mode) its finished steps, and reschedule. */
  private async afterRunRead(state: RunState, run: Run): Promise<void> {
    const runId = state.watched.runId;
    if (!isRunTerminal(run)) {
      if (this.options.live) await this.exportFinishedSteps(state, run);
      if (this.runs.get(runId) === state) this.scheduler.schedule(`run:${runId}`, this.now() + this.options.pollIntervalMillis);
      return;
    }
    state.finishedSeenAt ??= this.now();
    // From here the run is being exported: no other read of it may start another export.
    state.exporting = true;
    let followup: RunFollowup;
    try {
      followup = await exportSpansForRun(this.options.client, run, state.watched, (id) => this.stepAlreadySent(state, id), this.options.mapping, this.stopController.signal);
    } catch (error) {
      state.exporting = false;
      throw error;
    }
    if (this.runs.get(runId) !== state) return; // unwatched meanwhile
    this.reportFollowup(runId, followup);
    await this.options.delivery.enqueue({
      runId,
      spans: followup.spans,
      onSettled: async (result) => {
        const at = this.now();
        await this.options.store.markRunDone(runId, at);
        this.done.set(runId, at);
        this.deleteRun(runId);
        this.options.hooks?.onExported?.(followup.counts, at - (state.finishedSeenAt ?? at), result);
        // One line per run at info: what a person watching the log wants to see happen.
        const endedAt = followup.spans.find((span) => span.subject.kind === 'run')?.endTime[0];
        this.logger.info('run exported', {
          thread_id: state.watched.threadId,
          run_id: runId,
          status: run.status,
          spans: followup.counts.spans,
          ...(endedAt !== undefined ? { lag_ms: at - endedAt * 1000 } : {}),
        });
        this.threadRunEnded(state.watched.threadId);
      },
    }, this.stopController.signal);
  }

  private async exportFinishedSteps(state: RunState, run: Run): Promise<void> {
    const runId = state.watched.runId;
    const followup = await exportSpansForFinishedSteps(this.options.client, run, state.watched, (id) => this.stepAlreadySent(state, id), this.options.mapping, this.stopController.signal);
    this.reportFollowup(runId, followup);
    if (followup.stepIds.length === 0 || this.runs.get(runId) !== state) return;
    const seenAt = this.now();
    for (const id of followup.stepIds) state.pendingStepIds.add(id);
    await this.options.delivery.enqueue({
      runId,
      spans: followup.spans,
      onSettled: async (result) => {
        await this.options.store.markStepsExported(runId, followup.stepIds);
        state.watched = { ...state.watched, exportedStepIds: [...state.watched.exportedStepIds, ...followup.stepIds] };
        for (const id of followup.stepIds) {
          state.exportedStepIds.add(id);
          state.pendingStepIds.delete(id);
        }
        this.options.hooks?.onExported?.(followup.counts, this.now() - seenAt, result);
      },
    }, this.stopController.signal);
  }

  /** Live mode: a step acknowledged or on its way. Reads the current state, not a copy. */
  private stepAlreadySent(state: RunState, stepId: string): boolean {
    return state.pendingStepIds.has(stepId) || state.exportedStepIds.has(stepId);
  }

  private reportFollowup(runId: string, followup: RunFollowup): void {
    if (followup.rejected.length > 0) {
      this.options.hooks?.onRejected?.('step', followup.rejected.length);
      for (const r of followup.rejected) {
        this.logger.error('malformed step record: not exported', { run_id: runId, index: r.index, ...(r.id ? { step_id: r.id } : {}), issues: r.issues });
      }
    }
    for (const w of followup.warnings) this.logger.warn('step record has malformed fields (dropped)', { run_id: runId, step_id: w.id, issues: w.issues });
  }
}
