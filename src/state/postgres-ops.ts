/**
 * Each `StateOp` (model.ts) as SQL on the PostgreSQL store, with the same meaning as `applyOp`:
 * puts replace by id and keep the first-put order (`seq` is not updated on conflict), every op is
 * idempotent, so a batch retried after a commit whose answer was lost changes nothing more. Two
 * differences, both for a fleet:
 *
 * - `putRun` of a run already marked done is ignored: only a member that lost its lease (and has
 *   not noticed yet) writes a finished run back; the done mark is the truth.
 * - `setAside` writes this member's running total (`writer` = member id); the store's total is the
 *   sum over members. `GREATEST` keeps a retried older total from lowering a newer one.
 *
 * A fenced op (see `Fence`) first checks, and share-locks until commit, the lease row it depends on;
 * when this member no longer holds that lease with that epoch, the op is skipped (`'stale'`).
 */
import type pg from 'pg';
import type { StateOp } from './model.js';

export interface SqlContext {
  /** The quoted schema name. */
  schema: string;
  /** The schema name as given (for lock keys and notification payloads). */
  schemaName: string;
  memberId: string;
}

/** The lease an op was issued under: applied only while this member still holds it. */
export interface Fence {
  threadId: string;
  epoch: number;
}

export type OpOutcome = 'applied' | 'stale';

/** `true` when this member holds the lease on `fence.threadId` with `fence.epoch`; locks it (KEY SHARE) until commit. */
async function fenceHolds(client: pg.ClientBase, ctx: SqlContext, fence: Fence): Promise<boolean> {
  // KEY SHARE: a claim by another member (FOR UPDATE … SKIP LOCKED) skips the row until we commit,
  // while our own renewal (an UPDATE of non-key columns) is not blocked.
  const { rowCount } = await client.query(
    `SELECT 1 FROM ${ctx.schema}.leases WHERE thread_id = $1 AND owner = $2 AND epoch = $3 FOR KEY SHARE`,
    [fence.threadId, ctx.memberId, fence.epoch],
  );
  return rowCount === 1;
}

export async function runOp(client: pg.ClientBase, ctx: SqlContext, op: StateOp, fence?: Fence): Promise<OpOutcome> {
  if (fence && !(await fenceHolds(client, ctx, fence))) return 'stale';
  const s = ctx.schema;
  switch (op.op) {
    case 'putThread': {
      const { threadId, since, cursor, cursorCreatedAt, lastActivityAt } = op.thread;
      await client.query(
        `INSERT INTO ${s}.threads (thread_id, since, run_cursor, cursor_created_at, last_activity_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (thread_id) DO UPDATE SET since = EXCLUDED.since, run_cursor = EXCLUDED.run_cursor,
           cursor_created_at = EXCLUDED.cursor_created_at, last_activity_at = EXCLUDED.last_activity_at, updated_at = now()`,
        [threadId, since, cursor ?? null, cursorCreatedAt ?? null, lastActivityAt],
      );
      return 'applied';
    }
    case 'removeThread':
      await client.query(`DELETE FROM ${s}.threads WHERE thread_id = $1`, [op.threadId]);
      return 'applied';
    case 'putRun': {
      const { runId, threadId, traceparent, exportedStepIds } = op.run;
      await client.query(
        `INSERT INTO ${s}.runs (run_id, thread_id, traceparent, exported_step_ids)
         SELECT $1, $2, $3, $4::text[] WHERE NOT EXISTS (SELECT 1 FROM ${s}.done WHERE run_id = $1)
         ON CONFLICT (run_id) DO UPDATE SET thread_id = EXCLUDED.thread_id, traceparent = EXCLUDED.traceparent,
           exported_step_ids = EXCLUDED.exported_step_ids, updated_at = now()`,
        [runId, threadId, traceparent ?? null, exportedStepIds],
      );
      return 'applied';
    }
    case 'markStepsExported':
      // Appends each id not there yet, once, in the order given.
      await client.query(
        `UPDATE ${s}.runs SET updated_at = now(), exported_step_ids = exported_step_ids || ARRAY(
           SELECT u.id FROM unnest($2::text[]) WITH ORDINALITY AS u(id, n)
           WHERE u.id <> ALL (${s}.runs.exported_step_ids)
           GROUP BY u.id ORDER BY min(u.n))
         WHERE run_id = $1`,
        [op.runId, op.stepIds],
      );
      return 'applied';
    case 'markRunDone':
      await client.query(
        `WITH followed AS (DELETE FROM ${s}.runs WHERE run_id = $1)
         INSERT INTO ${s}.done (run_id, done_at) VALUES ($1, $2)
         ON CONFLICT (run_id) DO UPDATE SET done_at = EXCLUDED.done_at`,
        [op.runId, op.at],
      );
      return 'applied';
    case 'removeRun':
      await client.query(`DELETE FROM ${s}.runs WHERE run_id = $1`, [op.runId]);
      return 'applied';
    case 'pruneDone':
      await client.query(`DELETE FROM ${s}.done WHERE done_at < $1`, [op.before]);
      return 'applied';
    case 'setAside':
      await client.query(
        `INSERT INTO ${s}.set_aside (writer, total) VALUES ($1, $2)
         ON CONFLICT (writer) DO UPDATE SET total = GREATEST(${s}.set_aside.total, EXCLUDED.total)`,
        [ctx.memberId, op.total],
      );
      return 'applied';
    default: {
      const unknown: never = op;
      throw new Error(`unknown state op ${JSON.stringify(unknown)}`);
    }
  }
}
