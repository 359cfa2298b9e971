/**
 * Streaming grouping: validated records in, in input order; runs out, each as soon as the input is
 * done with it, so that an import holds only what is still open.
 *
 * The rule: a run is complete once its record is terminal with an end time (`settlesRun`) and the
 * input has moved on to a record of another run. Records come in segments (consecutive records of
 * one run); each segment is judged when it ends:
 *
 * - a run already sent: the segment (steps met later, a copy met again) joins the batch being filled
 *   (`run-window.ts`): folded into the run when it is still there, else sent on its own, in the run's
 *   trace. Its spans are the ones it would have had in one piece: a settled run's span depends on no
 *   step, and a step's span only on the step and the run's trace.
 * - a run that is now settled: complete; it goes to the batch with everything held for it.
 * - any other run is held: steps whose run record has not come yet, runs still going when saved,
 *   runs known only by steps, terminal runs without an end time (their span ends at their last step).
 *   Held records are kept encoded (JSON text, about their size in the input), in memory up to
 *   `holdLimitChars` and beyond that, the runs least recently added to first, in a spill file
 *   (`spill.ts`); a held run that becomes settled is read back and sent. What is still held at the end of the input is sent then, by start, then id.
 *
 * For input sorted by run (dumps, `steps list` output, saved streams), each run is sent as soon as
 * the next one starts: memory is one run, one batch, and about 100 bytes per run sent (its id and
 * trace, so that a record met later finds its trace).
 */
import type { Run, RunStep } from '../api/schemas.js';
import { stepContextOf } from '../mapping/run-to-spans.js';
import { runOwnStart, stepOwnStart, UNKNOWN_TIME_SECONDS } from '../mapping/placement.js';
import type { MappingOptions } from '../mapping/types.js';
import type { RecordLocation, RecordSink } from './collect.js';
import { byStartThenId, RunParts, settlesRun } from './run-parts.js';
import { RunWindow, type RunPart, type SentRun } from './run-window.js';
import { decodeRecord, encodeRecord, SpillFile, type Extent, type SpilledRecord } from './spill.js';

export interface RunGrouperOptions {
  /** Spans per batch. */
  maxSpansPerBatch: number;
  /** For counting spans as the mapper will (`unfinishedRunSpans`). */
  mapping: MappingOptions;
  /** Characters of records (JSON text) held in memory for runs not complete yet, before they are spilled to disk. */
  holdLimitChars: number;
  /** Where to create the spill directory; without it, held runs stay in memory whatever their size. */
  spillParentDir?: string;
  /** Each batch of runs (or parts of runs), in the order they are released. */
  onBatch: (parts: RunPart[]) => void;
  /** The spill file could not be created or written: what went wrong. Held runs then stay in memory. */
  onSpillError?: (message: string) => void;
}

export interface GrouperStats {
  /** Runs whose records were held at some point (not complete when their segment ended). */
  runsHeld: number;
  /** Records written to the spill file, and its size. */
  recordsSpilled: number;
  spillBytes: number;
  /** Peak characters of input held in memory. */
  peakHeldChars: number;
}

/**
 * A run held until it is settled or the input ends. Its records are kept encoded, as the spill file
 * holds them (`encodeRecord`: a line of JSON text about the size of the input line), not as objects
 * several times larger: the bound then counts what memory they take, and spilling is a write.
 */
class HeldRun {
  /** Encoded records in memory, in the order read (each version: folded by the import's rule when read back). */
  lines: string[] = [];
  chars = 0;
  readonly extents: Extent[] = [];
  /** Whether the kept version of its run record settles it (undefined: no terminal version yet). */
  private keptSettles: boolean | undefined;
  /** The kept run record's start (by the import's rule), else the earliest step's: for the order of export. */
  private runStart: number | undefined;
  private stepStart = Infinity;
  location: RecordLocation | undefined;

  constructor(readonly runId: string) {}

  get settled(): boolean {
    return this.keptSettles === true;
  }

  get start(): number {
    return this.runStart ?? (Number.isFinite(this.stepStart) ? this.stepStart : UNKNOWN_TIME_SECONDS);
  }

  /** A segment read after everything held so far (in memory or spilled); returns the characters it added. */
  absorb(parts: RunParts): number {
    const run = parts.run;
    const before = this.chars;
    if (run) {
      // Tracks the version `RunParts` keeps (`runReplaces`), without reading the held ones back.
      const settles = settlesRun(run.record);
      const kept = !(this.keptSettles !== undefined && !run.terminal) && !(this.keptSettles === true && !settles);
      if (kept) this.runStart = runOwnStart(run.record) ?? this.runStart;
      if (kept && run.terminal) this.keptSettles = settles;
      this.hold(encodeRecord({ kind: 'run', ...run }));
      if (parts.location) this.location = parts.location;
    }
    for (const kept of parts.steps.values()) {
      this.stepStart = Math.min(this.stepStart, stepOwnStart(kept.record) ?? Infinity);
      this.hold(encodeRecord({ kind: 'step', ...kept }));
    }
    this.location ??= parts.location;
    return this.chars - before;
  }

  private hold(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
  }
}

interface Segment {
  runId: string;
  parts: RunParts;
}

export class RunGrouper implements RecordSink {
  private current: Segment | undefined;
  private readonly held = new Map<string, HeldRun>();
  /** Held runs with records in memory, least recently added to first: the next to spill. */
  private readonly inMemory = new Set<HeldRun>();
  private heldChars = 0;
  private readonly sent = new Map<string, SentRun>();
  private readonly window: RunWindow;
  private spill: SpillFile | undefined;
  private spillFailed = false;
  private readonly counters: GrouperStats = { runsHeld: 0, recordsSpilled: 0, spillBytes: 0, peakHeldChars: 0 };

  constructor(private readonly options: RunGrouperOptions) {
    this.window = new RunWindow(options.maxSpansPerBatch, options.mapping, options.onBatch);
  }

  /** Distinct runs read so far. */
  get runsSeen(): number {
    const current = this.current?.runId;
    return this.sent.size + this.held.size + (current !== undefined && !this.sent.has(current) && !this.held.has(current) ? 1 : 0);
  }

  get stats(): GrouperStats {
    return { ...this.counters, spillBytes: this.spill?.size ?? this.counters.spillBytes };
  }

  run(record: Run, location: RecordLocation): void {
    const segment = this.segmentOf(record.id);
    // A run sent was settled by a terminal version with its end time; a version that is not terminal,
    // or has no end time, loses to it (`runReplaces`).
    if (this.sent.has(record.id) && !settlesRun(record)) return;
    segment.parts.addRun(record, location);
  }

  step(record: RunStep, location: RecordLocation): void {
    this.segmentOf(record.run_id).parts.addStep(record, location);
  }

  /** The end of the input: what is still held goes, by start then id; then the last batch. Closes the spill file. */
  end(): void {
    this.closeSegment();
    const held = [...this.held.values()].sort(byStartThenId);
    this.held.clear();
    this.inMemory.clear();
    this.heldChars = 0;
    try {
      for (const run of held) this.window.add(this.readBack(run), undefined, run.location);
      this.window.flush();
    } finally {
      this.close();
    }
  }

  /**
   * The input has gone quiet (a pipe left open): the run being read is judged now rather than when
   * the next record comes, and the batch being filled goes as it is. Only the requests change: a
   * record of that run met later is one met after its run was sent (or held), the same spans.
   */
  flush(): void {
    this.closeSegment();
    this.window.flush();
  }

  /** Removes the spill file (idempotent; `end` does it too). For a stop before the end. */
  close(): void {
    if (this.spill) this.counters.spillBytes = this.spill.size;
    this.spill?.close();
    this.spill = undefined;
  }

  private segmentOf(runId: string): Segment {
    if (this.current?.runId !== runId) {
      this.closeSegment();
      this.current = { runId, parts: new RunParts(runId) };
    }
    return this.current as Segment;
  }

  private closeSegment(): void {
    const segment = this.current;
    this.current = undefined;
    if (!segment || segment.parts.isEmpty) return;
    const sent = this.sent.get(segment.runId);
    if (sent) return this.window.add(segment.parts, sent);

    let held = this.held.get(segment.runId);
    if (!held && segment.parts.run && settlesRun(segment.parts.run.record)) return this.complete(segment.parts, segment.parts.location);
    if (!held) {
      held = new HeldRun(segment.runId);
      this.held.set(segment.runId, held);
      this.counters.runsHeld++;
    }
    this.heldChars += held.absorb(segment.parts);
    if (held.settled) {
      this.held.delete(held.runId);
      this.inMemory.delete(held);
      this.heldChars -= held.chars;
      return this.complete(this.readBack(held), held.location);
    }
    this.inMemory.delete(held);
    this.inMemory.add(held);
    this.counters.peakHeldChars = Math.max(this.counters.peakHeldChars, this.heldChars);
    if (this.heldChars > this.options.holdLimitChars) this.spillOldest();
  }

  private complete(parts: RunParts, location: RecordLocation | undefined): void {
    const run = (parts.run as NonNullable<RunParts['run']>).record;
    this.sent.set(parts.runId, { ...stepContextOf(run), start: parts.start });
    this.window.add(parts, undefined, location);
  }

  /** Writes held runs to disk, least recently added to first, until half the limit is left. */
  private spillOldest(): void {
    if (this.options.spillParentDir === undefined || this.spillFailed) return;
    for (const held of this.inMemory) {
      if (this.heldChars <= this.options.holdLimitChars / 2) break;
      try {
        this.spill ??= new SpillFile(this.options.spillParentDir);
        held.extents.push(this.spill.write(held.lines));
      } catch (error) {
        // Nothing is lost: what could not be written stays in memory, and so does what comes next.
        this.spillFailed = true;
        this.options.onSpillError?.((error as Error).message);
        return;
      }
      this.counters.recordsSpilled += held.lines.length;
      held.lines = [];
      this.heldChars -= held.chars;
      held.chars = 0;
      this.inMemory.delete(held);
    }
  }

  /** A held run's records, folded by the import's rule: what was spilled, in the order written, then what is in memory (the latest). */
  private readBack(held: HeldRun): RunParts {
    const parts = new RunParts(held.runId);
    const add = (r: SpilledRecord) => (r.kind === 'run' ? parts.addRun(r.record, undefined, r.terminal) : parts.addStep(r.record, undefined, r.terminal));
    if (held.extents.length > 0 && !this.spill) throw new Error(`the records of ${held.runId} were spilled, and the spill file is closed`);
    for (const extent of held.extents) for (const r of (this.spill as SpillFile).read(extent)) add(r);
    for (const line of held.lines) add(decodeRecord(line));
    return parts;
  }
}
