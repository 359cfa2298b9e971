/**
 * Content capture. Content is what users type and tools return: it is recorded only on opt-in and
 * is cut to a bound, because a single code interpreter log can be megabytes.
 */

/** Default bound on one content attribute, in UTF-16 code units (JavaScript string length). */
export const DEFAULT_CONTENT_MAX_LENGTH = 8192;

/**
 * Cuts `value` to at most `max` characters plus a marker saying how much was cut. Never splits a
 * surrogate pair, so the result is always valid UTF-16 (and so valid UTF-8 on the wire).
 */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  const kept = cutTo(value, max);
  return `${kept}…[truncated ${value.length - kept.length} chars]`;
}

/** Cuts to at most `max` characters with no marker, as an SDK span limit does; never splits a surrogate pair. */
export function cutTo(value: string, max: number): string {
  if (value.length <= max) return value;
  let cut = Math.max(0, Math.floor(max));
  const last = value.charCodeAt(cut - 1);
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return value.slice(0, cut);
}

/** What stands in for a value that cannot be written as JSON (a cycle, a BigInt, extreme depth). */
export const UNSERIALIZABLE = '"[not representable as JSON]"';

/**
 * JSON text of structured content (file search results, unknown tool call bodies). Never throws:
 * validated records are depth-bounded, but a library user may map records built by hand.
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return UNSERIALIZABLE;
  }
}
