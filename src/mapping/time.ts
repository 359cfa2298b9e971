/**
 * Span bounds from the API's timestamps. The span opens at `created_at` and closes at the earliest
 * end timestamp. Data quirks are clamped, never dropped, and named so a user can see why a span
 * looks the way it does (`assistants.quirks`).
 *
 * Validated records already hold seconds in the plausible range (`api/timestamps.ts`); every value
 * is read again here by the same rules, which changes nothing for them and gives records built by
 * hand (library users calling `mapRunToSpans` directly) the same treatment. Whatever reaches
 * `toHrTime` is therefore a time OTLP can carry: never a wrapped or overflowing nanosecond count.
 */
import { endTimestamps, type EndTimestamps } from '../api/lifecycle.js';
import { isPlainSeconds, LATEST_PLAUSIBLE_SECONDS, readTimestamp } from '../api/timestamps.js';
import { QUIRK_START_MISSING } from '../api/validate-parts.js';
import { MappingError } from './errors.js';
import type { HrTime } from './types.js';

export const QUIRK_END_MISSING = 'end_time_missing';
export const QUIRK_END_BEFORE_START = 'end_before_start';
export const QUIRK_CONFLICTING_ENDS = 'conflicting_end_times';
export { QUIRK_START_MISSING };

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

/**
 * @param fallbackEnd used when a finished record has no end timestamp at all (an `incomplete` run,
 *   say): the latest end among its children, or else the start itself.
 * @throws MappingError when the record has no usable timestamp at all (validation rejects those;
 *   only a hand-built record can get here).
 */
export function boundsOf(createdAt: unknown, record: EndTimestamps, fallbackEnd?: number, recordId = ''): Bounds {
  const quirks: string[] = [];
  const ends: number[] = [];
  for (const t of endTimestamps(record)) {
    const seconds = secondsOf(t, quirks);
    if (seconds !== undefined) ends.push(seconds);
  }
  let start = secondsOf(createdAt, quirks);
  if (start === undefined) {
    if (ends.length === 0) throw new MappingError(`${recordId || 'a record'} has no usable timestamp (created_at: ${String(createdAt)})`, recordId);
    start = Math.min(...ends);
    quirks.push(QUIRK_START_MISSING);
  }
  let end: number;
  if (ends.length === 0) {
    quirks.push(QUIRK_END_MISSING);
    end = fallbackEnd ?? start;
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
