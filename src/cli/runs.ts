/**
 * `assistants-otel runs list|get`: a thread's runs as a table or JSON, every field available.
 */
import { listAllRuns } from '../api/pagination.js';
import { UsageError } from './args.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo } from './io.js';
import { renderList, renderOne } from './output.js';
import { API_FLAGS, API_FLAGS_HELP, parseFlags, parsePositiveInt, queryContext, reportItems, requireFlag } from './query.js';
import { parseOrder } from './steps.js';

const DEFAULT_LIST_FIELDS = ['id', 'status', 'assistant_id', 'model', 'created_at', 'completed_at', 'usage.total_tokens', 'last_error.code'];

export const RUNS_HELP = `Usage: assistants-otel runs list --thread T [options]
       assistants-otel runs get  --thread T --run R [options]

Lists or shows a thread's runs: every field of the run object (and any field the server adds).

Options:
  --thread ID                the thread (required)
  --run ID                   the run (get)
  --order asc|desc           list order by creation time (default asc)
  --limit N                  at most N runs (default: all, fetched 100 per page)
  -h, --help                 show this help

${API_FLAGS_HELP}
Table columns (default): ${DEFAULT_LIST_FIELDS.join(',')}
Exit status: 0 ok; 1 on an API error or a malformed record (the others are still shown); 2 on a usage error.
`;

export const RUN_FLAGS = { ...API_FLAGS, thread: { type: 'string' }, run: { type: 'string' }, order: { type: 'string' }, limit: { type: 'string' } } as const;

export async function runsCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(RUNS_HELP);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub !== 'list' && sub !== 'get') throw new UsageError(`runs: unknown subcommand "${sub}" (expected list or get)`);
  const { values } = parseFlags(`runs ${sub}`, rest, RUN_FLAGS);
  if (values.help) {
    io.stdout.write(RUNS_HELP);
    return EXIT_OK;
  }
  const thread = requireFlag(values.thread, '--thread', `runs ${sub}`);
  const ctx = queryContext(io, values);

  if (sub === 'get') {
    const runId = requireFlag(values.run, '--run', 'runs get');
    const { value, warnings } = await ctx.client.getRun(thread, runId, io.signal);
    reportItems(io, 'run', [], warnings.length > 0 ? [{ index: 0, id: value.id, issues: warnings }] : []);
    io.stdout.write(renderOne(value as Record<string, unknown>, { format: ctx.output, fields: values.fields }));
    return EXIT_OK;
  }

  const limit = parsePositiveInt(values.limit, '--limit');
  const page = await listAllRuns(ctx.client, thread, { order: parseOrder(values.order) }, io.signal, limit);
  reportItems(io, 'run', page.rejected, page.warnings);
  io.stdout.write(renderList(page.items as Record<string, unknown>[], DEFAULT_LIST_FIELDS, { format: ctx.output, fields: values.fields }));
  return page.rejected.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
