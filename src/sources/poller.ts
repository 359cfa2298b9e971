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
 *
 * What lives where: this file holds the lifecycle (start, stop, stats, the lease gains and losses,
 * dispatch, pruning the done marks); `registrations.ts` the watch/unwatch API; `polling.ts` the
 * reads (a thread's listing, a run read alone) and what a failure does; `poll-context.ts` what they
 * share and the bookkeeping that keeps the watch set and the schedule in step.
 */
import { setMaxListeners } from 'node:events';
import type { LeasingStateStore } from '../state/leasing.js';
import type { WatchedRun, WatchedThread } from '../state/store.js';
import { silentLogger, type Logger } from '../util/log.js';
import { FleetMembership } from './fleet-membership.js';
import { PollLag } from './pace.js';
import { LagWarning, lagCheckMillis } from './lag-warning.js';
import { addRun, addThread, type PollContext, type PollKey } from './poll-context.js';
import type { PollerOptions, PollerStats } from './poller-options.js';
import { Polling } from './polling.js';
import { Registrations } from './registrations.js';
import { RunExporter } from './run-exports.js';
import { Scheduler } from './scheduler.js';
import { WatchSet } from './watch-set.js';

export type { DeliverySink } from './run-exports.js';
export type { PollerHooks, PollerOptions, PollerStats } from './poller-options.js';

export { NotOwnerError } from './fleet-membership.js';
export { REGISTRATION_GRACE_SECONDS } from './poll-context.js';

const PRUNE_EVERY_MILLIS = 10 * 60_000;
const DONE_RETENTION_MILLIS = 24 * 3600_000;

export class Poller {
  private readonly watch = new WatchSet();
  private readonly done = new Map<string, number>();
  private readonly scheduler: Scheduler<PollKey>;
  private readonly lag: PollLag;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stopController = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Set in a fleet: the store, as a leasing one. */
  private readonly leases: LeasingStateStore | undefined;
  private readonly fleet: FleetMembership | undefined;
  /** What the parts below share. */
  private readonly ctx: PollContext;
  private readonly registrations: Registrations;
  private readonly polling: Polling;

  constructor(private readonly options: PollerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    // Every request waiting for the budget listens to this signal: many listeners are expected.
    setMaxListeners(0, this.stopController.signal);
    this.lag = new PollLag(options.pollIntervalMillis, this.now);
    const budget = options.budget ?? options.client.budget;
    this.scheduler = new Scheduler<PollKey>({
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
    const exporter = new RunExporter({
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
    this.ctx = {
      options,
      watch: this.watch,
      done: this.done,
      scheduler: this.scheduler,
      exporter,
      fleet: this.fleet,
      logger: this.logger,
      now: this.now,
      random: options.random ?? Math.random,
      signal: this.stopController.signal,
      maxIdleMillis: options.maxIdleIntervalMillis ?? 60_000,
    };
    this.registrations = new Registrations(this.ctx);
    this.polling = new Polling(this.ctx, this.registrations);
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
      for (const thread of snapshot.threads) addThread(this.ctx, thread);
      for (const run of snapshot.runs) if (!this.done.has(run.runId)) addRun(this.ctx, run, 0);
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
  watchThread(threadId: string): Promise<'added' | 'already'> {
    return this.registrations.watchThread(threadId);
  }

  unwatchThread(threadId: string): Promise<boolean> {
    return this.registrations.unwatchThread(threadId);
  }

  /** Starts following one run (idempotent; a new traceparent replaces the old). */
  watchRun(threadId: string, runId: string, traceparent?: string): Promise<'added' | 'updated' | 'already' | 'exported'> {
    return this.registrations.watchRun(threadId, runId, traceparent);
  }

  unwatchRun(runId: string): Promise<boolean> {
    return this.registrations.unwatchRun(runId);
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
    for (const thread of loaded.threads) if (!this.watch.threads.has(thread.threadId)) addThread(this.ctx, thread);
    for (const run of loaded.runs) if (!this.watch.runs.has(run.runId) && !this.done.has(run.runId)) addRun(this.ctx, run, 0);
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

  private async prune(): Promise<void> {
    const before = this.now() - DONE_RETENTION_MILLIS;
    for (const [runId, at] of this.done) if (at < before) this.done.delete(runId);
    await this.options.store.pruneDone(before).catch((error: Error) => this.logger.warn('could not prune the state', { error: error.message }));
  }

  /** Never rejects: every failure is logged, counted and rescheduled (or fatal, via the hook). */
  private async process(key: PollKey): Promise<void> {
    const thread = key.startsWith('thread:');
    const id = key.slice(thread ? 7 : 4);
    try {
      if (thread) await this.polling.pollThread(id);
      else await this.polling.pollRun(id);
    } catch (error) {
      this.polling.handleFailure(thread ? 'thread' : 'run', id, error);
    }
  }
}
