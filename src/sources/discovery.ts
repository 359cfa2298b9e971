/**
 * Reading a watched thread: one listing, newest first, gives both the status of the thread's run
 * being followed and any run that started since the last look. The API accepts one active run per
 * thread, so the run being followed is the newest or next to it, and one small page usually holds
 * everything: the new runs (if any) and the newest run seen before (the cursor). Following a
 * thread's run and discovering its next one then cost one request per poll, not two.
 *
 * Pages go on (`after` = the last item) only while the listing has not reached the cursor: more
 * runs started since the last look than the page holds (or while the page ends in the cursor's own
 * second, whose runs the API orders as it likes). A thread seen for the first time has no
 * cursor; its newest runs are read until they are older than `since` minus an hour: nothing older
 * can still be active, since the API expires a run after ten minutes without progress.
 */
import { createHash } from 'node:crypto';
import type { AssistantsClient } from '../api/client.js';
import { MAX_PAGE_SIZE } from '../api/pagination.js';
import type { Run } from '../api/schemas.js';
import type { Issue } from '../api/validate.js';

const LOOKBACK_SECONDS = 3600;

export interface ThreadListingQuery {
  threadId: string;
  /** The newest run id seen at the last look; undefined for a first look. */
  cursor: string | undefined;
  /** The cursor run's `created_at`, when known: paging stops below it even if the cursor run was deleted. */
  cursorCreatedAt: number | undefined;
  /** The thread's `since` (Unix seconds, server clock): with no cursor, paging stops an hour before it. */
  since: number;
  /** Size of the first page: the runs followed on the thread, plus room for new ones. */
  firstPageSize: number;
}

export interface ThreadListing {
  /** Every run listed, newest first. */
  runs: Run[];
  /**
   * How many of `runs` (the first ones) are newer than the cursor: started since the last look.
   * Undefined without a cursor, or when the cursor run is gone and its creation time is unknown:
   * then only `since` can tell new runs from history.
   */
  newerThanCursor: number | undefined;
  /** The newest run id now (undefined when the thread has no runs). */
  newest: string | undefined;
  /** `created_at` of the newest run. */
  newestCreatedAt: number | undefined;
  /** The server's clock at its first answer (`Date` header), when it sent one. */
  serverTimeSeconds: number | undefined;
  /** Pages read (requests made, retries aside). */
  pages: number;
  /** Records that failed validation (skipped). */
  rejected: number;
  /**
   * Each of them by its index in the listing, with what tells it apart at the next listing: its id,
   * or without one (a run is rejected when its id is missing or empty) a digest of the record as
   * sent; undefined when the page kept no raw records.
   */
  rejectedKeys: Array<{ index: number; key: string | undefined }>;
  /** Their issues, each with the record's index in the listing and its id. */
  issues: Array<{ index: number; id?: string } & Issue>;
}

/**
 * A first page sized for what a thread needs: its followed runs, a new one, the cursor, and one
 * below it (which shows whether the cursor's second goes on below it: see the paging rule).
 */
export function firstPageSize(followedRuns: number): number {
  return Math.min(MAX_PAGE_SIZE, Math.max(3, followedRuns + 3));
}

export async function listThreadRuns(client: AssistantsClient, query: ThreadListingQuery, signal?: AbortSignal): Promise<ThreadListing> {
  const { threadId, cursor } = query;
  const listing: ThreadListing = { runs: [], newerThanCursor: undefined, newest: undefined, newestCreatedAt: undefined, serverTimeSeconds: undefined, pages: 0, rejected: 0, rejectedKeys: [], issues: [] };
  // Below this, nothing can be new or still active: the cursor run's creation, or the lookback before `since`.
  const floor = cursor !== undefined && query.cursorCreatedAt !== undefined ? query.cursorCreatedAt : query.since - LOOKBACK_SECONDS;
  let after: string | undefined;
  for (;;) {
    const limit = listing.pages === 0 ? (cursor === undefined ? MAX_PAGE_SIZE : query.firstPageSize) : MAX_PAGE_SIZE;
    const page = await client.listRuns(threadId, { order: 'desc', limit, ...(after ? { after } : {}) }, signal);
    if (listing.pages === 0) {
      listing.serverTimeSeconds = page.serverTimeSeconds;
      listing.newest = page.items[0]?.id ?? page.lastId;
      listing.newestCreatedAt = page.items[0]?.created_at;
    }
    const offset = listing.runs.length + listing.rejected;
    const before = listing.runs.length;
    listing.pages++;
    for (const run of page.items) listing.runs.push(run);
    listing.rejected += page.rejected.length;
    for (const r of page.rejected) listing.rejectedKeys.push({ index: offset + r.index, key: rejectedKey(r, page.records?.[r.index]) });
    for (const r of page.rejected) for (const i of r.issues) listing.issues.push({ index: offset + r.index, ...(r.id ? { id: r.id } : {}), ...i });
    const at = cursor === undefined ? -1 : cursorPosition(page.items.length, page.items.findIndex((r) => r.id === cursor), page.rejected, cursor);
    if (at >= 0) listing.newerThanCursor = before + at;
    const oldest = page.items.at(-1)?.created_at;
    // Found the cursor: done, unless the page ends in the cursor's second (runs of one second are
    // ordered as the API likes, so a run of that second not seen yet may be on the next page).
    const tiesGoOn = at >= 0 && query.cursorCreatedAt !== undefined && oldest !== undefined && oldest >= query.cursorCreatedAt;
    if ((at >= 0 && !tiesGoOn) || !page.hasMore || page.lastId === undefined || page.lastId === after || (oldest !== undefined && oldest < floor)) break;
    after = page.lastId;
  }
  // The cursor run is gone (deleted): runs created since it (its second included) are the new ones.
  if (cursor !== undefined && listing.newerThanCursor === undefined && query.cursorCreatedAt !== undefined) {
    const created = query.cursorCreatedAt;
    const older = listing.runs.findIndex((r) => r.created_at !== undefined && r.created_at < created);
    listing.newerThanCursor = older < 0 ? listing.runs.length : older;
  }
  return listing;
}

/** What tells a rejected record apart from the others at the next listing (see `rejectedKeys`). */
function rejectedKey(rejection: { id?: string }, raw: unknown): string | undefined {
  if (rejection.id !== undefined) return `id:${rejection.id}`;
  if (raw === undefined) return undefined;
  return `sha256:${createHash('sha256').update(JSON.stringify(raw) ?? String(raw)).digest('hex')}`;
}

/**
 * Where the cursor is among a page's valid items: its index when it is one of them; when it is a
 * record that failed validation, the number of valid items before it (items and rejections
 * interleave in the page's `data`, rejections carrying their `data` index); -1 when absent.
 */
function cursorPosition(items: number, itemIndex: number, rejected: ReadonlyArray<{ index: number; id?: string }>, cursor: string): number {
  if (itemIndex >= 0) return itemIndex;
  const bad = rejected.find((r) => r.id === cursor);
  if (!bad) return -1;
  const rejectedBefore = rejected.filter((r) => r.index < bad.index).length;
  return Math.min(items, bad.index - rejectedBefore);
}

/**
 * `since` on the server's clock. The thread's `since` was first set from this host's clock at
 * registration; a host whose clock runs ahead of the API's would then skip every run that finished
 * before its first look as history. At a look without a cursor, `since` becomes the earlier of
 * itself and the server's time minus the grace: from its `Date` header, or without one, from the
 * records (just after the newest time they show: a lower bound of the server's clock, so no run the
 * API showed finished at this first look is mistaken for new). Only ever moved earlier: a restart
 * or a lost cursor never narrows what a thread traces.
 *
 * Returns undefined when neither the header nor the records say anything (`since` stays as it was,
 * on this host's clock: the caller warns).
 */
export function sinceOnServerClock(listing: ThreadListing, since: number, graceSeconds: number): number | undefined {
  if (listing.serverTimeSeconds !== undefined) return Math.min(since, listing.serverTimeSeconds - graceSeconds);
  let latest: number | undefined;
  for (const run of listing.runs) {
    for (const t of [run.created_at, run.started_at, run.completed_at, run.failed_at, run.cancelled_at, run.expired_at]) {
      if (typeof t === 'number' && (latest === undefined || t > latest)) latest = t;
    }
  }
  return latest === undefined ? undefined : Math.min(since, latest + 1);
}
