/**
 * The tool call and step details types of Azure's Foundry Agent Service, read into attributes.
 *
 * Shapes, as the service puts them on the wire (snake_case):
 * - Azure/azure-sdk-for-js `sdk/ai/ai-agents/src/models/models.ts` (the `RunStep*ToolCall`
 *   deserializers, which name each wire key: `bing_grounding`, `azure_ai_search`, `mcp` with
 *   `name`/`arguments`/`output`/`server_label` on the call, `connected_agent` with
 *   `name`/`arguments`/`output`/`run_id`/`thread_id`/`assistant_id`, `deep_research` and
 *   `browser_automation` with `input`/`output` (and `steps`), `azure_function` with
 *   `name`/`arguments`/`output`, `RunStepActivityDetails` with `mcp_list_tools` activities);
 * - Azure/azure-rest-api-specs `specification/ai/Azure.AI.Agents/run_steps/models.tsp` and
 *   `tools/models.tsp` (the same models in TypeSpec; the grounding tools' bodies are typed only as
 *   "the dictionary with request and response");
 * - the keys inside those dictionaries as clients read them: microsoft/semantic-kernel
 *   `python/semantic_kernel/agents/azure_ai/agent_content_generation.py` (`requesturl` and
 *   `response_metadata` for Bing, `input`/`output` for Azure AI Search and Deep Research, and
 *   OpenAPI calls carrying `function: {name, arguments, output}`).
 *
 * Inputs and outputs are content: recorded only when content capture is on, as
 * `gen_ai.tool.call.arguments` / `.result`. Identifiers, labels, counts and a request URL without
 * its query (the query holds the user's search) are not content and are always recorded. Fields we
 * do not know are carried through as JSON in `assistants.tool_call.extra` (content capture only).
 */
import type { AttributeValue } from '@opentelemetry/api';
import * as sc from './semconv.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a tool call says about itself, before content capture is applied. */
export interface ToolCallFacts {
  toolName: string;
  /** `gen_ai.tool.type`. */
  toolType: string;
  /** Always recorded (not content). */
  attributes: Array<[string, AttributeValue | undefined]>;
  /** Content: recorded only on opt-in. */
  arguments?: unknown;
  result?: unknown;
  /** Content: body fields we do not map, carried through. */
  extra?: Json;
}

interface ToolShape {
  /** The key holding the call's body; `undefined` when the fields sit on the call itself (`mcp`). */
  body: string | undefined;
  toolType: string;
  nameField?: string;
  argumentsField: string;
  resultField: string;
  /** Body fields recorded as attributes, always (identifiers, labels). */
  attributeFields?: Record<string, string>;
}

const SEARCH_FIELDS = { argumentsField: 'input', resultField: 'output' } as const;

/** The Azure tool call types we know, by `type`. Grounding and search tools read data stores. */
const AZURE_TOOL_SHAPES: Readonly<Record<string, ToolShape>> = {
  bing_grounding: { body: 'bing_grounding', toolType: sc.GEN_AI_TOOL_TYPE_DATASTORE, argumentsField: 'requesturl', resultField: 'response_metadata' },
  bing_custom_search: { body: 'bing_custom_search', toolType: sc.GEN_AI_TOOL_TYPE_DATASTORE, argumentsField: 'requesturl', resultField: 'response_metadata' },
  azure_ai_search: { body: 'azure_ai_search', toolType: sc.GEN_AI_TOOL_TYPE_DATASTORE, ...SEARCH_FIELDS },
  sharepoint_grounding: { body: 'sharepoint_grounding', toolType: sc.GEN_AI_TOOL_TYPE_DATASTORE, ...SEARCH_FIELDS },
  fabric_dataagent: { body: 'fabric_dataagent', toolType: sc.GEN_AI_TOOL_TYPE_DATASTORE, ...SEARCH_FIELDS },
  deep_research: { body: 'deep_research', toolType: sc.GEN_AI_TOOL_TYPE_EXTENSION, ...SEARCH_FIELDS },
  browser_automation: { body: 'browser_automation', toolType: sc.GEN_AI_TOOL_TYPE_EXTENSION, ...SEARCH_FIELDS },
  mcp: {
    body: undefined,
    toolType: sc.GEN_AI_TOOL_TYPE_EXTENSION,
    nameField: 'name',
    argumentsField: 'arguments',
    resultField: 'output',
    attributeFields: { server_label: sc.ATTR_MCP_SERVER_LABEL },
  },
  connected_agent: {
    body: 'connected_agent',
    toolType: sc.GEN_AI_TOOL_TYPE_EXTENSION,
    nameField: 'name',
    argumentsField: 'arguments',
    resultField: 'output',
    attributeFields: {
      name: sc.ATTR_CONNECTED_AGENT_NAME,
      assistant_id: sc.ATTR_CONNECTED_AGENT_ID,
      agent_id: sc.ATTR_CONNECTED_AGENT_ID,
      run_id: sc.ATTR_CONNECTED_AGENT_RUN_ID,
      thread_id: sc.ATTR_CONNECTED_AGENT_THREAD_ID,
    },
  },
  azure_function: { body: 'azure_function', toolType: sc.GEN_AI_TOOL_TYPE_EXTENSION, nameField: 'name', argumentsField: 'arguments', resultField: 'output' },
  openapi: { body: 'openapi', toolType: sc.GEN_AI_TOOL_TYPE_EXTENSION, nameField: 'name', argumentsField: 'arguments', resultField: 'output' },
};

export function isKnownAzureToolType(type: string): boolean {
  return Object.hasOwn(AZURE_TOOL_SHAPES, type);
}

/** The URL without its query and fragment (which hold the search terms), or undefined if not a URL. */
export function urlWithoutQuery(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    // Never a password in an attribute.
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Facts of a call of a known Azure type, or undefined for any other type. */
export function azureToolCallFacts(call: Json): ToolCallFacts | undefined {
  const type = call['type'];
  if (typeof type !== 'string' || !isKnownAzureToolType(type)) return undefined;
  const shape = AZURE_TOOL_SHAPES[type] as ToolShape;
  // OpenAPI calls are seen with their details under `function` as well as under `openapi`.
  const bodyKey = type === 'openapi' && isObject(call['function']) && !isObject(call['openapi']) ? 'function' : shape.body;
  const body: Json = bodyKey === undefined ? call : isObject(call[bodyKey]) ? (call[bodyKey] as Json) : {};
  const attributes: Array<[string, AttributeValue | undefined]> = [];
  const used = new Set<string>([shape.argumentsField, shape.resultField]);
  if (shape.nameField) used.add(shape.nameField);
  if (bodyKey === undefined) for (const key of ['id', 'type']) used.add(key);
  for (const [field, key] of Object.entries(shape.attributeFields ?? {})) {
    used.add(field);
    const value = textOf(body[field]);
    if (value !== undefined) attributes.push([key, value]);
  }
  if (shape.argumentsField === 'requesturl') attributes.push([sc.ATTR_TOOL_CALL_REQUEST_URL, urlWithoutQuery(body['requesturl'])]);
  if (type === 'browser_automation' && Array.isArray(body['steps'])) attributes.push([sc.ATTR_BROWSER_AUTOMATION_STEP_COUNT, body['steps'].length]);

  const extra: Json = {};
  for (const [key, value] of Object.entries(body)) if (!used.has(key)) extra[key] = value;
  // Fields next to the body on the call (besides id and type) are carried too.
  if (bodyKey !== undefined) {
    for (const [key, value] of Object.entries(call)) if (key !== 'id' && key !== 'type' && key !== bodyKey) extra[key] = value;
  }
  return {
    toolName: (shape.nameField ? textOf(body[shape.nameField]) : undefined) ?? type,
    toolType: shape.toolType,
    attributes,
    ...(body[shape.argumentsField] !== undefined && body[shape.argumentsField] !== null ? { arguments: body[shape.argumentsField] } : {}),
    ...(body[shape.resultField] !== undefined && body[shape.resultField] !== null ? { result: body[shape.resultField] } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

// ---- `activities` step details -------------------------------------------------------------------------

export interface ActivitiesFacts {
  attributes: Array<[string, AttributeValue | undefined]>;
  /** Content: the tools the activities listed, in the semconv tool definitions shape. */
  toolDefinitions: Json[];
}

/**
 * `step_details: {type: "activities", activities: [{type: "mcp_list_tools", id, server_label,
 * tools: {<name>: {description, parameters}}}]}` (RunStepActivityDetails, 2025-05-15-preview):
 * counts, types, server labels and listed tool names as attributes; the definitions as content.
 */
export function activitiesFacts(details: Json): ActivitiesFacts | undefined {
  if (details['type'] !== 'activities' || !Array.isArray(details['activities'])) return undefined;
  const activities = details['activities'].filter(isObject);
  const types = new Set<string>();
  const labels = new Set<string>();
  const toolNames = new Set<string>();
  const toolDefinitions: Json[] = [];
  for (const activity of activities) {
    const type = textOf(activity['type']);
    if (type) types.add(type);
    const label = textOf(activity['server_label']);
    if (label) labels.add(label);
    // The spec's `tools` is a map of name → definition; a list of named definitions is seen as well.
    const tools = activity['tools'];
    const entries: Array<[string, unknown]> = isObject(tools)
      ? Object.entries(tools)
      : Array.isArray(tools)
        ? tools.flatMap((t): Array<[string, unknown]> => (isObject(t) && typeof t['name'] === 'string' ? [[t['name'], t]] : []))
        : [];
    for (const [name, definition] of entries) {
      toolNames.add(name);
      const def = isObject(definition) ? definition : {};
      toolDefinitions.push({
        type: 'function',
        name,
        ...(def['description'] !== undefined ? { description: def['description'] } : {}),
        ...(def['parameters'] !== undefined ? { parameters: def['parameters'] } : {}),
      });
    }
  }
  return {
    attributes: [
      [sc.ATTR_STEP_ACTIVITY_COUNT, details['activities'].length],
      [sc.ATTR_STEP_ACTIVITY_TYPES, [...types]],
      [sc.ATTR_MCP_SERVER_LABELS, [...labels].sort()],
      [sc.ATTR_MCP_TOOL_NAMES, [...toolNames].sort()],
    ],
    toolDefinitions,
  };
}
