/**
 * What this poller watches, in memory: threads, the runs it follows, and which runs belong to which
 * thread. The poller asks only this for "what is mine"; it is filled from the state store at start
 * and by registrations; in a fleet, from the leases it holds instead (fleet-membership.ts).
 *
 * A followed run is read one of two ways: through its thread's listing, when the thread is watched
 * (one request for both), or alone with `getRun`, when only the run was registered.
 */
import type { WatchedRun, WatchedThread } from '../state/store.js';

export interface ThreadState {
  watched: WatchedThread;
  /** Current discovery interval while idle; doubles once idle past the grace period. */
  intervalMillis: number;
  /** Consecutive failed listings, for error backoff. */
  failures: number;
  /**
   * Ids of the runs listed in the cursor's second at the last looks. The API orders runs by
   * `created_at` in whole seconds and ties its own way, so a run created in the cursor's second
   * may be listed below it: one not among these was not seen yet, and is new. In memory only:
   * after a restart, a run of the cursor's second other than the cursor is new unless done (at
   * worst one identical resend, never a run lost).
   */
  cursorPeers?: Set<string>;
  /**
   * The records that failed validation at the last listing (`ThreadListing.rejectedKeys`), reported
   * then: one listed again is not reported (logged, counted) again. Only the last listing's, so it
   * stays small; in memory only (a restart reports each once more).
   */
  rejectedReported?: Set<string>;
  /**
   * The thread had no runs at a first look this process made and the server's clock was not known:
   * every run that appears on it is new, whatever its timestamps say.
   */
  seenEmpty?: boolean;
}

export interface RunState {
  watched: WatchedRun;
  /** Read through its thread's listing (the thread is watched), not with `getRun`. */
  viaThread: boolean;
  /** Being exported (steps listed, spans built, then with delivery until settled): not read or exported again meanwhile. */
  exporting: boolean;
  /**
   * Its spans were handed to delivery: the run is as good as exported, and a traceparent registered
   * now comes too late (never stored: a resend after a crash must be identical to what was sent).
   */
  handedOver?: boolean;
  /** A registration's new traceparent being made durable: an export waits for it before handing its spans over. */
  registering?: Promise<void>;
  /** Live mode: steps handed to delivery and not yet acknowledged (created on first use). */
  pendingStepIds?: Set<string>;
  /** Live mode: steps acknowledged (the same ids as `watched.exportedStepIds`, for lookups; created on first use). */
  exportedStepIds?: Set<string>;
  /** When the run was first seen finished, for the export latency. */
  finishedSeenAt?: number;
  /** Consecutive failures (reads, step listings), for error backoff. */
  failures: number;
  /** A run read through its thread: no export attempt before this time (epoch ms) after a failure. */
  retryAt?: number;
}

export class WatchSet {
  readonly threads = new Map<string, ThreadState>();
  readonly runs = new Map<string, RunState>();
  /** Followed runs by thread id, so a thread's listing need not scan every run. */
  private readonly byThread = new Map<string, Set<string>>();

  addThread(watched: WatchedThread, pollMillis: number): ThreadState {
    const state: ThreadState = { watched, intervalMillis: pollMillis, failures: 0 };
    this.threads.set(watched.threadId, state);
    for (const runId of this.byThread.get(watched.threadId) ?? []) {
      const run = this.runs.get(runId);
      if (run) run.viaThread = true;
    }
    return state;
  }

  /** Forgets the thread; returns the runs that were read through it (now to be read alone). */
  removeThread(threadId: string): RunState[] {
    this.threads.delete(threadId);
    const orphans: RunState[] = [];
    for (const runId of this.byThread.get(threadId) ?? []) {
      const run = this.runs.get(runId);
      if (run?.viaThread) {
        run.viaThread = false;
        orphans.push(run);
      }
    }
    return orphans;
  }

  addRun(watched: WatchedRun): RunState {
    const state: RunState = { watched, viaThread: this.threads.has(watched.threadId), exporting: false, failures: 0 };
    if (watched.exportedStepIds.length > 0) state.exportedStepIds = new Set(watched.exportedStepIds);
    this.runs.set(watched.runId, state);
    let ids = this.byThread.get(watched.threadId);
    if (!ids) {
      ids = new Set();
      this.byThread.set(watched.threadId, ids);
    }
    ids.add(watched.runId);
    return state;
  }

  deleteRun(runId: string): RunState | undefined {
    const state = this.runs.get(runId);
    if (!state) return undefined;
    this.runs.delete(runId);
    const ids = this.byThread.get(state.watched.threadId);
    ids?.delete(runId);
    if (ids?.size === 0) this.byThread.delete(state.watched.threadId);
    return state;
  }

  /** The runs followed on a thread (read through it or alone). */
  runsOf(threadId: string): RunState[] {
    const out: RunState[] = [];
    for (const runId of this.byThread.get(threadId) ?? []) {
      const run = this.runs.get(runId);
      if (run) out.push(run);
    }
    return out;
  }

  runCountOf(threadId: string): number {
    return this.byThread.get(threadId)?.size ?? 0;
  }
}
