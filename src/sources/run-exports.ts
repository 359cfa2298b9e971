/**
 * What happens once a followed run's status is read (through its thread's listing or alone): a
 * finished run has its steps listed (100 per page) and goes to delivery once, as a whole; in live
 * mode, an active run has the steps that finished since the last look listed and sent. Delivery's
 * room is checked before each unit of work (a run, or a run's new steps) is even listed, so a page
 * of finished runs never floods the queue.
 */
import type { AssistantsClient } from '../api/client.js';
import { isRunTerminal } from '../api/lifecycle.js';
import type { Run } from '../api/schemas.js';
import type { ExportJob, JobResult } from '../delivery/pipeline.js';
import type { MappingOptions } from '../mapping/types.js';
import type { StateStore } from '../state/store.js';
import { sleep } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { exportSpansForFinishedSteps, exportSpansForRun, type RunFollowup } from './run-export.js';
import type { RunState, WatchSet } from './watch-set.js';

/** What the poller needs from delivery. */
export interface DeliverySink {
  /** Hands a job over; a bounded queue may make the caller wait for room (`signal` gives up the wait). */
  enqueue(job: ExportJob, signal?: AbortSignal): void | Promise<void>;
  /** True while the queue is at its mark: no new work should be created. */
  isBehind(): boolean;
  /** Resolves once the queue has room for `spans` more spans. Without it, `isBehind()` is polled. */
  waitForRoom?(spans: number, bytes?: number, signal?: AbortSignal): Promise<void>;
}

export interface ExportHooks {
  /** Records the API sent that could not be placed. */
  onRejected?: (kind: 'run' | 'step', count: number) => void;
  /**
   * A run (or live steps) settled: spans by kind, ms from "seen finished" to settled, and what
   * delivery made of its spans (all set aside means it was not exported).
   */
  onExported?: (counts: { runs: number; steps: number; spans: number }, latencyMillis: number, result: JobResult) => void;
}

export interface RunExporterOptions {
  client: AssistantsClient;
  store: StateStore;
  delivery: DeliverySink;
  mapping: MappingOptions;
  live: boolean;
  watch: WatchSet;
  /** Runs fully exported (run id → epoch ms): never exported again. */
  done: Map<string, number>;
  logger: Logger;
  hooks: ExportHooks;
  now: () => number;
  signal: AbortSignal;
}

/** While delivery has no room and offers no way to wait for it, look again this often. */
const ROOM_RECHECK_MILLIS = 250;

export class RunExporter {
  constructor(private readonly o: RunExporterOptions) {}

  /**
   * After reading a run's status: export it if finished, else (live mode) its finished steps.
   * Returns whether the run is still active (to be read again).
   */
  async afterStatus(state: RunState, run: Run): Promise<'active' | 'finished'> {
    if (!isRunTerminal(run)) {
      if (this.o.live) await this.exportFinishedSteps(state, run);
      return 'active';
    }
    state.finishedSeenAt ??= this.o.now();
    await this.waitForRoom();
    if (this.o.watch.runs.get(state.watched.runId) !== state || state.exporting) return 'finished';
    // From here the run is being exported: no other read of it may start another export.
    state.exporting = true;
    let followup: RunFollowup;
    try {
      followup = await this.buildRunSpans(state, run);
    } catch (error) {
      state.exporting = false;
      throw error;
    }
    const runId = state.watched.runId;
    if (this.o.watch.runs.get(runId) !== state) return 'finished'; // unwatched meanwhile
    this.report(runId, followup);
    state.handedOver = true;
    await this.o.delivery.enqueue(
      {
        runId,
        spans: followup.spans,
        onSettled: async (result) => {
          const at = this.o.now();
          await this.o.store.markRunDone(runId, at);
          this.o.done.set(runId, at);
          this.o.watch.deleteRun(runId);
          this.o.hooks.onExported?.(followup.counts, at - (state.finishedSeenAt ?? at), result);
          // One line per run: what a person watching the log wants to see happen. A run the
          // collector refused (set aside) was not exported, and the line says so, with why.
          const endedAt = followup.spans.find((span) => span.subject.kind === 'run')?.endTime[0];
          const subject = { thread_id: state.watched.threadId, run_id: runId, status: run.status };
          const reached = result.delivered + (result.inPartialSuccess ?? 0);
          const why = result.setAsideReason !== undefined ? { reason: result.setAsideReason } : {};
          if (result.setAside > 0 && reached === 0) {
            this.o.logger.warn('run set aside, not exported: the collector refused it', { ...subject, spans: result.setAside, ...why });
          } else if (result.setAside > 0) {
            this.o.logger.warn('run exported in part: some of its spans were set aside', { ...subject, spans: reached, set_aside: result.setAside, ...why });
          } else {
            this.o.logger.info('run exported', { ...subject, spans: followup.counts.spans, ...(endedAt !== undefined ? { lag_ms: at - endedAt * 1000 } : {}) });
          }
        },
      },
      this.o.signal,
    );
    return 'finished';
  }

  /**
   * The finished run's spans, parented by the traceparent registered when they are handed over: a
   * registration that changed it while the steps were being listed is waited for, and the spans are
   * built again with it (rare: a registration racing the run's end).
   */
  private async buildRunSpans(state: RunState, run: Run): Promise<RunFollowup> {
    for (;;) {
      const watched = state.watched;
      const followup = await exportSpansForRun(this.o.client, run, watched, (id) => alreadySent(state, id), this.o.mapping, this.o.signal);
      while (state.registering) await state.registering;
      if (state.watched.traceparent === watched.traceparent) return followup;
    }
  }

  private async exportFinishedSteps(state: RunState, run: Run): Promise<void> {
    await this.waitForRoom();
    const runId = state.watched.runId;
    const followup = await exportSpansForFinishedSteps(this.o.client, run, state.watched, (id) => alreadySent(state, id), this.o.mapping, this.o.signal);
    this.report(runId, followup);
    if (followup.stepIds.length === 0 || this.o.watch.runs.get(runId) !== state) return;
    const seenAt = this.o.now();
    const pending = (state.pendingStepIds ??= new Set());
    for (const id of followup.stepIds) pending.add(id);
    await this.o.delivery.enqueue(
      {
        runId,
        spans: followup.spans,
        onSettled: async (result) => {
          await this.o.store.markStepsExported(runId, followup.stepIds);
          state.watched = { ...state.watched, exportedStepIds: [...state.watched.exportedStepIds, ...followup.stepIds] };
          const exported = (state.exportedStepIds ??= new Set());
          for (const id of followup.stepIds) {
            exported.add(id);
            pending.delete(id);
          }
          this.o.hooks.onExported?.(followup.counts, this.o.now() - seenAt, result);
        },
      },
      this.o.signal,
    );
  }

  /** Waits until delivery has room for one more unit of work (or the poller stops). */
  private async waitForRoom(): Promise<void> {
    const { delivery, signal } = this.o;
    // Not yet listed, a run's size is not known: wait for room for one span (`enqueue` then waits
    // for room for the whole run). Without `waitForRoom`, wait for delivery to be below its mark.
    if (delivery.waitForRoom) {
      await delivery.waitForRoom(1, 0, signal).catch(() => {});
      return;
    }
    while (delivery.isBehind() && !signal.aborted) await sleep(ROOM_RECHECK_MILLIS, signal).catch(() => {});
  }

  private report(runId: string, followup: RunFollowup): void {
    if (followup.rejected.length > 0) {
      this.o.hooks.onRejected?.('step', followup.rejected.length);
      for (const r of followup.rejected) {
        this.o.logger.error('malformed step record: not exported', { run_id: runId, index: r.index, ...(r.id ? { step_id: r.id } : {}), issues: r.issues });
      }
    }
    for (const w of followup.warnings) this.o.logger.warn('step record has malformed fields (dropped)', { run_id: runId, step_id: w.id, issues: w.issues });
  }
}

/** Live mode: a step acknowledged or on its way. Reads the current state, not a copy. */
function alreadySent(state: RunState, stepId: string): boolean {
  return state.pendingStepIds?.has(stepId) === true || state.exportedStepIds?.has(stepId) === true;
}
