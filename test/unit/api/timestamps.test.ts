/**
 * `readTimestamp` (README "Time rules"): units by magnitude, the plausible range, and every kind of
 * unusable value, each with its quirk. One case per input class, including the thresholds' edges.
 */
import { describe, expect, it } from 'vitest';
import {
  EARLIEST_PLAUSIBLE_SECONDS,
  LATEST_PLAUSIBLE_SECONDS,
  MICROSECONDS_FROM,
  MILLISECONDS_FROM,
  NANOSECONDS_FROM,
  readTimestamp,
  usableSeconds,
} from '../../../src/api/timestamps.js';

const T = 1733050000;

describe('readTimestamp', () => {
  it.each<[string, unknown, number, string[]]>([
    ['whole seconds', T, T, []],
    ['fractional seconds', T + 0.125, T + 0.125, []],
    ['the earliest plausible second', EARLIEST_PLAUSIBLE_SECONDS, EARLIEST_PLAUSIBLE_SECONDS, []],
    ['the last second before 2100', LATEST_PLAUSIBLE_SECONDS - 1, LATEST_PLAUSIBLE_SECONDS - 1, []],
    ['milliseconds', T * 1e3 + 7, T + 0.007, ['timestamp_milliseconds']],
    ['microseconds', T * 1e6 + 7, T + 0.000007, ['timestamp_microseconds']],
    ['nanoseconds', T * 1e9, T, ['timestamp_nanoseconds']],
    ['a numeric string', `${T}`, T, ['timestamp_string']],
    ['a numeric string in milliseconds', `${T * 1000}`, T, ['timestamp_milliseconds', 'timestamp_string'].sort()],
    ['an ISO 8601 date', '2024-12-01T10:46:40Z', T, ['timestamp_string']],
    ['an ISO 8601 date with an offset', '2024-12-01T11:46:40+01:00', T, ['timestamp_string']],
  ])('%s is read as seconds', (_name, value, seconds, quirks) => {
    const reading = readTimestamp(value);
    expect(reading.kind).toBe('seconds');
    if (reading.kind !== 'seconds') return;
    expect(reading.seconds).toBeCloseTo(seconds, 6);
    expect([...reading.quirks].sort()).toEqual(quirks);
  });

  it.each<[string, unknown, string]>([
    ['negative', -28450271, 'timestamp_negative'],
    ['zero', 0, 'timestamp_out_of_range'],
    ['just before 2015', EARLIEST_PLAUSIBLE_SECONDS - 1, 'timestamp_out_of_range'],
    ['2100 exactly', LATEST_PLAUSIBLE_SECONDS, 'timestamp_out_of_range'],
    ['just below the millisecond threshold (year 5138)', MILLISECONDS_FROM - 1, 'timestamp_out_of_range'],
    ['8.64e12 (a Date cannot hold it as seconds; as milliseconds it is 2243)', 8.64e12, 'timestamp_out_of_range'],
    ['the first millisecond value (1973)', MILLISECONDS_FROM, 'timestamp_out_of_range'],
    ['the first microsecond value (1973)', MICROSECONDS_FROM, 'timestamp_out_of_range'],
    ['the first nanosecond value (1973)', NANOSECONDS_FROM, 'timestamp_out_of_range'],
    ['1e300', 1e300, 'timestamp_out_of_range'],
    ['Infinity', Infinity, 'timestamp_not_finite'],
    ['NaN', Number.NaN, 'timestamp_not_finite'],
    ['"NaN"', 'NaN', 'timestamp_invalid'],
    ['an empty string', '', 'timestamp_invalid'],
    ['a date that is not one', '2024-13-45', 'timestamp_invalid'],
    ['true', true, 'timestamp_invalid'],
    ['an array', [T], 'timestamp_invalid'],
  ])('%s is unusable, with its quirk and a reason', (_name, value, quirk) => {
    const reading = readTimestamp(value);
    expect(reading.kind).toBe('unusable');
    if (reading.kind !== 'unusable') return;
    expect(reading.quirks).toContain(quirk);
    expect(reading.reason.length).toBeGreaterThan(0);
    expect(usableSeconds(value)).toBeUndefined();
  });

  it('null and undefined are absent, not unusable', () => {
    expect(readTimestamp(null)).toEqual({ kind: 'absent' });
    expect(readTimestamp(undefined)).toEqual({ kind: 'absent' });
  });

  it('is idempotent: a value read as seconds reads the same again, with no quirk', () => {
    for (const value of [T * 1e3, T * 1e6, `${T}`, T + 0.5]) {
      const first = usableSeconds(value) as number;
      expect(readTimestamp(first)).toEqual({ kind: 'seconds', seconds: first, quirks: [] });
    }
  });

  it('a long string is cut in the reason', () => {
    const reading = readTimestamp('x'.repeat(500));
    expect(reading.kind === 'unusable' && reading.reason.length).toBeLessThan(80);
  });
});
