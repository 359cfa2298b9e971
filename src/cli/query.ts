/**
 * The query commands' shared parts: API flags, the client, and reporting of what the API sent.
 */
import { RequestBudget } from '../api/budget.js';
import { createAssistantsClient, DEFAULT_API_RETRY, type AssistantsClient, type Fetched, type ItemRejection, type ItemWarning, type Page } from '../api/client.js';
import { isApiError } from '../api/errors.js';
import { apiConfigFromEnv, retryDelayCapFromEnv } from '../config.js';
import { createLogger } from '../util/log.js';
import { apiId, parseFlags, parsePositiveInt, UsageError } from './args.js';
import { EXIT_FAILURE, EXIT_OK, writeLine, type CliIo } from './io.js';
import { API_CONNECTION_FLAGS, apiFlags } from './flags.js';
import { parseOutputFormat, type OutputFormat } from './output.js';

export const API_FLAGS = {
  ...API_CONNECTION_FLAGS,
  output: { type: 'string', short: 'o' },
  fields: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const API_FLAGS_HELP = `API options:
  --provider KIND            openai (default), azure-openai or azure-foundry
                             (also ASSISTANTS_OTEL_PROVIDER; guessed from the endpoint variables)
  --base-url URL             the API base URL (OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT,
                             AZURE_AI_PROJECT_ENDPOINT)
  --api-version V            Azure api-version (OPENAI_API_VERSION, AZURE_AI_AGENTS_API_VERSION)
  --token-command CMD        a command printing a bearer token (ASSISTANTS_OTEL_TOKEN_COMMAND)
  --max-concurrency N        API requests in flight at once (default 8)
  --max-rps N                API requests started per second (default 10)
  --max-retry-delay DUR      the longest wait between two attempts, API or collector (default
                             5m; ASSISTANTS_OTEL_MAX_RETRY_DELAY): a longer Retry-After is
                             waited only this long by watch, and fails other commands at once
  Keys come from the environment only: OPENAI_API_KEY, AZURE_OPENAI_API_KEY.

Output options:
  -o, --output FORMAT        table (default), json or jsonl
  --fields a,b.c             columns to show (dotted paths reach into objects); * for all
`;

export interface QueryContext {
  client: AssistantsClient;
  output: OutputFormat;
  fields: string | undefined;
}

export function requireFlag(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${command}: ${flag} is required. Run "assistants-otel ${command} --help" for usage.`);
  return apiId(value.trim(), flag);
}

type ApiFlagValues = { [K in 'provider' | 'base-url' | 'api-version' | 'token-command' | 'max-concurrency' | 'max-rps' | 'max-retry-delay' | 'output' | 'fields']?: string | undefined };

export function queryContext(io: CliIo, values: ApiFlagValues): QueryContext {
  const output = parseOutputFormat(values.output);
  const config = apiConfigFromEnv(io.env, apiFlags(values));
  if (config.notice) writeLine(io.stderr, `warning: ${config.notice}`);
  const logger = createLogger({ stream: io.stderr, level: 'warn', secrets: () => config.provider.credentials.secrets() });
  const retry = { ...DEFAULT_API_RETRY, delayCapMillis: retryDelayCapFromEnv(io.env, values['max-retry-delay']) };
  const client = createAssistantsClient({ provider: config.provider, budget: new RequestBudget(config.budget), retry, logger });
  return { client, output, fields: values.fields };
}

/**
 * Reports records the API sent that could not be placed in a trace (`error:`), or that have fields
 * that failed validation (`warning:`), one line per field. The records themselves are all shown.
 */
export function reportItems(io: CliIo, what: string, rejected: readonly ItemRejection[], warnings: readonly ItemWarning[]): void {
  for (const r of rejected) {
    for (const issue of r.issues) {
      writeLine(io.stderr, `error: ${what} item ${r.index}${r.id ? ` (${r.id})` : ''}: ${issue.path || '$'}: ${issue.message}`);
    }
  }
  for (const w of warnings) {
    for (const issue of w.issues) writeLine(io.stderr, `warning: ${what} item ${w.index} (${w.id}): ${issue.path}: ${issue.message}`);
  }
}

/** A page's records as the server sent them, and the reports about the ones shown (after `--limit`). */
export function shownRecords<T>(page: Page<T>): { records: unknown[]; rejected: ItemRejection[]; warnings: ItemWarning[] } {
  const records = page.records ?? page.items;
  return {
    records,
    rejected: page.rejected.filter((r) => r.index < records.length),
    warnings: page.warnings.filter((w) => w.index < records.length),
  };
}

/**
 * `get`: the record as the server sent it, with a warning per field that failed validation; a
 * record that cannot be placed in a trace is shown too, with its errors, and the status is 1.
 */
export async function showOne<T extends { id: string }>(io: CliIo, what: string, fetch: () => Promise<Fetched<T>>, render: (record: unknown) => string): Promise<number> {
  let fetched: Fetched<T>;
  try {
    fetched = await fetch();
  } catch (error) {
    if (!isApiError(error, 'invalid_payload') || error.details.body === undefined) throw error;
    const body = error.details.body;
    const id = typeof body === 'object' && body !== null && typeof (body as { id?: unknown }).id === 'string' ? (body as { id: string }).id : undefined;
    reportItems(io, what, [{ index: 0, ...(id ? { id } : {}), issues: error.details.issues ?? [] }], []);
    io.stdout.write(render(body));
    return EXIT_FAILURE;
  }
  reportItems(io, what, [], fetched.warnings.length > 0 ? [{ index: 0, id: fetched.value.id, issues: fetched.warnings }] : []);
  io.stdout.write(render(fetched.raw ?? fetched.value));
  return EXIT_OK;
}

/** For `--fields`: a warning on stderr for a field no record shown has (its column would be all `-`, silently). */
export function missingFieldWarning(io: CliIo): (field: string) => void {
  return (field) => writeLine(io.stderr, `warning: --fields ${field}: no record shown has this field (fields are the API's names, dotted for nested ones: usage.total_tokens; * shows every field)`);
}

export { parseFlags, parsePositiveInt };
