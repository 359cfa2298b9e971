/**
 * A state store shared by a fleet of sidecars ("members"): the `StateStore` plus leases, so that each
 * piece of work is followed by one member at a time, and a member that dies has its work taken over.
 *
 * The unit of work (a lease key) is a thread id: the thread, if watched, and every run followed on
 * it, whether discovered on the thread or registered on its own. One member then sees a thread's
 * runs and its discovery together (the poller holds discovery while a run is active, and the API
 * allows one active run per thread). A run registered alone, on a thread nobody watches, is its own
 * lease under its thread id. See docs/fleet.md for the rules, how the poller uses this, and limits.
 */
import type { StateStore, WatchedRun, WatchedThread } from './store.js';

export type LeaseLossReason =
  /** The fair share shrank (a member joined): released so that another member can take it. */
  | 'rebalanced'
  /** No renewal succeeded within the lease (the database unreachable): it may be another's now. */
  | 'expired'
  /** The renewal found it held by another member (this member was too late to renew). */
  | 'taken'
  /** Nothing is watched under the key any more (unwatched, or its last run exported). */
  | 'gone'
  /** This member is leaving the fleet (`leave()`, `close()`). */
  | 'leaving';

export interface LeaseEvents {
  /**
   * Keys this member holds from now on (claimed, taken over, or renewed again after an expiry).
   * Load their threads and runs (`loadKeys`) and start following them.
   */
  onGained?(keys: readonly string[]): void;
  /** Keys this member no longer holds: stop following them at once, another member may already. */
  onLost?(keys: readonly string[], reason: LeaseLossReason): void;
  /** A lease round failed; rounds go on with backoff. Once per outage, then again when it ends. */
  onWarning?(message: string): void;
}

/** For `/metrics`. Totals count from the store's creation. */
export interface LeaseStats {
  /** Leases held now. */
  held: number;
  /** Live members at the last round (0 before joining). */
  members: number;
  /** The fair share at the last round: ceil(keys / live members). */
  share: number;
  /** Leases claimed from another member whose lease had expired. */
  takeovers: number;
  /** Lease rounds (renewals) that failed: the database unreachable, slow, or refusing. */
  renewalsFailed: number;
  /** Leases lost other than by leaving: expired, taken, rebalanced away or gone. */
  lost: number;
  /** Writes skipped because they were made under a lease this member had lost (see docs/fleet.md). */
  staleWrites: number;
  /** Whether the notification listener is connected (without it, rebalancing waits for the next renewal). */
  listening: boolean;
}

export interface OwnedThread extends WatchedThread {
  /** The member holding the thread's lease now; absent when nobody does (free or expired). */
  owner?: string;
}

export interface OwnedRun extends WatchedRun {
  owner?: string;
}

/** The whole shared watch set, with the owner of each item. */
export interface WatchListing {
  threads: OwnedThread[];
  runs: OwnedRun[];
}

export interface LeasingStateStore extends StateStore {
  /** This member's id, unique among running members; shown as the owner in listings. */
  readonly memberId: string;
  /** The lease length, ms. */
  readonly leaseMillis: number;

  /**
   * Joins the fleet: registers this member, claims a first fair share (resolved when that round is
   * done, `onGained` called with it), then keeps renewing, claiming and releasing in the background.
   * Call after `load()`, once. Rejects if the first round fails (the member is then not joined).
   */
  join(events: LeaseEvents): Promise<void>;
  /**
   * Leaves the fleet: stops claiming, reports every held key lost (`'leaving'`), then releases them
   * all at once and tells the others, so they take over without waiting for the leases to expire.
   * Best effort when the database is unreachable (the leases then expire). Idempotent; `close()` calls it.
   */
  leave(): Promise<void>;
  /** Whether this member holds `threadId`'s lease now (by its own latest knowledge). */
  holds(threadId: string): boolean;
  /** The keys held now. */
  heldKeys(): string[];
  /** Asks for a lease round soon (after a registration, so a new thread is claimed at once). */
  requestRound(): void;
  leaseStats(): LeaseStats;

  /** The threads and runs under these keys, as stored (for keys just gained). */
  loadKeys(threadIds: readonly string[]): Promise<{ threads: WatchedThread[]; runs: WatchedRun[] }>;
  /** Which of these runs any member has marked exported (the shared done marks). */
  doneAmong(runIds: readonly string[]): Promise<Set<string>>;
  /**
   * `POST /v1/watch` of a thread on any member: adds it to the shared set unless it is there
   * already (then nothing changes: its owner's cursor stays). Durable when resolved.
   */
  registerThread(thread: WatchedThread): Promise<'added' | 'already'>;
  /**
   * `POST /v1/watch` of a run on any member: `'exported'` if it is marked done, `'updated'` when a
   * new traceparent replaced the stored one, `'already'` when followed as given, else `'added'`.
   */
  registerRun(run: WatchedRun): Promise<'added' | 'updated' | 'already' | 'exported'>;
  /** `GET /v1/watch`: every watched thread and followed run, with its owner. */
  listWatched(): Promise<WatchListing>;
}
