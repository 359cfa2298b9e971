import * as z from 'zod';
import { faultRuleSchema } from './fault-rules.js';

// Script fields are camelCase; anything given verbatim as API JSON (`details`, `fields`, `tools`,
// `patch`) keeps the API's snake_case.

const seconds = z.number().finite().min(0);
const stringMap = z.record(z.string(), z.string());
const jsonObject = z.record(z.string(), z.unknown());

/**
 * Breaks a rendered record on purpose (malformed-record tests). Paths are dot-separated, array
 * indexes as numbers: `step_details.tool_calls.0.function.name`.
 */
export const recordPatchSchema = z.strictObject({
  set: jsonObject.optional(),
  omit: z.array(z.string()).optional(),
  /** Replace the whole record with this value (for example a string: "a step that is not an object"). */
  replaceWith: z.unknown().optional(),
});

const usageSchema = z.strictObject({ promptTokens: z.int().min(0), completionTokens: z.int().min(0) });
// D3: error code sets differ between runs and steps and may grow; codes are not a closed enum here.
const errorSchema = z.strictObject({ code: z.string(), message: z.string() });

const KNOWN_TOOL_CALLS = ['function', 'code_interpreter', 'file_search'];
const KNOWN_STEPS = ['message_creation', 'tool_calls'];
const notOneOf = (known: string[]) =>
  z.string().refine((t) => !known.includes(t), { message: `use the dedicated shape for ${known.join(', ')}`, abort: true });

const functionCall = z.strictObject({
  type: z.literal('function'),
  id: z.string().optional(),
  name: z.string().min(1),
  /** JSON text, or an object that is serialised for you. */
  arguments: z.union([z.string(), jsonObject]).default('{}'),
  /** The output a script submits (ignored when a client submits). Default `{"ok":true}`. */
  output: z.string().optional(),
});
const codeInterpreterCall = z.strictObject({
  type: z.literal('code_interpreter'),
  id: z.string().optional(),
  input: z.string(),
  outputs: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('logs'), logs: z.string() }),
        z.strictObject({ type: z.literal('image'), fileId: z.string().optional() }),
      ]),
    )
    .default([]),
});
const fileSearchCall = z.strictObject({
  type: z.literal('file_search'),
  id: z.string().optional(),
  rankingOptions: z
    .strictObject({ ranker: z.string().default('default_2024_08_21'), scoreThreshold: z.number().min(0).max(1).default(0) })
    .optional(),
  results: z
    .array(
      z.strictObject({
        fileName: z.string(),
        fileId: z.string().optional(),
        score: z.number().min(0).max(1),
        /** Text returned only when the request has `include[]=step_details.tool_calls[*].file_search.results[*].content`. */
        content: z.string().optional(),
      }),
    )
    .default([]),
});
/** A tool call type the spec does not know (e.g. Azure's `bing_grounding`): `fields` are rendered after `id` and `type`. */
const otherToolCall = z.strictObject({ type: notOneOf(KNOWN_TOOL_CALLS), id: z.string().optional(), fields: jsonObject.default({}) });
export const toolCallScriptSchema = z.union([functionCall, codeInterpreterCall, fileSearchCall, otherToolCall]);

const stepCommon = {
  /** Seconds after the run's creation, not counting time spent in `requires_action`. Default: when the previous step ends (or the run starts). */
  at: seconds.optional(),
  /** Seconds from creation to a terminal status (for function calls: to `requires_action`). Default 1. */
  durationSeconds: seconds.default(1),
  status: z.enum(['completed', 'failed']).default('completed'),
  /** For `status: failed`. Default `{code: "server_error", message: "Sorry, something went wrong."}`. */
  lastError: errorSchema.optional(),
  /** Token usage shown once the step is terminal. Default: derived from the step ID. */
  usage: usageSchema.optional(),
  metadata: z.union([stringMap, z.null()]).optional(),
  patch: recordPatchSchema.optional(),
};
const messageStep = z.strictObject({ type: z.literal('message_creation'), text: z.string().default('Done.'), ...stepCommon });
const toolCallsStep = z.strictObject({
  type: z.literal('tool_calls'),
  toolCalls: z.array(toolCallScriptSchema).min(1),
  /** Who submits function outputs: the script (after `submitAfterSeconds`), a client over HTTP, or nobody (the run expires). */
  submittedBy: z.enum(['script', 'client', 'never']).default('script'),
  submitAfterSeconds: seconds.default(2),
  ...stepCommon,
});
/** A step type the spec does not know (e.g. Azure's `activities`): `step_details` is `{type, ...details}`. */
const otherStep = z.strictObject({ type: notOneOf(KNOWN_STEPS), details: jsonObject.default({}), ...stepCommon });
export const stepScriptSchema = z.union([messageStep, toolCallsStep, otherStep]);

const outcomeTiming = {
  /** Seconds after the run's creation (active time, like steps' `at`). Default: last step's end + `afterSeconds`. */
  at: seconds.optional(),
  afterSeconds: seconds.default(1),
};
export const outcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('completed'), ...outcomeTiming }),
  z.strictObject({
    status: z.literal('incomplete'),
    reason: z.enum(['max_completion_tokens', 'max_prompt_tokens']).default('max_completion_tokens'),
    ...outcomeTiming,
  }),
  z.strictObject({
    status: z.literal('failed'),
    lastError: errorSchema.default({ code: 'server_error', message: 'Sorry, something went wrong.' }),
    ...outcomeTiming,
  }),
  /** `cancelling` at `at`, `cancelled` one second later. */
  z.strictObject({ status: z.literal('cancelled'), ...outcomeTiming }),
  /** The run stops after its steps and expires at its `expires_at` deadline. */
  z.strictObject({ status: z.literal('expired') }),
]);

const scriptShape = {
  /** Seconds between `queued` and `in_progress`. Default 1. */
  queuedSeconds: seconds.default(1),
  /** `expires_at` = creation + this. Default 600 (the API's ten minutes). */
  expiresAfterSeconds: z.number().finite().positive().default(600),
  steps: z.array(stepScriptSchema).default([]),
  outcome: outcomeSchema.default({ status: 'completed', afterSeconds: 1 }),
};
export const runScriptSchema = z.strictObject(scriptShape);

export const scenarioRunSchema = z.strictObject({
  id: z.string().optional(),
  /** A built-in run template (see `runTemplates`); fields given here override the template's. */
  template: z.string().optional(),
  /** Scenario seconds at which the run is created; negative values make history that is done at start. */
  startAt: z.number().finite().default(0),
  assistantId: z.string().optional(),
  model: z.string().optional(),
  /** D5: the schema says string; `null` reproduces what the spec's examples show. */
  instructions: z.union([z.string(), z.null()]).optional(),
  metadata: stringMap.optional(),
  /** Verbatim API tool definitions. Default: derived from the tool calls in the steps. */
  tools: z.array(jsonObject).optional(),
  temperature: z.number().optional(),
  topP: z.number().optional(),
  maxPromptTokens: z.union([z.int().min(256), z.null()]).optional(),
  maxCompletionTokens: z.union([z.int().min(256), z.null()]).optional(),
  queuedSeconds: scriptShape.queuedSeconds.optional(),
  expiresAfterSeconds: z.number().finite().positive().optional(),
  steps: z.array(stepScriptSchema).optional(),
  outcome: outcomeSchema.optional(),
  patch: recordPatchSchema.optional(),
  /** D1 (obs): also give the run's steps `expires_at` (the run's deadline), as the spec's SSE examples and live captures show. Default false. */
  stepExpiresAt: z.boolean().optional(),
});

const scenarioThreadSchema = z.strictObject({
  id: z.string().optional(),
  /** Scenario seconds. Default: the earliest of 0 and its runs' `startAt`. */
  createdAt: z.number().finite().optional(),
  metadata: stringMap.default({}),
  /** User messages already in the thread (listed by `GET /threads/{id}/messages`). */
  messages: z.array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string() })).default([]),
  runs: z.array(scenarioRunSchema).default([]),
});

export const scenarioSchema = z.strictObject({
  /** Lets editors find a JSON schema; ignored. */
  $schema: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  /** Seed for IDs; overridden by the simulator's `seed` option. */
  seed: z.union([z.string(), z.number()]).optional(),
  /** Unix seconds shown for scenario time 0; overridden by the simulator's option. */
  baseEpochSeconds: z.int().min(0).optional(),
  defaults: z
    .strictObject({ assistantId: z.string().optional(), model: z.string().optional(), instructions: z.union([z.string(), z.null()]).optional() })
    .default({}),
  threads: z.array(scenarioThreadSchema).default([]),
  faults: z.array(faultRuleSchema).default([]),
});

/** A scenario as written (TypeScript object or JSON file). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario with defaults applied. */
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioThread = Scenario['threads'][number];
export type ScenarioRunInput = z.input<typeof scenarioRunSchema>;
export type ScenarioRun = z.output<typeof scenarioRunSchema>;
/** A run's timeline as written: used by templates, `sim.startRun` and the default script for HTTP-created runs. */
export type RunScriptInput = z.input<typeof runScriptSchema>;
export type RunScript = z.output<typeof runScriptSchema>;
export type StepScript = z.output<typeof stepScriptSchema>;
export type StepScriptInput = z.input<typeof stepScriptSchema>;
export type ToolCallScript = z.output<typeof toolCallScriptSchema>;
export type RunOutcome = z.output<typeof outcomeSchema>;
export type RecordPatch = z.output<typeof recordPatchSchema>;
