// The store of threads, runs, steps and messages, and the scheduler that plays runs' scripts.
import { WakeUpHeap } from './heap.js';
import { isTerminalRun, type RunConfig, type SimMessage, type SimRun, type SimThread } from './model.js';
import type { EpochOf } from './records.js';
import { applyAction, beginCancel, expireRun, submitOutputs, type MachineContext, type StreamEvent } from './run-machine.js';
import type { CompiledRun } from './script.js';
import type { RecordPatch } from './scenario-schema.js';

export type RunListener = (event: StreamEvent) => void;

export interface NewRun {
  id: string;
  threadId: string;
  createdAt: number;
  config: RunConfig;
  compiled: CompiledRun;
  expiresAfterSeconds: number;
  patch: RecordPatch | undefined;
  stepExpiresAt?: boolean;
}

type Transition = { time: number; kind: 'expire' | 'submit' | 'action' };

export class SimulatorState {
  private readonly threads = new Map<string, SimThread>();
  private readonly runs = new Map<string, SimRun>();
  private readonly runsByThread = new Map<string, SimRun[]>();
  private readonly messagesByThread = new Map<string, SimMessage[]>();
  private readonly listeners = new Map<string, Set<RunListener>>();
  private readonly heap = new WakeUpHeap();
  private seq = 0;

  constructor(readonly epoch: EpochOf) {}

  addThread(thread: SimThread): void {
    this.threads.set(thread.id, thread);
    this.runsByThread.set(thread.id, []);
    this.messagesByThread.set(thread.id, []);
  }

  thread(threadId: string): SimThread | undefined {
    return this.threads.get(threadId);
  }

  allThreads(): SimThread[] {
    return [...this.threads.values()];
  }

  addMessage(message: SimMessage): void {
    this.messagesByThread.get(message.threadId)?.push(message);
  }

  messages(threadId: string): SimMessage[] {
    return this.messagesByThread.get(threadId) ?? [];
  }

  /** Runs of a thread that exist by now, in creation order. */
  visibleRuns(threadId: string): SimRun[] {
    return (this.runsByThread.get(threadId) ?? []).filter((r) => r.visible);
  }

  /** A visible run, only if it belongs to that thread (the API answers 404 otherwise). */
  findRun(threadId: string, runId: string): SimRun | undefined {
    const run = this.runs.get(runId);
    return run !== undefined && run.visible && run.threadId === threadId ? run : undefined;
  }

  runById(runId: string): SimRun | undefined {
    const run = this.runs.get(runId);
    return run?.visible === true ? run : undefined;
  }

  /** Scenario runs whose scripted creation time has not come yet. */
  upcomingRunCount(): number {
    let count = 0;
    for (const run of this.runs.values()) if (!run.visible) count += 1;
    return count;
  }

  activeRun(threadId: string): SimRun | undefined {
    return this.visibleRuns(threadId).find((r) => !isTerminalRun(r.status));
  }

  addRun(spec: NewRun): SimRun {
    if (!this.threads.has(spec.threadId)) throw new Error(`no thread ${spec.threadId}`);
    if (this.runs.has(spec.id)) throw new Error(`duplicate run id ${spec.id}`);
    const run: SimRun = {
      id: spec.id,
      threadId: spec.threadId,
      seq: this.seq++,
      visible: false,
      createdAt: spec.createdAt,
      config: spec.config,
      status: 'queued',
      startedAt: null,
      expiresAt: spec.createdAt + spec.expiresAfterSeconds,
      cancelledAt: null,
      failedAt: null,
      completedAt: null,
      lastError: null,
      incompleteReason: null,
      steps: [],
      patch: spec.patch,
      stepExpiresAt: spec.stepExpiresAt ?? false,
      program: spec.compiled.program,
      cursor: 0,
      activeOrigin: spec.createdAt,
      lastAt: spec.createdAt,
      waiting: null,
      version: 0,
    };
    this.runs.set(run.id, run);
    this.runsByThread.get(run.threadId)?.push(run);
    this.schedule(run);
    return run;
  }

  /** Registers a stream reader; call before the change whose events it must see. */
  subscribe(runId: string, listener: RunListener): () => void {
    let set = this.listeners.get(runId);
    if (set === undefined) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  /** Applies, in time order, every transition due at or before `now`. */
  settle(now: number): void {
    for (let top = this.heap.peek(); top !== undefined && top.time <= now; top = this.heap.peek()) {
      this.heap.pop();
      const run = this.runs.get(top.runId);
      if (run === undefined || run.version !== top.version) continue;
      this.fire(run, top.time);
    }
  }

  submit(run: SimRun, outputs: ReadonlyMap<string, string>, t: number): void {
    submitOutputs(run, outputs, t, this.context(run));
    run.lastAt = t;
    this.schedule(run);
  }

  cancel(run: SimRun, t: number): void {
    beginCancel(run, t, this.context(run));
    run.lastAt = t;
    this.schedule(run);
  }

  /**
   * When the next transition that happens by itself is due, or null if none is left. A run waiting
   * for a client's tool outputs does not count (its only event would be expiring).
   */
  nextSelfDrivenTime(): number | null {
    let best: number | null = null;
    for (const entry of this.heap.entries()) {
      const run = this.runs.get(entry.runId);
      if (run === undefined || run.version !== entry.version || run.waiting?.by === 'client') continue;
      if (best === null || entry.time < best) best = entry.time;
    }
    return best;
  }

  /** When anything (including a waiting run's expiry) is next due; drives the real clock's timer. */
  nextWakeTime(): number | null {
    for (let top = this.heap.peek(); top !== undefined; top = this.heap.peek()) {
      if (this.runs.get(top.runId)?.version === top.version) return top.time;
      this.heap.pop(); // stale
    }
    return null;
  }

  private nextTransition(run: SimRun): Transition | null {
    if (run.visible && isTerminalRun(run.status)) return null;
    let next: Transition | null = null;
    if (run.waiting !== null) {
      if (run.waiting.submitAt !== null) next = { time: run.waiting.submitAt, kind: 'submit' };
    } else {
      const action = run.program[run.cursor];
      if (action !== undefined) next = { time: Math.max(run.activeOrigin + action.at, run.lastAt), kind: 'action' };
    }
    if (run.visible && (next === null || run.expiresAt <= next.time)) next = { time: run.expiresAt, kind: 'expire' };
    return next;
  }

  private schedule(run: SimRun): void {
    run.version += 1;
    const next = this.nextTransition(run);
    if (next !== null) this.heap.push({ time: next.time, tie: run.seq, runId: run.id, version: run.version });
  }

  private fire(run: SimRun, t: number): void {
    const next = this.nextTransition(run);
    if (next !== null && next.time <= t) {
      const ctx = this.context(run);
      if (next.kind === 'expire') expireRun(run, t, ctx);
      else if (next.kind === 'submit') submitOutputs(run, new Map(), t, ctx);
      else {
        const action = run.program[run.cursor++];
        if (action !== undefined) applyAction(run, action, t, ctx);
      }
      run.lastAt = t;
    }
    this.schedule(run);
  }

  private context(run: SimRun): MachineContext {
    const listeners = this.listeners.get(run.id);
    return {
      epoch: this.epoch,
      emit: listeners === undefined ? null : (event) => [...listeners].forEach((l) => l(event)),
      addMessage: (m) => this.addMessage(m),
      findMessage: (threadId, id) => this.messages(threadId).find((m) => m.id === id),
    };
  }
}
