/**
 * Attribute maps for each kind of span. Insertion order is fixed by this code (and metadata keys are
 * sorted), so the same record always yields the same attribute list and the same OTLP bytes.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { ClassifiedStepDetails, ClassifiedToolCall, Metadata, Run, RunStep, Usage } from '../api/schemas.js';
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

function put(attrs: Attributes, key: string, value: AttributeValue | null | undefined): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string' && value === '') return;
  if (Array.isArray(value) && value.length === 0) return;
  attrs[key] = value;
}

function putContent(attrs: Attributes, ctx: AttributeContext, key: string, value: string | null | undefined): void {
  if (!ctx.captureContent || value === undefined || value === null) return;
  attrs[key] = truncate(value, ctx.contentMaxLength);
}

function putCommon(attrs: Attributes, ctx: AttributeContext): void {
  put(attrs, sc.ATTR_GEN_AI_PROVIDER_NAME, ctx.providerName);
  put(attrs, sc.ATTR_SERVER_ADDRESS, ctx.serverAddress);
  put(attrs, sc.ATTR_SERVER_PORT, ctx.serverPort);
}

function putUsage(attrs: Attributes, usage: Usage | null | undefined): void {
  if (!usage) return;
  put(attrs, sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, usage.prompt_tokens);
  put(attrs, sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, usage.completion_tokens);
  put(attrs, sc.ATTR_USAGE_TOTAL_TOKENS, usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens);
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
  }
  putMetadata(attrs, sc.ATTR_STEP_METADATA_PREFIX, step.metadata);
  return attrs;
}

export interface ToolCallSpanFacts {
  toolName: string;
  attributes: Attributes;
}

/**
 * `gen_ai.tool.type`: who runs the tool. Decided by the raw `type`, so a malformed `function` call is
 * still a function; types we do not know run in the agent service.
 */
function toolType(type: string): string {
  switch (type) {
    case 'function':
      return sc.GEN_AI_TOOL_TYPE_FUNCTION;
    case 'file_search':
      return sc.GEN_AI_TOOL_TYPE_DATASTORE;
    default:
      return sc.GEN_AI_TOOL_TYPE_EXTENSION;
  }
}

export function toolCallAttributes(
  classified: ClassifiedToolCall,
  index: number,
  step: RunStep,
  ctx: AttributeContext,
): ToolCallSpanFacts {
  const attrs: Attributes = {};
  const toolName = classified.kind === 'function' ? classified.call.function.name : classified.call.type;
  put(attrs, sc.ATTR_GEN_AI_OPERATION_NAME, sc.GEN_AI_OPERATION_EXECUTE_TOOL);
  putCommon(attrs, ctx);
  put(attrs, sc.ATTR_GEN_AI_TOOL_NAME, toolName);
  put(attrs, sc.ATTR_GEN_AI_TOOL_TYPE, toolType(classified.call.type));
  put(attrs, sc.ATTR_GEN_AI_TOOL_CALL_ID, classified.call.id);
  put(attrs, sc.ATTR_GEN_AI_AGENT_ID, step.assistant_id);
  put(attrs, sc.ATTR_GEN_AI_CONVERSATION_ID, step.thread_id);
  put(attrs, sc.ATTR_RUN_ID, step.run_id);
  put(attrs, sc.ATTR_STEP_ID, step.id);
  put(attrs, sc.ATTR_TOOL_CALL_TYPE, classified.call.type);
  put(attrs, sc.ATTR_TOOL_CALL_INDEX, index);
  switch (classified.kind) {
    case 'function': {
      putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, classified.call.function.arguments);
      putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, classified.call.function.output);
      break;
    }
    case 'code_interpreter': {
      const { input, outputs } = classified.call.code_interpreter;
      put(attrs, sc.ATTR_CODE_INTERPRETER_OUTPUT_COUNT, outputs.length);
      const imageIds = outputs.flatMap((o) => (o.type === 'image' && 'image' in o ? [o.image.file_id] : []));
      put(attrs, sc.ATTR_CODE_INTERPRETER_IMAGE_FILE_IDS, imageIds);
      putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, input);
      const logs = outputs.flatMap((o) => (o.type === 'logs' && 'logs' in o ? [o.logs] : []));
      if (logs.length > 0) putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, logs.join('\n'));
      break;
    }
    case 'file_search': {
      const { ranking_options: ranking, results } = classified.call.file_search;
      put(attrs, sc.ATTR_FILE_SEARCH_RANKER, ranking?.ranker);
      put(attrs, sc.ATTR_FILE_SEARCH_SCORE_THRESHOLD, ranking?.score_threshold);
      put(attrs, sc.ATTR_FILE_SEARCH_RESULT_COUNT, results?.length);
      if (results) putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, toJsonText(results));
      break;
    }
    case 'other': {
      // An unknown tool type keeps its body under the key named after its type, as the API does.
      const { id: _id, type, ...body } = classified.call;
      const own = (body as Record<string, unknown>)[type];
      putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, toJsonText(own ?? body));
      break;
    }
  }
  return { toolName, attributes: attrs };
}
