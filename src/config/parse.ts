/**
 * The parsing every configuration module shares: the error type that names its source, and strict
 * readers for the value types variables and flags hold. Errors never repeat a header value.
 */
import { MAX_TIMER_MILLIS } from '../util/backoff.js';
import { redactUrlText } from '../util/redact.js';

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

export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The first variable of `names` that is set, with its name, for error messages. */
export function firstSet(env: Env, ...names: string[]): { name: string; value: string } | undefined {
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

export function parsePositiveNumber(value: string, source: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(source, `expected a positive number, got "${value}"`);
  return n;
}

export function parsePositiveInteger(value: string, source: string, what = 'a whole number'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(source, `expected ${what} ≥ 1, got "${value}"`);
  return n;
}

export function parseBoolean(value: string, source: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  throw new ConfigError(source, `expected "true" or "false", got "${value}"`);
}

export function parseUrl(value: string, source: string): URL {
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

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

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

/**
 * A duration a timer will wait: at most 2^31-1 ms (24.8 days), past which Node's timers fire at
 * once (a drain timeout of 30 days would end every drain at once, a 30-day interval spin).
 */
export function parseTimerDuration(value: string, source: string): number {
  const millis = parseDuration(value, source);
  if (millis > MAX_TIMER_MILLIS) throw new ConfigError(source, `at most 24.8 days (2^31-1 ms, Node's timer limit), e.g. 24d, got "${value}"`);
  return millis;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `33554432`, `512KiB`, `32MiB`, `1GB` → bytes (whole). */
export function parseByteSize(value: string, source: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = BYTE_UNITS[match?.[2]?.toLowerCase() ?? 'x'];
  if (!match || unit === undefined) throw new ConfigError(source, `expected a size such as 33554432, 512KiB or 32MiB, got "${value}"`);
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 1) throw new ConfigError(source, `must be at least 1 byte, got "${value}"`);
  return bytes;
}
