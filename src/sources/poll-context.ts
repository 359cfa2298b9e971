/**
 * What the poller's parts share (`PollContext`: the watch set, the done marks, the schedule, the
 * exporter, the fleet membership, the options), and the bookkeeping that keeps the watch set and
 * the schedule in step as threads and runs are followed or forgotten. `poller.ts` builds the context
 * once; `registrations.ts` (the watch/unwatch API) and `polling.ts` (a thread's listing, a run read
 * alone, failures) work on it.
 */
import type { WatchedRun, WatchedThread } from '../state/store.js';
import type { Logger } from '../util/log.js';
import type { FleetMembership } from './fleet-membership.js';
import type { PollerOptions } from './poller-options.js';
import type { RunExporter } from './run-exports.js';
import type { Scheduler } from './scheduler.js';
import type { RunState, WatchSet } from './watch-set.js';

/** Runs newer than registration minus this many seconds (server clock) are traced even if already finished. */
export const REGISTRATION_GRACE_SECONDS = 60;

/** What the scheduler dispatches: a watched thread's listing, or a run read alone. */
export type PollKey = `thread:${string}` | `run:${string}`;

export interface PollContext {
  readonly options: PollerOptions;
  readonly watch: WatchSet;
  /** Runs fully exported (run id → epoch ms): never followed or exported again. */
  readonly done: Map<string, number>;
  readonly scheduler: Scheduler<PollKey>;
  readonly exporter: RunExporter;
  /** Set in a fleet (`options.leases`). */
  readonly fleet: FleetMembership | undefined;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  /** Aborted once the poller stops. */
  readonly signal: AbortSignal;
  readonly maxIdleMillis: number;
}

export function addThread(ctx: PollContext, watched: WatchedThread): void {
  ctx.watch.addThread(watched, ctx.options.pollIntervalMillis);
  // Its runs followed alone until now are read through its listing from here on.
  for (const run of ctx.watch.runsOf(watched.threadId)) ctx.scheduler.cancel(`run:${run.watched.runId}`);
  ctx.scheduler.schedule(`thread:${watched.threadId}`);
}

export function forgetThread(ctx: PollContext, threadId: string): void {
  ctx.scheduler.cancel(`thread:${threadId}`);
  // Runs read through its listing are still followed, alone, from the next interval.
  for (const orphan of ctx.watch.removeThread(threadId)) {
    if (!orphan.exporting) ctx.scheduler.schedule(`run:${orphan.watched.runId}`, ctx.now() + ctx.options.pollIntervalMillis);
  }
}

/**
 * Follows a run. Read through its thread when the thread is watched (which is then looked at
 * within `firstReadInMillis`); alone otherwise, first after `firstReadInMillis`. Without it, the
 * caller handles the run now (it came in a listing) and the run's next read is the next listing.
 */
export function addRun(ctx: PollContext, watched: WatchedRun, firstReadInMillis?: number): RunState {
  const state = ctx.watch.addRun(watched);
  if (firstReadInMillis !== undefined) {
    const at = ctx.now() + firstReadInMillis;
    if (state.viaThread) ctx.scheduler.scheduleNoLaterThan(`thread:${watched.threadId}`, at);
    else ctx.scheduler.schedule(`run:${watched.runId}`, at);
  }
  return state;
}
