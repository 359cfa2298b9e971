/**
 * The validation boundary: raw JSON in, typed records out, and nothing lost that can be kept.
 *
 * A record is rejected only when it cannot be placed in a trace: it is not an object, or it lacks
 * an id (or, for a step, the `run_id` that says which trace it belongs to). Time never rejects a
 * record. Everything else is repaired or degraded, with a warning naming the path:
 *
 * - values nested deeper than `MAX_NESTING_DEPTH` are cut (quirk `nesting_depth_cut`);
 * - timestamps in milliseconds or microseconds are converted, unusable ones dropped, and a record
 *   without a usable `created_at` is placed at its earliest other timestamp (see `timestamps.ts`);
 *   one without any usable timestamp keeps no `created_at` (quirk `time_unknown`) and the mapper
 *   places it by its run (`mapping/placement.ts`);
 * - a malformed usage count, field or tool call degrades only itself (a malformed known tool call is
 *   kept as a generic one), so the rest of the record still maps.
 *
 * Quirks travel with the validated record (`quirks.ts`) to its span's `assistants.quirks`.
 */
import { boundDepth, MAX_NESTING_DEPTH, QUIRK_NESTING_DEPTH_CUT } from './depth.js';
import { addRecordQuirks } from './quirks.js';
import { ListEnvelopeSchema, runFields, runStepFields, type ListEnvelope, type Run, type RunStep } from './schemas.js';
import type { z } from 'zod';
import {
  describeValue,
  isPlainObject,
  issuesOf,
  prepareStepDetails,
  prepareTimestamps,
  prepareUsage,
  type Issue,
} from './validate-parts.js';

export { describeValue, formatPath, isPlainObject, QUIRK_START_MISSING, QUIRK_TIME_UNKNOWN } from './validate-parts.js';
export type { Issue } from './validate-parts.js';

export type Validated<T> =
  | { ok: true; value: T; warnings: Issue[] }
  | { ok: false; issues: Issue[] };

type FieldTable = Record<string, z.ZodType>;

const RUN_TIMESTAMPS = ['created_at', 'started_at', 'completed_at', 'failed_at', 'cancelled_at', 'expired_at', 'expires_at'] as const;
const STEP_TIMESTAMPS = ['created_at', 'completed_at', 'failed_at', 'cancelled_at', 'expired_at'] as const;
/** Where a record without a usable `created_at` is placed: the earliest of these (never `expires_at`, a deadline). */
const RUN_START_FALLBACKS = ['started_at', 'completed_at', 'failed_at', 'cancelled_at', 'expired_at'] as const;
const STEP_START_FALLBACKS = ['completed_at', 'failed_at', 'cancelled_at', 'expired_at'] as const;

interface RecordRules {
  fields: FieldTable;
  /** Fields that must be present and valid to place the record in a trace. */
  placement: readonly string[];
  timestamps: readonly string[];
  startFallbacks: readonly string[];
  /** How the mapper places the record when it has no usable time at all (for the warning). */
  placedBy: string;
}

const RUN_RULES: RecordRules = {
  fields: runFields,
  placement: ['id'],
  timestamps: RUN_TIMESTAMPS,
  startFallbacks: RUN_START_FALLBACKS,
  placedBy: "placed by its steps' times",
};
const STEP_RULES: RecordRules = {
  fields: runStepFields,
  placement: ['id', 'run_id'],
  timestamps: STEP_TIMESTAMPS,
  startFallbacks: STEP_START_FALLBACKS,
  placedBy: "placed at its run's start",
};

/**
 * Validates each known field on its own. Fields in `placement` are required to place the record;
 * a failure there rejects it. Any other failure drops just that field and becomes a warning.
 * Unknown fields are copied through untouched.
 */
function validateRecord<T extends object>(raw: unknown, rules: RecordRules): Validated<T> {
  if (!isPlainObject(raw)) {
    return { ok: false, issues: [{ path: '', message: `expected an object, got ${describeValue(raw)}` }] };
  }
  const warnings: Issue[] = [];
  const quirks: string[] = [];

  const bounded = boundDepth(raw);
  if (bounded.cut) {
    const more = bounded.cut.count > 1 ? ` (${bounded.cut.count} values cut)` : '';
    warnings.push({ path: bounded.cut.path, message: `nested deeper than ${MAX_NESTING_DEPTH} levels: cut${more}` });
    quirks.push(QUIRK_NESTING_DEPTH_CUT);
  }
  const out: Record<string, unknown> = { ...bounded.value };

  const issues: Issue[] = [];
  for (const key of rules.placement) {
    if (out[key] === undefined) issues.push({ path: key, message: 'required to place the record in a trace, but missing' });
  }
  quirks.push(...prepareTimestamps(out, rules.timestamps, rules.startFallbacks, rules.placedBy, warnings));
  if (out['usage'] !== undefined) out['usage'] = prepareUsage(out['usage'], warnings);
  if (out['step_details'] !== undefined && rules === STEP_RULES) out['step_details'] = prepareStepDetails(out['step_details'], warnings);

  for (const [key, schema] of Object.entries(rules.fields)) {
    const value = out[key];
    if (value === undefined) continue;
    const parsed = schema.safeParse(value);
    if (parsed.success) {
      if (parsed.data !== undefined) out[key] = parsed.data;
      continue;
    }
    if (rules.placement.includes(key)) {
      issues.push(...issuesOf(parsed.error, key));
    } else {
      warnings.push(...issuesOf(parsed.error, key).map((w) => ({ ...w, message: `${w.message} (field dropped)` })));
      delete out[key];
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: addRecordQuirks(out, quirks) as T, warnings };
}

export function validateRunStep(raw: unknown): Validated<RunStep> {
  return validateRecord<RunStep>(raw, STEP_RULES);
}

export function validateRun(raw: unknown): Validated<Run> {
  return validateRecord<Run>(raw, RUN_RULES);
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
