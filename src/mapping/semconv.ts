/**
 * Attribute keys. The `gen_ai.*` keys follow the OpenTelemetry GenAI semantic conventions as of
 * semantic-conventions v1.41.0 (status: Development). They are copied here rather than imported
 * because incubating keys move between releases; the README pins the version.
 * Keys the conventions do not have live under the project namespace `assistants.*`.
 */

export const SEMCONV_GENAI_VERSION = '1.41.0';

// Stable general conventions.
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';

// GenAI conventions (Development).
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_AGENT_ID = 'gen_ai.agent.id';
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
export const ATTR_GEN_AI_REQUEST_TOP_P = 'gen_ai.request.top_p';
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
/** Input tokens served from the provider's cache (included in input_tokens). v1.41.0 registry. */
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
/** Output tokens spent on reasoning (included in output_tokens). v1.41.0 registry. */
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
/** Tool definitions available to the agent, as JSON; only `type` and `name` unless content is captured. */
export const ATTR_GEN_AI_TOOL_DEFINITIONS = 'gen_ai.tool.definitions';

export const GEN_AI_OPERATION_INVOKE_AGENT = 'invoke_agent';
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool';

/** `gen_ai.tool.type` values: who runs the tool and what it is. */
export const GEN_AI_TOOL_TYPE_FUNCTION = 'function'; // run by the client (the agent's own code)
export const GEN_AI_TOOL_TYPE_EXTENSION = 'extension'; // run by the agent service
export const GEN_AI_TOOL_TYPE_DATASTORE = 'datastore'; // retrieval from a data store

/** `error.type` when a failure carries no code of its own. */
export const ERROR_TYPE_OTHER = '_OTHER';

// Project namespace.
export const ATTR_RUN_ID = 'assistants.run.id';
export const ATTR_RUN_STATUS = 'assistants.run.status';
export const ATTR_RUN_SYNTHESIZED = 'assistants.run.synthesized';
export const ATTR_RUN_INCOMPLETE_REASON = 'assistants.run.incomplete_reason';
export const ATTR_RUN_METADATA_PREFIX = 'assistants.run.metadata.';
export const ATTR_STEP_ID = 'assistants.step.id';
export const ATTR_STEP_TYPE = 'assistants.step.type';
export const ATTR_STEP_STATUS = 'assistants.step.status';
export const ATTR_STEP_MESSAGE_ID = 'assistants.step.message_id';
export const ATTR_STEP_TOOL_CALL_COUNT = 'assistants.step.tool_call_count';
export const ATTR_STEP_METADATA_PREFIX = 'assistants.step.metadata.';
export const ATTR_TOOL_CALL_TYPE = 'assistants.tool_call.type';
export const ATTR_TOOL_CALL_INDEX = 'assistants.tool_call.index';
export const ATTR_CODE_INTERPRETER_IMAGE_FILE_IDS = 'assistants.code_interpreter.image_file_ids';
export const ATTR_CODE_INTERPRETER_OUTPUT_COUNT = 'assistants.code_interpreter.output_count';
export const ATTR_FILE_SEARCH_RANKER = 'assistants.file_search.ranker';
export const ATTR_FILE_SEARCH_SCORE_THRESHOLD = 'assistants.file_search.score_threshold';
export const ATTR_FILE_SEARCH_RESULT_COUNT = 'assistants.file_search.result_count';
export const ATTR_USAGE_TOTAL_TOKENS = 'assistants.usage.total_tokens';
/** Usage counts the conventions have no key for (`prompt_tokens_details.audio_tokens`, …), by their path. */
export const ATTR_USAGE_PREFIX = 'assistants.usage.';
export const ATTR_RUN_UNFINISHED = 'assistants.run.unfinished';
/** Content: the body of a step type we do not know (or of `activities`), as JSON. */
export const ATTR_STEP_DETAILS = 'assistants.step.details';
export const ATTR_STEP_ACTIVITY_COUNT = 'assistants.step.activity_count';
export const ATTR_STEP_ACTIVITY_TYPES = 'assistants.step.activity_types';
export const ATTR_MCP_SERVER_LABEL = 'assistants.mcp.server_label';
export const ATTR_MCP_SERVER_LABELS = 'assistants.mcp.server_labels';
export const ATTR_MCP_TOOL_NAMES = 'assistants.mcp.tool_names';
export const ATTR_TOOL_CALL_REQUEST_URL = 'assistants.tool_call.request_url';
export const ATTR_TOOL_CALL_EXTRA = 'assistants.tool_call.extra';
export const ATTR_BROWSER_AUTOMATION_STEP_COUNT = 'assistants.browser_automation.step_count';
export const ATTR_CONNECTED_AGENT_ID = 'assistants.connected_agent.id';
export const ATTR_CONNECTED_AGENT_NAME = 'assistants.connected_agent.name';
export const ATTR_CONNECTED_AGENT_RUN_ID = 'assistants.connected_agent.run_id';
export const ATTR_CONNECTED_AGENT_THREAD_ID = 'assistants.connected_agent.thread_id';
export const ATTR_QUIRKS = 'assistants.quirks';
/**
 * The span's bounds in the API's own clock (Unix seconds, after the time rules). The span's times
 * equal them when the records are all there is; the library may refine the times with what it
 * observed (stream events, in milliseconds), and these keep what the API said.
 */
export const ATTR_API_START_SECONDS = 'assistants.api.start_seconds';
export const ATTR_API_END_SECONDS = 'assistants.api.end_seconds';

export const EVENT_RUN_STARTED = 'assistants.run.started';
