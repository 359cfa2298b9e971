/**
 * The poller's reads, as the scheduler dispatches them: a watched thread's listing (`pollThread`),
 * which gives the status of every run followed through it and finds the runs started since; a run
 * watched alone, or one its thread's listing did not reach, read with `getRun`. Each status goes to
 * the exporter (`run-exports.ts`). A failure is classified (`failures.ts`): retried with backoff,
 * dropped (unwatched), ignored, or fatal; a run's failures are its own, not its thread's.
 */
import type { Run } from '../api/schemas.js';
import type { WatchedRun } from '../state/store.js';
import { firstPageSize, listThreadRuns, sinceOnServerClock, type ThreadListing } from './discovery.js';
import { classifyFailure } from './failures.js';
import { failureBackoff } from './pace.js';
import { addRun, REGISTRATION_GRACE_SECONDS, type PollContext } from './poll-context.js';
import type { Registrations } from './registrations.js';
import { freshRejections, nextListingIn, planListing, settleThread } from './thread-round.js';
import type { RunState, ThreadState } from './watch-set.js';

export class Polling {
  private warnedNoDate = false;

  /** `registrations`: a thread or run dropped (failure, idle TTL) is unwatched through it. */
  constructor(
    private readonly ctx: PollContext,
    private readonly registrations: Registrations,
  ) {}

  // ---- threads ----------------------------------------------------------------------------------

  async pollThread(threadId: string): Promise<void> {
    const { ctx } = this;
    const thread = ctx.watch.threads.get(threadId);
    if (!thread) return;
    const followedBefore = ctx.watch.runCountOf(threadId);
    const listing = await listThreadRuns(
      ctx.options.client,
      { threadId, cursor: thread.watched.cursor, cursorCreatedAt: thread.watched.cursorCreatedAt, since: thread.watched.since, firstPageSize: firstPageSize(followedBefore) },
      ctx.signal,
    );
    // Unwatched while the request was out: leave it so (do not write it back to the store).
    if (ctx.watch.threads.get(threadId) !== thread) return;
    const firstLook = thread.watched.cursor === undefined;
    if (firstLook) await this.moveSinceToServerClock(thread, listing);
    const rejected = freshRejections(thread, listing);
    if (rejected.count > 0) ctx.options.hooks?.onRejected?.('run', rejected.count);
    for (const issue of rejected.issues) ctx.logger.error('malformed run in a list page: skipped', { thread_id: threadId, ...issue });

    let newRuns = 0;
    const plan = planListing(listing, thread, {
      isFollowed: (runId) => ctx.watch.runs.has(runId),
      isDone: (runId) => ctx.done.has(runId),
      includeLibraryRuns: ctx.options.includeLibraryRuns ?? false,
    });
    if (ctx.fleet) await ctx.fleet.skipDoneElsewhere(plan.runs);
    if (ctx.watch.threads.get(threadId) !== thread) return;
    for (const { run, action } of plan.runs) {
      if (action === 'library') {
        ctx.logger.debug('run traced by the library instrumentation: left to it', { thread_id: threadId, run_id: run.id });
        continue;
      }
      const followed = ctx.watch.runs.get(run.id);
      if (followed) {
        await this.readThrough(followed, run);
        continue;
      }
      newRuns++;
      const watched: WatchedRun = { threadId, runId: run.id, exportedStepIds: [] };
      // Persist the run before the cursor moves past it, so a crash in between cannot lose it.
      await ctx.options.store.putRun(watched);
      if (ctx.fleet && !ctx.watch.threads.has(threadId)) return; // its lease lost meanwhile: the new owner follows it
      const registered = ctx.watch.runs.get(run.id);
      if (registered) {
        // Registered meanwhile: its traceparent, which this put may have overwritten, stored again.
        if (registered.watched.traceparent !== undefined) await ctx.options.store.putRun(registered.watched);
        continue;
      }
      await this.readThrough(addRun(ctx, watched), run);
    }
    if (ctx.watch.threads.get(threadId) !== thread) return;
    for (const state of ctx.watch.runsOf(threadId)) {
      if (state.exporting) continue;
      // Followed and done (a registration raced its export): nothing left to read; it must not keep the thread active.
      if (ctx.done.has(state.watched.runId)) await this.forgetDone(state);
      // A followed run the listing did not reach (registered by id, or older than the newest few): read alone.
      else if (!plan.seen.has(state.watched.runId) && state.viaThread) await this.readAlone(state);
    }
    if (ctx.watch.threads.get(threadId) !== thread) return;
    if (firstLook && listing.runs.length === 0 && listing.serverTimeSeconds === undefined) thread.seenEmpty = true;

    const now = ctx.now();
    const active = ctx.watch.runCountOf(threadId);
    const pace = { pollMillis: ctx.options.pollIntervalMillis, graceMillis: ctx.options.idleGraceMillis ?? 60_000, maxIdleMillis: ctx.maxIdleMillis };
    if (settleThread(thread, { listing, newRuns, followed: active, now, ...pace })) await ctx.options.store.putThread(thread.watched);
    ctx.logger.debug('discovery', { thread_id: threadId, pages: listing.pages, new_runs: newRuns, followed_runs: active, next_in_ms: thread.intervalMillis });

    if (active === 0 && now - thread.watched.lastActivityAt > (ctx.options.idleTtlMillis ?? 86_400_000)) {
      ctx.logger.info('thread idle past its TTL: no longer watched', { thread_id: threadId });
      ctx.options.hooks?.onDropped?.('thread', 'idle');
      await this.registrations.unwatchThread(threadId);
      return;
    }
    if (ctx.watch.threads.get(threadId) !== thread) return;
    const next = nextListingIn(thread, ctx.watch.runCountOf(threadId), ctx.options.pollIntervalMillis, ctx.random);
    ctx.scheduler.schedule(`thread:${threadId}`, ctx.now() + next);
  }

  /** At a look without a cursor: `since` on the server's clock (persisted when it moved). */
  private async moveSinceToServerClock(thread: ThreadState, listing: ThreadListing): Promise<void> {
    const { ctx } = this;
    if (listing.serverTimeSeconds === undefined && !this.warnedNoDate) {
      this.warnedNoDate = true;
      ctx.logger.warn(
        'the API sent no Date header: a thread\'s "since" (runs created before it that already finished are history) is taken from its records, ' +
          'or, for a thread with no runs yet, from this host\'s clock (if it runs ahead of the API\'s, a run that finishes before the sidecar restarts and first sees it may be skipped)',
        { thread_id: thread.watched.threadId },
      );
    }
    if (ctx.options.backfill) return;
    const since = sinceOnServerClock(listing, thread.watched.since, REGISTRATION_GRACE_SECONDS);
    if (since === undefined || since === thread.watched.since) return;
    thread.watched = { ...thread.watched, since };
    await ctx.options.store.putThread(thread.watched);
  }

  /** A followed run's status from its thread's listing. Its failures are its own, not the thread's. */
  private async readThrough(state: RunState, run: Run): Promise<void> {
    const { ctx } = this;
    if (state.exporting || (state.retryAt !== undefined && ctx.now() < state.retryAt)) return;
    try {
      await ctx.exporter.afterStatus(state, run);
      state.failures = 0;
      delete state.retryAt;
    } catch (error) {
      this.handleFailure('run', state.watched.runId, error);
    }
  }

  /** A run its thread's listing did not show: read alone, once, this round. */
  private async readAlone(state: RunState): Promise<void> {
    const { ctx } = this;
    if (state.retryAt !== undefined && ctx.now() < state.retryAt) return;
    try {
      await this.readRun(state);
      delete state.retryAt;
    } catch (error) {
      this.handleFailure('run', state.watched.runId, error);
    }
  }

  // ---- runs watched alone ---------------------------------------------------------------------------

  async pollRun(runId: string): Promise<void> {
    const { ctx } = this;
    const state = ctx.watch.runs.get(runId);
    if (!state || state.exporting || state.viaThread) return;
    if (ctx.done.has(runId)) return this.forgetDone(state);
    const outcome = await this.readRun(state);
    if (outcome === 'active' && ctx.watch.runs.get(runId) === state && !state.viaThread) {
      ctx.scheduler.schedule(`run:${runId}`, ctx.now() + ctx.options.pollIntervalMillis);
    }
  }

  /** A run followed though already exported: dropped from the watch set and the store, not exported again. */
  private async forgetDone(state: RunState): Promise<void> {
    const { ctx } = this;
    const runId = state.watched.runId;
    ctx.watch.deleteRun(runId);
    ctx.scheduler.cancel(`run:${runId}`);
    ctx.logger.debug('run already exported: no longer followed', { thread_id: state.watched.threadId, run_id: runId });
    await ctx.options.store.removeRun(runId);
  }

  private async readRun(state: RunState): Promise<'active' | 'finished'> {
    const { ctx } = this;
    const runId = state.watched.runId;
    const { value: run, warnings } = await ctx.options.client.getRun(state.watched.threadId, runId, ctx.signal);
    if (warnings.length > 0) ctx.logger.warn('run record has malformed fields (dropped)', { run_id: runId, issues: warnings });
    ctx.logger.debug('run status', { run_id: runId, status: run.status });
    const outcome = await ctx.exporter.afterStatus(state, run);
    state.failures = 0;
    return outcome;
  }

  // ---- failures -----------------------------------------------------------------------------------

  /** Logged, counted and rescheduled, or dropped (unwatched), or fatal (via the hook). */
  handleFailure(kind: 'thread' | 'run', id: string, error: unknown): void {
    const { ctx } = this;
    if (ctx.signal.aborted) return;
    const run = kind === 'run' ? ctx.watch.runs.get(id) : undefined;
    const where = kind === 'thread' ? { thread_id: id } : { run_id: id, ...(run ? { thread_id: run.watched.threadId } : {}) };
    const action = classifyFailure(kind, error);
    switch (action.kind) {
      case 'ignore':
        return;
      case 'fatal':
        ctx.logger.error(action.error.message);
        ctx.options.hooks?.onFatal?.(action.error);
        return;
      case 'drop':
        ctx.logger[action.level](action.message, { ...where, ...action.fields });
        if (action.rejected) ctx.options.hooks?.onRejected?.('run', 1);
        ctx.options.hooks?.onDropped?.(kind, action.reason);
        void (kind === 'thread' ? this.registrations.unwatchThread(id) : this.registrations.unwatchRun(id)).catch(() => {});
        return;
      case 'retry':
        break;
    }
    const state = kind === 'run' ? run : ctx.watch.threads.get(id);
    if (!state) return;
    const failures = ++state.failures;
    const delay = failureBackoff(failures, ctx.options.pollIntervalMillis, ctx.maxIdleMillis, ctx.random);
    ctx.logger.warn(`${kind} poll failed; will try again`, { ...where, error: (error as Error).message, retry_in_ms: delay });
    if (kind === 'thread') ctx.scheduler.schedule(`thread:${id}`, ctx.now() + delay);
    else if (run?.viaThread) run.retryAt = ctx.now() + delay; // its thread's listing reads it; no export attempt before then
    else ctx.scheduler.schedule(`run:${id}`, ctx.now() + delay);
  }
}
