/**
 * The lease keeper: runs lease rounds (postgres-lease-sql.ts) for one member, and tells the member
 * what it holds. One round at a time; a round never rejects after joining (a failure is counted,
 * reported once per outage, and retried with backoff); timers are unref'd; `leave` is idempotent.
 *
 * When rounds run: every `renewIntervalMillis` (a third of the lease by default); sooner when
 * another member's lease or membership is about to expire (to take over right after it does), when
 * another member joined or released leases (a notification on `LEASE_CHANNEL`), when free keys were
 * left unclaimed below the share, and when asked (`request`, after a registration).
 *
 * The safety rule: a member stops treating a lease as its own when the lease could have expired in
 * the database, by its own clock: `leaseMillis` minus a margin after the start of the last round
 * that renewed it. The database times leases from when it ran that round, later than its start, so
 * this member lets go before any other member can claim. A round that failed or hangs changes
 * nothing; the deadline alone ends the leases (`onLost(…, 'expired')`).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { backoffDelay, type BackoffPolicy } from '../util/backoff.js';
import type { LeaseEvents, LeaseLossReason, LeaseStats } from './leasing.js';
import { connectionConfig, describeError, withConnection, type PoolOptions, type PostgresTarget } from './postgres-connection.js';
import { leaseRound, leaveFleet, type RoundInput, type RoundResult } from './postgres-lease-sql.js';
import { LeaseNotifications } from './postgres-notifications.js';
import type { SqlContext } from './postgres-ops.js';

export interface LeaseKeeperOptions {
  pool: pg.Pool;
  target: PostgresTarget;
  ctx: SqlContext;
  /** For the notification listener's own connection. */
  connection: Omit<PoolOptions, 'onIdleError' | 'maxConnections'>;
  leaseMillis: number;
  renewIntervalMillis: number;
  events: LeaseEvents;
  /** A monotonic clock in ms. @default performance.now */
  now?: () => number;
}

/** Lost keys' epochs are kept this long, so a late write under a lost lease is still fenced. */
const FORMER_LEASE_MEMORY_MILLIS = 3_600_000;

export class LeaseKeeper {
  private readonly session = randomUUID();
  private readonly now: () => number;
  private readonly input: RoundInput;
  private readonly backoff: BackoffPolicy;
  /** Below this, rounds are not run back to back (a burst of notifications is one round). */
  private readonly minGapMillis: number;
  /** Key → epoch of the leases held now. */
  private held = new Map<string, number>();
  /** Key → epoch and when it was lost, for fencing writes that come late. */
  private readonly former = new Map<string, { epoch: number; lostAt: number }>();
  private state: 'joined' | 'leaving' | 'left' = 'joined';
  private joined = false;
  private round: Promise<void> | undefined;
  private again = false;
  private roundTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** When the next round is due after the current one (set by each round). */
  private nextDelay = 0;
  private lastRoundEndedAt = Number.NEGATIVE_INFINITY;
  private leaving: Promise<void> | undefined;
  private readonly notifications: LeaseNotifications;
  private readonly stats: Omit<LeaseStats, 'held' | 'listening'> = { members: 0, share: 0, takeovers: 0, renewalsFailed: 0, lost: 0, staleWrites: 0 };

  constructor(private readonly options: LeaseKeeperOptions) {
    this.now = options.now ?? (() => performance.now());
    this.input = { ctx: options.ctx, session: this.session, leaseMillis: options.leaseMillis, joining: true };
    this.backoff = { initialDelayMillis: Math.min(500, options.renewIntervalMillis / 4), maxDelayMillis: options.renewIntervalMillis, multiplier: 2, jitterRatio: 0.2 };
    this.minGapMillis = Math.min(200, options.leaseMillis / 20);
    this.notifications = new LeaseNotifications({ config: connectionConfig(options.connection), ctx: options.ctx, backoff: this.backoff, onNotice: () => this.request() });
  }

  /** The first round; rejects if it fails (then nothing is held and nothing runs). */
  async join(): Promise<void> {
    const error = await this.runRound();
    if (error) {
      this.state = 'left';
      throw error;
    }
    this.joined = true;
    this.scheduleNext();
    this.notifications.start();
  }

  holds(key: string): boolean {
    return this.held.has(key);
  }

  heldKeys(): string[] {
    return [...this.held.keys()];
  }

  /**
   * The epoch a write on `key` must be fenced with: the lease held now, or the last one held and
   * lost (so the write is refused); undefined for a key this member never held (a registration).
   */
  fenceEpoch(key: string): number | undefined {
    return this.held.get(key) ?? this.former.get(key)?.epoch;
  }

  countStaleWrite(): void {
    this.stats.staleWrites++;
  }

  leaseStats(): LeaseStats {
    return { ...this.stats, held: this.held.size, listening: this.notifications.listening };
  }

  /** A round soon (coalesced with one in flight). */
  request(): void {
    if (this.state !== 'joined' || !this.joined) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.schedule(Math.max(0, this.lastRoundEndedAt + this.minGapMillis - this.now()));
  }

  /** Stops rounds, reports every lease lost ('leaving'), releases them in the database (best effort). */
  leave(timeoutMillis: number): Promise<void> {
    this.leaving ??= (async () => {
      this.state = 'leaving';
      clearTimeout(this.roundTimer);
      await this.round;
      clearTimeout(this.deadlineTimer);
      this.dropAll('leaving');
      this.notifications.stop();
      if (this.joined) {
        try {
          await withConnection(this.options.pool, this.options.target, 'leaving the fleet', timeoutMillis, (client) => leaveFleet(client, this.input));
        } catch (error) {
          this.warn(`could not release the leases on leaving (${describeError(error)}); they expire within ${this.options.leaseMillis} ms and other members take them then`);
        }
      }
      this.state = 'left';
    })();
    return this.leaving;
  }

  // ---- rounds ---------------------------------------------------------------------------------

  private schedule(delayMillis: number): void {
    clearTimeout(this.roundTimer);
    this.roundTimer = setTimeout(() => this.startRound(), delayMillis);
    this.roundTimer.unref();
  }

  private startRound(): void {
    if (this.state !== 'joined' || this.round) return;
    this.round = this.runRound().then(() => {
      this.round = undefined;
      this.lastRoundEndedAt = this.now();
      this.scheduleNext();
    });
  }

  private scheduleNext(): void {
    if (this.state !== 'joined') return;
    if (this.again) {
      this.again = false;
      this.schedule(this.minGapMillis);
      return;
    }
    this.schedule(this.nextDelay);
  }

  /** Runs one round; returns its error instead of throwing. */
  private async runRound(): Promise<Error | undefined> {
    const startedAt = this.now();
    let result: RoundResult;
    try {
      result = await withConnection(this.options.pool, this.options.target, 'lease round', Math.max(1_000, this.options.renewIntervalMillis), (client) =>
        leaseRound(client, this.input, new Set(this.held.keys())),
      );
    } catch (error) {
      this.stats.renewalsFailed++;
      this.failures++;
      if (this.failures === 1 && this.joined) {
        this.warn(`lease round failed; keeping ${this.held.size} leases until they could expire, retrying with backoff: ${describeError(error)}`);
      }
      this.nextDelay = backoffDelay(this.backoff, this.failures);
      return error instanceof Error ? error : new Error(String(error));
    }
    if (this.failures > 0 && this.joined) this.warn(`lease rounds succeed again after ${this.failures} failed`);
    this.failures = 0;
    this.input.joining = false;
    this.apply(result, startedAt);
    const wakeForExpiry = result.nextExpiryMillis === undefined ? Number.POSITIVE_INFINITY : result.nextExpiryMillis + 25;
    const unclaimed = result.free > 0 && result.held.size < result.share ? 4 * this.minGapMillis : Number.POSITIVE_INFINITY;
    this.nextDelay = Math.max(this.minGapMillis, Math.min(this.options.renewIntervalMillis, wakeForExpiry, unclaimed));
    return undefined;
  }

  private apply(result: RoundResult, startedAt: number): void {
    if (this.state !== 'joined') {
      // Leaving: what the database says is ours is what `leave` reports lost and releases.
      this.held = new Map(result.held);
      return;
    }
    const deadline = startedAt + this.options.leaseMillis - Math.min(1_000, this.options.leaseMillis / 10);
    this.stats.members = result.members;
    this.stats.share = result.share;
    this.stats.takeovers += result.takeovers;
    if (this.now() >= deadline) {
      // A round so slow that its leases may already have expired by our clock gains nothing; the
      // database still names us their owner, so the next round (if quicker) renews and gains them.
      this.dropAll('expired');
      return;
    }
    const next = result.held;
    const lost = new Map<LeaseLossReason, string[]>();
    for (const [key, epoch] of this.held) {
      if (next.get(key) === epoch) continue;
      const reason: LeaseLossReason = result.released.includes(key) ? 'rebalanced' : result.gone.has(key) ? 'gone' : 'taken';
      lost.set(reason, [...(lost.get(reason) ?? []), key]);
    }
    const gained = [...next].filter(([key, epoch]) => this.held.get(key) !== epoch).map(([key]) => key);
    for (const [reason, keys] of lost) this.forget(keys, reason === 'gone');
    for (const key of gained) this.former.delete(key);
    this.held = new Map(next);
    this.pruneFormer();
    this.armDeadline(deadline);
    for (const [reason, keys] of lost) this.emitLost(keys, reason);
    if (gained.length > 0) this.emit(() => this.options.events.onGained?.(gained));
  }

  private armDeadline(deadline: number): void {
    clearTimeout(this.deadlineTimer);
    if (this.held.size === 0) return;
    this.deadlineTimer = setTimeout(() => {
      if (this.held.size === 0) return;
      this.warn(`no lease round succeeded within the lease (${this.options.leaseMillis} ms): letting go of ${this.held.size} leases`);
      this.dropAll('expired');
    }, Math.max(0, deadline - this.now()));
    this.deadlineTimer.unref();
  }

  private dropAll(reason: LeaseLossReason): void {
    const keys = [...this.held.keys()];
    if (keys.length === 0) return;
    this.forget(keys, false);
    this.held = new Map();
    this.emitLost(keys, reason);
  }

  /** Remembers the epochs of lost keys (unless gone for good), for fencing. */
  private forget(keys: readonly string[], gone: boolean): void {
    const lostAt = this.now();
    for (const key of keys) {
      const epoch = this.held.get(key);
      if (gone || epoch === undefined) this.former.delete(key);
      else this.former.set(key, { epoch, lostAt });
    }
  }

  private pruneFormer(): void {
    const before = this.now() - FORMER_LEASE_MEMORY_MILLIS;
    for (const [key, { lostAt }] of this.former) if (lostAt < before) this.former.delete(key);
  }

  private emitLost(keys: string[], reason: LeaseLossReason): void {
    if (reason !== 'leaving') this.stats.lost += keys.length;
    this.emit(() => this.options.events.onLost?.(keys, reason));
  }

  /** A listener's exception must not break the keeper. */
  private emit(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.warn(`a lease event listener threw: ${describeError(error)}`);
    }
  }

  private warn(message: string): void {
    try {
      this.options.events.onWarning?.(message);
    } catch {
      // a logger that throws is not our problem to report
    }
  }
}
