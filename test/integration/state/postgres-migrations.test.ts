/**
 * Migrations on a real PostgreSQL: several sidecars starting at once on an empty database, a
 * restart on a current schema, a version 1 schema brought to version 2, a schema newer than this
 * code, a new migration raced by several clients, and a role that may not create schemas using one
 * its DBA made.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStateStore } from '../../../src/state/postgres-store.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, type Migration } from '../../../src/state/postgres-schema.js';
import { canRunPostgresTests, testDatabase, type TestDatabase } from '../../support/postgres.js';

describe.runIf(canRunPostgresTests(import.meta.url))('PostgreSQL migrations', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  beforeAll(async () => {
    db = await testDatabase('migrations');
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.destroy();
  });

  const versions = async (schema: string) =>
    (await admin.query<{ version: number; applied_at: Date }>(`SELECT version, applied_at FROM ${schema}.schema_version ORDER BY version`)).rows;

  it('several stores starting at once on an empty database create the schema once, and all work', async () => {
    const stores = Array.from({ length: 6 }, (_, i) => createPostgresStateStore({ url: db.url, memberId: `m${i}` }));
    try {
      const states = await Promise.all(stores.map((store) => store.load()));
      expect(states).toEqual(Array(6).fill({ threads: [], runs: [], done: {}, setAsideSpans: 0 }));
      expect((await versions('assistants_otel')).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      await Promise.all(stores.map((store, i) => store.markRunDone(`run_${i}`, i)));
      expect(Object.keys((await stores[0]!.load()).done).sort()).toEqual(['run_0', 'run_1', 'run_2', 'run_3', 'run_4', 'run_5']);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('a start on a current schema changes nothing', async () => {
    const before = await versions('assistants_otel');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect(await migrate(client, 'assistants_otel')).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    } finally {
      await client.end();
    }
    expect(await versions('assistants_otel')).toEqual(before);
  });

  it('a later migration raced by several clients is applied once', async () => {
    const next: Migration = { version: SCHEMA_VERSION + 1, description: 'a test table', statements: ['CREATE TABLE $schema.added_later (id int)'] };
    await admin.query('CREATE SCHEMA IF NOT EXISTS raced');
    const clients = Array.from({ length: 5 }, () => new pg.Client({ connectionString: db.url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      // Without the advisory lock, the second CREATE TABLE of the same table would fail.
      const results = await Promise.all(clients.map((c) => migrate(c, 'raced', [...MIGRATIONS, next])));
      expect(results.filter((r) => r.from === 0)).toHaveLength(1);
      expect(results.every((r) => r.to === SCHEMA_VERSION + 1)).toBe(true);
      expect((await versions('raced')).map((r) => r.version)).toEqual([...MIGRATIONS.map((m) => m.version), SCHEMA_VERSION + 1]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('a version 1 schema moves to version 2 keeping its threads; their cursor creation time comes with the next write', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect(await migrate(client, 'from_v1', MIGRATIONS.filter((m) => m.version === 1))).toEqual({ from: 0, to: 1 });
      await admin.query(`INSERT INTO from_v1.threads (thread_id, since, run_cursor, last_activity_at) VALUES ('thread_1', 100, 'run_9', 1000)`);
    } finally {
      await client.end();
    }
    const store = createPostgresStateStore({ url: db.url, schema: 'from_v1' });
    try {
      expect((await store.load()).threads).toEqual([{ threadId: 'thread_1', since: 100, cursor: 'run_9', lastActivityAt: 1_000 }]);
      expect((await versions('from_v1')).map((r) => r.version)).toEqual([1, 2]);
      await store.putThread({ threadId: 'thread_1', since: 100, cursor: 'run_10', cursorCreatedAt: 1_767_225_600.25, lastActivityAt: 2_000 });
      const { rows } = await admin.query<{ cursor_created_at: number }>(`SELECT cursor_created_at FROM from_v1.threads`);
      expect(rows).toEqual([{ cursor_created_at: 1_767_225_600.25 }]);
    } finally {
      await store.close();
    }
  });

  it('refuses a schema migrated by a newer assistants-otel, naming both versions', async () => {
    const store = createPostgresStateStore({ url: db.url, schema: 'from_the_future' });
    const first = createPostgresStateStore({ url: db.url, schema: 'from_the_future' });
    await first.load();
    await first.close();
    await admin.query(`INSERT INTO from_the_future.schema_version (version, description) VALUES (99, 'future')`);
    try {
      const error = await store.load().then(() => undefined, (e: unknown) => e as Error);
      expect(error?.name).toBe('StateStoreError');
      expect(error?.message).toMatch(/schema from_the_future is at version 99, newer than this assistants-otel knows \(2\)/);
      expect(db.leaks(error?.message ?? '')).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('a role that may not create schemas uses one its DBA made, and is told clearly when it has none', async () => {
    const role = `app_role_${process.pid}`; // roles are per server, which may be shared (ASSISTANTS_OTEL_TEST_PG_URL)
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'app-role-secret-pw'`);
    await admin.query(`CREATE SCHEMA app_schema AUTHORIZATION ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'app-role-secret-pw';
    const store = createPostgresStateStore({ url: url.href, schema: 'app_schema', source: 'ASSISTANTS_OTEL_STATE_URL' });
    const denied = createPostgresStateStore({ url: url.href, schema: 'not_made', source: 'ASSISTANTS_OTEL_STATE_URL' });
    try {
      expect(await store.load()).toEqual({ threads: [], runs: [], done: {}, setAsideSpans: 0 });
      const error = await denied.load().then(() => undefined, (e: unknown) => e as Error & { code?: string; transient?: boolean });
      expect(error).toMatchObject({ name: 'StateStoreError', code: '42501', transient: false });
      expect(error?.message).toMatch(/^PostgreSQL state store postgres:\/\/app_role_\d+:<redacted>@[^/]+\/\S+ \(from ASSISTANTS_OTEL_STATE_URL\): starting: permission denied/);
      expect(error?.message).not.toContain('app-role-secret-pw');
    } finally {
      await store.close();
      await denied.close();
      await admin.query(`DROP SCHEMA app_schema CASCADE`);
      await admin.query(`DROP ROLE ${role}`);
    }
  });
});
