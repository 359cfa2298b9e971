/**
 * The pieces of a record that are validated piece by piece, so that one bad part degrades only
 * itself: usage counts, step details (tool calls, code interpreter outputs) and timestamps.
 * Used by `validate.ts`; each function returns the value to keep and pushes warnings.
 */
import type { z } from 'zod';
import {
  CodeInterpreterImageOutputSchema,
  CodeInterpreterLogsOutputSchema,
  MessageCreationDetailsSchema,
  TokenCountSchema,
  ToolCallsDetailsSchema,
  knownToolCallSchema,
} from './schemas.js';
import { isPlainSeconds, readTimestamp } from './timestamps.js';

/** A problem with one field of a record, located by its path inside the record. */
export interface Issue {
  /** e.g. `step_details.tool_calls[2].function.name`; empty for the record itself. */
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function joinPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  const rest = formatPath(path);
  if (prefix === '') return rest;
  if (rest === '') return prefix;
  return rest.startsWith('[') ? `${prefix}${rest}` : `${prefix}.${rest}`;
}

export function issuesOf(error: z.ZodError, prefix: string): Issue[] {
  return error.issues.map((issue) => ({ path: joinPath(prefix, issue.path), message: issue.message }));
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- usage ---------------------------------------------------------------------------------------

const USAGE_COUNTS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens'] as const;
const USAGE_DETAILS = ['prompt_tokens_details', 'completion_tokens_details', 'input_tokens_details', 'output_tokens_details'] as const;
const DETAIL_COUNTS = ['cached_tokens', 'reasoning_tokens'] as const;

function dropBadCounts(object: Record<string, unknown>, keys: readonly string[], path: string, warnings: Issue[]): void {
  for (const key of keys) {
    const value = object[key];
    if (value === undefined) continue;
    const parsed = TokenCountSchema.safeParse(value);
    if (parsed.success) continue;
    warnings.push({ path: `${path}.${key}`, message: `expected a non-negative integer, got ${shortValue(value)} (field dropped)` });
    delete object[key];
  }
}

function shortValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 30 ? `${value.slice(0, 30)}…` : value);
  return describeValue(value);
}

/**
 * `usage`, count by count: a bad count is dropped with a warning, the others are kept, and keys we
 * do not know are carried through. A `usage` that is not an object is left to the field check.
 */
export function prepareUsage(raw: unknown, warnings: Issue[]): unknown {
  if (!isPlainObject(raw)) return raw;
  const usage: Record<string, unknown> = { ...raw };
  dropBadCounts(usage, USAGE_COUNTS, 'usage', warnings);
  for (const key of USAGE_DETAILS) {
    const details = usage[key];
    if (details === undefined || details === null) continue;
    if (!isPlainObject(details)) {
      warnings.push({ path: `usage.${key}`, message: `expected an object, got ${describeValue(details)} (field dropped)` });
      delete usage[key];
      continue;
    }
    const copy = { ...details };
    dropBadCounts(copy, DETAIL_COUNTS, `usage.${key}`, warnings);
    usage[key] = copy;
  }
  return usage;
}

// ---- step details ----------------------------------------------------------------------------------

/** Malformed known code interpreter outputs (`image: null`, say): warned about, kept in place. */
function checkCodeInterpreterOutputs(call: Record<string, unknown>, path: string, warnings: Issue[]): void {
  const ci = call['code_interpreter'];
  if (!isPlainObject(ci) || !Array.isArray(ci['outputs'])) return;
  ci['outputs'].forEach((output, index) => {
    if (!isPlainObject(output)) return; // the known-call check reports it
    const schema = output['type'] === 'logs' ? CodeInterpreterLogsOutputSchema : output['type'] === 'image' ? CodeInterpreterImageOutputSchema : undefined;
    const check = schema?.safeParse(output);
    if (check && !check.success) {
      for (const w of issuesOf(check.error, `${path}.code_interpreter.outputs[${index}]`)) {
        warnings.push({ ...w, message: `${w.message} (output kept, not read)` });
      }
    }
  });
}

/**
 * Step details are validated in pieces so one bad tool call does not take its siblings with it:
 * a non-object entry or a malformed known tool call is kept, in its place, as a generic one.
 */
export function prepareStepDetails(raw: unknown, warnings: Issue[]): unknown {
  if (!isPlainObject(raw)) return raw; // the field-level check reports it
  if (raw['type'] === 'tool_calls' && Array.isArray(raw['tool_calls'])) {
    const kept: unknown[] = [];
    raw['tool_calls'].forEach((call, index) => {
      const path = `step_details.tool_calls[${index}]`;
      if (!isPlainObject(call)) {
        // Kept in place (as an `unknown` call holding the value) so later calls keep their positions.
        warnings.push({ path, message: `expected a tool call object, got ${describeValue(call)} (kept as an \`unknown\` tool call)` });
        kept.push({ type: 'unknown', value: call });
        return;
      }
      if (typeof call['type'] !== 'string') {
        warnings.push({ path: `${path}.type`, message: 'missing or not a string (kept as an `unknown` tool call)' });
        kept.push({ ...call, type: 'unknown' });
        return;
      }
      const known = knownToolCallSchema(call['type']);
      const check = known?.safeParse(call);
      if (check && !check.success) {
        for (const w of issuesOf(check.error, path)) {
          warnings.push({ ...w, message: `${w.message} (kept as a generic \`${String(call['type'])}\` tool call)` });
        }
      } else if (call['type'] === 'code_interpreter') {
        checkCodeInterpreterOutputs(call, path, warnings);
      }
      kept.push(call);
    });
    return { ...raw, tool_calls: kept };
  }
  if (raw['type'] === 'message_creation') {
    const check = MessageCreationDetailsSchema.safeParse(raw);
    if (!check.success) warnings.push(...issuesOf(check.error, 'step_details'));
  } else if (raw['type'] === 'tool_calls') {
    const check = ToolCallsDetailsSchema.safeParse(raw);
    if (!check.success) warnings.push(...issuesOf(check.error, 'step_details'));
  }
  return raw;
}

// ---- timestamps ------------------------------------------------------------------------------------

/** No usable `created_at`: the record starts at its earliest other usable timestamp. */
export const QUIRK_START_MISSING = 'start_time_missing';
/** No usable timestamp at all: the mapper places the record by its run (README "Time rules"). */
export const QUIRK_TIME_UNKNOWN = 'time_unknown';

/**
 * Reads every timestamp field of `record` (in place) by the rules of `timestamps.ts`: converted to
 * seconds, or dropped with a warning. Then says where the record starts: `created_at` when usable,
 * else the earliest usable of `fallbacks` (written to `created_at`, quirk `start_time_missing`).
 * With neither, `created_at` stays absent and the record is still kept (quirk `time_unknown`): time
 * is never a reason to reject a record; the mapper places it by its relatives (`placedBy` says how,
 * for the warning). Returns the quirks found.
 */
export function prepareTimestamps(
  record: Record<string, unknown>,
  fields: readonly string[],
  fallbacks: readonly string[],
  placedBy: string,
  warnings: Issue[],
): string[] {
  const quirks: string[] = [];
  let createdProblem: string | undefined;
  for (const field of fields) {
    if (isPlainSeconds(record[field])) continue;
    const reading = readTimestamp(record[field]);
    if (reading.kind === 'absent') continue;
    quirks.push(...reading.quirks);
    if (reading.kind === 'seconds') {
      record[field] = reading.seconds;
      continue;
    }
    delete record[field];
    if (field === 'created_at') createdProblem = reading.reason;
    else warnings.push({ path: field, message: `${reading.reason} (field dropped)` });
  }
  if (typeof record['created_at'] === 'number') return quirks;

  const candidates = fallbacks
    .map((field) => ({ field, seconds: record[field] }))
    .filter((c): c is { field: string; seconds: number } => typeof c.seconds === 'number')
    .sort((a, b) => a.seconds - b.seconds);
  const first = candidates[0];
  const what = createdProblem ?? 'missing';
  if (!first) {
    delete record['created_at']; // a `null` one: absent, as the type says
    const tail = fallbacks.length > 0 ? ', and no other usable timestamp' : '';
    warnings.push({ path: 'created_at', message: `${what}${tail}: the record is kept and ${placedBy}` });
    quirks.push(QUIRK_TIME_UNKNOWN);
    return quirks;
  }
  record['created_at'] = first.seconds;
  warnings.push({ path: 'created_at', message: `${what}: the record is placed at its ${first.field} instead` });
  quirks.push(QUIRK_START_MISSING);
  return quirks;
}
