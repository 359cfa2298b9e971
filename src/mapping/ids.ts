/**
 * Deterministic trace and span IDs, so re-exporting the same run yields the same IDs (and, with
 * nothing per-process elsewhere, the same bytes), which Tempo and Jaeger collapse.
 *
 * ID = the first bytes of SHA-256 over a versioned, length-delimited encoding of the provider's IDs.
 * Length prefixes make the encoding unambiguous (`["ab","c"]` and `["a","bc"]` differ). Changing the
 * scheme changes every ID users have already stored, so it is versioned: bump `ID_SCHEME` only with
 * a CHANGELOG entry.
 */
import { createHash } from 'node:crypto';

export const ID_SCHEME = 'assistants-otel/ids/v1';

function digest(kind: string, parts: readonly string[]): Buffer {
  const hash = createHash('sha256');
  for (const part of [ID_SCHEME, kind, ...parts]) {
    hash.update(`${Buffer.byteLength(part, 'utf8')}:`);
    hash.update(part, 'utf8');
  }
  return hash.digest();
}

/** All-zero IDs are invalid in W3C Trace Context; flip the last bit in that (2^-64) case. */
function toValidHex(bytes: Buffer): string {
  if (bytes.every((b) => b === 0)) bytes[bytes.length - 1] = 1;
  return bytes.toString('hex');
}

export function traceIdForRun(runId: string): string {
  return toValidHex(digest('trace', [runId]).subarray(0, 16));
}

export function spanIdForRun(runId: string): string {
  return toValidHex(digest('run', [runId]).subarray(0, 8));
}

export function spanIdForStep(runId: string, stepId: string): string {
  return toValidHex(digest('step', [runId, stepId]).subarray(0, 8));
}

export function spanIdForToolCall(runId: string, stepId: string, toolCallKey: string): string {
  return toValidHex(digest('tool_call', [runId, stepId, toolCallKey]).subarray(0, 8));
}

/** A parsed W3C `traceparent` (version 00). */
export interface TraceParent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a `traceparent` header value, per W3C Trace Context: lower-case hex only, version `ff` and
 * all-zero IDs are invalid; a future version may carry more fields after the four we read.
 */
export function parseTraceparent(value: string): TraceParent | undefined {
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) };
}

export function formatTraceparent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${parent.traceFlags.toString(16).padStart(2, '0')}`;
}
