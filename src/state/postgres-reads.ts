/**
 * Reads of the PostgreSQL store, each run by the store inside one REPEATABLE READ READ ONLY
 * transaction (one consistent view): the whole snapshot, the threads and runs under some lease
 * keys, done marks, and the listing with each item's current owner.
 */
import type pg from 'pg';
import type { OwnedRun, OwnedThread, WatchListing } from './leasing.js';
import type { SqlContext } from './postgres-ops.js';
import type { StateSnapshot, WatchedRun, WatchedThread } from './store.js';

interface ThreadRow {
  thread_id: string;
  since: number;
  run_cursor: string | null;
  cursor_created_at: number | null;
  last_activity_at: number;
  owner?: string | null;
}

interface RunRow {
  run_id: string;
  thread_id: string;
  traceparent: string | null;
  exported_step_ids: string[];
  owner?: string | null;
}

const THREAD_COLUMNS = 't.thread_id, t.since, t.run_cursor, t.cursor_created_at, t.last_activity_at';
const RUN_COLUMNS = 'r.run_id, r.thread_id, r.traceparent, r.exported_step_ids';

function threadFromRow(row: ThreadRow): WatchedThread {
  const thread: WatchedThread = { threadId: row.thread_id, since: row.since, lastActivityAt: row.last_activity_at };
  if (row.run_cursor !== null) thread.cursor = row.run_cursor;
  if (row.cursor_created_at !== null) thread.cursorCreatedAt = row.cursor_created_at;
  return thread;
}

function runFromRow(row: RunRow): WatchedRun {
  const run: WatchedRun = { threadId: row.thread_id, runId: row.run_id, exportedStepIds: row.exported_step_ids };
  return row.traceparent === null ? run : { ...run, traceparent: row.traceparent };
}

const withOwner = <T extends object>(item: T, owner: string | null | undefined): T & { owner?: string } => (owner ? { ...item, owner } : item);

export async function readSnapshot(client: pg.ClientBase, ctx: SqlContext): Promise<StateSnapshot> {
  const s = ctx.schema;
  const threads = await client.query<ThreadRow>(`SELECT ${THREAD_COLUMNS} FROM ${s}.threads AS t ORDER BY t.seq`);
  const runs = await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM ${s}.runs AS r ORDER BY r.seq`);
  const done = await client.query<{ run_id: string; done_at: number }>(`SELECT run_id, done_at FROM ${s}.done`);
  const setAside = await client.query<{ total: string }>(`SELECT coalesce(sum(total), 0)::text AS total FROM ${s}.set_aside`);
  return {
    threads: threads.rows.map(threadFromRow),
    runs: runs.rows.map(runFromRow),
    // fromEntries defines own properties, so a run id such as "__proto__" stays an entry.
    done: Object.fromEntries(done.rows.map((row) => [row.run_id, row.done_at])),
    setAsideSpans: Number(setAside.rows[0]?.total ?? 0),
  };
}

export async function readKeys(client: pg.ClientBase, ctx: SqlContext, keys: string[]): Promise<{ threads: WatchedThread[]; runs: WatchedRun[] }> {
  const s = ctx.schema;
  const threads = await client.query<ThreadRow>(`SELECT ${THREAD_COLUMNS} FROM ${s}.threads AS t WHERE t.thread_id = ANY($1) ORDER BY t.seq`, [keys]);
  const runs = await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM ${s}.runs AS r WHERE r.thread_id = ANY($1) ORDER BY r.seq`, [keys]);
  return { threads: threads.rows.map(threadFromRow), runs: runs.rows.map(runFromRow) };
}

export async function readDone(client: pg.ClientBase, ctx: SqlContext, runIds: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ run_id: string }>(`SELECT run_id FROM ${ctx.schema}.done WHERE run_id = ANY($1)`, [runIds]);
  return new Set(rows.map((row) => row.run_id));
}

/** Every thread and run with the member whose lease on its thread id is live now (none if free or expired). */
export async function readListing(client: pg.ClientBase, ctx: SqlContext): Promise<WatchListing> {
  const s = ctx.schema;
  const owner = 'CASE WHEN l.expires_at > now() THEN l.owner END AS owner';
  const threads = await client.query<ThreadRow>(`SELECT ${THREAD_COLUMNS}, ${owner} FROM ${s}.threads AS t LEFT JOIN ${s}.leases AS l USING (thread_id) ORDER BY t.seq`);
  const runs = await client.query<RunRow>(`SELECT ${RUN_COLUMNS}, ${owner} FROM ${s}.runs AS r LEFT JOIN ${s}.leases AS l USING (thread_id) ORDER BY r.seq`);
  return {
    threads: threads.rows.map((row): OwnedThread => withOwner(threadFromRow(row), row.owner)),
    runs: runs.rows.map((row): OwnedRun => withOwner(runFromRow(row), row.owner)),
  };
}
