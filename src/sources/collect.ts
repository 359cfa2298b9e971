/**
 * From raw JSON values (with where each came from) to validated runs grouped with their steps.
 *
 * Input may hold runs, steps, list envelopes of either, and saved stream events, in any order and
 * mix. One bad record is reported with its location and reason and never stops the others. When a
 * record appears twice (saved at different times), the terminal version wins, then the later one.
 */
import { isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import type { Run, RunStep } from '../api/schemas.js';
import {
  describeValue,
  isPlainObject,
  recordKind,
  validateListEnvelope,
  validateRun,
  validateRunStep,
  type Issue,
} from '../api/validate.js';
import { runStartOf, UNKNOWN_TIME_SECONDS } from '../mapping/placement.js';
import type { RunRecord } from '../mapping/types.js';
import { shortJsonMessage } from './json-text.js';

/** Where a record came from: a file (or `-`), a line for JSONL, a JSON path inside the value. */
export interface RecordLocation {
  source: string;
  line?: number;
  /** e.g. `$.data[3]`; `$` is the whole value. */
  pointer?: string;
}

export function formatLocation(location: RecordLocation): string {
  const where = location.line !== undefined ? `${location.source}:${location.line}` : location.source;
  return location.pointer && location.pointer !== '$' ? `${where} ${location.pointer}` : where;
}

export interface LocatedValue {
  value: unknown;
  location: RecordLocation;
}

export interface Rejection {
  location: RecordLocation;
  /** The record's id, when it had one. */
  id?: string;
  issues: Issue[];
}

export interface RecordWarning {
  location: RecordLocation;
  id: string;
  issues: Issue[];
}

export interface Collected {
  runs: RunRecord[];
  rejected: Rejection[];
  warnings: RecordWarning[];
  /** Records of other kinds (messages, threads, stream events other than run/step ones): skipped, counted by kind. */
  ignored: Record<string, number>;
  /** Where each run was read: its run record's location, or its first step's, for reports about the run. */
  runLocations: Map<string, RecordLocation>;
}

interface Kept<T> {
  record: T;
  terminal: boolean;
  location: RecordLocation;
}

function keep<T>(map: Map<string, Kept<T>>, id: string, record: T, terminal: boolean, location: RecordLocation): void {
  const existing = map.get(id);
  if (existing?.terminal && !terminal) return;
  map.set(id, { record, terminal, location });
}

/**
 * Lists and events hold records, and may in principle hold lists and events. Real saves nest at
 * most once (an event holding a record, a list of records); past this, the value is rejected rather
 * than followed, so a hostile file cannot recurse the reader off the stack.
 */
const MAX_CONTAINER_NESTING = 4;

function child(location: RecordLocation, suffix: string): RecordLocation {
  return { ...location, pointer: `${location.pointer ?? '$'}${suffix}` };
}

export class RecordCollector {
  private readonly runs = new Map<string, Kept<Run>>();
  private readonly steps = new Map<string, Kept<RunStep>>();
  private readonly rejected: Rejection[] = [];
  private readonly warnings: RecordWarning[] = [];
  /** A Map, so that a kind named `constructor` or `__proto__` is counted like any other. */
  private readonly ignored = new Map<string, number>();
  private seen = 0;

  /** Values added so far (records, envelopes, unreadable input), to tell an empty input from a quiet one. */
  get valuesSeen(): number {
    return this.seen;
  }

  add(value: unknown, location: RecordLocation): void {
    this.seen++;
    this.addNested(value, location, 0);
  }

  private addNested(value: unknown, location: RecordLocation, nesting: number): void {
    const kind = recordKind(value);
    if ((kind === 'list' || kind === 'event') && nesting >= MAX_CONTAINER_NESTING) {
      return this.reject(value, location, [{ path: '', message: `a ${kind === 'list' ? 'list envelope' : 'stream event'} nested more than ${MAX_CONTAINER_NESTING} levels inside lists or events` }]);
    }
    switch (kind) {
      case 'run': {
        const result = validateRun(value);
        if (!result.ok) return this.reject(value, location, result.issues);
        this.warn(result.value.id, location, result.warnings);
        keep(this.runs, result.value.id, result.value, isRunTerminal(result.value), location);
        return;
      }
      case 'step': {
        const result = validateRunStep(value);
        if (!result.ok) return this.reject(value, location, result.issues);
        this.warn(result.value.id, location, result.warnings);
        keep(this.steps, result.value.id, result.value, isStepTerminal(result.value), location);
        return;
      }
      case 'list': {
        const result = validateListEnvelope(value);
        if (!result.ok) return this.reject(value, location, result.issues);
        result.value.data.forEach((item, index) => this.addNested(item, child(location, `.data[${index}]`), nesting + 1));
        return;
      }
      case 'event': {
        const { event, data } = value as { event: string; data: unknown };
        return this.addEventNested(event, data, child(location, '.data'), nesting + 1);
      }
      case 'other':
        return this.skip(String((value as { object: unknown }).object));
      case 'unknown': {
        const message = isPlainObject(value)
          ? 'cannot tell whether this is a run or a run step: no "object" field, no "run_id"'
          : `expected a run or run step object, got ${describeValue(value)}`;
        return this.reject(value, location, [{ path: '', message }]);
      }
    }
  }

  /**
   * A stream event, saved as `{event, data}` or read from a raw capture: `data` as an object or as
   * the JSON text of the SSE `data:` line. Only run and run-step events carry records we export;
   * `done` (`data: [DONE]`), `error`, message and delta events are skipped and counted. An event
   * without a name (`message`, the SSE default) holds a record that names its own kind.
   */
  addEvent(event: string, data: unknown, location: RecordLocation): void {
    this.seen++;
    this.addEventNested(event, data, location, 0);
  }

  private addEventNested(event: string, data: unknown, location: RecordLocation, nesting: number): void {
    if (data === '[DONE]') return this.skip('event done');
    const unnamed = event === 'message';
    if (!unnamed && (!/^thread\.run\./.test(event) || event === 'thread.run.step.delta')) return this.skip(`event ${event}`);
    let record = data;
    if (typeof data === 'string') {
      try {
        record = JSON.parse(data);
      } catch (error) {
        return this.reject(undefined, location, [{ path: '', message: `the event's data is not valid JSON: ${shortJsonMessage(error as Error)}` }]);
      }
    }
    if (unnamed && recordKind(record) === 'event') return this.skip('event message');
    return this.addNested(record, location, nesting);
  }

  private skip(kind: string): void {
    const name = kind === '' ? '(empty object field)' : kind;
    this.ignored.set(name, (this.ignored.get(name) ?? 0) + 1);
  }

  /** Input that could not even be parsed (a bad JSONL line, an unreadable file). */
  addUnreadable(location: RecordLocation, message: string): void {
    this.seen++;
    this.rejected.push({ location, issues: [{ path: '', message }] });
  }

  private reject(value: unknown, location: RecordLocation, issues: Issue[]): void {
    const id = isPlainObject(value) && typeof value['id'] === 'string' && value['id'] ? value['id'] : undefined;
    this.rejected.push({ location, issues, ...(id ? { id } : {}) });
  }

  private warn(id: string, location: RecordLocation, issues: Issue[]): void {
    if (issues.length > 0) this.warnings.push({ id, location, issues });
  }

  /** Runs in a stable order (by creation time, then id), each with its steps. */
  result(): Collected {
    const byRun = new Map<string, RunRecord>();
    const runLocations = new Map<string, RecordLocation>();
    for (const { record, location } of this.runs.values()) {
      byRun.set(record.id, { runId: record.id, run: record, steps: [] });
      runLocations.set(record.id, location);
    }
    for (const { record, location } of this.steps.values()) {
      let entry = byRun.get(record.run_id);
      if (!entry) {
        entry = { runId: record.run_id, steps: [] };
        byRun.set(record.run_id, entry);
      }
      if (!runLocations.has(record.run_id)) runLocations.set(record.run_id, location);
      entry.steps.push(record);
    }
    // Where each run span is placed; a run with no usable time at all sits at the placeholder instant.
    const starts = new Map([...byRun.values()].map((r) => [r.runId, runStartOf(r) ?? UNKNOWN_TIME_SECONDS]));
    const startOf = (r: RunRecord) => starts.get(r.runId) ?? UNKNOWN_TIME_SECONDS;
    const runs = [...byRun.values()].sort((a, b) => startOf(a) - startOf(b) || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    return { runs, rejected: this.rejected, warnings: this.warnings, ignored: Object.fromEntries(this.ignored), runLocations };
  }
}

/** Validates and groups values already in memory; a value's location is its position. */
export function collectRecords(values: Iterable<unknown>, source = 'input'): Collected {
  const collector = new RecordCollector();
  let index = 0;
  for (const value of values) collector.add(value, { source, pointer: `$[${index++}]` });
  return collector.result();
}
