/**
 * The PostgreSQL store's tables, and the versioned migrations that create them. The sidecar runs
 * `migrate` itself at start; several sidecars starting at once on an empty database are safe: the
 * whole migration runs in one transaction holding a transaction-scoped advisory lock for the schema,
 * so the first creates and the others wait, then find the work done.
 *
 * Version 2 (all in the configured schema, `assistants_otel` by default; version 1 had all but
 * `threads.cursor_created_at`, which version 2 adds):
 *
 *   schema_version (version PK, description, applied_at)     one row per migration applied
 *   threads  (thread_id PK, seq, since, run_cursor, last_activity_at, updated_at, cursor_created_at)
 *   runs     (run_id PK, seq, thread_id, traceparent, exported_step_ids text[], updated_at)
 *   done     (run_id PK, done_at)                             the shared exported marks (epoch ms)
 *   set_aside (writer PK, total)                             refused spans, a running total per member
 *   members  (member_id PK, session, joined_at, heartbeat_at, expires_at)
 *   leases   (thread_id PK, owner, epoch, expires_at, acquired_at)
 *
 * `seq` (a bigserial, kept when a row is updated) gives the first-put order the StateStore
 * contract promises. Times the sidecar passes (`since` and `cursor_created_at` in seconds,
 * `last_activity_at`, `done_at` in epoch ms) are `double precision`, which holds every JS number exactly; lease times are
 * `timestamptz` from the database's own clock, so members' clocks never matter.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { StateStoreError } from './postgres-connection.js';

/** The schema used unless the store is given another. */
export const DEFAULT_SCHEMA = 'assistants_otel';

/** A lower-case SQL identifier: the schema name is put into statements, so it is checked, then quoted. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new TypeError(`PostgreSQL schema name must be lower-case letters, digits and _ (at most 63, not starting with a digit), got ${JSON.stringify(schema)}`);
  }
  return `"${schema}"`;
}

export interface Migration {
  version: number;
  description: string;
  /** Statements with `$schema` standing for the quoted schema name. */
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'watch set, exported marks, set-aside totals, fleet members and leases',
    statements: [
      `CREATE TABLE $schema.threads (
         thread_id text PRIMARY KEY,
         seq bigserial NOT NULL,
         since double precision NOT NULL,
         run_cursor text,
         last_activity_at double precision NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE TABLE $schema.runs (
         run_id text PRIMARY KEY,
         seq bigserial NOT NULL,
         thread_id text NOT NULL,
         traceparent text,
         exported_step_ids text[] NOT NULL DEFAULT '{}',
         updated_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE INDEX runs_thread_id ON $schema.runs (thread_id)`,
      `CREATE TABLE $schema.done (
         run_id text PRIMARY KEY,
         done_at double precision NOT NULL)`,
      `CREATE INDEX done_done_at ON $schema.done (done_at)`,
      `CREATE TABLE $schema.set_aside (
         writer text PRIMARY KEY,
         total bigint NOT NULL CHECK (total >= 0))`,
      `CREATE TABLE $schema.members (
         member_id text PRIMARY KEY,
         session text NOT NULL,
         joined_at timestamptz NOT NULL,
         heartbeat_at timestamptz NOT NULL,
         expires_at timestamptz NOT NULL)`,
      `CREATE TABLE $schema.leases (
         thread_id text PRIMARY KEY,
         owner text,
         epoch bigint NOT NULL DEFAULT 0,
         expires_at timestamptz NOT NULL DEFAULT '-infinity',
         acquired_at timestamptz)`,
      `CREATE INDEX leases_owner ON $schema.leases (owner)`,
    ],
  },
  {
    version: 2,
    description: 'threads.cursor_created_at: the cursor run\'s creation time',
    // Nullable: threads written at version 1 have none until a listing shows their cursor run.
    statements: [`ALTER TABLE $schema.threads ADD COLUMN cursor_created_at double precision`],
  },
];

export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Two int4 keys for `pg_advisory_xact_lock`, stable for a purpose and schema. */
export function advisoryLockKeys(purpose: string, schema: string): [number, number] {
  const digest = createHash('sha256').update(`assistants-otel:${purpose}:${schema}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings `schema` to `SCHEMA_VERSION` on `client`, in one transaction. Refuses a schema newer than
 * this code knows: running old code on it could misread the state.
 */
export async function migrate(client: pg.ClientBase, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const quoted = checkSchemaName(schema);
  const latest = Math.max(0, ...migrations.map((m) => m.version));
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', advisoryLockKeys('migrate', schema));
    // Checked before CREATE: a role without CREATE on the database can use a schema its DBA made.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_version (
      version integer PRIMARY KEY,
      description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>(`SELECT coalesce(max(version), 0)::int AS version FROM ${quoted}.schema_version`);
    const from = rows[0]?.version ?? 0;
    if (from > latest) {
      throw new StateStoreError(
        `schema ${schema} is at version ${from}, newer than this assistants-otel knows (${latest}): a newer sidecar migrated it. Upgrade this one, or give it another schema`,
      );
    }
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= from) continue;
      for (const statement of migration.statements) await client.query(statement.replaceAll('$schema', quoted));
      await client.query(`INSERT INTO ${quoted}.schema_version (version, description) VALUES ($1, $2)`, [migration.version, migration.description]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, latest) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
