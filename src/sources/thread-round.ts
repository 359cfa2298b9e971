/**
 * One look at a watched thread, as decisions: which runs of the listing to read through it (the
 * ones followed), which to start following (the new ones), which to leave; then how the thread's
 * state moves (activity, cursor, pace). Pure: the poller does the reading, writing and scheduling.
 */
import { isRunTerminal } from '../api/lifecycle.js';
import { isTracedByLibrary } from '../api/run-marks.js';
import type { Run } from '../api/schemas.js';
import type { ThreadListing } from './discovery.js';
import { idleInterval, jittered } from './pace.js';
import type { ThreadState } from './watch-set.js';

export type RunAction = 'read' | 'follow' | 'library';

export interface ListingPlan {
  /** Oldest first, so runs are exported in the order they ran. */
  runs: Array<{ run: Run; action: RunAction }>;
  /** Every run id the listing showed (a followed run not among them is read alone). */
  seen: Set<string>;
}

export function planListing(listing: ThreadListing, thread: ThreadState, o: { isFollowed: (runId: string) => boolean; isDone: (runId: string) => boolean; includeLibraryRuns: boolean }): ListingPlan {
  const plan: ListingPlan = { runs: [], seen: new Set() };
  const newer = listing.newerThanCursor;
  for (let i = listing.runs.length - 1; i >= 0; i--) {
    const run = listing.runs[i] as Run;
    plan.seen.add(run.id);
    if (o.isDone(run.id)) continue;
    if (o.isFollowed(run.id)) {
      plan.runs.push({ run, action: 'read' });
      continue;
    }
    // Runs newer than the cursor started after the last look: new, whatever the clocks say; the
    // cursor and older ones were seen then. Where the cursor cannot place a run (a first look, a
    // cursor run deleted), one that already finished before `since` is history (and one of unknown
    // creation time is not known to be history).
    if (newer !== undefined && i >= newer && !isUnseenCursorPeer(run, thread)) continue;
    if (newer === undefined && !thread.seenEmpty && isRunTerminal(run) && run.created_at !== undefined && run.created_at < thread.watched.since) continue;
    plan.runs.push({ run, action: !o.includeLibraryRuns && isTracedByLibrary(run) ? 'library' : 'follow' });
  }
  return plan;
}

/**
 * The records of a listing that failed validation, less those reported at the last listing: each is
 * logged and counted once per thread, not at every listing that shows it again (one newer than
 * every valid run stays above the cursor until a newer valid run appears). Told apart by id, or
 * without one by content (`rejectedKeys`); a record changed since is reported again. Remembers
 * this listing's for the next.
 */
export function freshRejections(thread: ThreadState, listing: ThreadListing): { count: number; issues: ThreadListing['issues'] } {
  const before = thread.rejectedReported;
  const fresh = new Set(listing.rejectedKeys.filter(({ key }) => key === undefined || !(before?.has(key) ?? false)).map(({ index }) => index));
  const keys = listing.rejectedKeys.flatMap(({ key }) => (key === undefined ? [] : [key]));
  if (keys.length > 0) thread.rejectedReported = new Set(keys);
  else delete thread.rejectedReported;
  return { count: fresh.size, issues: listing.issues.filter((issue) => fresh.has(issue.index)) };
}

/**
 * A run listed at or below the cursor but created in the cursor's second (or later: clocks), and
 * not listed in that second before: the API put it below a run of the same second, it is new.
 */
function isUnseenCursorPeer(run: Run, thread: ThreadState): boolean {
  const second = thread.watched.cursorCreatedAt;
  if (second === undefined || run.created_at === undefined || run.created_at < second) return false;
  return run.id !== thread.watched.cursor && !(thread.cursorPeers?.has(run.id) ?? false);
}

/** The runs listed in the newest run's second: seen, whatever their order among themselves. */
function peersOfNewest(listing: ThreadListing, before: Set<string> | undefined): Set<string> | undefined {
  const second = listing.newestCreatedAt;
  if (second === undefined) return before;
  const peers = new Set(before);
  for (const run of listing.runs) if (run.created_at !== undefined && run.created_at >= second) peers.add(run.id);
  return peers;
}

/**
 * After a look: activity (new or followed runs) keeps the poll interval and the thread alive; past
 * the grace period without activity the interval doubles (up to the max idle interval); the cursor
 * moves to the newest run listed (with its `created_at`). Returns whether the thread's stored state
 * changed.
 */
export function settleThread(thread: ThreadState, o: { listing: ThreadListing; newRuns: number; followed: number; now: number; pollMillis: number; graceMillis: number; maxIdleMillis: number }): boolean {
  if (o.newRuns > 0 || o.followed > 0) {
    thread.watched = { ...thread.watched, lastActivityAt: o.now };
    thread.intervalMillis = o.pollMillis;
  } else if (o.now - thread.watched.lastActivityAt >= o.graceMillis) {
    thread.intervalMillis = idleInterval(thread.intervalMillis, o.maxIdleMillis);
  }
  const created = o.listing.newestCreatedAt;
  const cursorMoved = o.listing.newest !== undefined && o.listing.newest !== thread.watched.cursor;
  const sameSecond = !cursorMoved || created === thread.watched.cursorCreatedAt;
  // The cursor run's creation time is stored with the cursor. A newest run without one keeps the
  // old time: an earlier second, still a safe place to stop paging.
  if (cursorMoved) thread.watched = { ...thread.watched, cursor: o.listing.newest as string, ...(created !== undefined ? { cursorCreatedAt: created } : {}) };
  // A cursor stored without its time (state written before it was kept): learned when listed.
  const learned = !cursorMoved && thread.watched.cursorCreatedAt === undefined && created !== undefined && o.listing.newest === thread.watched.cursor;
  if (learned) thread.watched = { ...thread.watched, cursorCreatedAt: created };
  // Every run of the newest run's second listed now was decided on at this look.
  const peers = peersOfNewest(o.listing, sameSecond ? thread.cursorPeers : undefined);
  if (peers) thread.cursorPeers = peers;
  else delete thread.cursorPeers;
  thread.failures = 0;
  return cursorMoved || learned || o.newRuns > 0;
}

/**
 * When to look next. With a run followed, its status is in the next listing: the poll interval.
 * Idle within the grace period: the poll interval too. Idle past it: the slowed-down interval,
 * jittered, so that threads that went idle together drift apart.
 */
export function nextListingIn(thread: ThreadState, followed: number, pollMillis: number, random: () => number): number {
  if (followed > 0 || thread.intervalMillis === pollMillis) return pollMillis;
  return jittered(thread.intervalMillis, random);
}
