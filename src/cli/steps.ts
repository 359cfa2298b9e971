/**
 * `assistants-otel steps list|get`: run steps as a table or JSON, every field available.
 */
import { FILE_SEARCH_CONTENT_INCLUDE } from '../api/client.js';
import { listAllRunSteps } from '../api/pagination.js';
import { classifyToolCall, type ToolCall } from '../api/schemas.js';
import { UsageError } from './args.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo } from './io.js';
import { renderList, renderOne, type VirtualField } from './output.js';
import { API_FLAGS, API_FLAGS_HELP, missingFieldWarning, parseFlags, parsePositiveInt, queryContext, reportItems, requireFlag, showOne, shownRecords } from './query.js';

export const STEPS_HELP = `Usage: assistants-otel steps list --thread T --run R [options]
       assistants-otel steps get  --thread T --run R --step S [options]

Lists or shows run steps: every field of the run-step object (and any field the server adds).

Options:
  --thread ID                the thread (required)
  --run ID                   the run (required)
  --step ID                  the step (get)
  --order asc|desc           list order by creation time (default asc)
  --limit N                  at most N steps (default: all, fetched 100 per page)
  --include-file-search-content
                             ask for file search result content (include[]=${FILE_SEARCH_CONTENT_INCLUDE})
  -h, --help                 show this help

${API_FLAGS_HELP}
Table columns (default): ${'id,type,status,created_at,completed_at,tools,usage.total_tokens,last_error.code'}
"tools" lists each tool call as its function name or type. Every record is shown as the server sent
it, with a warning per field that failed validation. Exit status: 0 ok; 1 on an API error or a
record that cannot be placed in a trace (it is shown too, with its errors); 2 on a usage error.
`;

const DEFAULT_LIST_FIELDS = ['id', 'type', 'status', 'created_at', 'completed_at', 'tools', 'usage.total_tokens', 'last_error.code'];

/** A tool call's name for the `tools` column, from the record as sent (any shape). */
function toolLabel(call: unknown): string {
  if (typeof call !== 'object' || call === null || typeof (call as { type?: unknown }).type !== 'string') return '?';
  const c = classifyToolCall(call as ToolCall);
  return c.kind === 'function' ? c.call.function.name : c.call.type;
}

export const STEP_VIRTUAL_FIELDS: Record<string, VirtualField> = {
  tools: (record) => {
    const details = (record as { step_details?: unknown }).step_details;
    if (typeof details !== 'object' || details === null) return undefined;
    const { type, tool_calls: calls } = details as { type?: unknown; tool_calls?: unknown };
    if (type !== 'tool_calls' || !Array.isArray(calls)) return undefined;
    return calls.map(toolLabel).join(',');
  },
};

export const STEP_FLAGS = {
  ...API_FLAGS,
  thread: { type: 'string' },
  run: { type: 'string' },
  step: { type: 'string' },
  order: { type: 'string' },
  limit: { type: 'string' },
  'include-file-search-content': { type: 'boolean' },
} as const;

export function parseOrder(value: string | undefined): 'asc' | 'desc' {
  if (value === undefined || value === 'asc' || value === 'desc') return value ?? 'asc';
  throw new UsageError(`--order: expected asc or desc, got "${value}"`);
}

export async function stepsCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(STEPS_HELP);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub !== 'list' && sub !== 'get') throw new UsageError(`steps: unknown subcommand "${sub}" (expected list or get)`);
  const { values } = parseFlags(`steps ${sub}`, rest, STEP_FLAGS);
  if (values.help) {
    io.stdout.write(STEPS_HELP);
    return EXIT_OK;
  }
  const thread = requireFlag(values.thread, '--thread', `steps ${sub}`);
  const run = requireFlag(values.run, '--run', `steps ${sub}`);
  const ctx = queryContext(io, values);
  const include = values['include-file-search-content'] === true;

  if (sub === 'get') {
    const stepId = requireFlag(values.step, '--step', 'steps get');
    return showOne(
      io,
      'step',
      () => ctx.client.getRunStep(thread, run, stepId, { includeFileSearchContent: include }, io.signal),
      (record) => renderOne(record, { format: ctx.output, fields: values.fields, virtual: STEP_VIRTUAL_FIELDS, onMissingField: missingFieldWarning(io) }),
    );
  }

  const limit = parsePositiveInt(values.limit, '--limit');
  const page = await listAllRunSteps(ctx.client, thread, run, { order: parseOrder(values.order), includeFileSearchContent: include }, io.signal, limit);
  const shown = shownRecords(page);
  reportItems(io, 'step', shown.rejected, shown.warnings);
  io.stdout.write(renderList(shown.records, DEFAULT_LIST_FIELDS, { format: ctx.output, fields: values.fields, virtual: STEP_VIRTUAL_FIELDS, onMissingField: missingFieldWarning(io) }));
  return shown.rejected.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
