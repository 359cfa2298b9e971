/**
 * Attribute maps for run and step spans (tool calls: `tool-attributes.ts`). Insertion order is fixed
 * by this code (and metadata and extra usage keys are sorted), so the same record always yields the
 * same attribute list and the same OTLP bytes.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { ClassifiedStepDetails, Metadata, Run, RunStep, Usage } from '../api/schemas.js';
import { activitiesFacts } from './azure.js';
import { toJsonText, truncate } from './content.js';
import * as sc from './semconv.js';

/** Options the attribute builders need, with defaults applied. */
export interface AttributeContext {
  providerName: string;
  serverAddress: string | undefined;
  serverPort: number | undefined;
  captureContent: boolean;
  contentMaxLength: number;
}

export function put(attrs: Attributes, key: string, value: AttributeValue | null | undefined): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string' && value === '') return;
  if (Array.isArray(value) && value.length === 0) return;
  attrs[key] = value;
}

/** Content (opt-in), as text: strings as they are, anything else as JSON; cut to the bound. */
export function putContent(attrs: Attributes, ctx: AttributeContext, key: string, value: unknown): void {
  if (!ctx.captureContent || value === undefined || value === null) return;
  attrs[key] = truncate(typeof value === 'string' ? value : toJsonText(value), ctx.contentMaxLength);
}

export function putCommon(attrs: Attributes, ctx: AttributeContext): void {
  put(attrs, sc.ATTR_GEN_AI_PROVIDER_NAME, ctx.providerName);
  put(attrs, sc.ATTR_SERVER_ADDRESS, ctx.serverAddress);
  put(attrs, sc.ATTR_SERVER_PORT, ctx.serverPort);
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** An extra usage figure: any finite number (a vendor's cost may be fractional), never a huge integer. */
function figure(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  return Number.isInteger(value) && !Number.isSafeInteger(value) ? undefined : value;
}

function detail(details: unknown, key: string): number | undefined {
  return typeof details === 'object' && details !== null ? count((details as Record<string, unknown>)[key]) : undefined;
}

/** The usage keys read into GenAI attributes; every other count goes under `assistants.usage.<path>`. */
const SPEC_USAGE_KEYS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens'];

/**
 * Usage in every shape servers send (README "Attributes"): input = `prompt_tokens` (the spec's) or
 * `input_tokens`; output = `completion_tokens` or `output_tokens`; cached input and reasoning
 * output tokens from either family's `*_details`. A count not read into a GenAI key (an
 * `input_tokens` that differs from `prompt_tokens`, `audio_tokens`, a vendor's own) is kept
 * under `assistants.usage.` + its path.
 */
function putUsage(attrs: Attributes, usage: Usage | null | undefined): void {
  if (!usage) return;
  const raw = usage as Record<string, unknown>;
  const input = count(raw['prompt_tokens']) ?? count(raw['input_tokens']);
  const output = count(raw['completion_tokens']) ?? count(raw['output_tokens']);
  put(attrs, sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, input);
  put(attrs, sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, output);
  const sum = input !== undefined && output !== undefined && Number.isSafeInteger(input + output) ? input + output : undefined;
  const total = count(raw['total_tokens']) ?? sum;
  put(attrs, sc.ATTR_USAGE_TOTAL_TOKENS, total);
  const cached = detail(raw['prompt_tokens_details'], 'cached_tokens') ?? detail(raw['input_tokens_details'], 'cached_tokens');
  const reasoning = detail(raw['completion_tokens_details'], 'reasoning_tokens') ?? detail(raw['output_tokens_details'], 'reasoning_tokens');
  put(attrs, sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached);
  put(attrs, sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning);

  const extra: Array<[string, number]> = [];
  const keys = Object.keys(raw);
  // The common case, the spec's three counts as they are: nothing else to record.
  if (keys.every((k) => SPEC_USAGE_KEYS.includes(k)) && (raw['input_tokens'] === undefined || raw['prompt_tokens'] === undefined) && (raw['output_tokens'] === undefined || raw['completion_tokens'] === undefined) && (raw['total_tokens'] === undefined || raw['total_tokens'] === total)) return;
  for (const key of keys.sort()) {
    const value = raw[key];
    if (SPEC_USAGE_KEYS.includes(key)) {
      const n = count(value);
      const role = key === 'prompt_tokens' || key === 'input_tokens' ? input : key === 'total_tokens' ? total : output;
      if (n !== undefined && n !== role) extra.push([key, n]);
      continue;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const sub of Object.keys(value).sort()) {
        const n = figure((value as Record<string, unknown>)[sub]);
        if (n === undefined) continue;
        const isCached = sub === 'cached_tokens' && n === cached && (key === 'prompt_tokens_details' || key === 'input_tokens_details');
        const isReasoning = sub === 'reasoning_tokens' && n === reasoning && (key === 'completion_tokens_details' || key === 'output_tokens_details');
        if (!isCached && !isReasoning) extra.push([`${key}.${sub}`, n]);
      }
    } else {
      const n = figure(value);
      if (n !== undefined) extra.push([key, n]);
    }
  }
  for (const [path, n] of extra) put(attrs, sc.ATTR_USAGE_PREFIX + path, n);
}

/** The `traceparent` key parents the trace; it is not repeated as an attribute. */
const METADATA_KEYS_NOT_COPIED = new Set(['traceparent', 'tracestate']);

function putMetadata(attrs: Attributes, prefix: string, metadata: Metadata | null | undefined): void {
  if (!metadata) return;
  for (const key of Object.keys(metadata).sort()) {
    if (METADATA_KEYS_NOT_COPIED.has(key)) continue;
    const value = metadata[key];
    put(attrs, prefix + key, typeof value === 'string' ? value : toJsonText(value));
  }
}

export function putQuirks(attrs: Attributes, quirks: readonly string[]): void {
  put(attrs, sc.ATTR_QUIRKS, [...new Set(quirks)].sort());
}

export function runAttributes(run: Run, ctx: AttributeContext, errorType: string | undefined): Attributes {
  const attrs: Attributes = {};
  put(attrs, sc.ATTR_GEN_AI_OPERATION_NAME, sc.GEN_AI_OPERATION_INVOKE_AGENT);
  putCommon(attrs, ctx);
  put(attrs, sc.ATTR_GEN_AI_AGENT_ID, run.assistant_id);
  put(attrs, sc.ATTR_GEN_AI_CONVERSATION_ID, run.thread_id);
  put(attrs, sc.ATTR_GEN_AI_REQUEST_MODEL, run.model);
  put(attrs, sc.ATTR_GEN_AI_REQUEST_TEMPERATURE, run.temperature);
  put(attrs, sc.ATTR_GEN_AI_REQUEST_TOP_P, run.top_p);
  put(attrs, sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS, run.max_completion_tokens);
  putUsage(attrs, run.usage);
  put(attrs, sc.ATTR_ERROR_TYPE, errorType);
  put(attrs, sc.ATTR_RUN_ID, run.id);
  put(attrs, sc.ATTR_RUN_STATUS, run.status);
  put(attrs, sc.ATTR_RUN_INCOMPLETE_REASON, run.incomplete_details?.reason);
  putMetadata(attrs, sc.ATTR_RUN_METADATA_PREFIX, run.metadata);
  putContent(attrs, ctx, sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS, run.instructions);
  return attrs;
}

/** For a run known only through its steps: what the steps say about it, and a mark that says so. */
export function synthesizedRunAttributes(runId: string, steps: readonly RunStep[], ctx: AttributeContext): Attributes {
  const attrs: Attributes = {};
  put(attrs, sc.ATTR_GEN_AI_OPERATION_NAME, sc.GEN_AI_OPERATION_INVOKE_AGENT);
  putCommon(attrs, ctx);
  put(attrs, sc.ATTR_GEN_AI_AGENT_ID, steps.find((s) => s.assistant_id)?.assistant_id);
  put(attrs, sc.ATTR_GEN_AI_CONVERSATION_ID, steps.find((s) => s.thread_id)?.thread_id);
  put(attrs, sc.ATTR_RUN_ID, runId);
  put(attrs, sc.ATTR_RUN_SYNTHESIZED, true);
  return attrs;
}

export function stepAttributes(
  step: RunStep,
  details: ClassifiedStepDetails | undefined,
  ctx: AttributeContext,
  errorType: string | undefined,
): Attributes {
  const attrs: Attributes = {};
  putCommon(attrs, ctx);
  put(attrs, sc.ATTR_GEN_AI_AGENT_ID, step.assistant_id);
  put(attrs, sc.ATTR_GEN_AI_CONVERSATION_ID, step.thread_id);
  putUsage(attrs, step.usage);
  put(attrs, sc.ATTR_ERROR_TYPE, errorType);
  put(attrs, sc.ATTR_RUN_ID, step.run_id);
  put(attrs, sc.ATTR_STEP_ID, step.id);
  put(attrs, sc.ATTR_STEP_TYPE, step.type ?? step.step_details?.type);
  put(attrs, sc.ATTR_STEP_STATUS, step.status);
  if (details?.kind === 'message_creation') {
    put(attrs, sc.ATTR_STEP_MESSAGE_ID, details.details.message_creation.message_id);
  } else if (details?.kind === 'tool_calls') {
    put(attrs, sc.ATTR_STEP_TOOL_CALL_COUNT, details.details.tool_calls.length);
  } else if (details?.kind === 'other') {
    putOtherStepDetails(attrs, details.details as Record<string, unknown>, ctx);
  }
  putMetadata(attrs, sc.ATTR_STEP_METADATA_PREFIX, step.metadata);
  return attrs;
}

/** Azure's `activities` steps, and step types nobody knows yet: what can be read, and the rest as content. */
function putOtherStepDetails(attrs: Attributes, details: Record<string, unknown>, ctx: AttributeContext): void {
  const activities = activitiesFacts(details);
  for (const [key, value] of activities?.attributes ?? []) put(attrs, key, value);
  if (activities && activities.toolDefinitions.length > 0) putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_DEFINITIONS, activities.toolDefinitions);
  const { type: _type, ...body } = details;
  if (Object.keys(body).length > 0) putContent(attrs, ctx, sc.ATTR_STEP_DETAILS, body);
}
