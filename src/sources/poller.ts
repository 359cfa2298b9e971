/**
 * The sidecar's source: polls the API for the runs of watched threads and single watched runs, and
 * hands each finished run (or, in live mode, each finished step) to the delivery pipeline.
 *
 * Polls only what can still change, at a pace that fits:
 * - an active run: its status once per poll interval; a terminal run is never polled again;
 * - a thread: discovery of new runs, at the poll interval after activity, then less and less often
 *   (doubling up to `maxIdleIntervalMillis`), and dropped after `idleTtlMillis` without activity;
 * - when a run ends, its steps are listed (100 per page) once and the run is exported.
 * Work is kept in a due-time queue, so a tick costs what is due, not what is watched.
 *
 * One tick at a time; a tick never rejects. When delivery is behind, ticks pause (nothing is
 * dropped: the API keeps the records).
 */
import type { AssistantsClient } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { isRunTerminal } from '../api/lifecycle.js';
import type { Run } from '../api/schemas.js';
import type { ExportJob } from '../delivery/pipeline.js';
import type { MappingOptions } from '../mapping/types.js';
import type { StateStore, WatchedRun, WatchedThread } from '../state/store.js';
import { DueQueue } from '../util/due-queue.js';
import { silentLogger, type Logger } from '../util/log.js';
import { exportSpansForFinishedSteps, exportSpansForRun, type RunFollowup } from './run-export.js';
import { discoverRuns } from './discovery.js';

/** What the poller needs from delivery. */
export interface DeliverySink {
  enqueue(job: ExportJob): void;
  isBehind(): boolean;
}

export interface PollerHooks {
  /** Records the API sent that could not be placed. */
  onRejected?: (kind: 'run' | 'step', count: number) => void;
  /** A run (or live steps) acknowledged: spans by kind, and ms from "seen finished" to acknowledged. */
  onExported?: (counts: { runs: number; steps: number; spans: number }, latencyMillis: number) => void;
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
  /** A thread without new or active runs for this long is no longer watched. @default 86400000 */
  idleTtlMillis?: number;
  /** Trace every run of a thread, not only those created since it was first watched. @default false */
  backfill?: boolean;
  logger?: Logger;
  hooks?: PollerHooks;
  now?: () => number;
}

/** Runs newer than registration minus this many seconds are traced even if already finished (clock skew). */
export const REGISTRATION_GRACE_SECONDS = 60;
/** How often `done` marks older than a day are pruned. */
const PRUNE_EVERY_MILLIS = 10 * 60_000;
const DONE_RETENTION_MILLIS = 24 * 3600_000;
/** Keys processed per tick; the rest stay due and are taken by the next tick at once. */
const MAX_KEYS_PER_TICK = 256;
/** Re-check delay while delivery is behind. */
const PAUSE_RECHECK_MILLIS = 250;

type Key = `thread:${string}` | `run:${string}`;

interface ThreadState {
  watched: WatchedThread;
  /** Current discovery interval; doubles while idle. */
  intervalMillis: number;
}

interface RunState {
  watched: WatchedRun;
  /** Handed to delivery and not yet acknowledged: not polled meanwhile. */
  exporting: boolean;
  /** Live mode: steps handed to delivery and not yet acknowledged. */
  pendingStepIds: Set<string>;
  /** When the run was first seen finished, for the export latency. */
  finishedSeenAt?: number;
  /** Consecutive failed polls, for error backoff. */
  failures: number;
}

export class Poller {
  private readonly threads = new Map<string, ThreadState>();
  private readonly runs = new Map<string, RunState>();
  private readonly done = new Map<string, number>();
  private readonly queue = new DueQueue<Key>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stopController = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private tickInFlight: Promise<void> | undefined;
  private paused = false;
  private lastPrune = 0;

  constructor(private readonly options: PollerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  get pollIntervalMillis(): number {
    return this.options.pollIntervalMillis;
  }

  stats(): { threads: number; runs: number; paused: boolean; due: number } {
    return { threads: this.threads.size, runs: this.runs.size, paused: this.paused, due: this.queue.size };
  }

  /** Loads the persisted watch set and starts polling it. */
  async start(): Promise<void> {
    const snapshot = await this.options.store.load();
    for (const thread of snapshot.threads) this.addThreadState(thread);
    for (const run of snapshot.runs) this.addRunState(run);
    for (const [runId, at] of Object.entries(snapshot.done)) this.done.set(runId, at);
    this.logger.info('watching', { threads: this.threads.size, runs: this.runs.size });
    this.arm();
  }

  /** Starts watching a thread (idempotent). Resolves once the registration is durable. */
  async watchThread(threadId: string): Promise<'added' | 'already'> {
    if (this.threads.has(threadId)) return 'already';
    const since = this.options.backfill ? 0 : Math.floor(this.now() / 1000) - REGISTRATION_GRACE_SECONDS;
    const watched: WatchedThread = { threadId, since, lastActivityAt: this.now() };
    await this.options.store.putThread(watched);
    this.addThreadState(watched);
    this.arm();
    return 'added';
  }

  async unwatchThread(threadId: string): Promise<boolean> {
    if (!this.threads.has(threadId)) return false;
    await this.options.store.removeThread(threadId);
    this.threads.delete(threadId);
    this.queue.cancel(`thread:${threadId}`);
    return true;
  }

  /** Starts following one run (idempotent; a new traceparent replaces the old). */
  async watchRun(threadId: string, runId: string, traceparent?: string): Promise<'added' | 'updated' | 'already' | 'exported'> {
    if (this.done.has(runId)) return 'exported';
    const existing = this.runs.get(runId);
    if (existing && (traceparent === undefined || existing.watched.traceparent === traceparent)) return 'already';
    const watched: WatchedRun = {
      threadId,
      runId,
      exportedStepIds: existing?.watched.exportedStepIds ?? [],
      ...(traceparent ? { traceparent } : existing?.watched.traceparent ? { traceparent: existing.watched.traceparent } : {}),
    };
    await this.options.store.putRun(watched);
    if (existing) {
      existing.watched = watched;
      return 'updated';
    }
    this.addRunState(watched);
    this.arm();
    return 'added';
  }

  async unwatchRun(runId: string): Promise<boolean> {
    const state = this.runs.get(runId);
    if (!state) return false;
    await this.options.store.removeRun(runId);
    this.runs.delete(runId);
    this.queue.cancel(`run:${runId}`);
    return true;
  }

  /** Stops polling and waits for the tick in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopController.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.tickInFlight;
  }

  // ---- scheduling -------------------------------------------------------------------------------

  private addThreadState(watched: WatchedThread): void {
    this.threads.set(watched.threadId, { watched, intervalMillis: this.options.pollIntervalMillis });
    this.queue.schedule(`thread:${watched.threadId}`, this.now());
  }

  private addRunState(watched: WatchedRun): void {
    this.runs.set(watched.runId, { watched, exporting: false, pendingStepIds: new Set(), failures: 0 });
    this.queue.schedule(`run:${watched.runId}`, this.now());
  }

  /** Sets the timer for the next due key (or the pause re-check). */
  private arm(delayOverride?: number): void {
    if (this.stopController.signal.aborted || this.tickInFlight) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.queue.nextDueAt();
    if (next === undefined && delayOverride === undefined) return;
    const delay = delayOverride ?? Math.max(0, (next as number) - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tickInFlight = this.tick().finally(() => {
        this.tickInFlight = undefined;
        this.arm(this.paused ? PAUSE_RECHECK_MILLIS : undefined);
      });
    }, delay);
    this.timer.unref();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.logger[paused ? 'warn' : 'info'](paused ? 'delivery is behind: polling paused' : 'delivery caught up: polling resumed');
    this.options.hooks?.onPausedChange?.(paused);
  }

  private async tick(): Promise<void> {
    if (this.options.delivery.isBehind()) {
      this.setPaused(true);
      return;
    }
    this.setPaused(false);
    const due = this.queue.popDue(this.now(), MAX_KEYS_PER_TICK);
    await Promise.all(due.map((key) => this.process(key)));
    if (this.now() - this.lastPrune > PRUNE_EVERY_MILLIS) await this.prune();
  }

  private async prune(): Promise<void> {
    this.lastPrune = this.now();
    const before = this.now() - DONE_RETENTION_MILLIS;
    for (const [runId, at] of this.done) if (at < before) this.done.delete(runId);
    await this.options.store.pruneDone(before).catch((error: Error) => this.logger.warn('could not prune the state', { error: error.message }));
  }

  /** Never rejects: every failure is logged, counted and rescheduled (or fatal, via the hook). */
  private async process(key: Key): Promise<void> {
    const [kind, id] = key.startsWith('thread:') ? ['thread', key.slice(7)] : ['run', key.slice(4)];
    try {
      if (kind === 'thread') await this.pollThread(id);
      else await this.pollRun(id);
    } catch (error) {
      this.handleFailure(kind as 'thread' | 'run', id, error);
    }
  }

  private handleFailure(kind: 'thread' | 'run', id: string, error: unknown): void {
    if (this.stopController.signal.aborted) return;
    const key: Key = kind === 'thread' ? `thread:${id}` : `run:${id}`;
    const threadId = kind === 'thread' ? id : this.runs.get(id)?.watched.threadId;
    if (error instanceof ApiError) {
      switch (error.kind) {
        case 'auth':
          this.logger.error(error.message);
          this.options.hooks?.onFatal?.(error);
          return;
        case 'not_found':
          this.logger.warn(`${kind} is gone; no longer watched`, { [`${kind}_id`]: id, ...(threadId ? { thread_id: threadId } : {}) });
          void (kind === 'thread' ? this.unwatchThread(id) : this.unwatchRun(id)).catch(() => {});
          return;
        case 'invalid_payload':
          if (kind === 'run') {
            // A run record that cannot be placed will not get better by polling it every second.
            this.logger.error('malformed run record: reported and no longer watched', { run_id: id, ...(threadId ? { thread_id: threadId } : {}), issues: error.details.issues ?? [], error: error.message });
            this.options.hooks?.onRejected?.('run', 1);
            void this.unwatchRun(id).catch(() => {});
            return;
          }
          break;
        case 'aborted':
          return;
        default:
          break;
      }
    }
    const failures = kind === 'run' ? ++(this.runs.get(id) ?? { failures: 0 }).failures : 1;
    const delay = Math.min(this.options.maxIdleIntervalMillis ?? 60_000, this.options.pollIntervalMillis * 2 ** Math.min(failures, 6));
    this.logger.warn(`${kind} poll failed; will try again`, { [`${kind}_id`]: id, error: (error as Error).message, retry_in_ms: delay });
    if (kind === 'thread' ? this.threads.has(id) : this.runs.has(id)) this.queue.schedule(key, this.now() + delay);
  }

  // ---- threads ----------------------------------------------------------------------------------

  private activeRunsOf(threadId: string): number {
    let n = 0;
    for (const run of this.runs.values()) if (run.watched.threadId === threadId) n++;
    return n;
  }

  private async pollThread(threadId: string): Promise<void> {
    const state = this.threads.get(threadId);
    if (!state) return;
    const signal = this.stopController.signal;
    const found = await discoverRuns(this.options.client, state.watched, signal);
    if (found.rejected > 0) this.options.hooks?.onRejected?.('run', found.rejected);
    for (const issue of found.issues) this.logger.error('malformed run in a list page: skipped', { thread_id: threadId, ...issue });

    let newRuns = 0;
    for (const run of found.runs) {
      if (this.done.has(run.id) || this.runs.has(run.id)) continue;
      if (isRunTerminal(run) && run.created_at < state.watched.since) continue; // history before we watched
      newRuns++;
      const watched: WatchedRun = { threadId, runId: run.id, exportedStepIds: [] };
      // Persist the run before the cursor moves past it, so a crash in between cannot lose it.
      await this.options.store.putRun(watched);
      this.runs.set(run.id, { watched, exporting: false, pendingStepIds: new Set(), failures: 0 });
      await this.afterRunRead(this.runs.get(run.id) as RunState, run);
    }
    const now = this.now();
    const active = this.activeRunsOf(threadId);
    const cursorMoved = found.cursor !== undefined && found.cursor !== state.watched.cursor;
    if (newRuns > 0 || active > 0) {
      state.watched = { ...state.watched, lastActivityAt: now };
      state.intervalMillis = this.options.pollIntervalMillis;
    } else {
      state.intervalMillis = Math.min(this.options.maxIdleIntervalMillis ?? 60_000, state.intervalMillis * 2);
    }
    if (cursorMoved) state.watched = { ...state.watched, cursor: found.cursor as string };
    if (cursorMoved || newRuns > 0) await this.options.store.putThread(state.watched);

    if (active === 0 && now - state.watched.lastActivityAt > (this.options.idleTtlMillis ?? 86_400_000)) {
      this.logger.info('thread idle past its TTL: no longer watched', { thread_id: threadId });
      await this.unwatchThread(threadId);
      return;
    }
    // With a run active the API accepts no new run on this thread; look again when it ends.
    const interval = active > 0 ? (this.options.maxIdleIntervalMillis ?? 60_000) : state.intervalMillis;
    this.queue.schedule(`thread:${threadId}`, now + interval);
  }

  // ---- runs -------------------------------------------------------------------------------------

  private async pollRun(runId: string): Promise<void> {
    const state = this.runs.get(runId);
    if (!state || state.exporting) return;
    const { value: run, warnings } = await this.options.client.getRun(state.watched.threadId, runId, this.stopController.signal);
    if (warnings.length > 0) this.logger.warn('run record has malformed fields (dropped)', { run_id: runId, issues: warnings });
    state.failures = 0;
    await this.afterRunRead(state, run);
  }

  /** After reading a run's status: export it if finished, else (live mode) its finished steps, and reschedule. */
  private async afterRunRead(state: RunState, run: Run): Promise<void> {
    const runId = state.watched.runId;
    const signal = this.stopController.signal;
    if (isRunTerminal(run)) {
      state.finishedSeenAt ??= this.now();
      const followup = await exportSpansForRun(this.options.client, run, state.watched, state.pendingStepIds, this.options.mapping, signal);
      this.reportFollowup(runId, followup);
      state.exporting = true;
      this.options.delivery.enqueue({
        runId,
        spans: followup.spans,
        onSettled: async () => {
          const at = this.now();
          await this.options.store.markRunDone(runId, at);
          this.done.set(runId, at);
          this.runs.delete(runId);
          this.options.hooks?.onExported?.(followup.counts, at - (state.finishedSeenAt ?? at));
          // A new run may start on this thread now that this one ended.
          const thread = this.threads.get(state.watched.threadId);
          if (thread) {
            thread.intervalMillis = this.options.pollIntervalMillis;
            this.queue.schedule(`thread:${state.watched.threadId}`, this.now());
            this.arm();
          }
        },
      });
      return;
    }
    if (this.options.live) await this.exportFinishedSteps(state, run);
    this.queue.schedule(`run:${runId}`, this.now() + this.options.pollIntervalMillis);
  }

  private async exportFinishedSteps(state: RunState, run: Run): Promise<void> {
    const runId = state.watched.runId;
    const followup = await exportSpansForFinishedSteps(this.options.client, run, state.watched, state.pendingStepIds, this.options.mapping, this.stopController.signal);
    this.reportFollowup(runId, followup);
    if (followup.stepIds.length === 0) return;
    const seenAt = this.now();
    for (const id of followup.stepIds) state.pendingStepIds.add(id);
    this.options.delivery.enqueue({
      runId,
      spans: followup.spans,
      onSettled: async () => {
        await this.options.store.markStepsExported(runId, followup.stepIds);
        const current = this.runs.get(runId);
        if (current) {
          current.watched = { ...current.watched, exportedStepIds: [...current.watched.exportedStepIds, ...followup.stepIds] };
          for (const id of followup.stepIds) current.pendingStepIds.delete(id);
        }
        this.options.hooks?.onExported?.(followup.counts, this.now() - seenAt);
      },
    });
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

