/**
 * Registration (`POST /v1/watch`) on the PostgreSQL store, from any member: adds to the shared set
 * without overwriting what the owner keeps (a thread's cursor, a run's exported steps), and creates
 * the lease row at once so that a member can claim the new work in its next round.
 */
import type pg from 'pg';
import { LEASE_CHANNEL } from './postgres-lease-sql.js';
import type { SqlContext } from './postgres-ops.js';
import type { WatchedRun, WatchedThread } from './store.js';

/** A new lease row wakes every member (at commit), so that one with room claims it now. */
async function ensureLeaseRow(client: pg.ClientBase, ctx: SqlContext, threadId: string): Promise<void> {
  const { rowCount } = await client.query(`INSERT INTO ${ctx.schema}.leases (thread_id) VALUES ($1) ON CONFLICT DO NOTHING`, [threadId]);
  if (rowCount === 1) await client.query('SELECT pg_notify($1, $2)', [LEASE_CHANNEL, `${ctx.schemaName}:registration`]);
}

export async function registerThread(client: pg.ClientBase, ctx: SqlContext, thread: WatchedThread): Promise<'added' | 'already'> {
  const { rowCount } = await client.query(
    `INSERT INTO ${ctx.schema}.threads (thread_id, since, run_cursor, cursor_created_at, last_activity_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (thread_id) DO NOTHING`,
    [thread.threadId, thread.since, thread.cursor ?? null, thread.cursorCreatedAt ?? null, thread.lastActivityAt],
  );
  await ensureLeaseRow(client, ctx, thread.threadId);
  return rowCount === 1 ? 'added' : 'already';
}

/**
 * `'exported'` when marked done; otherwise inserts the run, or replaces its traceparent when a
 * different one is given (`'updated'`); a run already followed keeps its thread and exported steps.
 */
export async function registerRun(client: pg.ClientBase, ctx: SqlContext, run: WatchedRun): Promise<'added' | 'updated' | 'already' | 'exported'> {
  const s = ctx.schema;
  const done = await client.query(`SELECT 1 FROM ${s}.done WHERE run_id = $1`, [run.runId]);
  if (done.rowCount === 1) return 'exported';
  const { rows } = await client.query<{ inserted: boolean }>(
    `INSERT INTO ${s}.runs AS r (run_id, thread_id, traceparent, exported_step_ids) VALUES ($1, $2, $3, $4::text[])
     ON CONFLICT (run_id) DO UPDATE SET traceparent = EXCLUDED.traceparent, updated_at = now()
       WHERE EXCLUDED.traceparent IS NOT NULL AND r.traceparent IS DISTINCT FROM EXCLUDED.traceparent
     RETURNING (xmax = 0) AS inserted`,
    [run.runId, run.threadId, run.traceparent ?? null, run.exportedStepIds],
  );
  if (rows.length === 0) return 'already';
  if (!rows[0]?.inserted) return 'updated';
  await ensureLeaseRow(client, ctx, run.threadId);
  return 'added';
}
