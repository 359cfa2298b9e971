/**
 * The PostgreSQL store's writes: applied in call order, durable (committed) when their promise
 * resolves, and never lost to a database that goes away for a while.
 *
 * Group commit: writes queued while a transaction is in flight go out together in the next one
 * (one commit, one WAL flush, for up to `maxBatch` writes). When the database is unreachable or says
 * "not now" (a transient error), the same batch is tried again, in order, with backoff, until it
 * commits or the queue is abandoned (on close, after a time limit). Every write is idempotent, so
 * a batch whose commit was answered by a broken connection may safely run twice. When a batch
 * fails for good (a value the database refuses), its writes are tried one by one, so only the
 * faulty one rejects.
 */
import type pg from 'pg';
import { backoffDelay, sleep, type BackoffPolicy } from '../util/backoff.js';
import { describeError, isTransientDatabaseError, withConnection, wrapError, type PostgresTarget } from './postgres-connection.js';

export type Write<T> = (client: pg.PoolClient) => Promise<T>;

interface Item {
  write: Write<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export interface WriteQueueOptions {
  pool: pg.Pool;
  target: PostgresTarget;
  /** One batch's time limit; a batch that takes longer is treated as a broken connection. */
  timeoutMillis: number;
  /** @default 256 */
  maxBatch?: number;
  /** Retries back off along this. @default 100 ms doubling to 5 s */
  backoff?: BackoffPolicy;
  /** Once when writes start failing, once when they succeed again. */
  onWarning: (message: string) => void;
}

export class WriteQueue {
  private queued: Item[] = [];
  private flushing: Promise<void> | undefined;
  private readonly abandoned = new AbortController();
  private abandonError: Error | undefined;
  private failingSince: number | undefined;
  private failedAttempts = 0;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly options: WriteQueueOptions) {
    this.backoff = options.backoff ?? { initialDelayMillis: 100, maxDelayMillis: 5_000, multiplier: 2, jitterRatio: 0.2 };
  }

  /** Writes waiting or in flight. */
  get pending(): number {
    return this.queued.length + (this.flushing ? 1 : 0);
  }

  enqueue<T>(write: Write<T>): Promise<T> {
    if (this.abandonError) return Promise.reject(this.abandonError);
    const done = new Promise<T>((resolve, reject) => this.queued.push({ write, resolve: resolve as (value: unknown) => void, reject }));
    this.flushing ??= this.flush();
    return done;
  }

  /** Resolves when every write queued so far has settled. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Gives up: writes waiting or being retried reject with `error`; later ones reject at once. */
  abandon(error: Error): void {
    this.abandonError = error;
    this.abandoned.abort();
    for (const item of this.queued.splice(0)) item.reject(error);
  }

  private async flush(): Promise<void> {
    await null; // let every write of this tick join the first batch
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, this.options.maxBatch ?? 256);
      await this.commit(batch);
    }
    // Synchronously after seeing the queue empty, so a write from now on starts a new flush.
    this.flushing = undefined;
  }

  private async commit(batch: Item[]): Promise<void> {
    for (;;) {
      if (this.abandonError) {
        for (const item of batch) item.reject(this.abandonError);
        return;
      }
      try {
        const results = await withConnection(this.options.pool, this.options.target, 'writing', this.options.timeoutMillis, async (client) => {
          await client.query('BEGIN');
          try {
            const out: unknown[] = [];
            for (const item of batch) out.push(await item.write(client));
            await client.query('COMMIT');
            return out;
          } catch (error) {
            await client.query('ROLLBACK').catch(() => {});
            throw error;
          }
        });
        this.recovered();
        batch.forEach((item, index) => item.resolve(results[index]));
        return;
      } catch (error) {
        if (isTransientDatabaseError(error)) {
          this.failing(error);
          await sleep(backoffDelay(this.backoff, this.failedAttempts), this.abandoned.signal).catch(() => {});
          continue;
        }
        if (batch.length > 1) {
          for (const item of batch) await this.commit([item]);
          return;
        }
        batch[0]?.reject(wrapError(error, this.options.target, 'writing'));
        return;
      }
    }
  }

  private failing(error: unknown): void {
    this.failedAttempts++;
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    this.options.onWarning(`state writes failing, retrying with backoff until the database answers (nothing is lost meanwhile): ${describeError(error)}`);
  }

  private recovered(): void {
    if (this.failingSince === undefined) return;
    this.options.onWarning(`state writes succeed again after ${Math.round((Date.now() - this.failingSince) / 1000)} s and ${this.failedAttempts} failed attempts`);
    this.failingSince = undefined;
    this.failedAttempts = 0;
  }
}
