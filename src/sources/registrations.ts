/**
 * The poller's registration API: a thread or a run starts or stops being watched. Outside a fleet a
 * registration is stored first, then followed here; in a fleet it goes to the shared set and the
 * lease rounds decide who follows it (`fleet-membership.ts`). A run already exported is answered
 * `exported` and never followed again; a new traceparent for a run followed here is applied once
 * stored, unless its spans are already with delivery.
 */
import type { WatchedRun, WatchedThread } from '../state/store.js';
import { addRun, addThread, forgetThread, REGISTRATION_GRACE_SECONDS, type PollContext } from './poll-context.js';
import type { RunState } from './watch-set.js';

export class Registrations {
  constructor(private readonly ctx: PollContext) {}

  /** Starts watching a thread (idempotent). Resolves once the registration is durable. */
  async watchThread(threadId: string): Promise<'added' | 'already'> {
    const { ctx } = this;
    if (ctx.watch.threads.has(threadId)) return 'already';
    // On this host's clock for now; the first listing moves it to the server's (`sinceOnServerClock`).
    const since = ctx.options.backfill ? 0 : Math.floor(ctx.now() / 1000) - REGISTRATION_GRACE_SECONDS;
    const watched: WatchedThread = { threadId, since, lastActivityAt: ctx.now() };
    // The shared set; whichever member claims its lease follows it.
    if (ctx.fleet) return ctx.fleet.registerThread(watched);
    await ctx.options.store.putThread(watched);
    if (ctx.watch.threads.has(threadId)) return 'already'; // registered twice at once
    addThread(ctx, watched);
    return 'added';
  }

  async unwatchThread(threadId: string): Promise<boolean> {
    const { ctx } = this;
    if (!ctx.watch.threads.has(threadId)) return ctx.fleet ? ctx.fleet.notOwned((l) => l.threads.find((t) => t.threadId === threadId), `thread ${threadId}`) : false;
    forgetThread(ctx, threadId);
    await ctx.options.store.removeThread(threadId);
    return true;
  }

  /** Starts following one run (idempotent; a new traceparent replaces the old). */
  async watchRun(threadId: string, runId: string, traceparent?: string): Promise<'added' | 'updated' | 'already' | 'exported'> {
    const { ctx } = this;
    if (ctx.done.has(runId)) return 'exported';
    if (ctx.fleet) {
      const current = ctx.watch.runs.get(runId);
      const changes = traceparent !== undefined && current !== undefined && current.watched.traceparent !== traceparent;
      if (changes && current.handedOver) return 'exported'; // too late, as below
      const registration = ctx.fleet.registerRun({ threadId, runId, exportedStepIds: [], ...(traceparent ? { traceparent } : {}) });
      // Followed here: the new traceparent applies once stored (another owner reads it at its next gain).
      if (changes) await this.registerTraceparent(current, traceparent, registration);
      return registration;
    }
    const existing = ctx.watch.runs.get(runId);
    if (existing) {
      if (traceparent === undefined || existing.watched.traceparent === traceparent) return 'already';
      // Its spans are with delivery: too late for a traceparent (not stored; the export goes on).
      if (existing.handedOver) return 'exported';
      await this.registerTraceparent(existing, traceparent, ctx.options.store.putRun({ ...existing.watched, traceparent }));
      return 'updated';
    }
    const watched: WatchedRun = { threadId, runId, exportedStepIds: [], ...(traceparent ? { traceparent } : {}) };
    await ctx.options.store.putRun(watched);
    // Found by its thread's listing meanwhile, and perhaps exported already: never followed again.
    if (ctx.done.has(runId)) return 'exported';
    const current = ctx.watch.runs.get(runId);
    if (current) {
      // The listing stored it without the traceparent after this put: stored again, with it.
      if (traceparent !== undefined && current.watched.traceparent !== traceparent && !current.handedOver) {
        await this.registerTraceparent(current, traceparent, ctx.options.store.putRun({ ...current.watched, traceparent }));
      }
      return 'already';
    }
    // Registered as it is created: its first read a poll interval from now can only be fresher.
    addRun(ctx, watched, ctx.options.pollIntervalMillis);
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
        if (this.ctx.watch.runs.get(state.watched.runId) === state) state.watched = { ...state.watched, traceparent };
      })
      .finally(() => {
        if (state.registering === registering) delete state.registering;
      });
    state.registering = registering;
    await registering;
  }

  async unwatchRun(runId: string): Promise<boolean> {
    const { ctx } = this;
    if (!ctx.watch.runs.has(runId)) return ctx.fleet ? ctx.fleet.notOwned((l) => l.runs.find((r) => r.runId === runId), `run ${runId}`) : false;
    ctx.watch.deleteRun(runId);
    ctx.scheduler.cancel(`run:${runId}`);
    await ctx.options.store.removeRun(runId);
    return true;
  }
}
