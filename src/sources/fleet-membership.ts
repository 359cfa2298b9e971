/**
 * A poller as a member of a fleet (a PostgreSQL state store, docs/fleet.md): it follows only the
 * thread ids it holds a lease on. This joins the fleet and turns lease events into the poller's
 * watch set: a key gained is loaded from the shared set and followed; a key lost is dropped from
 * the watch set and the scheduler at once (synchronously, inside the lease event), so no new request
 * starts for it; work already in flight may finish, and its writes are fenced by the store.
 *
 * Loading a gained key is a read, which fails fast while the database is away: it is tried again
 * with backoff as long as the key is still held. Each gain has a generation, so a slow load of an
 * earlier gain never adds what a later one (or the member's own progress since) already replaced.
 */
import type { Run } from '../api/schemas.js';
import type { LeaseLossReason, LeasingStateStore, WatchListing } from '../state/leasing.js';
import type { WatchedRun, WatchedThread } from '../state/store.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../util/backoff.js';
import type { Logger } from '../util/log.js';

export interface FleetMembershipOptions {
  store: LeasingStateStore;
  /** Start following these (threads and runs under keys just gained, as stored). */
  adopt(loaded: { threads: WatchedThread[]; runs: WatchedRun[] }): void;
  /** Stop following everything under these keys, now. */
  release(keys: readonly string[]): void;
  logger: Logger;
  /** Aborted when the poller stops: nothing more is adopted. */
  signal: AbortSignal;
  /** The poller's done marks (run id → epoch ms), filled from the shared ones as they are read. */
  done: Map<string, number>;
  now: () => number;
}

/** `DELETE /v1/watch` on a fleet member that does not follow the item: only its owner may stop it. */
export class NotOwnerError extends Error {
  override readonly name = 'NotOwnerError';
}

const LOAD_RETRY: BackoffPolicy = { initialDelayMillis: 200, maxDelayMillis: 5_000, multiplier: 2, jitterRatio: 0.2 };

export class FleetMembership {
  /** Key → generation of its latest gain; a load adopts only keys still at its generation. */
  private readonly generation = new Map<string, number>();
  private nextGeneration = 0;

  constructor(private readonly o: FleetMembershipOptions) {}

  /**
   * Joins the fleet; resolves once the first share is claimed (its loads are under way). A member
   * id still live in the database is most often this member's previous life (killed, restarted
   * with the same `--member-id`): its membership expires within one lease, so joining is tried
   * again until then; past that, another running member has the id, and joining fails.
   */
  async join(): Promise<void> {
    const events = {
      onGained: (keys: readonly string[]) => this.gain(keys),
      onLost: (keys: readonly string[], reason: LeaseLossReason) => this.lose(keys, reason),
      onWarning: (message: string) => this.o.logger.warn(message),
    };
    const lease = this.o.store.leaseMillis;
    const deadline = this.o.now() + lease + 2_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.store.join(events);
        return;
      } catch (error) {
        const inUse = error instanceof Error && error.message.includes('is in use by another running member');
        if (!inUse || this.o.now() >= deadline || this.o.signal.aborted) throw error;
        if (attempt === 1) {
          this.o.logger.warn('member id in use: waiting for the previous member with this id to expire (within one lease)', { member_id: this.o.store.memberId, lease_ms: lease });
        }
        await sleep(Math.min(1_000, lease / 4), this.o.signal);
      }
    }
  }

  // ---- the shared set ------------------------------------------------------------------------------

  /** `GET /v1/watch`: the whole shared set, each item with its owner (null: nobody holds it now). */
  async listing(): Promise<{ threads: Array<WatchedThread & { owner: string | null }>; runs: Array<WatchedRun & { owner: string | null }> }> {
    const listing = await this.o.store.listWatched();
    return {
      threads: listing.threads.map((t) => ({ ...t, owner: t.owner ?? null })),
      runs: listing.runs.map((r) => ({ ...r, owner: r.owner ?? null })),
    };
  }

  /** A thread registered on this member: into the shared set; a round now, so a member with room claims it. */
  async registerThread(thread: WatchedThread): Promise<'added' | 'already'> {
    const status = await this.o.store.registerThread(thread);
    this.o.store.requestRound();
    return status;
  }

  /** A run registered on this member: into the shared set; its thread id's owner follows it. */
  async registerRun(run: WatchedRun): Promise<'added' | 'updated' | 'already' | 'exported'> {
    const status = await this.o.store.registerRun(run);
    if (status === 'exported') this.o.done.set(run.runId, this.o.now());
    this.o.store.requestRound();
    return status;
  }

  /**
   * `DELETE /v1/watch` of something not followed here: false when the shared set does not hold it
   * either; else a NotOwnerError naming its owner (only the owner may stop following it: another
   * member's removal would be undone by the owner's next write of it).
   */
  async notOwned(find: (listing: WatchListing) => { owner?: string } | undefined, what: string): Promise<boolean> {
    const item = find(await this.o.store.listWatched());
    if (!item) return false;
    throw new NotOwnerError(
      item.owner
        ? `${what} is followed by fleet member ${item.owner}: send the DELETE to that member (GET /v1/watch shows each item's owner)`
        : `${what} is not followed by any fleet member right now (its lease is free): try again once a member holds it`,
    );
  }

  /**
   * Discovery on a held thread: the local done marks miss what other members exported (a thread
   * taken over, or moved by rebalancing), so the runs a listing would start following are checked
   * against the shared marks first, and those done are dropped from `runs`. A read that fails (the
   * database away) fails the listing, which is tried again with backoff.
   */
  async skipDoneElsewhere(runs: Array<{ run: Run; action: string }>): Promise<void> {
    const candidates = runs.filter((r) => r.action === 'follow').map((r) => r.run.id);
    if (candidates.length === 0) return;
    const done = await this.o.store.doneAmong(candidates);
    if (done.size === 0) return;
    const at = this.o.now();
    for (const runId of done) this.o.done.set(runId, at);
    for (let i = runs.length - 1; i >= 0; i--) if (done.has((runs[i] as { run: Run }).run.id)) runs.splice(i, 1);
  }

  // ---- leases gained and lost ---------------------------------------------------------------------

  private gain(keys: readonly string[]): void {
    if (this.o.signal.aborted) return;
    const generation = ++this.nextGeneration;
    for (const key of keys) this.generation.set(key, generation);
    this.o.logger.debug('leases gained', { count: keys.length });
    void this.load([...keys], generation, 1);
  }

  private lose(keys: readonly string[], reason: LeaseLossReason): void {
    for (const key of keys) this.generation.delete(key);
    this.o.release(keys);
    // Rebalancing and leaving are routine; a lease expired or taken is worth a look.
    const level = reason === 'expired' || reason === 'taken' ? 'warn' : 'debug';
    this.o.logger[level]('leases lost: no longer followed here', { count: keys.length, reason });
  }

  /** The keys of `keys` still at `generation` and held. */
  private current(keys: readonly string[], generation: number): string[] {
    return keys.filter((key) => this.generation.get(key) === generation && this.o.store.holds(key));
  }

  private async load(keys: string[], generation: number, attempt: number): Promise<void> {
    const wanted = this.current(keys, generation);
    if (wanted.length === 0 || this.o.signal.aborted) return;
    let loaded: { threads: WatchedThread[]; runs: WatchedRun[] };
    try {
      loaded = await this.o.store.loadKeys(wanted);
    } catch (error) {
      if (this.o.signal.aborted) return;
      const delay = backoffDelay(LOAD_RETRY, attempt);
      this.o.logger.warn('could not load the threads of leases just gained; will try again', { count: wanted.length, retry_in_ms: delay, error: (error as Error).message });
      await sleep(delay, this.o.signal).catch(() => {});
      return this.load(wanted, generation, attempt + 1);
    }
    if (this.o.signal.aborted) return;
    // Lost (or lost and gained again) while loading: only what is still this load's to adopt.
    const still = new Set(this.current(wanted, generation));
    this.o.adopt({
      threads: loaded.threads.filter((t) => still.has(t.threadId)),
      runs: loaded.runs.filter((r) => still.has(r.threadId)),
    });
  }
}
