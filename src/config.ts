/**
 * The one place that reads the environment. Everything else takes explicit options.
 *
 * Standard OpenTelemetry variables are honoured with their usual precedence (a signal-specific
 * `..._TRACES_...` variable over the general one, a command-line flag over both). Every error names
 * the variable or flag that was wrong; no error repeats a header value, since those are secrets.
 */
import { bearerToken, commandTokenSource, noCredentials, staticKey } from './api/credentials.js';
import { createProvider, PROVIDER_KINDS, type ProviderKind, type ProviderProfile } from './api/providers.js';
import type { OtlpExporterOptions, OtlpProtocol } from './delivery/exporter.js';
import type { ResourceOptions } from './delivery/resource.js';
import { DEFAULT_CONTENT_MAX_LENGTH } from './mapping/content.js';
import type { MappingOptions } from './mapping/types.js';
import { redactConnectionUrl, redactUrl, redactUrlText } from './util/redact.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A configuration mistake. `source` names the variable or flag, e.g. `OTEL_EXPORTER_OTLP_PROTOCOL`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The first variable of `names` that is set, with its name, for error messages. */
function firstSet(env: Env, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/**
 * `key1=value1,key2=value2` with percent-encoded values, as `OTEL_EXPORTER_OTLP_HEADERS` and
 * `OTEL_RESOURCE_ATTRIBUTES` use. Errors give the entry's position, never its value.
 */
export function parseKeyValueList(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(',').forEach((entry, index) => {
    if (entry.trim() === '') return;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ConfigError(source, `entry ${index + 1} is not of the form key=value`);
    const key = entry.slice(0, eq).trim();
    try {
      out[decodeURIComponent(key)] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(source, `entry ${index + 1} (${key}) is not valid percent-encoding`);
    }
  });
  return out;
}

function parsePositiveNumber(value: string, source: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(source, `expected a positive number, got "${value}"`);
  return n;
}

function parseUrl(value: string, source: string): URL {
  // The value as given, so the user sees what was wrong, minus anything that may be a credential.
  const shown = redactUrlText(value.trim());
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const schemeless = /^[a-z0-9.-]+(:\d+)?(\/\S*)?$/i.test(value.trim());
    throw new ConfigError(source, `expected an http:// or https:// URL, got "${shown}"${schemeless ? `; did you mean "http://${shown}"?` : ''}`);
  }
  if (url.username || url.password) {
    // fetch refuses such URLs, and its error repeats the password: stop here, without repeating it.
    throw new ConfigError(source, `must not contain a user name or password, got "${shown}"; put credentials in the key or header variables`);
  }
  return url;
}

/**
 * A collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, `--otlp-endpoint`) → the traces URL. A base
 * that already ends in `/v1/traces` is the full URL given in the wrong place: say so rather than
 * send to `…/v1/traces/v1/traces`.
 */
function tracesUrlFromBase(value: string, source: string): string {
  const base = parseUrl(value, source);
  if (/\/v1\/traces\/?$/.test(base.pathname)) {
    const stripped = new URL(base.href);
    stripped.pathname = base.pathname.replace(/\/?v1\/traces\/?$/, '') || '/';
    const instead = redactUrl(stripped.href).replace(/\/$/, '');
    throw new ConfigError(
      source,
      `is the collector's base URL, to which /v1/traces is appended, but "${redactUrl(base.href)}" already ends in /v1/traces: ` +
        `give "${instead}"${source === '--otlp-endpoint' ? '' : ', or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to the full URL'}`,
    );
  }
  return new URL('v1/traces', withTrailingSlash(base)).href;
}

export interface OtlpFlags {
  /** `--otlp-endpoint`: a base URL (`/v1/traces` is appended) */
  endpoint?: string | undefined;
  /** `--otlp-protocol` */
  protocol?: string | undefined;
}

/** Exporter options from `OTEL_EXPORTER_OTLP_*` and flags. Default: `http://localhost:4318/v1/traces`, protobuf. */
export function otlpOptionsFromEnv(env: Env, flags: OtlpFlags = {}): OtlpExporterOptions {
  let url: string;
  const specific = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  if (flags.endpoint !== undefined) {
    url = tracesUrlFromBase(flags.endpoint, '--otlp-endpoint');
  } else if (specific !== undefined) {
    // The signal-specific endpoint is used as is (OTLP exporter spec).
    url = parseUrl(specific, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').href;
  } else {
    const base = nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) ?? DEFAULT_OTLP_ENDPOINT;
    url = tracesUrlFromBase(base, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  }

  const protocolSource = flags.protocol !== undefined
    ? { name: '--otlp-protocol', value: flags.protocol }
    : firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  const protocol = parseProtocol(protocolSource);

  const headers = {
    ...parseKeyValueList(env['OTEL_EXPORTER_OTLP_HEADERS'] ?? '', 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...parseKeyValueList(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] ?? '', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
  };

  const timeout = firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT');
  const compression = firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION');
  if (compression && compression.value !== 'gzip' && compression.value !== 'none') {
    throw new ConfigError(compression.name, `expected "gzip" or "none", got "${compression.value}"`);
  }
  return {
    url,
    protocol,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(timeout ? { timeoutMillis: parsePositiveNumber(timeout.value, timeout.name) } : {}),
    ...(compression ? { compression: compression.value as 'gzip' | 'none' } : {}),
  };
}

function withTrailingSlash(url: URL): URL {
  return url.pathname.endsWith('/') ? url : new URL(`${url.href}/`);
}

function parseProtocol(source: { name: string; value: string } | undefined): OtlpProtocol {
  if (source === undefined) return 'http/protobuf';
  if (source.value === 'http/protobuf' || source.value === 'http/json') return source.value;
  if (source.value === 'grpc') {
    throw new ConfigError(source.name, 'grpc is not supported; use http/protobuf (the default) or http/json');
  }
  throw new ConfigError(source.name, `expected "http/protobuf" or "http/json", got "${source.value}"`);
}

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

function parseBoolean(value: string, source: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  throw new ConfigError(source, `expected "true" or "false", got "${value}"`);
}

function parsePositiveInteger(value: string, source: string, what = 'a whole number'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(source, `expected ${what} ≥ 1, got "${value}"`);
  return n;
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
  const kindSource = flags.provider !== undefined
    ? { name: '--provider', value: flags.provider }
    : firstSet(env, 'ASSISTANTS_OTEL_PROVIDER');
  let kind: ProviderKind;
  if (kindSource) {
    if (!(PROVIDER_KINDS as readonly string[]).includes(kindSource.value)) {
      throw new ConfigError(kindSource.name, `expected one of ${PROVIDER_KINDS.join(', ')}, got "${kindSource.value}"`);
    }
    kind = kindSource.value as ProviderKind;
  } else if (nonEmpty(env['AZURE_AI_PROJECT_ENDPOINT'])) {
    kind = 'azure-foundry';
  } else if (nonEmpty(env['AZURE_OPENAI_ENDPOINT'])) {
    kind = 'azure-openai';
  } else {
    kind = 'openai';
  }

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
      const base = flags.baseUrl !== undefined ? { name: '--base-url', value: flags.baseUrl } : firstSet(env, 'OPENAI_BASE_URL');
      if (base) parseUrl(base.value, base.name);
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
      };
    }
    case 'azure-openai':
    case 'azure-foundry': {
      const endpointVar = kind === 'azure-openai' ? 'AZURE_OPENAI_ENDPOINT' : 'AZURE_AI_PROJECT_ENDPOINT';
      const versionVar = kind === 'azure-openai' ? 'OPENAI_API_VERSION' : 'AZURE_AI_AGENTS_API_VERSION';
      const base = flags.baseUrl !== undefined ? { name: '--base-url', value: flags.baseUrl } : firstSet(env, endpointVar);
      if (!base) throw new ConfigError(endpointVar, `required for provider ${kind} (or pass --base-url)`);
      parseUrl(base.value, base.name);
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

// ---- durations and dates -------------------------------------------------------------------------

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest delay a Node timer takes (a longer one fires at once, which would make a poll loop spin). */
export const MAX_TIMER_MILLIS = 2_147_483_647;

export interface DurationLimits {
  /** Refuse longer durations (for values used as timers: see `MAX_TIMER_MILLIS`). */
  maxMillis?: number;
}

/**
 * `500ms`, `2s`, `1.5m`, `24h`, `7d`, and compounds such as `1h30m` or `2m30s` → milliseconds. A
 * bare number is refused (the unit matters), and so are zero and negative durations.
 */
export function parseDuration(value: string, source: string, limits: DurationLimits = {}): number {
  const text = value.trim();
  if (/^-/.test(text)) throw new ConfigError(source, `must not be negative, got "${value}"`);
  if (/^\d+(\.\d+)?$/.test(text)) throw new ConfigError(source, `needs a unit, e.g. "${text}s" or "${text}ms", got "${value}"`);
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) {
    throw new ConfigError(source, `expected a duration such as 500ms, 2s, 5m, 1h30m or 24h, got "${value}"`);
  }
  let millis = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) millis += Number(amount) * (DURATION_UNITS[unit as string] as number);
  if (millis <= 0) throw new ConfigError(source, `must be longer than zero, got "${value}"`);
  if (limits.maxMillis !== undefined && millis > limits.maxMillis) {
    throw new ConfigError(source, `must be at most ${Math.floor(limits.maxMillis / 86_400_000)}d, got "${value}"`);
  }
  return millis;
}

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

/**
 * Where the sidecar keeps its state: `--memory-state`; else `--state`, a PostgreSQL URL
 * (`postgres://` or `postgresql://`) or a file path; else `ASSISTANTS_OTEL_STATE_URL`, which must
 * be a PostgreSQL URL; else the file at `defaultPath`. Errors never repeat a URL's password.
 */
export function stateConfigFromEnv(env: Env, flags: StateFlags, defaultPath: string): StateConfig {
  if (flags.memoryState) return { kind: 'memory' };
  const flag = nonEmpty(flags.state);
  if (flag !== undefined) return POSTGRES_URL.test(flag) ? { kind: 'postgres', url: checkPostgresUrl(flag, '--state'), source: '--state' } : { kind: 'file', path: flag };
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
