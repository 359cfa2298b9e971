/**
 * Structured logs: one line per event, JSON or text, with fields. Every line is scrubbed of the
 * secrets the logger was told about (API keys, bearer tokens, header values) and of credentials in
 * any URL (user-info, query values) before it is written,
 * as a last line of defence: code should not put them in messages in the first place.
 */
import type { Writable } from 'node:stream';
import { scrubSecrets } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

export interface LoggerOptions {
  stream: Writable;
  format?: 'json' | 'text';
  level?: LogLevel;
  /** Values that must never appear in a log line. Read on every write, so secrets learned later count. */
  secrets?: () => Iterable<string | undefined>;
  /** For tests: the clock. */
  now?: () => Date;
}

function textValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const format = options.format ?? 'text';
  const now = options.now ?? (() => new Date());

  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (LEVELS[level] < threshold) return;
    const all = { ...bound, ...fields };
    let line: string;
    if (format === 'json') {
      line = JSON.stringify({ time: now().toISOString(), level, msg: message, ...all });
    } else {
      const rest = Object.entries(all).map(([k, v]) => `${k}=${textValue(v)}`).join(' ');
      line = `${now().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${rest ? ` ${rest}` : ''}`;
    }
    // Credentials in URLs are redacted from every line, whether or not the logger knows any secret.
    options.stream.write(`${scrubSecrets(line, options.secrets?.() ?? [])}\n`);
  };

  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** Discards everything; the default where a caller passes no logger. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
