/**
 * `assistants-otel steps list|get`: run steps as a table or JSON, every field available.
 */
import { FILE_SEARCH_CONTENT_INCLUDE } from '../api/client.js';
import { listAllRunSteps } from '../api/pagination.js';
import { classifyToolCall, type RunStep } from '../api/schemas.js';
import { UsageError } from './args.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo } from './io.js';
import { renderList, renderOne, type VirtualField } from './output.js';
import { API_FLAGS, API_FLAGS_HELP, parseFlags, parsePositiveInt, queryContext, reportItems, requireFlag } from './query.js';

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
"tools" lists each tool call as its function name or type. Exit status: 0 ok; 1 on an API error or a
malformed record (the others are still shown); 2 on a usage error.
`;

const DEFAULT_LIST_FIELDS = ['id', 'type', 'status', 'created_at', 'completed_at', 'tools', 'usage.total_tokens', 'last_error.code'];

export const STEP_VIRTUAL_FIELDS: Record<string, VirtualField> = {
  tools: (record) => {
    const step = record as RunStep;
    const details = step.step_details;
    if (!details || details.type !== 'tool_calls' || !('tool_calls' in details) || !Array.isArray(details.tool_calls)) return undefined;
    return details.tool_calls
      .map((call) => {
        const c = classifyToolCall(call);
        return c.kind === 'function' ? c.call.function.name : c.call.type;
      })
      .join(',');
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
    const { value, warnings } = await ctx.client.getRunStep(thread, run, stepId, { includeFileSearchContent: include }, io.signal);
    reportItems(io, 'step', [], warnings.length > 0 ? [{ index: 0, id: value.id, issues: warnings }] : []);
    io.stdout.write(renderOne(value as Record<string, unknown>, { format: ctx.output, fields: values.fields, virtual: STEP_VIRTUAL_FIELDS }));
    return EXIT_OK;
  }

  const limit = parsePositiveInt(values.limit, '--limit');
  const page = await listAllRunSteps(ctx.client, thread, run, { order: parseOrder(values.order), includeFileSearchContent: include }, io.signal, limit);
  reportItems(io, 'step', page.rejected, page.warnings);
  io.stdout.write(renderList(page.items as Record<string, unknown>[], DEFAULT_LIST_FIELDS, { format: ctx.output, fields: values.fields, virtual: STEP_VIRTUAL_FIELDS }));
  return page.rejected.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
