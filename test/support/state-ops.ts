/**
 * Store calls as data, a seeded generator of call sequences, and a reference model of what the state
 * must be after them, written independently of src/state so the stores are checked against the
 * interface's meaning, not against their own shared code. Used by the unit suites and the crash test.
 */
import type { StateSnapshot, StateStore, WatchedRun, WatchedThread } from '../../src/state/store.js';

export type StoreCall =
  | { method: 'putThread'; args: [WatchedThread] }
  | { method: 'removeThread'; args: [string] }
  | { method: 'putRun'; args: [WatchedRun] }
  | { method: 'markStepsExported'; args: [string, string[]] }
  | { method: 'markRunDone'; args: [string, number] }
  | { method: 'removeRun'; args: [string] }
  | { method: 'pruneDone'; args: [number] }
  | { method: 'addSetAside'; args: [number] };

export function callStore(store: StateStore, call: StoreCall): Promise<void> {
  switch (call.method) {
    case 'putThread':
      return store.putThread(...call.args);
    case 'removeThread':
      return store.removeThread(...call.args);
    case 'putRun':
      return store.putRun(...call.args);
    case 'markStepsExported':
      return store.markStepsExported(...call.args);
    case 'markRunDone':
      return store.markRunDone(...call.args);
    case 'removeRun':
      return store.removeRun(...call.args);
    case 'pruneDone':
      return store.pruneDone(...call.args);
    case 'addSetAside':
      return store.addSetAside(...call.args);
  }
}

/** What the interface's comments say each call does, with arrays instead of maps. */
export class ReferenceState {
  private threads: WatchedThread[] = [];
  private runs: WatchedRun[] = [];
  private done = new Map<string, number>();
  private setAsideSpans = 0;

  apply(call: StoreCall): void {
    switch (call.method) {
      case 'putThread': {
        const [thread] = call.args;
        const index = this.threads.findIndex((t) => t.threadId === thread.threadId);
        if (index >= 0) this.threads[index] = { ...thread };
        else this.threads.push({ ...thread });
        return;
      }
      case 'removeThread':
        this.threads = this.threads.filter((t) => t.threadId !== call.args[0]);
        return;
      case 'putRun': {
        const [run] = call.args;
        const copy = { ...run, exportedStepIds: [...run.exportedStepIds] };
        const index = this.runs.findIndex((r) => r.runId === run.runId);
        if (index >= 0) this.runs[index] = copy;
        else this.runs.push(copy);
        return;
      }
      case 'markStepsExported': {
        const run = this.runs.find((r) => r.runId === call.args[0]);
        for (const id of call.args[1]) if (run && !run.exportedStepIds.includes(id)) run.exportedStepIds.push(id);
        return;
      }
      case 'markRunDone':
        this.runs = this.runs.filter((r) => r.runId !== call.args[0]);
        this.done.set(call.args[0], call.args[1]);
        return;
      case 'removeRun':
        this.runs = this.runs.filter((r) => r.runId !== call.args[0]);
        return;
      case 'pruneDone':
        this.done = new Map([...this.done].filter(([, at]) => at >= call.args[0]));
        return;
      case 'addSetAside':
        this.setAsideSpans += call.args[0];
        return;
    }
  }

  snapshot(): StateSnapshot {
    return {
      threads: this.threads.map((t) => ({ ...t })),
      runs: this.runs.map((r) => ({ ...r, exportedStepIds: [...r.exportedStepIds] })),
      done: Object.fromEntries(this.done),
      setAsideSpans: this.setAsideSpans,
    };
  }
}

export function referenceSnapshot(calls: readonly StoreCall[]): StateSnapshot {
  const reference = new ReferenceState();
  for (const call of calls) reference.apply(call);
  return reference.snapshot();
}

/** One string per state, for comparing many states quickly (the order of `done` keys does not matter). */
export function canonicalState(snapshot: StateSnapshot): string {
  const done = Object.entries(snapshot.done).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ ...snapshot, done });
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic but bounded mix of every call: runs appear, export steps, finish or are removed; done
 * entries are pruned; threads move their cursor. Timestamps are call indexes. Some ids hold quotes,
 * a newline and non-ASCII text (the journal must keep one line per op), and some calls name runs
 * that are not watched.
 */
export function randomCalls(seed: number, count: number, maxActiveRuns = 30): StoreCall[] {
  const random = seededRandom(seed);
  const below = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[below(items.length)] as T;
  const threadIds = ['thread_0', 'thread_1', 'thread_2', 'thread_3', 'thread_4', 'thread_"odd"\nnew-line ü'];
  const stepIds = (n: number) => Array.from({ length: n }, () => `step_${below(6)}`);
  const active: WatchedRun[] = [];
  let nextRun = 0;
  const calls: StoreCall[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.1) {
      const thread: WatchedThread = { threadId: pick(threadIds), since: i, lastActivityAt: 1_700_000_000_000 + i };
      const cursor = random() < 0.6 ? { cursor: `run_${nextRun}`, ...(random() < 0.7 ? { cursorCreatedAt: 1_767_225_600 + i } : {}) } : {};
      calls.push({ method: 'putThread', args: [{ ...thread, ...cursor }] });
    } else if (roll < 0.13) {
      calls.push({ method: 'removeThread', args: [random() < 0.8 ? pick(threadIds) : 'thread_unknown'] });
    } else if (active.length === 0 || (roll < 0.35 && active.length < maxActiveRuns)) {
      const runId = nextRun % 97 === 5 ? `run_${nextRun++}_"ü"\n` : `run_${nextRun++}`;
      const run: WatchedRun = { threadId: pick(threadIds), runId, exportedStepIds: [] };
      if (random() < 0.3) run.traceparent = `00-${i.toString(16).padStart(32, '0')}-${'1'.repeat(16)}-01`;
      active.push(run);
      calls.push({ method: 'putRun', args: [run] });
    } else if (roll < 0.45) {
      const run = pick(active);
      calls.push({ method: 'putRun', args: [{ ...run, exportedStepIds: stepIds(below(3)) }] }); // replaces, steps included
    } else if (roll < 0.65) {
      calls.push({ method: 'markStepsExported', args: [random() < 0.9 ? pick(active).runId : 'run_not_watched', stepIds(1 + below(3))] });
    } else if (roll < 0.78) {
      const [run] = active.splice(below(active.length), 1);
      calls.push({ method: 'markRunDone', args: [run?.runId ?? 'run_none', i] });
    } else if (roll < 0.84) {
      const [run] = active.splice(below(active.length), 1);
      calls.push({ method: 'removeRun', args: [run?.runId ?? 'run_none'] });
    } else if (roll < 0.9) {
      calls.push({ method: 'pruneDone', args: [i - 150] });
    } else {
      calls.push({ method: 'addSetAside', args: [below(5)] });
    }
  }
  return calls;
}
