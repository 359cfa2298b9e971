/**
 * `assistants-otel runs list|get`: a thread's runs as a table or JSON, every field available.
 */
import { listAllRuns } from '../api/pagination.js';
import { UsageError } from './args.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo } from './io.js';
import { renderList, renderOne } from './output.js';
import { API_FLAGS, API_FLAGS_HELP, missingFieldWarning, parseFlags, parsePositiveInt, queryContext, reportItems, requireFlag, showOne, shownRecords } from './query.js';
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
Every record is shown as the server sent it, with a warning per field that failed validation.
Exit status: 0 ok; 1 on an API error or a record that cannot be placed in a trace (it is shown
too, with its errors); 2 on a usage error.
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
    return showOne(io, 'run', () => ctx.client.getRun(thread, runId, io.signal), (record) => renderOne(record, { format: ctx.output, fields: values.fields, onMissingField: missingFieldWarning(io) }));
  }

  const limit = parsePositiveInt(values.limit, '--limit');
  const page = await listAllRuns(ctx.client, thread, { order: parseOrder(values.order) }, io.signal, limit);
  const shown = shownRecords(page);
  reportItems(io, 'run', shown.rejected, shown.warnings);
  io.stdout.write(renderList(shown.records, DEFAULT_LIST_FIELDS, { format: ctx.output, fields: values.fields, onMissingField: missingFieldWarning(io) }));
  return shown.rejected.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
