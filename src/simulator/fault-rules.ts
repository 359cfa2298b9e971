import * as z from 'zod';
import { OPERATIONS } from './operations.js';

/** Which requests a fault applies to. Every given condition must hold. */
const faultMatchSchema = z.strictObject({
  /** HTTP method, case-insensitive. */
  method: z.string().optional(),
  /** Request path without the prefix and the query: a string must equal it, a RegExp must match it. */
  path: z.union([z.string(), z.instanceof(RegExp)]).optional(),
  /** The same as a RegExp `path`, in a form a JSON file can hold. */
  pathRegex: z.string().optional(),
  /** An operation ID from the spec, e.g. `listRunSteps`. */
  operation: z.enum(OPERATIONS).optional(),
  /** Fire at most this many times (default: every matching request). */
  times: z.int().min(1).optional(),
  /** Let this many matching requests through before firing (default 0). */
  after: z.int().min(0).default(0),
  /** Scenario seconds: active from this time on (inclusive). */
  fromSecond: z.number().optional(),
  /** Scenario seconds: active until this time (exclusive). */
  untilSecond: z.number().optional(),
});

const common = {
  match: faultMatchSchema.default({ after: 0 }),
  /** Real milliseconds to wait before the fault's effect (or before the normal answer, for `delay`). Default 0. */
  delayMs: z.int().min(0).default(0),
  /** A name shown in `sim.requests[].fault` and in the log. */
  label: z.string().optional(),
};

/**
 * Records an `inject-record` fault can put into a list page; each breaks the contract in one way.
 * `step-missing-run-id` and `not-an-object` cannot be placed in a trace (a client rejects them);
 * `step-missing-created-at` has no timestamp at all (a client keeps it, placed by its run).
 */
export const INJECTED_RECORD_PRESETS = [
  'step-missing-created-at',
  'step-missing-run-id',
  'unknown-step-type',
  'unknown-tool-call-type',
  'not-an-object',
] as const;

export const faultRuleSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('rate-limit'),
    /** `Retry-After` header in whole seconds (default 1); `null` sends no header. */
    retryAfterSeconds: z.union([z.int().min(0), z.null()]).default(1),
    ...common,
  }),
  z.strictObject({
    kind: z.literal('server-error'),
    status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).default(500),
    ...common,
  }),
  z.strictObject({ kind: z.literal('delay'), ...common }),
  z.strictObject({ kind: z.literal('drop-connection'), ...common }),
  /** A 200 (or whatever the answer was) whose JSON body is cut in half. Streamed answers are sent intact. */
  z.strictObject({ kind: z.literal('malformed-json'), ...common }),
  z.strictObject({ kind: z.literal('auth-failure'), ...common }),
  z.strictObject({
    kind: z.literal('inject-record'),
    record: z.union([z.enum(INJECTED_RECORD_PRESETS), z.strictObject({ value: z.unknown() })]),
    /** Where in `data` the record goes: `start`, `end` (default) or an index. */
    position: z.union([z.enum(['start', 'end']), z.int().min(0)]).default('end'),
    ...common,
  }),
]);

/** A fault as written by a test or a scenario file (defaults not yet applied). */
export type FaultRuleInput = z.input<typeof faultRuleSchema>;
/** A fault with its defaults applied. */
export type FaultRule = z.output<typeof faultRuleSchema>;
export type FaultKind = FaultRule['kind'];
