/**
 * Formatting numbers and times for people, shared by every command's output (tables, the
 * `--dry-run` tree). Every function takes any value and never throws: a record may hold `1e300`,
 * a negative time, `Infinity` (`1e400` in the JSON text) or a time in milliseconds, and the output
 * must still be printed (a `Date` past ±8.64e15 ms makes `toISOString()` throw).
 */
import { readTimestamp } from '../api/timestamps.js';

/** ISO 8601 of a millisecond count, without `.000`; the number itself when no date can show it. */
export function isoFromMillis(millis: number): string {
  const date = new Date(millis);
  if (!Number.isFinite(millis) || Number.isNaN(date.getTime())) return String(millis);
  return date.toISOString().replace('.000Z', 'Z');
}

/** `[seconds, nanoseconds]` (an OTel `HrTime`) as ISO 8601. */
export function isoFromHrTime(time: readonly [number, number]): string {
  return isoFromMillis(time[0] * 1000 + time[1] / 1e6);
}

/** `end - start` of two `HrTime`s as `12s` or `0.250s`; never throws. */
export function formatDuration(start: readonly [number, number], end: readonly [number, number]): string {
  const s = end[0] - start[0] + (end[1] - start[1]) / 1e9;
  if (!Number.isFinite(s)) return `${String(s)}s`;
  return `${Number.isInteger(s) ? s : s.toFixed(3)}s`;
}

const UNIT_LABELS: Record<string, string> = {
  timestamp_milliseconds: 'ms',
  timestamp_microseconds: 'µs',
  timestamp_nanoseconds: 'ns',
};

const PROBLEM_LABELS: Record<string, string> = {
  timestamp_negative: 'negative',
  timestamp_not_finite: 'not finite',
  timestamp_out_of_range: 'out of range',
  timestamp_invalid: 'not a time',
};

/**
 * A timestamp field's value as a person reads it: ISO 8601 when it is a usable time (with the unit
 * it was read in when not seconds, e.g. `… (ms)`), else the value itself and why it is not a time.
 */
export function formatTimestamp(value: unknown): string {
  const reading = readTimestamp(value);
  if (reading.kind === 'absent') return '-';
  if (reading.kind === 'seconds') {
    const unit = reading.quirks.map((q) => UNIT_LABELS[q]).find((u) => u !== undefined);
    return `${isoFromMillis(reading.seconds * 1000)}${unit ? ` (${unit})` : ''}`;
  }
  const problem = reading.quirks.map((q) => PROBLEM_LABELS[q]).find((p) => p !== undefined) ?? 'not a time';
  const shown = typeof value === 'number' || typeof value === 'string' ? String(value) : safeJson(value);
  return `${shown} (${problem})`;
}

/** JSON text of any value, `String(value)` for what JSON cannot show (`Infinity`, `NaN`, cycles). */
export function safeJson(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `1 run`, `2 runs`: a count with its noun, singular for one. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
