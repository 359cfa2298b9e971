// What the programmatic accessors (`sim.state`, `sim.run`, …) return: the records the API would
// return now, as deep copies a test may change freely.
import type { ApiMessage, ApiRun, ApiStep, ApiThread } from './api-types.js';
import { settledNow, type Core } from './core.js';
import { byCreation } from './pagination.js';
import { renderMessage, renderRun, renderStep, renderThread } from './records.js';

/** Everything a thread holds right now, as the API would return it (runs and steps in creation order). */
export interface ThreadRecords {
  thread: ApiThread;
  runs: { run: ApiRun; steps: ApiStep[] }[];
  messages: ApiMessage[];
}

export interface StateSnapshot {
  scenarioSeconds: number;
  epochSeconds: number;
  /** Scenario runs that will be created later (not in `runs` yet). */
  upcomingRuns: number;
  threads: ApiThread[];
  runs: ApiRun[];
  steps: ApiStep[];
}

// The renderers return `unknown` because a scenario may break a record on purpose (see api-types.ts);
// well-formed records have exactly these shapes.
const copy = <T>(record: unknown): T => structuredClone(record) as T;

export function runView(core: Core, threadId: string, runId: string): ApiRun | undefined {
  settledNow(core);
  const run = core.state.findRun(threadId, runId);
  return run === undefined ? undefined : copy<ApiRun>(renderRun(run, core.epoch));
}

/** A run's steps in creation order (the API's `order=asc`). */
export function stepsView(core: Core, runId: string, includeFileSearchContent: boolean): ApiStep[] {
  settledNow(core);
  const run = core.state.runById(runId);
  if (run === undefined) return [];
  return byCreation(run.steps, (s) => core.epoch(s.createdAt)).map((s) => copy<ApiStep>(renderStep(s, core.epoch, { includeFileSearchContent })));
}

export function threadView(core: Core, threadId: string): ThreadRecords | undefined {
  settledNow(core);
  const thread = core.state.thread(threadId);
  if (thread === undefined) return undefined;
  return {
    thread: copy<ApiThread>(renderThread(thread, core.epoch)),
    runs: core.state.visibleRuns(threadId).map((r) => ({ run: copy<ApiRun>(renderRun(r, core.epoch)), steps: stepsView(core, r.id, false) })),
    messages: core.state.messages(threadId).map((m) => copy<ApiMessage>(renderMessage(m, core.epoch))),
  };
}

export function snapshotView(core: Core): StateSnapshot {
  const now = settledNow(core);
  const threads = core.state.allThreads();
  const runs = threads.flatMap((t) => core.state.visibleRuns(t.id));
  return {
    scenarioSeconds: now,
    epochSeconds: core.epoch(now),
    upcomingRuns: core.state.upcomingRunCount(),
    threads: threads.map((t) => copy<ApiThread>(renderThread(t, core.epoch))),
    runs: runs.map((r) => copy<ApiRun>(renderRun(r, core.epoch))),
    steps: runs.flatMap((r) => stepsView(core, r.id, false)),
  };
}

export const threadRecord = (core: Core, threadId: string): ApiThread | undefined => {
  const thread = core.state.thread(threadId);
  return thread === undefined ? undefined : copy<ApiThread>(renderThread(thread, core.epoch));
};
export const runRecord = (core: Core, threadId: string, runId: string): ApiRun => {
  const run = core.state.findRun(threadId, runId);
  if (run === undefined) throw new Error(`no run ${runId} in thread ${threadId}`);
  return copy<ApiRun>(renderRun(run, core.epoch));
};
