/**
 * What the library adds to a created run's metadata: the `traceparent` of the span active at
 * creation (so a sidecar in another process parents the run identically) and the mark saying the
 * library traces the run (so the sidecar leaves it alone: one version of each span). Never a key
 * the user set; never past the API's 16 keys. With one free key only, the mark wins: without it the
 * sidecar would export a second version of the run's spans, while a missing `traceparent` only
 * means a sidecar could not join the trace (the library still parents the run in-process).
 */
import { METADATA_MAX_KEYS, TRACED_BY_KEY, TRACED_BY_LIBRARY } from '../api/run-marks.js';

export interface MetadataPlan {
  /** The metadata to send; `undefined` when nothing is added (send the user's as it was). */
  metadata: Record<string, unknown> | undefined;
  wroteTraceparent: boolean;
  marked: boolean;
  /** Why something wanted was not written. */
  skipped: Array<'traceparent_set_by_user' | 'mark_set_by_user' | 'no_room_for_traceparent' | 'no_room_for_mark' | 'metadata_not_an_object'>;
}

export interface MetadataWishes {
  /** The W3C traceparent of the span active at creation; absent when no span is active or writing it is off. */
  traceparent?: string | undefined;
  /** Write the library's mark. */
  mark: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function planMetadata(userMetadata: unknown, wishes: MetadataWishes): MetadataPlan {
  const plan: MetadataPlan = { metadata: undefined, wroteTraceparent: false, marked: false, skipped: [] };
  if (userMetadata !== undefined && userMetadata !== null && !isPlainObject(userMetadata)) {
    plan.skipped.push('metadata_not_an_object');
    return plan;
  }
  const base: Record<string, unknown> = { ...(userMetadata ?? {}) };
  let room = METADATA_MAX_KEYS - Object.keys(base).length;
  const additions: Record<string, string> = {};
  if (wishes.mark) {
    if (Object.hasOwn(base, TRACED_BY_KEY)) plan.skipped.push('mark_set_by_user');
    else if (room <= 0) plan.skipped.push('no_room_for_mark');
    else {
      additions[TRACED_BY_KEY] = TRACED_BY_LIBRARY;
      plan.marked = true;
      room--;
    }
  }
  if (wishes.traceparent !== undefined) {
    if (Object.hasOwn(base, 'traceparent')) plan.skipped.push('traceparent_set_by_user');
    else if (room <= 0) plan.skipped.push('no_room_for_traceparent');
    else {
      additions['traceparent'] = wishes.traceparent;
      plan.wroteTraceparent = true;
    }
  }
  if (Object.keys(additions).length > 0) plan.metadata = { ...base, ...additions };
  return plan;
}
