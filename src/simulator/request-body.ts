// Request bodies, validated the way the API answers: the first problem as a 400 naming the parameter.
import * as z from 'zod';
import { ApiError, errors } from './errors.js';

const metadata = z.union([z.record(z.string(), z.string()), z.null()]).optional();
const messageInput = z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(z.unknown())]) });

const runFields = {
  assistant_id: z.string().min(1),
  model: z.union([z.string(), z.null()]).optional(),
  instructions: z.union([z.string(), z.null()]).optional(),
  additional_instructions: z.union([z.string(), z.null()]).optional(),
  additional_messages: z.union([z.array(messageInput), z.null()]).optional(),
  tools: z.union([z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
  metadata,
  temperature: z.union([z.number().min(0).max(2), z.null()]).optional(),
  top_p: z.union([z.number().min(0).max(1), z.null()]).optional(),
  stream: z.union([z.boolean(), z.null()]).optional(),
  max_prompt_tokens: z.union([z.int().min(256), z.null()]).optional(),
  max_completion_tokens: z.union([z.int().min(256), z.null()]).optional(),
  truncation_strategy: z.unknown().optional(),
  tool_choice: z.unknown().optional(),
  response_format: z.unknown().optional(),
  parallel_tool_calls: z.boolean().optional(),
};

export const createThreadBody = z.looseObject({ messages: z.array(messageInput).optional(), metadata, tool_resources: z.unknown().optional() });
export const createRunBody = z.looseObject(runFields);
export const createThreadAndRunBody = z.looseObject({ ...runFields, thread: createThreadBody.optional() });
export const submitToolOutputsBody = z.looseObject({
  tool_outputs: z.array(z.looseObject({ tool_call_id: z.string(), output: z.string().default('') })),
  stream: z.union([z.boolean(), z.null()]).optional(),
});
export const createMessageBody = z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(z.unknown())]), metadata });

export type CreateRunBody = z.output<typeof createRunBody>;
export type CreateThreadBody = z.output<typeof createThreadBody>;
export type MessageInput = z.output<typeof messageInput>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Number.isInteger(value)) return 'an integer';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type === 'number' ? 'decimal' : type}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) node = typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  return node;
}

/** The API's metadata limits: at most 16 keys, keys up to 64 characters, values up to 512. */
function checkMetadata(value: Record<string, string> | null | undefined, param: string): void {
  if (value === null || value === undefined) return;
  const entries = Object.entries(value);
  if (entries.length > 16) {
    throw new ApiError(400, 'invalid_request_error', `Invalid '${param}': too many properties. Expected an object with at most 16 properties, but got an object with ${entries.length} properties instead.`, param, 'object_above_max_properties');
  }
  for (const [key, text] of entries) {
    if (key.length > 64) throw new ApiError(400, 'invalid_request_error', `Invalid '${param}': key too long. Expected keys of at most 64 characters, but got '${key.slice(0, 16)}…' with ${key.length} characters instead.`, param, 'invalid_value');
    if (text.length > 512) throw new ApiError(400, 'invalid_request_error', `Invalid '${param}.${key}': string too long. Expected a string with maximum length 512, but got a string with length ${text.length} instead.`, `${param}.${key}`, 'string_above_max_length');
  }
}

/** Parses a body against a schema or throws the 400 the API would send for its first problem. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const root = body === undefined ? {} : body;
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw errors.invalidType('body', 'an object', describe(root));
  const result = schema.safeParse(root);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path ?? [];
    const param = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
    const value = valueAt(root, path);
    if (value === undefined) throw errors.missingParam(param);
    if (issue?.code === 'invalid_type') {
      const expected = issue.expected === 'record' || issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`;
      throw errors.invalidType(param, expected, describe(value));
    }
    throw new ApiError(400, 'invalid_request_error', `Invalid value for '${param}': ${issue?.message ?? 'invalid'} (got ${describe(value)}).`, param, 'invalid_value');
  }
  const data: unknown = result.data;
  // Every schema here types `metadata` as a string map or null, so the cast only restates the parse.
  checkMetadata(valueAt(data, ['metadata']) as Record<string, string> | null | undefined, 'metadata');
  return result.data;
}

/** The text of a message's `content` (a string, or text parts joined). */
export function messageText(content: string | unknown[]): string {
  if (typeof content === 'string') return content;
  return content
    .map((part) => (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
    .join('');
}
