/**
 * The one place that reads the environment. Everything else takes explicit options.
 *
 * (With the files under config/, which take `env` from here: parse.ts, otlp.ts, delivery.ts.)
 *
 * Standard OpenTelemetry variables are honoured with their usual precedence (a signal-specific
 * `..._TRACES_...` variable over the general one, a command-line flag over both). Every error names
 * the variable or flag that was wrong; no error repeats a header value, since those are secrets.
 */
import { tmpdir } from 'node:os';
import { bearerToken, commandTokenSource, noCredentials, staticKey } from './api/credentials.js';
import { createProvider, DEFAULT_OPENAI_BASE_URL, PROVIDER_KINDS, providerNameOf, type ProviderKind, type ProviderProfile } from './api/providers.js';
import type { ResourceOptions } from './delivery/resource.js';
import { DEFAULT_CONTENT_MAX_LENGTH } from './mapping/content.js';
import type { RecordSource } from './mapping/source.js';
import type { MappingOptions } from './mapping/types.js';
import { ConfigError, firstSet, nonEmpty, parseBoolean, parseKeyValueList, parsePositiveInteger, parsePositiveNumber, parseUrl, type Env } from './config/parse.js';
import { redactConnectionUrl } from './util/redact.js';

// The parts of the configuration that live in their own files, re-exported: callers import config.ts.
export { ConfigError, parseByteSize, parseDuration, parseKeyValueList, parseTimerDuration, type DurationLimits, type Env } from './config/parse.js';
export { MAX_TIMER_MILLIS } from './util/backoff.js';
export { DEFAULT_OTLP_ENDPOINT, DEFAULT_OTLP_GRPC_ENDPOINT, otlpOptionsFromEnv, type OtlpFlags } from './config/otlp.js';
export { deliveryOptionsFromEnv, retryDelayCapFromEnv, type DeliveryFlags, type DeliveryLimits } from './config/delivery.js';
export { DEFAULT_LEASE_MILLIS, fleetConfigFromEnv, type FleetConfig, type FleetFlags } from './config/fleet.js';

/** `service.name` and the other resource attributes from `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`. */
export function resourceOptionsFromEnv(env: Env): ResourceOptions {
  const attributes = parseKeyValueList(env['OTEL_RESOURCE_ATTRIBUTES'] ?? '', 'OTEL_RESOURCE_ATTRIBUTES');
  const serviceName = nonEmpty(env['OTEL_SERVICE_NAME']);
  return { attributes, ...(serviceName ? { serviceName } : {}) };
}

export interface MappingFlags {
  /** `--capture-content` */
  captureContent?: boolean | undefined;
  /** `--content-max-length` */
  contentMaxLength?: string | undefined;
  /** `--provider-name` */
  providerName?: string | undefined;
}

function parseLength(value: string, source: string): number {
  return parsePositiveInteger(value, source, 'a whole number of characters');
}

/** Mapping options from `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, the attribute length limits and flags. */
export function mappingOptionsFromEnv(env: Env, flags: MappingFlags = {}): MappingOptions {
  const capture = flags.captureContent
    ?? parseBoolean(env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'] ?? 'false', 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT');
  const contentMax = flags.contentMaxLength !== undefined
    ? parseLength(flags.contentMaxLength, '--content-max-length')
    : env['ASSISTANTS_OTEL_CONTENT_MAX_LENGTH']
      ? parseLength(env['ASSISTANTS_OTEL_CONTENT_MAX_LENGTH'], 'ASSISTANTS_OTEL_CONTENT_MAX_LENGTH')
      : DEFAULT_CONTENT_MAX_LENGTH;
  const limit = firstSet(env, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT');
  return {
    captureContent: capture,
    contentMaxLength: contentMax,
    ...(limit ? { attributeValueLengthLimit: parseLength(limit.value, limit.name) } : {}),
    ...(flags.providerName ? { providerName: flags.providerName } : {}),
  };
}

/**
 * Options of the library instrumentation from the same variables as everywhere
 * (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, `ASSISTANTS_OTEL_CONTENT_MAX_LENGTH`, the
 * attribute length limits), for an application that wants them: the library itself reads nothing.
 *
 *   instrumentOpenAI(client, { ...instrumentationOptionsFromEnv(process.env) })
 */
export function instrumentationOptionsFromEnv(env: Env): Pick<MappingOptions, 'captureContent' | 'contentMaxLength' | 'attributeValueLengthLimit'> {
  const { captureContent, contentMaxLength, attributeValueLengthLimit } = mappingOptionsFromEnv(env);
  return {
    ...(captureContent !== undefined ? { captureContent } : {}),
    ...(contentMaxLength !== undefined ? { contentMaxLength } : {}),
    ...(attributeValueLengthLimit !== undefined ? { attributeValueLengthLimit } : {}),
  };
}

// ---- the API: provider, credentials, request budget ----------------------------------------------

export interface ApiFlags {
  /** `--provider` */
  provider?: string | undefined;
  /** `--base-url` */
  baseUrl?: string | undefined;
  /** `--api-version` */
  apiVersion?: string | undefined;
  /** `--token-command` */
  tokenCommand?: string | undefined;
  /** `--max-concurrency` */
  maxConcurrency?: string | undefined;
  /** `--max-rps` */
  maxRps?: string | undefined;
}

export interface ApiConfig {
  provider: ProviderProfile;
  budget: { maxConcurrency: number; requestsPerSecond: number };
  /** Something the user should hear at start: no API was configured, so the default is used. */
  notice?: string;
}

/** Said when nothing names an API: the default is OpenAI's, whose Assistants API is switched off. */
export const NO_API_CONFIGURED =
  'no API configured (OPENAI_BASE_URL, AZURE_AI_PROJECT_ENDPOINT, AZURE_OPENAI_ENDPOINT or --base-url): using https://api.openai.com/v1, where OpenAI switched the Assistants API off on 2026-08-26; set OPENAI_BASE_URL to your server (or an Azure endpoint; see "Providers" in the README)';

/** `--provider` / `ASSISTANTS_OTEL_PROVIDER`, else guessed from which endpoint variable is set. */
function providerKindFromEnv(env: Env, flags: ApiFlags): ProviderKind {
  const kindSource = flags.provider !== undefined
    ? { name: '--provider', value: flags.provider }
    : firstSet(env, 'ASSISTANTS_OTEL_PROVIDER');
  if (kindSource) {
    if (!(PROVIDER_KINDS as readonly string[]).includes(kindSource.value)) {
      throw new ConfigError(kindSource.name, `expected one of ${PROVIDER_KINDS.join(', ')}, got "${kindSource.value}"`);
    }
    return kindSource.value as ProviderKind;
  }
  if (nonEmpty(env['AZURE_AI_PROJECT_ENDPOINT'])) return 'azure-foundry';
  if (nonEmpty(env['AZURE_OPENAI_ENDPOINT'])) return 'azure-openai';
  return 'openai';
}

const ENDPOINT_VARIABLE: Record<ProviderKind, string> = {
  openai: 'OPENAI_BASE_URL',
  'azure-openai': 'AZURE_OPENAI_ENDPOINT',
  'azure-foundry': 'AZURE_AI_PROJECT_ENDPOINT',
};

/** `--base-url`, else the kind's endpoint variable; checked to be an http(s) URL without credentials. */
function baseUrlFromEnv(kind: ProviderKind, env: Env, flags: ApiFlags): { name: string; value: string } | undefined {
  const base = flags.baseUrl !== undefined ? { name: '--base-url', value: flags.baseUrl } : firstSet(env, ENDPOINT_VARIABLE[kind]);
  if (base) parseUrl(base.value, base.name);
  return base;
}

/**
 * Where records come from, for the span attributes (`gen_ai.provider.name`, `server.address`,
 * `server.port`), from the same variables and flags as the API profile (`--provider`,
 * `--base-url`, the endpoint variables; `--provider-name` overrides the name) but without needing
 * credentials: `import` describes saved records exactly as `watch` describes the same records read
 * live, so both give the same spans.
 */
export function recordSourceFromEnv(env: Env, flags: ApiFlags & { providerName?: string | undefined } = {}): RecordSource {
  const kind = providerKindFromEnv(env, flags);
  const base = baseUrlFromEnv(kind, env, flags);
  const baseUrl = base?.value ?? (kind === 'openai' ? DEFAULT_OPENAI_BASE_URL : undefined);
  return { providerName: nonEmpty(flags.providerName) ?? providerNameOf(kind), ...(baseUrl !== undefined ? { baseUrl } : {}) };
}

/**
 * The API profile from the environment (keys are read only from the environment or a token command,
 * never from flags, which other users of the machine can see in `ps`).
 *
 * | provider        | base URL (flag `--base-url`)  | credentials                                                    | api-version                          |
 * | openai          | `OPENAI_BASE_URL`             | `OPENAI_API_KEY`; `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID` headers | –                                    |
 * | azure-openai    | `AZURE_OPENAI_ENDPOINT`       | `AZURE_OPENAI_API_KEY`, or a token command                     | `OPENAI_API_VERSION` (required)      |
 * | azure-foundry   | `AZURE_AI_PROJECT_ENDPOINT`   | a token command (`ASSISTANTS_OTEL_TOKEN_COMMAND`)               | `AZURE_AI_AGENTS_API_VERSION` (required) |
 *
 * The provider is `--provider` / `ASSISTANTS_OTEL_PROVIDER`, else guessed from which endpoint is set.
 */
export function apiConfigFromEnv(env: Env, flags: ApiFlags = {}): ApiConfig {
  const kind = providerKindFromEnv(env, flags);

  const tokenCommand = flags.tokenCommand !== undefined
    ? { name: '--token-command', value: flags.tokenCommand }
    : firstSet(env, 'ASSISTANTS_OTEL_TOKEN_COMMAND');
  const tokenCredentials = (hint: string) =>
    tokenCommand ? bearerToken(commandTokenSource(tokenCommand.value), `${hint} (token from ${tokenCommand.name})`) : undefined;

  const budget = {
    maxConcurrency: flags.maxConcurrency !== undefined ? parsePositiveInteger(flags.maxConcurrency, '--max-concurrency') : 8,
    requestsPerSecond: flags.maxRps !== undefined ? parsePositiveNumber(flags.maxRps, '--max-rps') : 10,
  };

  switch (kind) {
    case 'openai': {
      const base = baseUrlFromEnv(kind, env, flags);
      const key = nonEmpty(env['OPENAI_API_KEY']);
      const credentials = tokenCredentials('the token command')
        ?? (key ? staticKey(key, 'OPENAI_API_KEY', 'authorization') : noCredentials);
      const org = nonEmpty(env['OPENAI_ORG_ID']);
      const project = nonEmpty(env['OPENAI_PROJECT_ID']);
      return {
        provider: createProvider({
          kind,
          credentials,
          ...(base ? { baseUrl: base.value } : {}),
          ...(org ? { organization: org } : {}),
          ...(project ? { project } : {}),
        }),
        budget,
        ...(base ? {} : { notice: NO_API_CONFIGURED }),
      };
    }
    case 'azure-openai':
    case 'azure-foundry': {
      const endpointVar = ENDPOINT_VARIABLE[kind];
      const versionVar = kind === 'azure-openai' ? 'OPENAI_API_VERSION' : 'AZURE_AI_AGENTS_API_VERSION';
      const base = baseUrlFromEnv(kind, env, flags);
      if (!base) throw new ConfigError(endpointVar, `required for provider ${kind} (or pass --base-url)`);
      const version = flags.apiVersion !== undefined ? { name: '--api-version', value: flags.apiVersion } : firstSet(env, versionVar);
      if (!version) throw new ConfigError(versionVar, `required for provider ${kind} (or pass --api-version), e.g. 2025-05-15-preview`);
      const key = kind === 'azure-openai' ? nonEmpty(env['AZURE_OPENAI_API_KEY']) : undefined;
      const credentials = tokenCredentials('the token command')
        ?? (key ? staticKey(key, 'AZURE_OPENAI_API_KEY', 'api-key') : undefined);
      if (!credentials) {
        throw new ConfigError(
          kind === 'azure-openai' ? 'AZURE_OPENAI_API_KEY' : 'ASSISTANTS_OTEL_TOKEN_COMMAND',
          kind === 'azure-openai'
            ? 'set the key, or ASSISTANTS_OTEL_TOKEN_COMMAND for an Entra ID token'
            : 'the Agent Service takes an Entra ID token: set a command that prints one, e.g. "az account get-access-token --resource https://ai.azure.com -o json"',
        );
      }
      return { provider: createProvider({ kind, credentials, baseUrl: base.value, apiVersion: version.value }), budget };
    }
  }
}

/** Whether the user named a collector (`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`); the demo prints traces when not. */
export function otlpEndpointConfigured(env: Env): boolean {
  return firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined;
}

/** `ASSISTANTS_OTEL_LISTEN_TOKEN`: the bearer token the sidecar's `/v1/*` endpoints require, if any. */
export function listenTokenFromEnv(env: Env): string | undefined {
  return nonEmpty(env['ASSISTANTS_OTEL_LISTEN_TOKEN']);
}

/**
 * Colours on a terminal: on when writing to a TTY, unless `NO_COLOR` is set (no-color.org) or
 * `TERM=dumb`; `FORCE_COLOR` (anything but `0` or `false`) turns them on anyway.
 */
export function colorEnabled(env: Env, isTTY: boolean): boolean {
  if (nonEmpty(env['NO_COLOR']) !== undefined) return false;
  const force = nonEmpty(env['FORCE_COLOR']);
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env['TERM'] === 'dumb') return false;
  return isTTY;
}

// ---- dates ---------------------------------------------------------------------------------------

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A point in time (`--since`, `--until`) → Unix seconds: ISO 8601 (`2026-05-01`, `2026-05-01T10:30:00Z`,
 * `2026-05-01T12:30+02:00`; without an offset, UTC) or Unix seconds (`1714560000`).
 */
export function parseTimestamp(value: string, source: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    // 13 digits is milliseconds, a common slip: year 56000 is not what anyone meant.
    if (seconds >= 1e11) throw new ConfigError(source, `"${value}" looks like milliseconds; give Unix seconds (${Math.floor(seconds / 1000)}) or an ISO 8601 date`);
    return seconds;
  }
  const match = ISO_DATE.exec(text);
  const expected = 'expected an ISO 8601 date or time (2026-05-01, 2026-05-01T10:30:00Z) or Unix seconds';
  if (!match) throw new ConfigError(source, `${expected}, got "${value}"`);
  const [, y, mo, d, h = '0', mi = '0', sec = '0', fraction = '', offset = 'Z'] = match;
  const parts = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec)] as const;
  const millis = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]);
  const check = new Date(millis);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not round-trip does not exist.
  if (check.getUTCMonth() !== parts[1] - 1 || check.getUTCDate() !== parts[2] || parts[3] > 23 || parts[4] > 59 || parts[5] > 59) {
    throw new ConfigError(source, `"${value}" is not a valid date or time`);
  }
  let offsetMinutes = 0;
  if (offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  return millis / 1000 + Number(`0.${fraction || '0'}`) - offsetMinutes * 60;
}

// ---- state -----------------------------------------------------------------------------------------

export type StateConfig =
  | { kind: 'memory' }
  | { kind: 'file'; path: string }
  | { kind: 'postgres'; url: string; source: '--state' | 'ASSISTANTS_OTEL_STATE_URL' };

export interface StateFlags {
  /** `--state`: a file path, or a `postgres://` / `postgresql://` URL */
  state?: string | undefined;
  /** `--memory-state` */
  memoryState?: boolean | undefined;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;
const ANY_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Where `import` spills the records it must hold but cannot keep in memory: `--spill-dir`, else
 * `TMPDIR` (`TMP`, `TEMP` on Windows), else the system's temporary directory.
 */
export function spillDirFromEnv(env: Env, flag?: string): string {
  return nonEmpty(flag) ?? nonEmpty(env['TMPDIR']) ?? nonEmpty(env['TMP']) ?? nonEmpty(env['TEMP']) ?? tmpdir();
}

/**
 * Where the sidecar keeps its state: `--memory-state`; else `--state`, a PostgreSQL URL
 * (`postgres://` or `postgresql://`) or a file path; else `ASSISTANTS_OTEL_STATE_URL`, which must
 * be a PostgreSQL URL; else the file at `defaultPath`. A `--state` URL of another scheme is
 * refused rather than taken as a file name. Errors never repeat a URL's password.
 */
export function stateConfigFromEnv(env: Env, flags: StateFlags, defaultPath: string): StateConfig {
  if (flags.memoryState) return { kind: 'memory' };
  const flag = nonEmpty(flags.state);
  if (flag !== undefined) {
    if (POSTGRES_URL.test(flag)) return { kind: 'postgres', url: checkPostgresUrl(flag, '--state'), source: '--state' };
    if (ANY_URL.test(flag)) throw new ConfigError('--state', `expected a file path or a postgres:// or postgresql:// URL, got "${redactConnectionUrl(flag)}"`);
    return { kind: 'file', path: flag };
  }
  const url = nonEmpty(env['ASSISTANTS_OTEL_STATE_URL']);
  if (url === undefined) return { kind: 'file', path: defaultPath };
  if (!POSTGRES_URL.test(url)) {
    throw new ConfigError('ASSISTANTS_OTEL_STATE_URL', `expected a postgres:// or postgresql:// URL, got "${redactConnectionUrl(url)}"; for a state file, use --state PATH`);
  }
  return { kind: 'postgres', url: checkPostgresUrl(url, 'ASSISTANTS_OTEL_STATE_URL'), source: 'ASSISTANTS_OTEL_STATE_URL' };
}

/** Only a light check: libpq (and pg) accept forms a WHATWG URL parser refuses, such as a socket directory as host. */
function checkPostgresUrl(url: string, source: string): string {
  if (/\s/.test(url)) throw new ConfigError(source, `a PostgreSQL URL holds no spaces (percent-encode them), got "${redactConnectionUrl(url)}"`);
  return url;
}
