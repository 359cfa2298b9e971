/**
 * The query commands' shared parts: API flags, the client, and reporting of what the API sent.
 */
import { RequestBudget } from '../api/budget.js';
import { createAssistantsClient, DEFAULT_API_RETRY, type AssistantsClient, type ItemRejection, type ItemWarning } from '../api/client.js';
import { apiConfigFromEnv, retryDelayCapFromEnv } from '../config.js';
import { createLogger } from '../util/log.js';
import { parseFlags, parsePositiveInt, UsageError } from './args.js';
import { writeLine, type CliIo } from './io.js';
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
  return value;
}

type ApiFlagValues = { [K in 'provider' | 'base-url' | 'api-version' | 'token-command' | 'max-concurrency' | 'max-rps' | 'max-retry-delay' | 'output' | 'fields']?: string | undefined };

export function queryContext(io: CliIo, values: ApiFlagValues): QueryContext {
  const output = parseOutputFormat(values.output);
  const config = apiConfigFromEnv(io.env, apiFlags(values));
  const logger = createLogger({ stream: io.stderr, level: 'warn', secrets: () => config.provider.credentials.secrets() });
  const retry = { ...DEFAULT_API_RETRY, delayCapMillis: retryDelayCapFromEnv(io.env, values['max-retry-delay']) };
  const client = createAssistantsClient({ provider: config.provider, budget: new RequestBudget(config.budget), retry, logger });
  return { client, output, fields: values.fields };
}

/** Reports records the API sent that could not be placed, or were kept with a field dropped. */
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

export { parseFlags, parsePositiveInt };
