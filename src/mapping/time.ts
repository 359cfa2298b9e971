/**
 * Span bounds from the API's timestamps. The span opens at `created_at` and closes at the earliest
 * end timestamp. Data quirks are clamped, never dropped, and named so a user can see why a span
 * looks the way it does (`assistants.quirks`). A record with no usable time at all goes where
 * `placement.ts` says (by its run), never thrown.
 *
 * Validated records already hold seconds in the plausible range (`api/timestamps.ts`); every value
 * is read again here by the same rules, which changes nothing for them and gives records built by
 * hand (library users calling `mapRunToSpans` directly) the same treatment. Whatever reaches
 * `toHrTime` is therefore a time OTLP can carry: never a wrapped or overflowing nanosecond count.
 */
import { endTimestamps, type EndTimestamps } from '../api/lifecycle.js';
import { isPlainSeconds, LATEST_PLAUSIBLE_SECONDS, readTimestamp } from '../api/timestamps.js';
import { QUIRK_START_MISSING, QUIRK_TIME_UNKNOWN } from '../api/validate-parts.js';
import type { HrTime } from './types.js';

export const QUIRK_END_MISSING = 'end_time_missing';
export const QUIRK_END_BEFORE_START = 'end_before_start';
export const QUIRK_CONFLICTING_ENDS = 'conflicting_end_times';
export { QUIRK_START_MISSING, QUIRK_TIME_UNKNOWN };

/**
 * Seconds (possibly fractional) as `[seconds, nanoseconds]`, to the microsecond: a double holding
 * today's epoch seconds resolves about a quarter of a microsecond, so finer digits are noise (and
 * rounding to whole microseconds makes a millisecond time exact: 1733050000.123 → 123000000 ns).
 * A value outside [0, 2100-01-01) is clamped into it (it cannot come from a validated record; this
 * is the last guard before OTLP's unsigned 64-bit nanoseconds).
 */
export function toHrTime(unixSeconds: number): HrTime {
  const safe = Number.isFinite(unixSeconds) ? Math.min(Math.max(unixSeconds, 0), LATEST_PLAUSIBLE_SECONDS) : 0;
  const seconds = Math.floor(safe);
  const micros = Math.round((safe - seconds) * 1e6);
  return micros >= 1e6 ? [seconds + 1, 0] : [seconds, micros * 1000];
}

export interface Bounds {
  start: number;
  end: number;
  quirks: string[];
}

/** A timestamp read by the rules of `api/timestamps.ts`; its quirks are added to `quirks`. */
export function secondsOf(value: unknown, quirks: string[]): number | undefined {
  if (isPlainSeconds(value)) return value;
  const reading = readTimestamp(value);
  if (reading.kind === 'absent') return undefined;
  quirks.push(...reading.quirks);
  return reading.kind === 'seconds' ? reading.seconds : undefined;
}

/** A record's start by its own timestamps (see `boundsOf`), or undefined when it has none usable. */
export function ownStartOf(createdAt: unknown, record: EndTimestamps, otherStarts: readonly unknown[] = []): number | undefined {
  const start = secondsOf(createdAt, []);
  if (start !== undefined) return start;
  const candidates = [...otherStarts, ...endTimestamps(record)].flatMap((t) => secondsOf(t, []) ?? []);
  return candidates.length > 0 ? Math.min(...candidates) : undefined;
}

/** Where a record with no usable timestamp of its own goes (chosen by `placement.ts`). */
export interface Placement {
  start: number;
  /** @default start */
  end?: number | undefined;
  /** Why there (`time_placeholder`), beside the `time_unknown` every such record gets. */
  quirks: readonly string[];
}

export interface BoundsFallbacks {
  /**
   * Used when a finished record has no end timestamp at all (an `incomplete` run, say): the latest
   * end among its children. Default: the start itself.
   */
  end?: number | undefined;
  /** The record's other starts, tried after `created_at` (a run's `started_at`). */
  otherStarts?: readonly unknown[];
  /** Where the record goes when it has no usable timestamp at all. */
  untimed: Placement;
}

/**
 * A span's bounds. It opens at `createdAt` (else at the earliest of `otherStarts` and the end
 * timestamps: quirk `start_time_missing`) and closes at the earliest end timestamp. A record with
 * no usable timestamp at all goes where `fallbacks.untimed` says (quirk `time_unknown`). Never throws.
 */
export function boundsOf(createdAt: unknown, record: EndTimestamps, fallbacks: BoundsFallbacks): Bounds {
  const quirks: string[] = [];
  const ends: number[] = [];
  for (const t of endTimestamps(record)) {
    const seconds = secondsOf(t, quirks);
    if (seconds !== undefined) ends.push(seconds);
  }
  let start = secondsOf(createdAt, quirks);
  if (start === undefined) {
    const starts = (fallbacks.otherStarts ?? []).flatMap((t) => secondsOf(t, quirks) ?? []);
    if (starts.length === 0 && ends.length === 0) {
      const { untimed } = fallbacks;
      quirks.push(QUIRK_TIME_UNKNOWN, ...untimed.quirks);
      return { start: untimed.start, end: Math.max(untimed.start, untimed.end ?? untimed.start), quirks };
    }
    start = Math.min(...starts, ...ends);
    quirks.push(QUIRK_START_MISSING);
  }
  let end: number;
  if (ends.length === 0) {
    quirks.push(QUIRK_END_MISSING);
    end = fallbacks.end ?? start;
  } else {
    end = Math.min(...ends);
    if (new Set(ends).size > 1) quirks.push(QUIRK_CONFLICTING_ENDS);
  }
  if (end < start) {
    // Seen in generated and hand-edited records; a span may not end before it starts.
    quirks.push(QUIRK_END_BEFORE_START);
    end = start;
  }
  return { start, end, quirks };
}
