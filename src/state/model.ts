/**
 * The state both stores hold, and the one way it changes: a mutation becomes a `StateOp`, and
 * `applyOp` applies it. The memory store applies ops; the file store applies them and journals them.
 * Sharing this is what makes the two stores behave the same.
 *
 * Every op is idempotent (applying it twice in a row equals applying it once): the file store may
 * replay journal lines that a snapshot already contains. That is why `addSetAside` is journalled as
 * the new total (`setAside`) rather than as an increment.
 *
 * Values are checked here, at the boundary, both when a caller passes them and when they are read
 * back from disk: a `NaN` would be written as `null` and make the state file unreadable.
 */
import type { StateSnapshot, WatchedRun, WatchedThread } from './store.js';

export type StateOp =
  | { op: 'putThread'; thread: WatchedThread }
  | { op: 'removeThread'; threadId: string }
  | { op: 'putRun'; run: WatchedRun }
  | { op: 'markStepsExported'; runId: string; stepIds: string[] }
  | { op: 'markRunDone'; runId: string; at: number }
  | { op: 'removeRun'; runId: string }
  | { op: 'pruneDone'; before: number }
  /** The new total of set-aside spans (absolute, so replaying it is harmless). */
  | { op: 'setAside'; total: number };

/** The live state: maps keep insertion order, so a snapshot lists entries in the order first put. */
export interface StateModel {
  threads: Map<string, WatchedThread>;
  runs: Map<string, WatchedRun>;
  done: Map<string, number>;
  setAsideSpans: number;
}

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isIdList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isId);
}

/** A fresh copy holding only the known fields, or undefined when a field is missing or mistyped. */
export function parseThread(value: unknown): WatchedThread | undefined {
  if (!isObject(value) || !isId(value.threadId) || !isTime(value.since) || !isTime(value.lastActivityAt)) return undefined;
  const thread: WatchedThread = { threadId: value.threadId, since: value.since, lastActivityAt: value.lastActivityAt };
  if (value.cursor !== undefined) {
    if (!isId(value.cursor)) return undefined;
    thread.cursor = value.cursor;
  }
  // Absent from state written before it existed: the next listing that shows the cursor run fills it.
  if (value.cursorCreatedAt !== undefined) {
    if (!isTime(value.cursorCreatedAt)) return undefined;
    thread.cursorCreatedAt = value.cursorCreatedAt;
  }
  return thread;
}

/** A fresh copy holding only the known fields, or undefined when a field is missing or mistyped. */
export function parseRun(value: unknown): WatchedRun | undefined {
  if (!isObject(value) || !isId(value.threadId) || !isId(value.runId) || !isIdList(value.exportedStepIds)) return undefined;
  const run: WatchedRun = { threadId: value.threadId, runId: value.runId, exportedStepIds: [...value.exportedStepIds] };
  if (value.traceparent === undefined) return run;
  return typeof value.traceparent === 'string' ? { ...run, traceparent: value.traceparent } : undefined;
}

/** Checks an op read back from disk. */
export function parseOp(value: Fields): StateOp | undefined {
  switch (value.op) {
    case 'putThread': {
      const thread = parseThread(value.thread);
      return thread && { op: 'putThread', thread };
    }
    case 'removeThread':
      return isId(value.threadId) ? { op: 'removeThread', threadId: value.threadId } : undefined;
    case 'putRun': {
      const run = parseRun(value.run);
      return run && { op: 'putRun', run };
    }
    case 'markStepsExported':
      return isId(value.runId) && isIdList(value.stepIds) ? { op: 'markStepsExported', runId: value.runId, stepIds: [...value.stepIds] } : undefined;
    case 'markRunDone':
      return isId(value.runId) && isTime(value.at) ? { op: 'markRunDone', runId: value.runId, at: value.at } : undefined;
    case 'removeRun':
      return isId(value.runId) ? { op: 'removeRun', runId: value.runId } : undefined;
    case 'pruneDone':
      return isTime(value.before) ? { op: 'pruneDone', before: value.before } : undefined;
    case 'setAside':
      return isCount(value.total) ? { op: 'setAside', total: value.total } : undefined;
    default:
      return undefined;
  }
}

/** The op behind each `StateStore` mutation; throws a `TypeError` naming the bad argument. */
export const ops = {
  putThread(thread: WatchedThread): StateOp {
    const parsed = parseThread(thread);
    if (!parsed) throw new TypeError(`putThread: not a valid WatchedThread: ${JSON.stringify(thread)}`);
    return { op: 'putThread', thread: parsed };
  },
  removeThread(threadId: string): StateOp {
    if (!isId(threadId)) throw new TypeError(`removeThread: not a thread id: ${JSON.stringify(threadId)}`);
    return { op: 'removeThread', threadId };
  },
  putRun(run: WatchedRun): StateOp {
    const parsed = parseRun(run);
    if (!parsed) throw new TypeError(`putRun: not a valid WatchedRun: ${JSON.stringify(run)}`);
    return { op: 'putRun', run: parsed };
  },
  markStepsExported(runId: string, stepIds: readonly string[]): StateOp {
    if (!isId(runId) || !isIdList(stepIds)) throw new TypeError(`markStepsExported: not a run id and step ids: ${JSON.stringify([runId, stepIds])}`);
    return { op: 'markStepsExported', runId, stepIds: [...stepIds] };
  },
  markRunDone(runId: string, at: number): StateOp {
    if (!isId(runId) || !isTime(at)) throw new TypeError(`markRunDone: not a run id and a time: ${JSON.stringify([runId, at])}`);
    return { op: 'markRunDone', runId, at };
  },
  removeRun(runId: string): StateOp {
    if (!isId(runId)) throw new TypeError(`removeRun: not a run id: ${JSON.stringify(runId)}`);
    return { op: 'removeRun', runId };
  },
  pruneDone(before: number): StateOp {
    if (!isTime(before)) throw new TypeError(`pruneDone: not a time: ${String(before)}`);
    return { op: 'pruneDone', before };
  },
  addSetAside(model: StateModel, spans: number): StateOp {
    if (!isCount(spans)) throw new TypeError(`addSetAside: not a span count: ${String(spans)}`);
    const total = model.setAsideSpans + spans;
    if (!isCount(total)) throw new RangeError(`addSetAside: the total ${total} is not a safe integer`);
    return { op: 'setAside', total };
  },
};

export function emptyModel(): StateModel {
  return { threads: new Map(), runs: new Map(), done: new Map(), setAsideSpans: 0 };
}

export function applyOp(model: StateModel, op: StateOp): void {
  switch (op.op) {
    case 'putThread':
      // A copy: the op may still be referenced (queued for the journal) and the model's objects change.
      model.threads.set(op.thread.threadId, { ...op.thread });
      return;
    case 'removeThread':
      model.threads.delete(op.threadId);
      return;
    case 'putRun':
      model.runs.set(op.run.runId, { ...op.run, exportedStepIds: [...op.run.exportedStepIds] });
      return;
    case 'markStepsExported': {
      // A run removed or done meanwhile (DELETE /v1/watch during an export) has nothing left to mark.
      const run = model.runs.get(op.runId);
      if (!run) return;
      for (const id of op.stepIds) if (!run.exportedStepIds.includes(id)) run.exportedStepIds.push(id);
      return;
    }
    case 'markRunDone':
      model.runs.delete(op.runId);
      model.done.set(op.runId, op.at);
      return;
    case 'removeRun':
      model.runs.delete(op.runId);
      return;
    case 'pruneDone':
      for (const [runId, at] of model.done) if (at < op.before) model.done.delete(runId);
      return;
    case 'setAside':
      model.setAsideSpans = op.total;
      return;
    default: {
      const unknown: never = op;
      throw new Error(`unknown state op ${JSON.stringify(unknown)}`);
    }
  }
}

/** A deep copy the caller may change freely. */
export function toSnapshot(model: StateModel): StateSnapshot {
  return {
    threads: [...model.threads.values()].map((thread) => ({ ...thread })),
    runs: [...model.runs.values()].map((run) => ({ ...run, exportedStepIds: [...run.exportedStepIds] })),
    // fromEntries defines own properties, so a run id such as "__proto__" stays an entry.
    done: Object.fromEntries(model.done),
    setAsideSpans: model.setAsideSpans,
  };
}

/** The model for a snapshot, or a message saying what is wrong with it. */
export function modelFromSnapshot(value: unknown): StateModel | string {
  if (!isObject(value)) return 'not an object';
  const { threads, runs, done, setAsideSpans } = value;
  if (!Array.isArray(threads) || !Array.isArray(runs) || !isObject(done) || !isCount(setAsideSpans)) {
    return 'missing or mistyped threads, runs, done or setAsideSpans';
  }
  const model = emptyModel();
  model.setAsideSpans = setAsideSpans;
  for (const [index, item] of threads.entries()) {
    const thread = parseThread(item);
    if (!thread) return `threads[${index}] is not a valid thread`;
    model.threads.set(thread.threadId, thread);
  }
  for (const [index, item] of runs.entries()) {
    const run = parseRun(item);
    if (!run) return `runs[${index}] is not a valid run`;
    model.runs.set(run.runId, run);
  }
  for (const [runId, at] of Object.entries(done)) {
    if (!isTime(at)) return `done[${JSON.stringify(runId)}] is not a time`;
    model.done.set(runId, at);
  }
  return model;
}
