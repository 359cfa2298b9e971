/**
 * The instrumentation never breaks its host: every piece of our work inside an SDK call runs
 * through a guard that catches, logs the first failure of each kind (later ones only counted, at
 * debug level), and lets the SDK call go on as if we were not there.
 */
import type { Logger } from '../util/log.js';

export class Guard {
  private readonly failures = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  /** Runs `fn`; on a throw, reports it and returns `fallback`. */
  run<T>(where: string, fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (error) {
      this.report(where, error);
      return fallback;
    }
  }

  /** Reports a failure of our own: the first of each kind as a warning, later ones at debug level. */
  report(where: string, error: unknown): void {
    const count = (this.failures.get(where) ?? 0) + 1;
    this.failures.set(where, count);
    const message = describeError(error);
    try {
      if (count === 1) this.logger.warn(`assistants-otel instrumentation: ${where} failed; the SDK call is unaffected`, { error: message });
      else this.logger.debug(`assistants-otel instrumentation: ${where} failed again`, { error: message, count });
    } catch {
      // A logger that throws must not break the host either.
    }
  }

  /** Reports a condition (not an error) once per `key`. */
  warnOnce(key: string, message: string, fields?: Record<string, unknown>): void {
    if (this.failures.has(`once:${key}`)) return;
    this.failures.set(`once:${key}`, 1);
    try {
      this.logger.warn(message, fields);
    } catch {
      // as above
    }
  }

  /** Failures so far, by kind (for tests and diagnostics). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.failures].filter(([key]) => !key.startsWith('once:')));
  }
}

/**
 * What is logged of a failure. An API error is logged by its status and code only: its message is
 * the server's text, and some servers echo part of the key they refused.
 */
export function describeError(error: unknown): string {
  const e = error as { status?: unknown; statusCode?: unknown; code?: unknown; name?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) {
    const code = typeof e?.code === 'string' ? ` ${e.code}` : '';
    return `the API answered HTTP ${status}${code}`;
  }
  return error instanceof Error ? error.message : String(error);
}
