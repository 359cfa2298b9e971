/**
 * The state store on PostgreSQL (`--state postgres://…`), shared by a fleet of sidecars: the
 * `StateStore` contract of the file store (checked the same way, mutations applied in call order
 * and durable when resolved), plus leases (`LeasingStateStore`, docs/fleet.md).
 *
 * What differs from a local store, and why:
 * - `load()` reads the database each time, after this store's pending writes: other members write too.
 * - Writes are retried while the database is unreachable (postgres-writes.ts): their promises
 *   stay pending meanwhile, and reject only if the store is closed first (`closeTimeoutMillis`).
 *   Reads (`load`, `loadKeys`, `doneAmong`, `listWatched`) are tried once and reject with a
 *   `StateStoreUnavailableError` (`transient: true`) for the caller to back off and call again.
 * - The first `load()` connects and migrates (postgres-schema.ts); when the database cannot be
 *   reached it rejects with an error naming the redacted URL and where it came from.
 * - Once joined, a put or removal of a thread, or a put of a run, on a key this member holds (or
 *   held) is fenced by that lease: skipped if the lease is no longer this member's (see postgres-ops.ts).
 * - Strings are refused if they hold NUL (`\u0000`), which PostgreSQL text cannot store.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { LeaseEvents, LeaseStats, LeasingStateStore, WatchListing } from './leasing.js';
import { emptyModel, ops, type StateOp } from './model.js';
import { createPool, describeTarget, inTransaction, withConnection, wrapError, type PostgresTarget, StateStoreError, StateStoreUnavailableError } from './postgres-connection.js';
import { LeaseKeeper } from './postgres-leases.js';
import { runOp, type Fence, type SqlContext } from './postgres-ops.js';
import { checkSchemaName, DEFAULT_SCHEMA, migrate } from './postgres-schema.js';
import { WriteQueue } from './postgres-writes.js';
import type { StateSnapshot, WatchedRun, WatchedThread } from './store.js';
import { readDone, readKeys, readListing, readSnapshot } from './postgres-reads.js';
import { registerRun, registerThread } from './postgres-register.js';

export interface PostgresStateStoreOptions extends PostgresTarget {
  /** Where the tables live; created if missing. Several fleets may share a database with a schema each. @default 'assistants_otel' */
  schema?: string;
  /** Unique among running members; shown as the owner in listings. @default `<hostname>-<pid>-<6 hex>` */
  memberId?: string;
  /** A lease not renewed for this long may be taken by another member. @default 30000 */
  leaseMillis?: number;
  /** How often leases are renewed and shares rebalanced. @default leaseMillis / 3 */
  renewIntervalMillis?: number;
  /** @default 4 */
  maxConnections?: number;
  /** @default 10000 */
  connectTimeoutMillis?: number;
  /** Limit on one statement (server side) and on one read or write batch (client side). @default 30000 */
  statementTimeoutMillis?: number;
  /** On close, how long to wait for writes the database has not taken yet; then they reject. @default 10000 */
  closeTimeoutMillis?: number;
  /** Writes failing and recovering, idle connections breaking, lease rounds failing. Never holds the password. */
  onWarning?: (message: string) => void;
}

/** Lower bound on a lease: rounds need time, and a lease shorter than a round is held by nobody. */
const MIN_LEASE_MILLIS = 500;

function defaultMemberId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Which lease a write depends on: the thread of a thread or run put, or a thread removal. */
function fenceKeyOf(op: StateOp): string | undefined {
  switch (op.op) {
    case 'putThread':
      return op.thread.threadId;
    case 'removeThread':
      return op.threadId;
    case 'putRun':
      return op.run.threadId;
    default:
      return undefined;
  }
}

function refuseNul(what: string, value: unknown): void {
  // JSON escapes NUL as \u0000 wherever it is in the value.
  if (JSON.stringify(value).includes('\\u0000')) throw new TypeError(`${what}: PostgreSQL cannot store a NUL character (\\u0000) in text`);
}

export function createPostgresStateStore(options: PostgresStateStoreOptions): LeasingStateStore {
  return new PostgresStateStore(options);
}

class PostgresStateStore implements LeasingStateStore {
  readonly memberId: string;
  private readonly target: PostgresTarget;
  private readonly schemaName: string;
  private readonly ctx: SqlContext;
  private readonly name: string;
  readonly leaseMillis: number;
  private readonly timeoutMillis: number;
  private readonly warn: (message: string) => void;
  private readonly pool: pg.Pool;
  private readonly writes: WriteQueue;
  private opening: Promise<void> | undefined;
  private opened = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private keeper: LeaseKeeper | undefined;
  /** The keeper's own connection: lease rounds never wait behind writes or reads for one of the pool's. */
  private leasePool: pg.Pool | undefined;
  /** This member's running total of set-aside spans (its `set_aside` row). */
  private setAsideTotal = 0;

  constructor(private readonly options: PostgresStateStoreOptions) {
    this.target = { url: options.url, ...(options.source ? { source: options.source } : {}) };
    this.schemaName = options.schema ?? DEFAULT_SCHEMA;
    this.memberId = options.memberId ?? defaultMemberId();
    if (this.memberId === '' || this.memberId.length > 200 || this.memberId.includes('\u0000')) throw new TypeError(`memberId must be 1–200 characters without NUL, got ${JSON.stringify(this.memberId)}`);
    this.ctx = { schema: checkSchemaName(this.schemaName), schemaName: this.schemaName, memberId: this.memberId };
    this.name = describeTarget(this.target);
    this.leaseMillis = options.leaseMillis ?? 30_000;
    if (!(this.leaseMillis >= MIN_LEASE_MILLIS)) throw new TypeError(`leaseMillis must be at least ${MIN_LEASE_MILLIS}, got ${this.leaseMillis}`);
    const renew = options.renewIntervalMillis ?? this.leaseMillis / 3;
    if (!(renew > 0 && renew < this.leaseMillis)) throw new TypeError(`renewIntervalMillis must be positive and shorter than the lease (${this.leaseMillis}), got ${renew}`);
    this.timeoutMillis = options.statementTimeoutMillis ?? 30_000;
    this.warn = options.onWarning ?? (() => {});
    this.pool = createPool({
      target: this.target,
      applicationName: `assistants-otel ${this.memberId}`.slice(0, 63),
      ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
      ...(options.connectTimeoutMillis ? { connectTimeoutMillis: options.connectTimeoutMillis } : {}),
      statementTimeoutMillis: this.timeoutMillis,
      onIdleError: (error) => this.warn(error.message),
    });
    this.writes = new WriteQueue({ pool: this.pool, target: this.target, timeoutMillis: this.timeoutMillis, onWarning: (m) => this.warn(`${this.name}: ${m}`) });
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  async load(): Promise<StateSnapshot> {
    this.checkNotClosed();
    // A failed start may be tried again (the database may be up by then).
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    await this.opening;
    await this.writes.idle();
    this.checkNotClosed();
    return this.read('reading the state', (client) => readSnapshot(client, this.ctx));
  }

  private async open(): Promise<void> {
    try {
      await withConnection(this.pool, this.target, 'starting', this.timeoutMillis, async (client) => {
        await migrate(client, this.schemaName);
        const { rows } = await client.query<{ total: string }>(`SELECT total::text FROM ${this.ctx.schema}.set_aside WHERE writer = $1`, [this.memberId]);
        this.setAsideTotal = Number(rows[0]?.total ?? 0);
      });
    } catch (error) {
      const wrapped = wrapError(error, this.target, 'starting');
      if (!wrapped.transient) throw wrapped;
      const where = this.target.source ? `check ${this.target.source}` : 'check the URL';
      throw new StateStoreUnavailableError(`${wrapped.message} (is the database up and reachable? ${where})`, wrapped.code);
    }
    this.opened = true;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true; // before the first await: a mutation called after close() rejects
      await this.opening?.catch(() => {});
      const closeTimeout = this.options.closeTimeoutMillis ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), closeTimeout);
      });
      // Pending writes first, while the leases are still held: a cursor written just before leaving
      // is not refused as stale (the next owner would only list a little more). Then leave at once.
      const abandoned = await Promise.race([this.writes.idle().then(() => false), gaveUp]);
      await this.keeper?.leave(Math.min(this.timeoutMillis, this.leaseMillis));
      await this.leasePool?.end();
      if (abandoned) {
        this.warn(`${this.name}: closing with writes the database has not taken within ${closeTimeout} ms; they are not durable`);
        this.writes.abandon(new StateStoreError(`${this.name}: closed before this write was durable (the database did not answer within ${closeTimeout} ms)`));
        await this.writes.idle();
      }
      clearTimeout(timer);
      await this.pool.end();
    })();
    return this.closing;
  }

  private checkNotClosed(): void {
    if (this.closed) throw new Error(`${this.name} is closed`);
  }

  private checkOpen(): void {
    this.checkNotClosed();
    if (!this.opened) throw new Error(`${this.name}: call load() before any other call`);
  }

  private read<T>(doing: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withConnection(this.pool, this.target, doing, this.timeoutMillis, (client) =>
      inTransaction(client, () => work(client), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'),
    );
  }

  // ---- StateStore mutations -----------------------------------------------------------------------

  // Each builds and checks its op before the first await, so ops queue in call order and a bad
  // argument rejects without touching the database.
  private async mutate(build: () => StateOp): Promise<void> {
    this.checkOpen();
    const op = build();
    refuseNul(op.op, op);
    const key = fenceKeyOf(op);
    const epoch = key === undefined ? undefined : this.keeper?.fenceEpoch(key);
    const fence: Fence | undefined = key !== undefined && epoch !== undefined ? { threadId: key, epoch } : undefined;
    await this.writes.enqueue(async (client) => {
      if ((await runOp(client, this.ctx, op, fence)) === 'stale') this.keeper?.countStaleWrite();
    });
  }

  putThread = (thread: WatchedThread) => this.mutate(() => ops.putThread(thread));
  removeThread = (threadId: string) => this.mutate(() => ops.removeThread(threadId));
  putRun = (run: WatchedRun) => this.mutate(() => ops.putRun(run));
  markStepsExported = (runId: string, stepIds: readonly string[]) => this.mutate(() => ops.markStepsExported(runId, stepIds));
  markRunDone = (runId: string, at: number) => this.mutate(() => ops.markRunDone(runId, at));
  removeRun = (runId: string) => this.mutate(() => ops.removeRun(runId));
  pruneDone = (before: number) => this.mutate(() => ops.pruneDone(before));
  addSetAside = (spans: number) =>
    this.mutate(() => {
      const op = ops.addSetAside({ ...emptyModel(), setAsideSpans: this.setAsideTotal }, spans);
      if (op.op === 'setAside') this.setAsideTotal = op.total;
      return op;
    });

  // ---- leases -------------------------------------------------------------------------------------

  async join(events: LeaseEvents): Promise<void> {
    this.checkOpen();
    if (this.keeper) throw new Error(`${this.name}: join() was already called`);
    this.leasePool = createPool({
      target: this.target,
      applicationName: `assistants-otel ${this.memberId} leases`.slice(0, 63),
      maxConnections: 1,
      ...(this.options.connectTimeoutMillis ? { connectTimeoutMillis: this.options.connectTimeoutMillis } : {}),
      statementTimeoutMillis: this.timeoutMillis,
      // A member cut off from the database in the middle of a lease round keeps its lease rows
      // locked until the server ends that session; with SKIP LOCKED the others would pass them by
      // for up to 2 × the statement timeout (60 s), longer than a lease. A round's transaction is a
      // few quick statements, so the server may end it after a third of a lease idle.
      idleInTransactionMillis: Math.max(1_000, Math.floor(this.leaseMillis / 3)),
      onIdleError: (error) => this.warn(error.message),
    });
    this.keeper = new LeaseKeeper({
      pool: this.leasePool,
      target: this.target,
      ctx: this.ctx,
      connection: {
        target: this.target,
        applicationName: `assistants-otel ${this.memberId} listener`.slice(0, 63),
        ...(this.options.connectTimeoutMillis ? { connectTimeoutMillis: this.options.connectTimeoutMillis } : {}),
        statementTimeoutMillis: this.timeoutMillis,
      },
      leaseMillis: this.leaseMillis,
      renewIntervalMillis: this.options.renewIntervalMillis ?? this.leaseMillis / 3,
      events: { ...events, onWarning: (m) => events.onWarning?.(`${this.name}: ${m}`) },
    });
    try {
      await this.keeper.join();
    } catch (error) {
      // Not joined: a later join() may try again.
      this.keeper = undefined;
      await this.leasePool.end();
      this.leasePool = undefined;
      throw wrapError(error, this.target, 'joining the fleet');
    }
  }

  async leave(): Promise<void> {
    await this.keeper?.leave(Math.min(this.timeoutMillis, this.leaseMillis));
  }

  holds = (threadId: string): boolean => this.keeper?.holds(threadId) ?? false;
  heldKeys = (): string[] => this.keeper?.heldKeys() ?? [];
  requestRound = (): void => this.keeper?.request();
  leaseStats = (): LeaseStats => this.keeper?.leaseStats() ?? { held: 0, members: 0, share: 0, takeovers: 0, renewalsFailed: 0, lost: 0, staleWrites: 0, listening: false };

  async loadKeys(threadIds: readonly string[]): Promise<{ threads: WatchedThread[]; runs: WatchedRun[] }> {
    this.checkOpen();
    await this.writes.idle();
    const keys = [...threadIds];
    return this.read('loading leased threads', (client) => readKeys(client, this.ctx, keys));
  }

  async doneAmong(runIds: readonly string[]): Promise<Set<string>> {
    this.checkOpen();
    await this.writes.idle();
    const ids = [...runIds];
    return this.read('reading done marks', (client) => readDone(client, this.ctx, ids));
  }

  async registerThread(thread: WatchedThread): Promise<'added' | 'already'> {
    this.checkOpen();
    const op = ops.putThread(thread);
    refuseNul('registerThread', op);
    return this.writes.enqueue((client) => registerThread(client, this.ctx, op.op === 'putThread' ? op.thread : thread));
  }

  async registerRun(run: WatchedRun): Promise<'added' | 'updated' | 'already' | 'exported'> {
    this.checkOpen();
    const op = ops.putRun(run);
    refuseNul('registerRun', op);
    return this.writes.enqueue((client) => registerRun(client, this.ctx, op.op === 'putRun' ? op.run : run));
  }

  async listWatched(): Promise<WatchListing> {
    this.checkOpen();
    await this.writes.idle();
    return this.read('listing the watch set', (client) => readListing(client, this.ctx));
  }
}
