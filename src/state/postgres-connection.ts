/**
 * Talking to PostgreSQL through `pg`: the pool, one checked-out connection at a time with a time
 * limit, and errors sorted into "try again later" (the database is unreachable, restarting, or
 * overloaded) and "this will not get better" (wrong password, no such database, a bad value).
 *
 * Every error leaving here names the store by its redacted URL and the flag or variable it came
 * from, and is scrubbed of the password: `pg` does not put it in messages, but a message is text
 * from elsewhere (the server, the network stack) and this is the last place to catch it.
 */
import pg from 'pg';
import { connectionUrlSecrets, redactConnectionUrl, scrubSecrets } from '../util/redact.js';

/** A state store operation failed and will not succeed by trying again (see `transient`). */
export class StateStoreError extends Error {
  override readonly name: string = 'StateStoreError';
  /** True when trying again later may succeed (the database was unreachable or busy). */
  readonly transient: boolean = false;
  constructor(
    message: string,
    /** The SQLSTATE or Node error code of the cause, when there is one (e.g. `28P01`, `ECONNREFUSED`). */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The database could not be reached, or the connection broke, or it said "not now" (shutting
 * down, starting up, too many connections, a deadlock or serialization failure). Trying again later
 * may succeed; nothing was changed by the failed call unless it is a write the store retries itself.
 */
export class StateStoreUnavailableError extends StateStoreError {
  override readonly name = 'StateStoreUnavailableError';
  override readonly transient = true;
}

/** SQLSTATEs after which the same statement may succeed later. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown (pg_ctl stop/restart)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '58000', // system_error
  '58030', // io_error
]);

function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` (from `pg` or the network) may go away by trying again later. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (error instanceof StateStoreError) return error.transient;
  const code = errorCodeOf(error);
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || TRANSIENT_SQLSTATES.has(code);
  // No SQLSTATE: the connection itself failed (ECONNREFUSED, ECONNRESET, "Connection terminated
  // unexpectedly", a connect or query timeout). A programming error is not retried.
  return !(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError);
}

/** A message for any error, including Node's `AggregateError` (one per address tried) whose message is empty. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map((e: unknown) => describeError(e)))].join('; ');
  }
  if (error instanceof Error) return error.message || errorCodeOf(error) || error.name;
  return String(error);
}

export interface PostgresTarget {
  /** `postgres://user:password@host:port/database?…`; `PG*` variables fill what it leaves out, as in libpq. */
  url: string;
  /** Where the URL came from, for errors: `--state`, `ASSISTANTS_OTEL_STATE_URL`. */
  source?: string;
}

/** "PostgreSQL state store postgres://u:<redacted>@db/x (from --state)". */
export function describeTarget(target: PostgresTarget): string {
  return `PostgreSQL state store ${redactConnectionUrl(target.url)}${target.source ? ` (from ${target.source})` : ''}`;
}

/** Wraps any error as a `StateStoreError` naming the store and what was being done, without secrets. */
export function wrapError(error: unknown, target: PostgresTarget, doing: string): StateStoreError {
  if (error instanceof StateStoreError) return error;
  const text = scrubSecrets(`${describeTarget(target)}: ${doing}: ${describeError(error)}`, connectionUrlSecrets(target.url));
  const code = errorCodeOf(error) ?? errorCodeOf((error as { errors?: unknown[] } | null)?.errors?.[0]);
  return isTransientDatabaseError(error) ? new StateStoreUnavailableError(text, code) : new StateStoreError(text, code);
}

export interface PoolOptions {
  target: PostgresTarget;
  /** @default 4 */
  maxConnections?: number;
  /** A connection attempt (TCP, TLS, authentication) that takes longer fails. @default 10000 */
  connectTimeoutMillis?: number;
  /** Server-side limit on one statement, so nothing holds a lock forever. @default 30000 */
  statementTimeoutMillis?: number;
  /**
   * The server ends a session left idle inside a transaction this long (its locks go with it).
   * @default 2 × statementTimeoutMillis
   */
  idleInTransactionMillis?: number;
  /** Shown in `pg_stat_activity` unless the URL sets `application_name`. */
  applicationName: string;
  /** An idle connection broke (the database restarted); the pool has already dropped it. */
  onIdleError: (error: StateStoreError) => void;
}

/** Connection settings shared by the pool and the notification listener. Settings in the URL win (pg merges the parsed URL over these). */
export function connectionConfig(options: Omit<PoolOptions, 'onIdleError' | 'maxConnections'>): pg.ClientConfig {
  const statementTimeout = options.statementTimeoutMillis ?? 30_000;
  return {
    connectionString: options.target.url,
    connectionTimeoutMillis: options.connectTimeoutMillis ?? 10_000,
    keepAlive: true,
    fallback_application_name: options.applicationName,
    statement_timeout: statementTimeout,
    lock_timeout: Math.min(10_000, statementTimeout),
    // A transaction left open by a process frozen mid-way must not hold its row locks forever.
    idle_in_transaction_session_timeout: options.idleInTransactionMillis ?? 2 * statementTimeout,
  };
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(options), max: options.maxConnections ?? 4, idleTimeoutMillis: 30_000 });
  // Without a listener, an idle connection's error (a database restart) would crash the process.
  pool.on('error', (error) => options.onIdleError(wrapError(error, options.target, 'an idle connection broke')));
  return pool;
}

/**
 * Runs `work` on one connection of the pool. If it takes longer than `timeoutMillis` (a frozen
 * network), or the connection breaks, the connection is destroyed, not returned to the pool, and
 * the call rejects. Errors are wrapped (`wrapError`) with `doing` as the context.
 */
export async function withConnection<T>(
  pool: pg.Pool,
  target: PostgresTarget,
  doing: string,
  timeoutMillis: number,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw wrapError(error, target, `${doing}: cannot connect`);
  }
  let broken: unknown;
  // A checked-out client has no listener of the pool's: without ours, its error event would crash us.
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new StateStoreUnavailableError(`${describeTarget(target)}: ${doing}: no answer within ${timeoutMillis} ms`);
      broken ??= error;
      reject(error);
    }, timeoutMillis);
    timer.unref();
  });
  try {
    return await Promise.race([work(client), timeout]);
  } catch (error) {
    broken ??= isTransientDatabaseError(error) ? error : undefined;
    throw wrapError(error, target, doing);
  } finally {
    clearTimeout(timer);
    client.removeListener('error', onError);
    // A connection that broke or timed out is destroyed (release with an error), never reused.
    client.release(broken === undefined ? undefined : broken instanceof Error ? broken : new Error(String(broken)));
  }
}

/** `work` inside BEGIN … COMMIT on `client`; ROLLBACK (best effort) when it throws. */
export async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await client.query(begin);
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
