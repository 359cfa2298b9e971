/**
 * The validation boundary: raw JSON in, typed records out, and nothing lost that can be kept.
 *
 * A record is rejected only when it cannot be placed in a trace: it is not an object, or it lacks an
 * id, a usable `created_at` (or, for a step, the `run_id` that says which trace it belongs to). Any
 * other malformed field is dropped from the record with a warning naming its path, and a malformed
 * tool call or step details object is kept as a generic one, so the rest of the record still maps.
 */
import type { z } from 'zod';
import {
  ListEnvelopeSchema,
  MessageCreationDetailsSchema,
  ToolCallsDetailsSchema,
  knownToolCallSchema,
  runFields,
  runStepFields,
  type ListEnvelope,
  type Run,
  type RunStep,
} from './schemas.js';

/** A problem with one field of a record, located by its path inside the record. */
export interface Issue {
  /** e.g. `step_details.tool_calls[2].function.name`; empty for the record itself. */
  path: string;
  message: string;
}

export type Validated<T> =
  | { ok: true; value: T; warnings: Issue[] }
  | { ok: false; issues: Issue[] };

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

function issuesOf(error: z.ZodError, prefix: string): Issue[] {
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

type FieldTable = Record<string, z.ZodType>;

/**
 * Validates each known field on its own. Fields in `placement` are required to place the record;
 * a failure there rejects it. Any other failure drops just that field and becomes a warning.
 * Unknown fields are copied through untouched.
 */
function validateFields<T>(raw: unknown, fields: FieldTable, placement: readonly string[]): Validated<T> {
  if (!isPlainObject(raw)) {
    return { ok: false, issues: [{ path: '', message: `expected an object, got ${describeValue(raw)}` }] };
  }
  const out: Record<string, unknown> = { ...raw };
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  for (const [key, schema] of Object.entries(fields)) {
    const value = raw[key];
    if (value === undefined && placement.includes(key)) {
      issues.push({ path: key, message: 'required to place the record in a trace, but missing' });
      continue;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) {
      if (parsed.data !== undefined) out[key] = parsed.data;
      continue;
    }
    if (placement.includes(key)) {
      issues.push(...issuesOf(parsed.error, key));
    } else {
      warnings.push(...issuesOf(parsed.error, key).map((w) => ({ ...w, message: `${w.message} (field dropped)` })));
      delete out[key];
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: out as T, warnings };
}

/**
 * Step details are validated in pieces so one bad tool call does not take its siblings with it:
 * a non-object entry or a malformed known tool call is kept, in its place, as a generic one.
 */
function prepareStepDetails(raw: unknown, warnings: Issue[]): unknown {
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

const STEP_PLACEMENT = ['id', 'created_at', 'run_id'] as const;
const RUN_PLACEMENT = ['id', 'created_at'] as const;

export function validateRunStep(raw: unknown): Validated<RunStep> {
  const detailWarnings: Issue[] = [];
  const input = isPlainObject(raw) && raw['step_details'] !== undefined
    ? { ...raw, step_details: prepareStepDetails(raw['step_details'], detailWarnings) }
    : raw;
  const result = validateFields<RunStep>(input, runStepFields, STEP_PLACEMENT);
  if (!result.ok) return result;
  return { ok: true, value: result.value, warnings: [...detailWarnings, ...result.warnings] };
}

export function validateRun(raw: unknown): Validated<Run> {
  return validateFields<Run>(raw, runFields, RUN_PLACEMENT);
}

export function validateListEnvelope(raw: unknown): Validated<ListEnvelope> {
  const parsed = ListEnvelopeSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesOf(parsed.error, '') };
  return { ok: true, value: parsed.data, warnings: [] };
}

/**
 * What a raw JSON value is, judged by its `object` field or, failing that, by its shape. `other` is
 * a record of some other kind (a message, a thread, a vector store, a kind not invented yet): not
 * ours to export, but not wrong either.
 */
export type RecordKind = 'run' | 'step' | 'list' | 'event' | 'other' | 'unknown';

export function recordKind(raw: unknown): RecordKind {
  if (!isPlainObject(raw)) return 'unknown';
  const object = raw['object'];
  if (object === 'thread.run') return 'run';
  // `assistant.run.step` is the stale enum of the 2023-11-06 spec snapshot (§7).
  if (object === 'thread.run.step' || object === 'assistant.run.step') return 'step';
  if (object === 'list' || (object === undefined && Array.isArray(raw['data']))) return 'list';
  if (typeof object === 'string') return 'other';
  // A saved stream event: `{ "event": "thread.run.step.completed", "data": {...} }`.
  if (typeof raw['event'] === 'string' && 'data' in raw) return 'event';
  if ('step_details' in raw || 'run_id' in raw) return 'step';
  if (typeof raw['id'] === 'string' && raw['id'].startsWith('run_')) return 'run';
  return 'unknown';
}
