/**
 * One lease round, and leaving, as SQL: what a member does every renewal interval, in one
 * transaction (so `now()`, the database's clock, is one instant for all of it):
 *
 * 1. heartbeat: upsert its `members` row, `expires_at = now() + lease`;
 * 2. upkeep, by one member at a time (`pg_try_advisory_xact_lock`): forget expired members, add a
 *    lease row for every thread id that has a thread or run but no row, delete rows that have neither;
 * 3. renew every lease it owns (`expires_at = now() + lease`);
 * 4. share = ceil(lease rows / live members);
 * 5. above its share: release the surplus (`owner = NULL`, free at once);
 *    below it: claim free or expired rows up to its share (`FOR UPDATE SKIP LOCKED`, so members
 *    claiming at once never wait for nor take the same row), each claim bumping the row's `epoch`;
 * 6. tell the others (`pg_notify`) when it joined (or came back after its row expired) or released
 *    something, so they rebalance now;
 * 7. report when the next lease or member of another member expires, to wake up then and take over.
 */
import type pg from 'pg';
import { StateStoreError } from './postgres-connection.js';
import type { SqlContext } from './postgres-ops.js';
import { advisoryLockKeys } from './postgres-schema.js';

/** The channel members listen on; the payload is `<schema>:<member id>` of the sender. */
export const LEASE_CHANNEL = 'assistants_otel_leases';

export interface RoundInput {
  ctx: SqlContext;
  session: string;
  leaseMillis: number;
  /** First round of this membership: announce it. */
  joining: boolean;
}

export interface RoundResult {
  /** Key → epoch of every lease held after the round. */
  held: Map<string, number>;
  /** Keys released in this round because the share shrank. */
  released: string[];
  /** Keys held before whose lease row is gone (nothing watched under them any more). */
  gone: Set<string>;
  members: number;
  keys: number;
  share: number;
  /** Keys claimed from another member whose lease had expired. */
  takeovers: number;
  /** Free or expired keys left after the round (others' share, or rows locked by a concurrent claim). */
  free: number;
  /** Milliseconds until another member's lease or membership expires, if any will. */
  nextExpiryMillis: number | undefined;
}

const interval = (param: string) => `${param} * interval '1 millisecond'`;

async function notify(client: pg.ClientBase, input: RoundInput): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [LEASE_CHANNEL, `${input.ctx.schemaName}:${input.ctx.memberId}`]);
}

/** Upserts this member's row; true when it was not there (first round, or forgotten after an outage). */
async function heartbeat(client: pg.ClientBase, input: RoundInput): Promise<boolean> {
  const s = input.ctx.schema;
  const { rows } = await client.query<{ inserted: boolean }>(
    `INSERT INTO ${s}.members AS m (member_id, session, joined_at, heartbeat_at, expires_at)
     VALUES ($1, $2, now(), now(), now() + ${interval('$3')})
     ON CONFLICT (member_id) DO UPDATE SET session = EXCLUDED.session, heartbeat_at = now(), expires_at = EXCLUDED.expires_at
       WHERE m.session = EXCLUDED.session OR m.expires_at <= now()
     RETURNING (xmax = 0) AS inserted`,
    [input.ctx.memberId, input.session, input.leaseMillis],
  );
  if (rows.length === 0) {
    throw new StateStoreError(`member id ${JSON.stringify(input.ctx.memberId)} is in use by another running member: give each sidecar its own member id`);
  }
  return rows[0]?.inserted === true;
}

async function upkeep(client: pg.ClientBase, input: RoundInput): Promise<void> {
  const s = input.ctx.schema;
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS locked', advisoryLockKeys('upkeep', input.ctx.schemaName));
  if (!rows[0]?.locked) return; // another member is doing it right now
  await client.query(`DELETE FROM ${s}.members WHERE expires_at <= now()`);
  // In key order, so two inserts (this and a registration) never wait for each other in a cycle.
  await client.query(
    `INSERT INTO ${s}.leases (thread_id)
     SELECT k.thread_id FROM (SELECT thread_id FROM ${s}.threads UNION SELECT thread_id FROM ${s}.runs) AS k
     WHERE NOT EXISTS (SELECT 1 FROM ${s}.leases AS l WHERE l.thread_id = k.thread_id)
     ORDER BY k.thread_id
     ON CONFLICT DO NOTHING`,
  );
  await client.query(
    `DELETE FROM ${s}.leases WHERE thread_id IN (
       SELECT l.thread_id FROM ${s}.leases AS l
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.threads AS t WHERE t.thread_id = l.thread_id)
         AND NOT EXISTS (SELECT 1 FROM ${s}.runs AS r WHERE r.thread_id = l.thread_id)
       FOR UPDATE SKIP LOCKED)`,
  );
}

function toHeld(rows: ReadonlyArray<{ thread_id: string; epoch: number }>): Map<string, number> {
  return new Map(rows.map((row) => [row.thread_id, row.epoch]));
}

/** One lease round (see the top of this file), on `client`, in a transaction. */
export async function leaseRound(client: pg.ClientBase, input: RoundInput, previouslyHeld: ReadonlySet<string>): Promise<RoundResult> {
  const s = input.ctx.schema;
  const me = input.ctx.memberId;
  await client.query('BEGIN');
  try {
    const arrived = await heartbeat(client, input);
    await upkeep(client, input);
    const renewed = await client.query<{ thread_id: string; epoch: number }>(
      `UPDATE ${s}.leases SET expires_at = now() + ${interval('$2')} WHERE owner = $1 RETURNING thread_id, epoch::float8 AS epoch`,
      [me, input.leaseMillis],
    );
    const held = toHeld(renewed.rows);
    const missing = [...previouslyHeld].filter((key) => !held.has(key));
    const stillThere = missing.length === 0
      ? new Set<string>()
      : new Set((await client.query<{ thread_id: string }>(`SELECT thread_id FROM ${s}.leases WHERE thread_id = ANY($1)`, [missing])).rows.map((r) => r.thread_id));
    const gone = new Set(missing.filter((key) => !stillThere.has(key)));

    const counts = await client.query<{ members: number; keys: number }>(
      `SELECT (SELECT count(*) FROM ${s}.members WHERE expires_at > now())::int AS members, (SELECT count(*) FROM ${s}.leases)::int AS keys`,
    );
    const members = Math.max(1, counts.rows[0]?.members ?? 1);
    const keys = counts.rows[0]?.keys ?? 0;
    const share = Math.ceil(keys / members);

    let released: string[] = [];
    let takeovers = 0;
    if (held.size > share) {
      // Keep the first keys in key order, so members agree on which ones move without talking.
      released = [...held.keys()].sort().slice(share);
      await client.query(`UPDATE ${s}.leases SET owner = NULL, expires_at = now() WHERE owner = $1 AND thread_id = ANY($2)`, [me, released]);
      for (const key of released) held.delete(key);
    } else if (held.size < share) {
      const claimed = await client.query<{ thread_id: string; epoch: number; previous_owner: string | null }>(
        `WITH free AS (
           SELECT thread_id, owner FROM ${s}.leases WHERE owner IS NULL OR expires_at <= now()
           ORDER BY owner IS NOT NULL, thread_id LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE ${s}.leases AS l SET owner = $1, epoch = l.epoch + 1, expires_at = now() + ${interval('$2')}, acquired_at = now()
         FROM free WHERE l.thread_id = free.thread_id
         RETURNING l.thread_id, l.epoch::float8 AS epoch, free.owner AS previous_owner`,
        [me, input.leaseMillis, share - held.size],
      );
      for (const row of claimed.rows) {
        held.set(row.thread_id, row.epoch);
        if (row.previous_owner !== null && row.previous_owner !== me) takeovers++;
      }
    }
    if (input.joining || arrived || released.length > 0) await notify(client, input);

    const after = await client.query<{ free: number; next_ms: number | null }>(
      `SELECT (SELECT count(*) FROM ${s}.leases WHERE owner IS NULL OR expires_at <= now())::int AS free,
              (extract(epoch FROM least(
                 (SELECT min(expires_at) FROM ${s}.leases WHERE owner <> $1 AND expires_at > now()),
                 (SELECT min(expires_at) FROM ${s}.members WHERE member_id <> $1 AND expires_at > now())) - now()) * 1000)::float8 AS next_ms`,
      [me],
    );
    await client.query('COMMIT');
    const nextMs = after.rows[0]?.next_ms;
    return {
      held,
      released,
      gone,
      members,
      keys,
      share,
      takeovers,
      free: after.rows[0]?.free ?? 0,
      nextExpiryMillis: nextMs === null || nextMs === undefined ? undefined : nextMs,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Releases every lease of this member, removes its membership, and tells the others. */
export async function leaveFleet(client: pg.ClientBase, input: RoundInput): Promise<number> {
  const s = input.ctx.schema;
  await client.query('BEGIN');
  try {
    const released = await client.query(`UPDATE ${s}.leases SET owner = NULL, expires_at = now() WHERE owner = $1`, [input.ctx.memberId]);
    await client.query(`DELETE FROM ${s}.members WHERE member_id = $1 AND session = $2`, [input.ctx.memberId, input.session]);
    await notify(client, input);
    await client.query('COMMIT');
    return released.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
