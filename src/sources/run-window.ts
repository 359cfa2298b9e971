/**
 * The batch a streaming import is filling: runs it has finished reading, as records, until they make
 * a batch of spans (512 by default). While a run waits here it can still change: a record of it met
 * later (a step in the next file, a second copy) is folded in by the import's rule, so a run that
 * arrives in pieces close together is sent whole, exactly as if it had come in one piece. When the
 * next run does not fit, the batch is released, its runs ordered by start then id (so a batch's
 * bytes do not depend on the order its runs were read in).
 *
 * Counting spans without mapping (`span-count.ts`) keeps mapping to once per run, at release.
 */
import type { RunStep } from '../api/schemas.js';
import type { StepContext } from '../mapping/run-to-spans.js';
import { hasRunSpan, stepSpanCount } from '../mapping/span-count.js';
import type { MappingOptions, RunRecord } from '../mapping/types.js';
import type { RecordLocation } from './collect.js';
import { byStartThenId, type RunParts } from './run-parts.js';

/**
 * What a run sent before needs for a record of it met later: its trace and its own start
 * (`StepContext`, for mapping the record), and its place in the order of export.
 */
export interface SentRun extends StepContext {
  start: number;
}

/** A run, or a later part of one already sent, ready to be mapped and sent. */
export interface RunPart {
  runId: string;
  record: RunRecord;
  /**
   * Set for records of a run already sent: its steps map in that run's trace (`mapStepsToSpans`);
   * a run record among them (a terminal copy met again) is sent again.
   */
  sentBefore?: SentRun;
  location: RecordLocation | undefined;
}

class Entry {
  private readonly stepSpans = new Map<string, number>();
  private stepTotal = 0;
  private terminalSteps = 0;

  constructor(
    readonly parts: RunParts,
    readonly sentBefore: SentRun | undefined,
    readonly location: RecordLocation | undefined,
    private readonly mapping: MappingOptions,
  ) {
    for (const [id, kept] of parts.steps) this.count(id, kept.record);
  }

  get start(): number {
    return this.sentBefore?.start ?? this.parts.start;
  }

  get runId(): string {
    return this.parts.runId;
  }

  get spans(): number {
    const runSpan = this.sentBefore ? this.parts.run !== undefined : hasRunSpan(this.parts.run?.record, this.terminalSteps, this.mapping);
    return (runSpan ? 1 : 0) + this.stepTotal;
  }

  absorb(later: RunParts): void {
    if (later.run) this.parts.addRun(later.run.record, undefined, later.run.terminal);
    for (const [id, kept] of later.steps) {
      if (this.parts.addStep(kept.record, undefined, kept.terminal) !== false) this.count(id, kept.record);
    }
  }

  toPart(): RunPart {
    return { runId: this.runId, record: this.parts.toRecord(), location: this.location, ...(this.sentBefore ? { sentBefore: this.sentBefore } : {}) };
  }

  private count(id: string, step: RunStep): void {
    const before = this.stepSpans.get(id) ?? 0;
    const now = stepSpanCount(step);
    this.stepSpans.set(id, now);
    this.stepTotal += now - before;
    this.terminalSteps += (now > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
  }
}

export class RunWindow {
  private readonly entries = new Map<string, Entry>();
  private size = 0;

  constructor(
    private readonly maxSpans: number,
    private readonly mapping: MappingOptions,
    private readonly release: (parts: RunPart[]) => void,
  ) {}

  has(runId: string): boolean {
    return this.entries.has(runId);
  }

  /** A run (or, with `sentBefore`, records of one already sent); folded into its entry when it has one. */
  add(parts: RunParts, sentBefore?: SentRun, location?: RecordLocation): void {
    const existing = this.entries.get(parts.runId);
    if (existing) {
      const before = existing.spans;
      existing.absorb(parts);
      this.size += existing.spans - before;
      // Grown past the batch: the others go now, as a run that does not fit would make them.
      if (this.size > this.maxSpans && this.entries.size > 1) this.releaseAllBut(existing);
      return;
    }
    const entry = new Entry(parts, sentBefore, location ?? parts.location, this.mapping);
    const spans = entry.spans;
    if (spans === 0 && sentBefore) return; // nothing to send: a copy of what was sent, or steps still going
    if (this.size > 0 && this.size + spans > this.maxSpans) this.releaseAllBut(undefined);
    this.entries.set(entry.runId, entry);
    this.size += spans;
  }

  flush(): void {
    this.releaseAllBut(undefined);
  }

  private releaseAllBut(kept: Entry | undefined): void {
    const out = [...this.entries.values()].filter((e) => e !== kept);
    this.entries.clear();
    this.size = 0;
    if (kept) {
      this.entries.set(kept.runId, kept);
      this.size = kept.spans;
    }
    if (out.length === 0) return;
    out.sort(byStartThenId);
    this.release(out.map((e) => e.toPart()));
  }
}
