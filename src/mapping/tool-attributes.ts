/**
 * Attribute maps for tool call spans: the OpenAI tool types (`function`, `code_interpreter`,
 * `file_search`), Azure's (`azure.ts`), and types nobody knows yet (carried through as content).
 */
import type { Attributes } from '@opentelemetry/api';
import type { ClassifiedToolCall, RunStep } from '../api/schemas.js';
import { put, putCommon, putContent, type AttributeContext } from './attributes.js';
import { azureToolCallFacts } from './azure.js';
import { toJsonText } from './content.js';
import * as sc from './semconv.js';

export interface ToolCallSpanFacts {
  toolName: string;
  attributes: Attributes;
}

/**
 * `gen_ai.tool.type` for the OpenAI types and unknown ones: who runs the tool. Decided by the raw
 * `type`, so a malformed `function` call is still a function; types we do not know run in the
 * agent service. (Azure types say their own: grounding and search tools are data stores.)
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An image output's file id, when the output really is one (`image: null` is seen in the wild). */
function imageFileId(output: unknown): string | undefined {
  if (!isObject(output) || output['type'] !== 'image' || !isObject(output['image'])) return undefined;
  const id = output['image']['file_id'];
  return typeof id === 'string' ? id : undefined;
}

function logsText(output: unknown): string | undefined {
  if (!isObject(output) || output['type'] !== 'logs') return undefined;
  return typeof output['logs'] === 'string' ? output['logs'] : undefined;
}

export function toolCallAttributes(classified: ClassifiedToolCall, index: number, step: RunStep, ctx: AttributeContext): ToolCallSpanFacts {
  const attrs: Attributes = {};
  const azure = classified.kind === 'other' ? azureToolCallFacts(classified.call as Record<string, unknown>) : undefined;
  const toolName = classified.kind === 'function' ? classified.call.function.name : (azure?.toolName ?? classified.call.type);
  put(attrs, sc.ATTR_GEN_AI_OPERATION_NAME, sc.GEN_AI_OPERATION_EXECUTE_TOOL);
  putCommon(attrs, ctx);
  put(attrs, sc.ATTR_GEN_AI_TOOL_NAME, toolName);
  put(attrs, sc.ATTR_GEN_AI_TOOL_TYPE, azure?.toolType ?? toolType(classified.call.type));
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
      put(attrs, sc.ATTR_CODE_INTERPRETER_IMAGE_FILE_IDS, outputs.flatMap((o) => imageFileId(o) ?? []));
      putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, input);
      const logs = outputs.flatMap((o) => logsText(o) ?? []);
      if (logs.length > 0) putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, logs.join('\n'));
      break;
    }
    case 'file_search': {
      const { ranking_options: ranking, results } = classified.call.file_search;
      put(attrs, sc.ATTR_FILE_SEARCH_RANKER, ranking?.ranker);
      put(attrs, sc.ATTR_FILE_SEARCH_SCORE_THRESHOLD, ranking?.score_threshold);
      put(attrs, sc.ATTR_FILE_SEARCH_RESULT_COUNT, results?.length);
      if (results) putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, results);
      break;
    }
    case 'other': {
      if (azure) {
        for (const [key, value] of azure.attributes) put(attrs, key, value);
        putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, azure.arguments);
        putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, azure.result);
        putContent(attrs, ctx, sc.ATTR_TOOL_CALL_EXTRA, azure.extra);
        break;
      }
      // An unknown tool type keeps its body under the key named after its type, as the API does.
      const { id: _id, type, ...body } = classified.call;
      const own = (body as Record<string, unknown>)[type];
      putContent(attrs, ctx, sc.ATTR_GEN_AI_TOOL_CALL_RESULT, toJsonText(own ?? body));
      break;
    }
  }
  return { toolName, attributes: attrs };
}
