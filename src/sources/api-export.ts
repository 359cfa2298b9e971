/**
 * The records `export` sends, read from the API: first the runs (every page of each thread's runs,
 * within a time window, or one run by id), then, run by run, each finished run's steps (every page).
 *
 * Only terminal runs are read further and exported; unfinished ones are set apart to be reported
 * (a later export picks them up once they end). A thread or run that cannot be read is reported
 * and the others go on; a failure that no other request would survive (credentials refused, the
 * API unreachable after its retries) stops the reading, with what was read so far kept.
 */
import type { AssistantsClient } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { isRunTerminal } from '../api/lifecycle.js';
import { listAllRunSteps, paginate } from '../api/pagination.js';
import type { Run } from '../api/schemas.js';
import type { RunRecord } from '../mapping/types.js';

export interface ExportSelection {
  threadIds: readonly string[];
  /** One run of the (single) thread, instead of its history. */
  runId?: string;
  /** Runs created at or after this Unix time. */
  sinceSeconds?: number;
  /** Runs created before this Unix time. */
  untilSeconds?: number;
}

export interface FoundRun {
  threadId: string;
  run: Run;
}

/** Something the API sent (or failed to send) that the user should hear about. */
export interface ReadProblem {
  severity: 'error' | 'warning';
  threadId: string;
  runId?: string;
  /** A record's position or id, when the problem is one record of a page. */
  record?: string;
  message: string;
  /** The API answered 404: the thread or run does not exist (a fact about the data, not a failure to read it). */
  notFound?: true;
}

export interface ReadProgress {
  threadsListed: number;
  runsFound: number;
  runsRead: number;
  stepsRead: number;
}

/** Failures no further request would get past: reading stops. */
function isFatal(error: ApiError): boolean {
  return error.kind === 'auth' || error.kind === 'retries_exhausted' || error.kind === 'aborted';
}

export class ApiExportSource {
  readonly terminal: FoundRun[] = [];
  readonly unfinished: FoundRun[] = [];
  readonly problems: ReadProblem[] = [];
  readonly progress: ReadProgress = { threadsListed: 0, runsFound: 0, runsRead: 0, stepsRead: 0 };
  /** What stopped the reading early, if anything (an abort included). */
  stoppedBy: ApiError | undefined;

  constructor(
    private readonly client: AssistantsClient,
    private readonly selection: ExportSelection,
    private readonly signal: AbortSignal,
    private readonly onProgress: (progress: ReadProgress) => void = () => {},
  ) {}

  /** Phase one: which runs there are. Never rejects; problems and a fatal stop are recorded. */
  async listRuns(): Promise<void> {
    for (const threadId of this.selection.threadIds) {
      if (this.stoppedBy) return;
      try {
        if (this.selection.runId !== undefined) await this.addOne(threadId, this.selection.runId);
        else await this.addThread(threadId);
      } catch (error) {
        this.fail(error, threadId);
      }
      this.progress.threadsListed++;
      this.onProgress(this.progress);
    }
  }

  private async addOne(threadId: string, runId: string): Promise<void> {
    const { value, warnings } = await this.client.getRun(threadId, runId, this.signal);
    for (const issue of warnings) this.problems.push({ severity: 'warning', threadId, runId, message: `${issue.path}: ${issue.message}` });
    this.place(threadId, value);
  }

  /** Newest first, so a `--since` stops the listing at the first older run (the API orders by creation). */
  private async addThread(threadId: string): Promise<void> {
    const { sinceSeconds, untilSeconds } = this.selection;
    const found: Run[] = [];
    let offset = 0;
    pages: for await (const page of paginate((after) => this.client.listRuns(threadId, { order: 'desc', limit: 100, ...(after ? { after } : {}) }, this.signal))) {
      for (const r of page.rejected) {
        for (const issue of r.issues) {
          this.problems.push({ severity: 'error', threadId, record: `runs item ${offset + r.index}${r.id ? ` (${r.id})` : ''}`, message: `${issue.path || '$'}: ${issue.message}` });
        }
      }
      for (const w of page.warnings) {
        for (const issue of w.issues) this.problems.push({ severity: 'warning', threadId, runId: w.id, message: `${issue.path}: ${issue.message}` });
      }
      offset += page.items.length + page.rejected.length;
      for (const run of page.items) {
        const created = run.created_at;
        if (created === undefined) {
          // No usable time (validation said why): not known to be outside the window, so kept.
          if (sinceSeconds !== undefined || untilSeconds !== undefined) {
            this.problems.push({ severity: 'warning', threadId, runId: run.id, message: 'created_at unknown: exported whatever --since/--until say' });
          }
          found.push(run);
          continue;
        }
        if (sinceSeconds !== undefined && created < sinceSeconds) break pages;
        if (untilSeconds !== undefined && created >= untilSeconds) continue;
        found.push(run);
      }
    }
    // Exported oldest first, as they happened.
    for (const run of found.reverse()) this.place(threadId, run);
  }

  private place(threadId: string, run: Run): void {
    (isRunTerminal(run) ? this.terminal : this.unfinished).push({ threadId, run });
    this.progress.runsFound++;
  }

  private fail(error: unknown, threadId: string, runId?: string): void {
    if (!(error instanceof ApiError)) throw error;
    if (isFatal(error)) {
      this.stoppedBy = error;
      return;
    }
    this.problems.push({ severity: 'error', threadId, ...(runId ? { runId } : {}), message: error.message, ...(error.kind === 'not_found' ? { notFound: true as const } : {}) });
  }

  /** Phase two: each terminal run with every one of its steps, in order. Stops (without rejecting) on a fatal failure. */
  async *records(): AsyncGenerator<RunRecord> {
    for (const { threadId, run } of this.terminal) {
      if (this.stoppedBy || this.signal.aborted) return;
      let steps;
      try {
        steps = await listAllRunSteps(this.client, threadId, run.id, {}, this.signal);
      } catch (error) {
        this.fail(error, threadId, run.id);
        continue;
      }
      for (const r of steps.rejected) {
        for (const issue of r.issues) {
          this.problems.push({ severity: 'error', threadId, runId: run.id, record: `steps item ${r.index}${r.id ? ` (${r.id})` : ''}`, message: `${issue.path || '$'}: ${issue.message}` });
        }
      }
      for (const w of steps.warnings) {
        for (const issue of w.issues) this.problems.push({ severity: 'warning', threadId, runId: run.id, record: w.id, message: `${issue.path}: ${issue.message}` });
      }
      this.progress.runsRead++;
      this.progress.stepsRead += steps.items.length;
      this.onProgress(this.progress);
      yield { runId: run.id, run, steps: steps.items };
    }
  }
}
