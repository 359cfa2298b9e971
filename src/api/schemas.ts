/**
 * The model of the Assistants v2 records this project reads: runs, run steps, their step details and
 * tool calls, usage, errors and the list envelopes. One place, zod schemas plus the inferred types.
 *
 * Tolerance is a feature (see README "Records we accept"):
 * - every object keeps the fields we do not know (`loose`), so they are carried through;
 * - statuses, step types, tool call types and error codes are open strings, not enums: a value we
 *   have not seen yet (Azure's `activities` steps, `bing_grounding` tool calls) is a generic record;
 * - fields the spec marks required but real payloads omit (§7 D1, D2, D5 of the API facts) are optional.
 *
 * These schemas describe a *well-formed* record. `validate.ts` applies them field by field, so one
 * malformed field degrades that field (with a warning naming its path) instead of losing the record.
 */
import { z } from 'zod';

/**
 * A loose object: unknown fields are kept at run time. The inferred type deliberately has no index
 * signature, so that the official SDK's interfaces (which have none) are assignable to our types.
 */
function looseObject<S extends z.ZodRawShape>(shape: S): z.ZodObject<S> {
  return z.object(shape).loose() as unknown as z.ZodObject<S>;
}

/** Integer or fractional Unix seconds, never negative (`validate.ts` has already dropped unusable times). */
export const UnixSecondsSchema = z.number().finite().nonnegative();
const NullableSeconds = UnixSecondsSchema.nullable();
const NonEmptyId = z.string().min(1);

/** `Metadata`: a string→string map. Values are kept as strings; other value types are tolerated. */
export const MetadataSchema = z.record(z.string(), z.unknown());

/** A token count: a non-negative safe integer. */
export const TokenCountSchema = z.number().int().nonnegative();

/**
 * `prompt_tokens_details` / `input_tokens_details` and `completion_tokens_details` /
 * `output_tokens_details`, as the Chat Completions and Responses APIs (and servers built on them)
 * return them. Other counts in them (`audio_tokens`, …) are kept.
 */
export const TokenDetailsSchema = looseObject({
  cached_tokens: TokenCountSchema.optional(),
  reasoning_tokens: TokenCountSchema.optional(),
});

/**
 * `RunCompletionUsage` / `RunStepCompletionUsage`, in every shape servers send: the spec's
 * `prompt_tokens`/`completion_tokens`/`total_tokens`, the Responses API's `input_tokens`/
 * `output_tokens`, and the cached/reasoning details of both. Every field is optional (one missing
 * count is no reason to lose the others) and unknown keys are kept. `validate.ts` checks each
 * count on its own, so one bad count drops only itself.
 */
export const UsageSchema = looseObject({
  prompt_tokens: TokenCountSchema.optional(),
  completion_tokens: TokenCountSchema.optional(),
  total_tokens: TokenCountSchema.optional(),
  input_tokens: TokenCountSchema.optional(),
  output_tokens: TokenCountSchema.optional(),
  prompt_tokens_details: TokenDetailsSchema.nullable().optional(),
  completion_tokens_details: TokenDetailsSchema.nullable().optional(),
  input_tokens_details: TokenDetailsSchema.nullable().optional(),
  output_tokens_details: TokenDetailsSchema.nullable().optional(),
});

/** `last_error`. Codes are open strings: steps and runs document different sets (§7 D3). */
export const LastErrorSchema = looseObject({
  code: z.string().nullable().optional(),
  message: z.string().nullable().optional(),
});

// ---- step details -------------------------------------------------------------------------------

export const MessageCreationDetailsSchema = looseObject({
  type: z.literal('message_creation'),
  message_creation: looseObject({ message_id: z.string() }),
});

export const FunctionToolCallSchema = looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: looseObject({
    name: z.string(),
    /** JSON text, as the model wrote it (it may not parse). */
    arguments: z.string(),
    /** null until the tool outputs are submitted. */
    output: z.string().nullable().optional(),
  }),
});

export const CodeInterpreterLogsOutputSchema = looseObject({ type: z.literal('logs'), logs: z.string() });
export const CodeInterpreterImageOutputSchema = looseObject({
  type: z.literal('image'),
  image: looseObject({ file_id: z.string() }),
});
/** An output type we do not know yet is carried through. */
export const GenericCodeInterpreterOutputSchema = looseObject({ type: z.string() });

export const CodeInterpreterToolCallSchema = looseObject({
  id: z.string(),
  type: z.literal('code_interpreter'),
  code_interpreter: looseObject({
    input: z.string(),
    outputs: z.array(
      z.union([CodeInterpreterLogsOutputSchema, CodeInterpreterImageOutputSchema, GenericCodeInterpreterOutputSchema]),
    ),
  }),
});

export const FileSearchRankingOptionsSchema = looseObject({
  /** `auto` or `default_2024_08_21` today (§7 D8); open for later rankers. */
  ranker: z.string(),
  score_threshold: z.number(),
});

export const FileSearchResultSchema = looseObject({
  file_id: z.string(),
  file_name: z.string(),
  score: z.number(),
  /** Present only when `include[]` asked for it. */
  content: z.array(looseObject({ type: z.string().optional(), text: z.string().optional() })).optional(),
});

export const FileSearchToolCallSchema = looseObject({
  id: z.string(),
  type: z.literal('file_search'),
  /** The spec's description still says "always an empty object"; the schema has both fields (§7 D8). */
  file_search: looseObject({
    ranking_options: FileSearchRankingOptionsSchema.optional(),
    results: z.array(FileSearchResultSchema).optional(),
  }),
});

/** A tool call of a type we do not know (or a known type that is malformed): kept as it came. */
export const GenericToolCallSchema = looseObject({ id: z.string().optional(), type: z.string() });

export const ToolCallSchema = z.union([
  FunctionToolCallSchema,
  CodeInterpreterToolCallSchema,
  FileSearchToolCallSchema,
  GenericToolCallSchema,
]);

export const ToolCallsDetailsSchema = looseObject({
  type: z.literal('tool_calls'),
  tool_calls: z.array(ToolCallSchema),
});

/** Step details of a type we do not know (Azure's `activities`, say): kept as they came. */
export const GenericStepDetailsSchema = looseObject({ type: z.string() });

export const StepDetailsSchema = z.union([
  MessageCreationDetailsSchema,
  ToolCallsDetailsSchema,
  GenericStepDetailsSchema,
]);

// ---- run step ------------------------------------------------------------------------------------

/**
 * The fields of `RunStepObject` (all 16 of the spec). `id` and `run_id` are what a step needs to be
 * placed in a trace; everything else may be missing or malformed without losing the step. Even
 * `created_at`: a step without a usable one is placed by its run (README "Time rules").
 */
export const runStepFields = {
  id: NonEmptyId,
  /** Absent when the record had no usable creation time (validation warns and records a quirk). */
  created_at: UnixSecondsSchema.optional(),
  run_id: NonEmptyId,
  /** `thread.run.step`; the stale `assistant.run.step` (§7) is accepted too. */
  object: z.string().optional(),
  assistant_id: z.string().optional(),
  thread_id: z.string().optional(),
  /** `message_creation` | `tool_calls` | a type we do not know yet. */
  type: z.string().optional(),
  /** `in_progress` | `cancelled` | `failed` | `completed` | `expired` | a status we do not know yet. */
  status: z.string().optional(),
  step_details: StepDetailsSchema.optional(),
  last_error: LastErrorSchema.nullable().optional(),
  /** Never confused with `expires_at`, a future deadline some payloads carry instead (§7 D1). */
  expired_at: NullableSeconds.optional(),
  cancelled_at: NullableSeconds.optional(),
  failed_at: NullableSeconds.optional(),
  completed_at: NullableSeconds.optional(),
  /** Required by the spec, absent from every observed payload (§7 D2). */
  metadata: MetadataSchema.nullable().optional(),
  /** null while the step is in progress. */
  usage: UsageSchema.nullable().optional(),
};

export const RunStepSchema = looseObject(runStepFields);

// ---- run -----------------------------------------------------------------------------------------

export const RequiredActionSchema = looseObject({
  type: z.string(),
  submit_tool_outputs: looseObject({
    tool_calls: z.array(
      looseObject({
        id: z.string(),
        type: z.string(),
        function: looseObject({ name: z.string(), arguments: z.string() }).optional(),
      }),
    ),
  }).optional(),
});

/** `tools` entries: `{type}` plus type-specific settings; open for tool types we do not know. */
export const RunToolSchema = looseObject({
  type: z.string(),
  function: looseObject({ name: z.string(), description: z.string().nullable().optional() }).optional(),
});

/**
 * The fields of `RunObject`. `id` is what a run needs to be placed in a trace; a run without a usable
 * `created_at` is placed by its other times or its steps (README "Time rules").
 */
export const runFields = {
  id: NonEmptyId,
  /** Absent when the record had no usable creation time (validation warns and records a quirk). */
  created_at: UnixSecondsSchema.optional(),
  object: z.string().optional(),
  thread_id: z.string().optional(),
  assistant_id: z.string().optional(),
  /** queued | in_progress | requires_action | cancelling | cancelled | failed | completed | incomplete | expired | … */
  status: z.string().optional(),
  required_action: RequiredActionSchema.nullable().optional(),
  last_error: LastErrorSchema.nullable().optional(),
  /** A deadline, never an end time. */
  expires_at: NullableSeconds.optional(),
  started_at: NullableSeconds.optional(),
  cancelled_at: NullableSeconds.optional(),
  failed_at: NullableSeconds.optional(),
  completed_at: NullableSeconds.optional(),
  /** Real payloads also carry `expired_at` on runs, though the spec does not list it. */
  expired_at: NullableSeconds.optional(),
  incomplete_details: looseObject({ reason: z.string().nullable().optional() }).nullable().optional(),
  model: z.string().nullable().optional(),
  /** Typed string in the spec, `null` in its own examples (§7 D5). */
  instructions: z.string().nullable().optional(),
  tools: z.array(RunToolSchema).optional(),
  metadata: MetadataSchema.nullable().optional(),
  usage: UsageSchema.nullable().optional(),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
  max_prompt_tokens: z.number().int().nullable().optional(),
  max_completion_tokens: z.number().int().nullable().optional(),
  truncation_strategy: looseObject({ type: z.string() }).nullable().optional(),
  tool_choice: z.union([z.string(), looseObject({ type: z.string() })]).nullable().optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: z.union([z.string(), looseObject({ type: z.string() })]).nullable().optional(),
};

export const RunSchema = looseObject(runFields);

// ---- list envelopes --------------------------------------------------------------------------------

/**
 * `ListRunsResponse` / `ListRunStepsResponse`. `object` is not an enum in the spec; `first_id` and
 * `last_id` are `null` on empty lists in practice (§7 D9). Items are validated one by one elsewhere.
 */
export const ListEnvelopeSchema = looseObject({
  object: z.string().optional(),
  data: z.array(z.unknown()),
  first_id: z.string().nullable().optional(),
  last_id: z.string().nullable().optional(),
  has_more: z.boolean().optional(),
});

// ---- types -----------------------------------------------------------------------------------------

export type Usage = z.infer<typeof UsageSchema>;
export type TokenDetails = z.infer<typeof TokenDetailsSchema>;
export type LastError = z.infer<typeof LastErrorSchema>;
export type Metadata = z.infer<typeof MetadataSchema>;
export type MessageCreationDetails = z.infer<typeof MessageCreationDetailsSchema>;
export type FunctionToolCall = z.infer<typeof FunctionToolCallSchema>;
export type CodeInterpreterToolCall = z.infer<typeof CodeInterpreterToolCallSchema>;
export type CodeInterpreterOutput = CodeInterpreterToolCall['code_interpreter']['outputs'][number];
export type FileSearchToolCall = z.infer<typeof FileSearchToolCallSchema>;
export type FileSearchResult = z.infer<typeof FileSearchResultSchema>;
export type GenericToolCall = z.infer<typeof GenericToolCallSchema>;
export type ToolCall = z.infer<typeof ToolCallSchema>;
export type ToolCallsDetails = z.infer<typeof ToolCallsDetailsSchema>;
export type GenericStepDetails = z.infer<typeof GenericStepDetailsSchema>;
export type StepDetails = z.infer<typeof StepDetailsSchema>;
export type RunStep = z.infer<typeof RunStepSchema>;
export type Run = z.infer<typeof RunSchema>;
export type ListEnvelope = z.infer<typeof ListEnvelopeSchema>;

// ---- classification ----------------------------------------------------------------------------------

/**
 * A tool call sorted by what we know about it. Because the generic schema accepts any `type`, a value
 * typed `ToolCall` does not narrow on `type` alone; this does, and it sends a malformed known call
 * (say a `function` call whose `name` is a number) to `other`, where it is handled like an unknown type.
 */
export type ClassifiedToolCall =
  | { kind: 'function'; call: FunctionToolCall }
  | { kind: 'code_interpreter'; call: CodeInterpreterToolCall }
  | { kind: 'file_search'; call: FileSearchToolCall }
  | { kind: 'other'; call: GenericToolCall };

const knownToolCallSchemas = {
  function: FunctionToolCallSchema,
  code_interpreter: CodeInterpreterToolCallSchema,
  file_search: FileSearchToolCallSchema,
} as const;

export function classifyToolCall(call: ToolCall): ClassifiedToolCall {
  switch (call.type) {
    case 'function':
    case 'code_interpreter':
    case 'file_search': {
      const parsed = knownToolCallSchemas[call.type].safeParse(call);
      if (parsed.success) return { kind: call.type, call: parsed.data } as ClassifiedToolCall;
      return { kind: 'other', call };
    }
    default:
      return { kind: 'other', call };
  }
}

export type ClassifiedStepDetails =
  | { kind: 'message_creation'; details: MessageCreationDetails }
  | { kind: 'tool_calls'; details: ToolCallsDetails }
  | { kind: 'other'; details: GenericStepDetails };

export function classifyStepDetails(details: StepDetails): ClassifiedStepDetails {
  if (details.type === 'message_creation') {
    const parsed = MessageCreationDetailsSchema.safeParse(details);
    if (parsed.success) return { kind: 'message_creation', details: parsed.data };
  } else if (details.type === 'tool_calls') {
    const parsed = ToolCallsDetailsSchema.safeParse(details);
    if (parsed.success) return { kind: 'tool_calls', details: parsed.data };
  }
  return { kind: 'other', details };
}

/** The known schema for a known tool call type, for reporting why a call was treated as generic. */
export function knownToolCallSchema(type: string): z.ZodType | undefined {
  return Object.hasOwn(knownToolCallSchemas, type)
    ? knownToolCallSchemas[type as keyof typeof knownToolCallSchemas]
    : undefined;
}
