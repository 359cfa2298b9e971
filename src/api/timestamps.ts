/**
 * Reading a timestamp as servers really send it (README "Time rules").
 *
 * The protocol says whole Unix seconds. Real servers also send milliseconds (an OpenAI-compatible
 * server written with `Date.now()`), microseconds, numeric strings, ISO dates, and mock servers send
 * negative or zero placeholders. A value is read by magnitude:
 *
 * | value (absolute)        | read as       | quirk                    |
 * | ----------------------- | ------------- | ------------------------ |
 * | below 1e11              | seconds       | –                        |
 * | 1e11 up to 1e14         | milliseconds  | `timestamp_milliseconds` |
 * | 1e14 up to 1e17         | microseconds  | `timestamp_microseconds` |
 * | 1e17 up to 1e20         | nanoseconds   | `timestamp_nanoseconds`  |
 *
 * (1e11 seconds is the year 5138, while 1e11 milliseconds is 1973: the ranges cannot be confused
 * for any date this project can meet.) The result must then fall in [2015-01-01, 2100-01-01):
 * the protocol did not exist before 2015, and a time past 2100 is a unit error we cannot undo.
 * Anything else (negative, zero, not finite, out of that range, not a number at all) is not
 * usable: the field is dropped and the quirk says why. Nothing here rejects a record; deciding
 * what an unusable `created_at` means is the caller's job (see `validate.ts`).
 *
 * Pure: no clock. Used at the validation boundary and again, idempotently, by the mapper (so
 * records a library user builds by hand get the same rules).
 */

/** 2015-01-01T00:00:00Z: nothing of this protocol is older. */
export const EARLIEST_PLAUSIBLE_SECONDS = 1_420_070_400;
/** 2100-01-01T00:00:00Z (exclusive): anything later is a unit error, not a date. */
export const LATEST_PLAUSIBLE_SECONDS = 4_102_444_800;

/** Magnitude thresholds between units (see the table above). */
export const MILLISECONDS_FROM = 1e11;
export const MICROSECONDS_FROM = 1e14;
export const NANOSECONDS_FROM = 1e17;
const BEYOND_NANOSECONDS = 1e20;

export const QUIRK_TIMESTAMP_MILLISECONDS = 'timestamp_milliseconds';
export const QUIRK_TIMESTAMP_MICROSECONDS = 'timestamp_microseconds';
export const QUIRK_TIMESTAMP_NANOSECONDS = 'timestamp_nanoseconds';
export const QUIRK_TIMESTAMP_STRING = 'timestamp_string';
export const QUIRK_TIMESTAMP_NEGATIVE = 'timestamp_negative';
export const QUIRK_TIMESTAMP_NOT_FINITE = 'timestamp_not_finite';
export const QUIRK_TIMESTAMP_OUT_OF_RANGE = 'timestamp_out_of_range';
export const QUIRK_TIMESTAMP_INVALID = 'timestamp_invalid';

export type TimestampReading =
  /** null or absent: nothing to read. */
  | { kind: 'absent' }
  /** Usable: Unix seconds (possibly fractional) within the plausible range. */
  | { kind: 'seconds'; seconds: number; quirks: string[] }
  /** Present but unusable: dropped; `reason` says why, for a warning. */
  | { kind: 'unusable'; quirks: string[]; reason: string };

const NUMERIC_TEXT = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;
const ISO_DATE_TEXT = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Short text of a value for a warning: never the whole of a long string. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return String(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function fromNumber(value: number, quirks: string[], original: unknown): TimestampReading {
  if (!Number.isFinite(value)) {
    return { kind: 'unusable', quirks: [...quirks, QUIRK_TIMESTAMP_NOT_FINITE], reason: `${shown(original)} is not a finite number` };
  }
  if (value < 0) {
    return { kind: 'unusable', quirks: [...quirks, QUIRK_TIMESTAMP_NEGATIVE], reason: `${shown(original)} is negative` };
  }
  let seconds = value;
  const read = [...quirks];
  if (value >= BEYOND_NANOSECONDS) {
    return { kind: 'unusable', quirks: [...read, QUIRK_TIMESTAMP_OUT_OF_RANGE], reason: `${shown(original)} is too large for any time unit` };
  } else if (value >= NANOSECONDS_FROM) {
    seconds = value / 1e9;
    read.push(QUIRK_TIMESTAMP_NANOSECONDS);
  } else if (value >= MICROSECONDS_FROM) {
    seconds = value / 1e6;
    read.push(QUIRK_TIMESTAMP_MICROSECONDS);
  } else if (value >= MILLISECONDS_FROM) {
    seconds = value / 1e3;
    read.push(QUIRK_TIMESTAMP_MILLISECONDS);
  }
  if (seconds < EARLIEST_PLAUSIBLE_SECONDS || seconds >= LATEST_PLAUSIBLE_SECONDS) {
    return {
      kind: 'unusable',
      quirks: [...read, QUIRK_TIMESTAMP_OUT_OF_RANGE],
      reason: `${shown(original)} is outside 2015-01-01..2100-01-01${read.length > quirks.length ? ` even read as ${unitOf(read)}` : ''}`,
    };
  }
  return { kind: 'seconds', seconds, quirks: read };
}

function unitOf(quirks: readonly string[]): string {
  if (quirks.includes(QUIRK_TIMESTAMP_NANOSECONDS)) return 'nanoseconds';
  if (quirks.includes(QUIRK_TIMESTAMP_MICROSECONDS)) return 'microseconds';
  return 'milliseconds';
}

/** A number that is already plausible seconds: the common case, read without allocating. */
export function isPlainSeconds(value: unknown): value is number {
  return typeof value === 'number' && value >= EARLIEST_PLAUSIBLE_SECONDS && value < LATEST_PLAUSIBLE_SECONDS;
}

const ABSENT: TimestampReading = { kind: 'absent' };

/** Reads one timestamp field's value by the rules above. Never throws. */
export function readTimestamp(value: unknown): TimestampReading {
  if (value === undefined || value === null) return ABSENT;
  if (typeof value === 'number') return fromNumber(value, [], value);
  if (typeof value === 'string') {
    if (NUMERIC_TEXT.test(value)) return fromNumber(Number(value), [QUIRK_TIMESTAMP_STRING], value);
    if (ISO_DATE_TEXT.test(value.trim())) {
      const millis = Date.parse(value.trim());
      if (Number.isFinite(millis)) {
        const reading = fromNumber(millis / 1000, [QUIRK_TIMESTAMP_STRING], value);
        return reading;
      }
    }
    return { kind: 'unusable', quirks: [QUIRK_TIMESTAMP_INVALID], reason: `${shown(value)} is not a time` };
  }
  return { kind: 'unusable', quirks: [QUIRK_TIMESTAMP_INVALID], reason: `${shown(value)} is not a time` };
}

/** Unix seconds of a value if usable, else undefined (for display and sorting). */
export function usableSeconds(value: unknown): number | undefined {
  const reading = readTimestamp(value);
  return reading.kind === 'seconds' ? reading.seconds : undefined;
}
