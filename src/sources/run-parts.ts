/**
 * The records of one run seen so far, deduplicated by the import's rule: when a record appears twice
 * (saved at different times), the terminal version wins (for a run, one with its end time over one
 * without), then the later one. Shared by the in-memory
 * collector and the streaming grouper, so that both keep the same version of every record.
 */
import { endTimestamps, isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import type { Run, RunStep } from '../api/schemas.js';
import { runOwnStart, stepOwnStart, UNKNOWN_TIME_SECONDS } from '../mapping/placement.js';
import type { RunRecord } from '../mapping/types.js';
import type { RecordLocation } from './collect.js';

export interface Kept<T> {
  record: T;
  terminal: boolean;
}

/** Whether `incoming` replaces `existing`: not when it would replace a terminal version with one that is not. */
export function replaces(existing: Kept<unknown> | undefined, incomingTerminal: boolean): boolean {
  return !(existing?.terminal && !incomingTerminal);
}

/**
 * For run records, one more rule before the later one wins: a terminal version with its end time
 * (`settlesRun`) is not replaced by a terminal version without one (an `incomplete` save of a run
 * saved `completed` elsewhere). The one without says less; and a streaming import, which sends a run
 * as soon as a version with its end time is read, could not map the other one any more: its span
 * ends at the run's last step, and the steps read before are gone.
 */
export function runReplaces(existing: Kept<Run> | undefined, incoming: Run, incomingTerminal: boolean): boolean {
  if (!replaces(existing, incomingTerminal)) return false;
  return !(existing?.terminal && settlesRun(existing.record) && !settlesRun(incoming));
}

export class RunParts {
  run: Kept<Run> | undefined;
  readonly steps = new Map<string, Kept<RunStep>>();
  /** Where the run was read: its kept run record's location, else its first step's. */
  private runLocation: RecordLocation | undefined;
  private firstStepLocation: RecordLocation | undefined;

  constructor(readonly runId: string) {}

  get location(): RecordLocation | undefined {
    return this.runLocation ?? this.firstStepLocation;
  }

  get isEmpty(): boolean {
    return this.run === undefined && this.steps.size === 0;
  }

  /** Returns whether the record was kept (`runReplaces`). */
  addRun(record: Run, location?: RecordLocation, terminal = isRunTerminal(record)): boolean {
    if (!runReplaces(this.run, record, terminal)) return false;
    this.run = { record, terminal };
    if (location) this.runLocation = location;
    return true;
  }

  /** Returns the version it replaced (undefined when new), or `false` when the record was not kept. */
  addStep(record: RunStep, location?: RecordLocation, terminal = isStepTerminal(record)): Kept<RunStep> | undefined | false {
    const existing = this.steps.get(record.id);
    if (!replaces(existing, terminal)) return false;
    this.steps.set(record.id, { record, terminal });
    if (location && this.firstStepLocation === undefined) this.firstStepLocation = location;
    return existing;
  }

  /** Folds in records seen after these ones (so theirs win by the same rule). */
  absorb(later: RunParts): void {
    if (later.run) this.addRun(later.run.record, later.runLocation, later.run.terminal);
    for (const kept of later.steps.values()) this.addStep(kept.record, later.firstStepLocation, kept.terminal);
    this.firstStepLocation ??= later.firstStepLocation;
  }

  /**
   * When the run started, as its spans are placed (`runStartOf`): the run record's own start, else
   * its steps' earliest, else the placeholder instant. The order runs are exported in.
   */
  get start(): number {
    const own = this.run ? runOwnStart(this.run.record) : undefined;
    if (own !== undefined) return own;
    let earliest: number | undefined;
    for (const { record } of this.steps.values()) {
      const start = stepOwnStart(record);
      if (start !== undefined && (earliest === undefined || start < earliest)) earliest = start;
    }
    return earliest ?? UNKNOWN_TIME_SECONDS;
  }

  toRecord(): RunRecord {
    const steps: RunStep[] = [];
    for (const { record } of this.steps.values()) steps.push(record);
    return { runId: this.runId, ...(this.run ? { run: this.run.record } : {}), steps };
  }
}

/**
 * A run record that settles its run: terminal, and closed by its own end time. Then its run span
 * depends on nothing else, and each step's span only on the step and the run's trace, so the run can
 * be sent and a step met later sent on its own with the same spans (a step without a time of its own
 * is placed at the run's own start, which a run with an end time always has). (A terminal run without an end
 * time, an `incomplete` run say, ends at its last step: it is settled only by the end of the input.)
 */
export function settlesRun(run: Run): boolean {
  return isRunTerminal(run) && endTimestamps(run).length > 0;
}

/** Runs in the order they are exported: by start, then id (deterministic whatever the input order). */
export function byStartThenId(a: { start: number; runId: string }, b: { start: number; runId: string }): number {
  return a.start - b.start || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}
