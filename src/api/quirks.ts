/**
 * Data quirks found at the validation boundary (a millisecond timestamp converted, a value nested
 * too deep cut), carried on the validated record to the span it becomes (`assistants.quirks`).
 *
 * They live under a symbol key: invisible to `JSON.stringify` (so query output and saved records
 * are unchanged), copied by object spread (so `{ ...run, metadata }` keeps them), and set only when
 * there is something to say (a record without quirks is a plain object as before).
 */

export const RECORD_QUIRKS: unique symbol = Symbol.for('assistants-otel.record-quirks');

interface WithQuirks {
  [RECORD_QUIRKS]?: readonly string[];
}

/** Adds `quirks` to `record` (in place) and returns it; sorted, without repeats. */
export function addRecordQuirks<T extends object>(record: T, quirks: readonly string[]): T {
  if (quirks.length === 0) return record;
  const merged = [...new Set([...recordQuirks(record), ...quirks])].sort();
  Object.defineProperty(record, RECORD_QUIRKS, { value: merged, enumerable: true, writable: true, configurable: true });
  return record;
}

/** The quirks recorded on a validated record, if any. */
export function recordQuirks(record: object | undefined | null): readonly string[] {
  if (typeof record !== 'object' || record === null) return [];
  const value = (record as WithQuirks)[RECORD_QUIRKS];
  return Array.isArray(value) ? value : [];
}
