/**
 * Span bounds from the API's timestamps. They are whole Unix seconds; the span opens at `created_at`
 * and closes at the earliest end timestamp. Data quirks are clamped, never dropped, and named so a
 * user can see why a span looks the way it does (`assistants.quirks`).
 */
import { endTimestamps, type EndTimestamps } from '../api/lifecycle.js';
import type { HrTime } from './types.js';

export const QUIRK_END_MISSING = 'end_time_missing';
export const QUIRK_END_BEFORE_START = 'end_before_start';
export const QUIRK_CONFLICTING_ENDS = 'conflicting_end_times';

export function toHrTime(unixSeconds: number): HrTime {
  const seconds = Math.floor(unixSeconds);
  const nanos = Math.round((unixSeconds - seconds) * 1e9);
  return nanos >= 1e9 ? [seconds + 1, 0] : [seconds, nanos];
}

export interface Bounds {
  start: number;
  end: number;
  quirks: string[];
}

/**
 * @param fallbackEnd used when a finished record has no end timestamp at all (an `incomplete` run,
 *   say): the latest end among its children, or else the start itself.
 */
export function boundsOf(createdAt: number, record: EndTimestamps, fallbackEnd?: number): Bounds {
  const quirks: string[] = [];
  const ends = endTimestamps(record);
  let end: number;
  if (ends.length === 0) {
    quirks.push(QUIRK_END_MISSING);
    end = fallbackEnd ?? createdAt;
  } else {
    end = Math.min(...ends);
    if (new Set(ends).size > 1) quirks.push(QUIRK_CONFLICTING_ENDS);
  }
  if (end < createdAt) {
    // Seen in generated and hand-edited records; a span may not end before it starts.
    quirks.push(QUIRK_END_BEFORE_START);
    end = createdAt;
  }
  return { start: createdAt, end, quirks };
}
