/**
 * Where the API credential comes from. A static key never changes; a bearer token expires, so it
 * comes from a callback or a command (for example `az account get-access-token`) and is fetched
 * again before it expires, or at once after the API answered 401.
 *
 * Every credential can name its secrets, so loggers and errors can scrub them.
 */
import { execFile } from 'node:child_process';
import { ApiError } from './errors.js';

export interface Credentials {
  /** Headers to add to a request. */
  headers(signal?: AbortSignal): Promise<Record<string, string>>;
  /** The API said 401: forget a cached token. Returns true when a fresh one may succeed. */
  invalidate(): boolean;
  /** What must never be printed. */
  secrets(): string[];
  /** What to check when the API refuses us, for error messages (never the secret itself). */
  readonly hint: string;
}

export const noCredentials: Credentials = {
  headers: async () => ({}),
  invalidate: () => false,
  secrets: () => [],
  hint: 'no API key was configured (set OPENAI_API_KEY, or the provider\'s key or token command)',
};

/** A key sent as `Authorization: Bearer` (OpenAI-compatible servers) or in a named header (Azure `api-key`). */
export function staticKey(key: string, hint: string, header: 'authorization' | 'api-key' = 'authorization'): Credentials {
  const headers = header === 'authorization' ? { Authorization: `Bearer ${key}` } : { 'api-key': key };
  return { headers: async () => headers, invalidate: () => false, secrets: () => [key], hint };
}

/** A token and, when known, when it stops being valid. */
export interface Token {
  token: string;
  /** Epoch milliseconds; unknown means "refresh after `defaultTtlMillis`". */
  expiresAtMillis?: number;
}

export type TokenSource = (signal?: AbortSignal) => Promise<string | Token>;

export interface BearerTokenOptions {
  /** Refresh this long before the expiry. @default 60000 */
  refreshMarginMillis?: number;
  /** Lifetime assumed for a token that says nothing about its expiry. @default 600000 (10 minutes) */
  defaultTtlMillis?: number;
  now?: () => number;
}

/** A bearer token from a callback, cached until shortly before it expires, shared by concurrent callers. */
export function bearerToken(source: TokenSource, hint: string, options: BearerTokenOptions = {}): Credentials {
  const margin = options.refreshMarginMillis ?? 60_000;
  const ttl = options.defaultTtlMillis ?? 600_000;
  const now = options.now ?? Date.now;
  let current: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const known = new Set<string>();

  const fetchToken = async (signal?: AbortSignal): Promise<string> => {
    const result = await source(signal);
    const token = typeof result === 'string' ? result : result.token;
    if (!token) throw new Error('the token source returned an empty token');
    const expiresAt = typeof result === 'string' || result.expiresAtMillis === undefined ? now() + ttl : result.expiresAtMillis;
    current = { token, refreshAt: expiresAt - margin };
    known.add(token);
    return token;
  };

  return {
    async headers(signal) {
      if (!current || now() >= current.refreshAt) {
        pending ??= fetchToken(signal).finally(() => {
          pending = undefined;
        });
        await pending;
      }
      return { Authorization: `Bearer ${(current as { token: string }).token}` };
    },
    invalidate() {
      current = undefined;
      return true;
    },
    secrets: () => [...known],
    hint,
  };
}

/**
 * Parses what a token command printed: a bare token, or JSON as `az account get-access-token` prints
 * (`accessToken` with `expires_on` in epoch seconds or `expiresOn` as a date), or `access_token`/`expires_in`.
 */
export function parseTokenOutput(output: string, now: number = Date.now()): Token {
  const text = output.trim();
  if (text.startsWith('{')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // JSON.parse quotes part of its input in its message, and that input holds the token.
      throw new Error('the token command printed something that starts like JSON but is not valid JSON');
    }
    const token = json['accessToken'] ?? json['access_token'] ?? json['token'];
    if (typeof token !== 'string' || token === '') throw new Error('the token command printed JSON without accessToken/access_token');
    let expiresAtMillis: number | undefined;
    if (typeof json['expires_on'] === 'number' || (typeof json['expires_on'] === 'string' && /^\d+$/.test(json['expires_on']))) {
      expiresAtMillis = Number(json['expires_on']) * 1000;
    } else if (typeof json['expiresOn'] === 'string' && !Number.isNaN(Date.parse(json['expiresOn']))) {
      expiresAtMillis = Date.parse(json['expiresOn']);
    } else if (typeof json['expires_in'] === 'number') {
      expiresAtMillis = now + json['expires_in'] * 1000;
    }
    return expiresAtMillis === undefined ? { token } : { token, expiresAtMillis };
  }
  if (text === '' || /\s/.test(text)) throw new Error('the token command printed nothing usable (expected one token or JSON)');
  return { token: text };
}

/** A token source that runs a shell command and reads the token from its standard output. */
export function commandTokenSource(command: string, timeoutMillis = 30_000): TokenSource {
  return (signal) =>
    new Promise((resolve, reject) => {
      execFile('/bin/sh', ['-c', command], { timeout: timeoutMillis, maxBuffer: 1024 * 1024, ...(signal ? { signal } : {}) }, (error, stdout) => {
        if (error) {
          // The command's own output may hold a token: report only how it ended. A command the
          // shell cannot find or run (126, 127) will not run on a retry either: a fatal error.
          if (error.code === 127 || error.code === 126) {
            reject(new ApiError('auth', `the token command cannot run (exit ${error.code}: ${error.code === 127 ? 'command not found' : 'not executable'}); check ASSISTANTS_OTEL_TOKEN_COMMAND or --token-command`));
            return;
          }
          reject(new Error(`the token command failed (${error.code ?? error.signal ?? 'error'})`));
          return;
        }
        try {
          resolve(parseTokenOutput(stdout));
        } catch (parseError) {
          reject(parseError as Error);
        }
      });
    });
}
