/**
 * The sidecar's source: polls the API for the runs of watched threads and for single watched runs,
 * and hands each finished run (or, in live mode, each finished step) to the delivery pipeline.
 *
 * One request per active thread per interval: a watched thread is read with one listing, newest
 * first (`discovery.ts`), which gives both the status of the run being followed and any run started
 * since; `getRun` is only for runs watched alone (registered without their thread). A terminal run
 * is never read again: its steps are listed (100 per page) once and it is exported.
 *
 * Pace (`pace.ts`): an active thread or run at the poll interval; a thread without a run at the
 * poll interval through a grace period after its last activity, then slower and slower (doubling,
 * jittered) up to `maxIdleIntervalMillis`; dropped after `idleTtlMillis`. Failures back off (doubling,
 * jittered). Keys are dispatched earliest due first, one at a time per key, only while the request
 * budget has a free slot (`scheduler.ts`): when the budget cannot serve everything in its interval,
 * every key is late by about the same time, the lag is measured, and a warning names the effective
 * interval. When delivery is behind, polling pauses: nothing is dropped, the API keeps the records.
 *
 * In a fleet (`leases`: a PostgreSQL store), the poller follows only the thread ids it holds a lease
 * on (`fleet-membership.ts`): registrations go to the shared set, and the lease rounds decide who
 * follows what; a run another member exported is skipped (`doneAmong`).
 */
import { setMaxListeners } from 'node:events';
import type { Run } from '../api/schemas.js';
import type { LeasingStateStore } from '../state/leasing.js';
import type { WatchedRun, WatchedThread } from '../state/store.js';
import { silentLogger, type Logger } from '../util/log.js';
import { FleetMembership } from './fleet-membership.js';
import { firstPageSize, listThreadRuns, sinceOnServerClock, type ThreadListing } from './discovery.js';
import { failureBackoff, PollLag } from './pace.js';
import { classifyFailure } from './failures.js';
import { LagWarning, lagCheckMillis } from './lag-warning.js';
import type { PollerOptions, PollerStats } from './poller-options.js';
import { RunExporter } from './run-exports.js';
import { Scheduler } from './scheduler.js';
import { freshRejections, nextListingIn, planListing, settleThread } from './thread-round.js';
import { WatchSet, type RunState, type ThreadState } from './watch-set.js';

export type { DeliverySink } from './run-exports.js';
export type { PollerHooks, PollerOptions, PollerStats } from './poller-options.js';

export { NotOwnerError } from './fleet-membership.js';

/** Runs newer than registration minus this many seconds (server clock) are traced even if already finished. */
export const REGISTRATION_GRACE_SECONDS = 60;
const PRUNE_EVERY_MILLIS = 10 * 60_000;
const DONE_RETENTION_MILLIS = 24 * 3600_000;

type Key = `thread:${string}` | `run:${string}`;

export class Poller {
  private readonly watch = new WatchSet();
  private readonly done = new Map<string, number>();
  private readonly scheduler: Scheduler<Key>;
  private readonly exporter: RunExporter;
  private readonly lag: PollLag;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly stopController = new AbortController();
  private readonly maxIdleMillis: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private warnedNoDate = false;
  /** Set in a fleet: the store, as a leasing one. */
  private readonly leases: LeasingStateStore | undefined;
  private readonly fleet: FleetMembership | undefined;

  constructor(private readonly options: PollerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxIdleMillis = options.maxIdleIntervalMillis ?? 60_000;
    // Every request waiting for the budget listens to this signal: many listeners are expected.
    setMaxListeners(0, this.stopController.signal);
    this.lag = new PollLag(options.pollIntervalMillis, this.now);
    const budget = options.budget ?? options.client.budget;
    this.scheduler = new Scheduler<Key>({
      process: (key) => this.process(key),
      shouldPause: () => options.delivery.isBehind(),
      onPausedChange: (paused) => {
        this.logger[paused ? 'warn' : 'info'](paused ? 'delivery is behind: polling paused' : 'delivery caught up: polling resumed');
        options.hooks?.onPausedChange?.(paused);
      },
      ...(budget ? { capacity: { spare: () => budget.spare(), onSpare: (listener: () => void) => budget.onSpare(listener) } } : {}),
      onDispatch: (_key, late) => this.lag.record(late),
      now: this.now,
    });
    this.exporter = new RunExporter({
      client: options.client,
      store: options.store,
      delivery: options.delivery,
      mapping: options.mapping,
      live: options.live,
      watch: this.watch,
      done: this.done,
      logger: this.logger,
      hooks: options.hooks ?? {},
      now: this.now,
      signal: this.stopController.signal,
    });
    this.leases = options.leases;
    if (this.leases) {
      this.fleet = new FleetMembership({
        store: this.leases,
        adopt: (loaded) => this.adopt(loaded),
        release: (keys) => this.release(keys),
        logger: this.logger,
        signal: this.stopController.signal,
        done: this.done,
        now: this.now,
      });
    }
  }

  stats(): PollerStats {
    return {
      threads: this.watch.threads.size,
      runs: this.watch.runs.size,
      // Paused: the scheduler starts nothing, and work in progress waits for room before its next run.
      paused: this.scheduler.isPaused() || this.options.delivery.isBehind(),
      due: this.scheduler.size,
      dueNow: this.scheduler.dueCount(),
      overdueMillis: this.scheduler.overdueMillis(),
      effectiveIntervalMillis: this.lag.effectiveIntervalMillis(),
    };
  }

  /** What is watched now. */
  watched(): { threads: WatchedThread[]; runs: WatchedRun[] } {
    return { threads: [...this.watch.threads.values()].map((t) => t.watched), runs: [...this.watch.runs.values()].map((r) => r.watched) };
  }

  /** In a fleet, this member's id. */
  get memberId(): string | undefined {
    return this.leases?.memberId;
  }

  /** In a fleet: the whole shared set, each item with its owner (null: nobody holds it now). Else what is watched here. */
  async listing(): Promise<{ threads: Array<WatchedThread & { owner?: string | null }>; runs: Array<WatchedRun & { owner?: string | null }> }> {
    return this.fleet ? this.fleet.listing() : this.watched();
  }

  /**
   * Loads the persisted watch set and starts polling it. In a fleet: keeps the shared done marks,
   * joins, and follows what the leases it claims hold (loaded as they are gained).
   */
  async start(): Promise<void> {
    const snapshot = await this.options.store.load();
    for (const [runId, at] of Object.entries(snapshot.done)) this.done.set(runId, at);
    if (this.fleet) {
      await this.fleet.join();
    } else {
      for (const thread of snapshot.threads) this.addThread(thread);
      for (const run of snapshot.runs) if (!this.done.has(run.runId)) this.addRun(run, 0);
    }
    this.every(PRUNE_EVERY_MILLIS, () => this.prune());
    const lagWarning = new LagWarning({ logger: this.logger, lag: this.lag, pollIntervalMillis: this.options.pollIntervalMillis, budget: this.options.budget ?? this.options.client.budget, now: this.now });
    this.every(lagCheckMillis(this.options.pollIntervalMillis), () => {
      if (!this.stopController.signal.aborted) lagWarning.check(this.stats());
    });
    if (this.leases) {
      const stats = this.leases.leaseStats();
      // The fleet's whole set; this member follows the part under its leases (`leases`).
      this.logger.info('watching', { threads: snapshot.threads.length, runs: snapshot.runs.length, from: 'shared state', member_id: this.leases.memberId, leases: stats.held, members: stats.members });
    } else {
      this.logger.info('watching', { threads: this.watch.threads.size, runs: this.watch.runs.size, from: 'state' });
    }
  }

  /** Starts watching a thread (idempotent). Resolves once the registration is durable. */
  async watchThread(threadId: string): Promise<'added' | 'already'> {
    if (this.watch.threads.has(threadId)) return 'already';
    // On this host's clock for now; the first listing moves it to the server's (`sinceOnServerClock`).
    const since = this.options.backfill ? 0 : Math.floor(this.now() / 1000) - REGISTRATION_GRACE_SECONDS;
    const watched: WatchedThread = { threadId, since, lastActivityAt: this.now() };
    // The shared set; whichever member claims its lease follows it.
    if (this.fleet) return this.fleet.registerThread(watched);
    await this.options.store.putThread(watched);
    if (this.watch.threads.has(threadId)) return 'already'; // registered twice at once
    this.addThread(watched);
    return 'added';
  }

  async unwatchThread(threadId: string): Promise<boolean> {
    if (!this.watch.threads.has(threadId)) return this.fleet ? this.fleet.notOwned((l) => l.threads.find((t) => t.threadId === threadId), `thread ${threadId}`) : false;
    this.forgetThread(threadId);
    await this.options.store.removeThread(threadId);
    return true;
  }

  /** Starts following one run (idempotent; a new traceparent replaces the old). */
  async watchRun(threadId: string, runId: string, traceparent?: string): Promise<'added' | 'updated' | 'already' | 'exported'> {
    if (this.done.has(runId)) return 'exported';
    if (this.fleet) {
      const current = this.watch.runs.get(runId);
      const changes = traceparent !== undefined && current !== undefined && current.watched.traceparent !== traceparent;
      if (changes && current.handedOver) return 'exported'; // too late, as below
      const registration = this.fleet.registerRun({ threadId, runId, exportedStepIds: [], ...(traceparent ? { traceparent } : {}) });
      // Followed here: the new traceparent applies once stored (another owner reads it at its next gain).
      if (changes) await this.registerTraceparent(current, traceparent, registration);
      return registration;
    }
    const existing = this.watch.runs.get(runId);
    if (existing) {
      if (traceparent === undefined || existing.watched.traceparent === traceparent) return 'already';
      // Its spans are with delivery: too late for a traceparent (not stored; the export goes on).
      if (existing.handedOver) return 'exported';
      await this.registerTraceparent(existing, traceparent, this.options.store.putRun({ ...existing.watched, traceparent }));
      return 'updated';
    }
    const watched: WatchedRun = { threadId, runId, exportedStepIds: [], ...(traceparent ? { traceparent } : {}) };
    await this.options.store.putRun(watched);
    // Found by its thread's listing meanwhile, and perhaps exported already: never followed again.
    if (this.done.has(runId)) return 'exported';
    const current = this.watch.runs.get(runId);
    if (current) {
      // The listing stored it without the traceparent after this put: stored again, with it.
      if (traceparent !== undefined && current.watched.traceparent !== traceparent && !current.handedOver) {
        await this.registerTraceparent(current, traceparent, this.options.store.putRun({ ...current.watched, traceparent }));
      }
      return 'already';
    }
    // Registered as it is created: its first read a poll interval from now can only be fresher.
    this.addRun(watched, this.options.pollIntervalMillis);
    return 'added';
  }

  /**
   * A new traceparent for a run followed here: applied once `stored` resolves. An export under way
   * waits for it before handing its spans over (and builds them again with it), so what is sent and
   * what a restart would resend have the same parent.
   */
  private async registerTraceparent(state: RunState, traceparent: string, stored: Promise<unknown>): Promise<void> {
    const registering: Promise<void> = stored
      .then(() => {
        if (this.watch.runs.get(state.watched.runId) === state) state.watched = { ...state.watched, traceparent };
      })
      .finally(() => {
        if (state.registering === registering) delete state.registering;
      });
    state.registering = registering;
    await registering;
  }

  async unwatchRun(runId: string): Promise<boolean> {
    if (!this.watch.runs.has(runId)) return this.fleet ? this.fleet.notOwned((l) => l.runs.find((r) => r.runId === runId), `run ${runId}`) : false;
    this.watch.deleteRun(runId);
    this.scheduler.cancel(`run:${runId}`);
    await this.options.store.removeRun(runId);
    return true;
  }

  /** Stops polling and waits for the work in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopController.abort();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.scheduler.stop();
  }

  // ---- a fleet member's share ---------------------------------------------------------------------

  /** Threads and runs under keys just gained, as stored: followed from now on (what is already followed stays). */
  private adopt(loaded: { threads: WatchedThread[]; runs: WatchedRun[] }): void {
    if (this.stopController.signal.aborted) return;
    for (const thread of loaded.threads) if (!this.watch.threads.has(thread.threadId)) this.addThread(thread);
    for (const run of loaded.runs) if (!this.watch.runs.has(run.runId) && !this.done.has(run.runId)) this.addRun(run, 0);
    this.logger.debug('following leased threads', { threads: loaded.threads.length, runs: loaded.runs.length });
  }

  /** Keys whose leases were lost: nothing under them is polled from now on (work in flight sees it gone). */
  private release(keys: readonly string[]): void {
    for (const threadId of keys) {
      this.scheduler.cancel(`thread:${threadId}`);
      this.watch.removeThread(threadId);
      for (const run of this.watch.runsOf(threadId)) {
        this.watch.deleteRun(run.watched.runId);
        this.scheduler.cancel(`run:${run.watched.runId}`);
      }
    }
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  private every(millis: number, task: () => void | Promise<void>): void {
    const timer = setInterval(() => void Promise.resolve(task()).catch(() => {}), millis);
    timer.unref();
    this.timers.push(timer);
  }

  private addThread(watched: WatchedThread): void {
    this.watch.addThread(watched, this.options.pollIntervalMillis);
    // Its runs followed alone until now are read through its listing from here on.
    for (const run of this.watch.runsOf(watched.threadId)) this.scheduler.cancel(`run:${run.watched.runId}`);
    this.scheduler.schedule(`thread:${watched.threadId}`);
  }

  private forgetThread(threadId: string): void {
    this.scheduler.cancel(`thread:${threadId}`);
    // Runs read through its listing are still followed, alone, from the next interval.
    for (const orphan of this.watch.removeThread(threadId)) {
      if (!orphan.exporting) this.scheduler.schedule(`run:${orphan.watched.runId}`, this.now() + this.options.pollIntervalMillis);
    }
  }

  /**
   * Follows a run. Read through its thread when the thread is watched (which is then looked at
   * within `firstReadInMillis`); alone otherwise, first after `firstReadInMillis`. Without it, the
   * caller handles the run now (it came in a listing) and the run's next read is the next listing.
   */
  private addRun(watched: WatchedRun, firstReadInMillis?: number): RunState {
    const state = this.watch.addRun(watched);
    if (firstReadInMillis !== undefined) {
      const at = this.now() + firstReadInMillis;
      if (state.viaThread) this.scheduler.scheduleNoLaterThan(`thread:${watched.threadId}`, at);
      else this.scheduler.schedule(`run:${watched.runId}`, at);
    }
    return state;
  }

  private async prune(): Promise<void> {
    const before = this.now() - DONE_RETENTION_MILLIS;
    for (const [runId, at] of this.done) if (at < before) this.done.delete(runId);
    await this.options.store.pruneDone(before).catch((error: Error) => this.logger.warn('could not prune the state', { error: error.message }));
  }

  /** Never rejects: every failure is logged, counted and rescheduled (or fatal, via the hook). */
  private async process(key: Key): Promise<void> {
    const thread = key.startsWith('thread:');
    const id = key.slice(thread ? 7 : 4);
    try {
      if (thread) await this.pollThread(id);
      else await this.pollRun(id);
    } catch (error) {
      this.handleFailure(thread ? 'thread' : 'run', id, error);
    }
  }

  private handleFailure(kind: 'thread' | 'run', id: string, error: unknown): void {
    if (this.stopController.signal.aborted) return;
    const run = kind === 'run' ? this.watch.runs.get(id) : undefined;
    const where = kind === 'thread' ? { thread_id: id } : { run_id: id, ...(run ? { thread_id: run.watched.threadId } : {}) };
    const action = classifyFailure(kind, error);
    switch (action.kind) {
      case 'ignore':
        return;
      case 'fatal':
        this.logger.error(action.error.message);
        this.options.hooks?.onFatal?.(action.error);
        return;
      case 'drop':
        this.logger[action.level](action.message, { ...where, ...action.fields });
        if (action.rejected) this.options.hooks?.onRejected?.('run', 1);
        this.options.hooks?.onDropped?.(kind, action.reason);
        void (kind === 'thread' ? this.unwatchThread(id) : this.unwatchRun(id)).catch(() => {});
        return;
      case 'retry':
        break;
    }
    const state = kind === 'run' ? run : this.watch.threads.get(id);
    if (!state) return;
    const failures = ++state.failures;
    const delay = failureBackoff(failures, this.options.pollIntervalMillis, this.maxIdleMillis, this.random);
    this.logger.warn(`${kind} poll failed; will try again`, { ...where, error: (error as Error).message, retry_in_ms: delay });
    if (kind === 'thread') this.scheduler.schedule(`thread:${id}`, this.now() + delay);
    else if (run?.viaThread) run.retryAt = this.now() + delay; // its thread's listing reads it; no export attempt before then
    else this.scheduler.schedule(`run:${id}`, this.now() + delay);
  }

  // ---- threads ----------------------------------------------------------------------------------

  private async pollThread(threadId: string): Promise<void> {
    const thread = this.watch.threads.get(threadId);
    if (!thread) return;
    const followedBefore = this.watch.runCountOf(threadId);
    const listing = await listThreadRuns(
      this.options.client,
      { threadId, cursor: thread.watched.cursor, cursorCreatedAt: thread.watched.cursorCreatedAt, since: thread.watched.since, firstPageSize: firstPageSize(followedBefore) },
      this.stopController.signal,
    );
    // Unwatched while the request was out: leave it so (do not write it back to the store).
    if (this.watch.threads.get(threadId) !== thread) return;
    const firstLook = thread.watched.cursor === undefined;
    if (firstLook) await this.moveSinceToServerClock(thread, listing);
    const rejected = freshRejections(thread, listing);
    if (rejected.count > 0) this.options.hooks?.onRejected?.('run', rejected.count);
    for (const issue of rejected.issues) this.logger.error('malformed run in a list page: skipped', { thread_id: threadId, ...issue });

    let newRuns = 0;
    const plan = planListing(listing, thread, {
      isFollowed: (runId) => this.watch.runs.has(runId),
      isDone: (runId) => this.done.has(runId),
      includeLibraryRuns: this.options.includeLibraryRuns ?? false,
    });
    if (this.fleet) await this.fleet.skipDoneElsewhere(plan.runs);
    if (this.watch.threads.get(threadId) !== thread) return;
    for (const { run, action } of plan.runs) {
      if (action === 'library') {
        this.logger.debug('run traced by the library instrumentation: left to it', { thread_id: threadId, run_id: run.id });
        continue;
      }
      const followed = this.watch.runs.get(run.id);
      if (followed) {
        await this.readThrough(followed, run);
        continue;
      }
      newRuns++;
      const watched: WatchedRun = { threadId, runId: run.id, exportedStepIds: [] };
      // Persist the run before the cursor moves past it, so a crash in between cannot lose it.
      await this.options.store.putRun(watched);
      if (this.fleet && !this.watch.threads.has(threadId)) return; // its lease lost meanwhile: the new owner follows it
      const registered = this.watch.runs.get(run.id);
      if (registered) {
        // Registered meanwhile: its traceparent, which this put may have overwritten, stored again.
        if (registered.watched.traceparent !== undefined) await this.options.store.putRun(registered.watched);
        continue;
      }
      await this.readThrough(this.addRun(watched), run);
    }
    if (this.watch.threads.get(threadId) !== thread) return;
    for (const state of this.watch.runsOf(threadId)) {
      if (state.exporting) continue;
      // Followed and done (a registration raced its export): nothing left to read; it must not keep the thread active.
      if (this.done.has(state.watched.runId)) await this.forgetDone(state);
      // A followed run the listing did not reach (registered by id, or older than the newest few): read alone.
      else if (!plan.seen.has(state.watched.runId) && state.viaThread) await this.readAlone(state);
    }
    if (this.watch.threads.get(threadId) !== thread) return;
    if (firstLook && listing.runs.length === 0 && listing.serverTimeSeconds === undefined) thread.seenEmpty = true;

    const now = this.now();
    const active = this.watch.runCountOf(threadId);
    const pace = { pollMillis: this.options.pollIntervalMillis, graceMillis: this.options.idleGraceMillis ?? 60_000, maxIdleMillis: this.maxIdleMillis };
    if (settleThread(thread, { listing, newRuns, followed: active, now, ...pace })) await this.options.store.putThread(thread.watched);
    this.logger.debug('discovery', { thread_id: threadId, pages: listing.pages, new_runs: newRuns, followed_runs: active, next_in_ms: thread.intervalMillis });

    if (active === 0 && now - thread.watched.lastActivityAt > (this.options.idleTtlMillis ?? 86_400_000)) {
      this.logger.info('thread idle past its TTL: no longer watched', { thread_id: threadId });
      this.options.hooks?.onDropped?.('thread', 'idle');
      await this.unwatchThread(threadId);
      return;
    }
    if (this.watch.threads.get(threadId) !== thread) return;
    const next = nextListingIn(thread, this.watch.runCountOf(threadId), this.options.pollIntervalMillis, this.random);
    this.scheduler.schedule(`thread:${threadId}`, this.now() + next);
  }

  /** At a look without a cursor: `since` on the server's clock (persisted when it moved). */
  private async moveSinceToServerClock(thread: ThreadState, listing: ThreadListing): Promise<void> {
    if (listing.serverTimeSeconds === undefined && !this.warnedNoDate) {
      this.warnedNoDate = true;
      this.logger.warn(
        'the API sent no Date header: a thread\'s "since" (runs created before it that already finished are history) is taken from its records, ' +
          'or, for a thread with no runs yet, from this host\'s clock (if it runs ahead of the API\'s, a run that finishes before the sidecar restarts and first sees it may be skipped)',
        { thread_id: thread.watched.threadId },
      );
    }
    if (this.options.backfill) return;
    const since = sinceOnServerClock(listing, thread.watched.since, REGISTRATION_GRACE_SECONDS);
    if (since === undefined || since === thread.watched.since) return;
    thread.watched = { ...thread.watched, since };
    await this.options.store.putThread(thread.watched);
  }

  /** A followed run's status from its thread's listing. Its failures are its own, not the thread's. */
  private async readThrough(state: RunState, run: Run): Promise<void> {
    if (state.exporting || (state.retryAt !== undefined && this.now() < state.retryAt)) return;
    try {
      await this.exporter.afterStatus(state, run);
      state.failures = 0;
      delete state.retryAt;
    } catch (error) {
      this.handleFailure('run', state.watched.runId, error);
    }
  }

  /** A run its thread's listing did not show: read alone, once, this round. */
  private async readAlone(state: RunState): Promise<void> {
    if (state.retryAt !== undefined && this.now() < state.retryAt) return;
    try {
      await this.readRun(state);
      delete state.retryAt;
    } catch (error) {
      this.handleFailure('run', state.watched.runId, error);
    }
  }

  // ---- runs watched alone ---------------------------------------------------------------------------

  private async pollRun(runId: string): Promise<void> {
    const state = this.watch.runs.get(runId);
    if (!state || state.exporting || state.viaThread) return;
    if (this.done.has(runId)) return this.forgetDone(state);
    const outcome = await this.readRun(state);
    if (outcome === 'active' && this.watch.runs.get(runId) === state && !state.viaThread) {
      this.scheduler.schedule(`run:${runId}`, this.now() + this.options.pollIntervalMillis);
    }
  }

  /** A run followed though already exported: dropped from the watch set and the store, not exported again. */
  private async forgetDone(state: RunState): Promise<void> {
    const runId = state.watched.runId;
    this.watch.deleteRun(runId);
    this.scheduler.cancel(`run:${runId}`);
    this.logger.debug('run already exported: no longer followed', { thread_id: state.watched.threadId, run_id: runId });
    await this.options.store.removeRun(runId);
  }

  private async readRun(state: RunState): Promise<'active' | 'finished'> {
    const runId = state.watched.runId;
    const { value: run, warnings } = await this.options.client.getRun(state.watched.threadId, runId, this.stopController.signal);
    if (warnings.length > 0) this.logger.warn('run record has malformed fields (dropped)', { run_id: runId, issues: warnings });
    this.logger.debug('run status', { run_id: runId, status: run.status });
    const outcome = await this.exporter.afterStatus(state, run);
    state.failures = 0;
    return outcome;
  }
}
