/**
 * `watch --state postgres://…` (and `ASSISTANTS_OTEL_STATE_URL`) with the real CLI: a clear error
 * and exit 2 when the database is unreachable at start (a start-up failure) or the URL is not PostgreSQL,
 * and a sidecar keeping its state in a real PostgreSQL across a restart, exporting every run once.
 * The database's password never appears in the output (debug level, JSON logs) or in /metrics.
 *
 * This is one sidecar on the store (a fleet of one); three members on one database: fleet.test.ts.
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { canRunPostgresTests, testDatabase, type TestDatabase } from '../../support/postgres.js';
import { cleanupAll, countById, outputOf, registrationUrl, scenario, startWatch, startWorld, waitForEverything } from './helpers.js';

afterEach(cleanupAll);

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 1;
}

describe('watch with a PostgreSQL state URL, at start', () => {
  const PASSWORD = 'pg-e2e-secret-7f3a91';

  it('an unreachable database: exit 2 (a start-up failure: nothing was done) and an error naming --state, with the password redacted', async () => {
    const port = await closedPort();
    const { code, stderr, stdout } = await runCli(['watch', '--state', `postgres://otel:${PASSWORD}@127.0.0.1:${port}/otel`], { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
    expect(code).toBe(2);
    expect(stderr).toContain(
      `assistants-otel watch: PostgreSQL state store postgres://otel:<redacted>@127.0.0.1:${port}/otel (from --state): starting: cannot connect: connect ECONNREFUSED 127.0.0.1:${port} (is the database up and reachable? check --state)`,
    );
    expect(stderr + stdout).not.toContain(PASSWORD);
  });

  it('the same through ASSISTANTS_OTEL_STATE_URL names the variable', async () => {
    const port = await closedPort();
    const { code, stderr } = await runCli(['watch'], { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', ASSISTANTS_OTEL_STATE_URL: `postgresql://otel:${PASSWORD}@127.0.0.1:${port}/otel` } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/\(from ASSISTANTS_OTEL_STATE_URL\): starting: cannot connect: .*check ASSISTANTS_OTEL_STATE_URL\)/);
    expect(stderr).not.toContain(PASSWORD);
  });

  it('--lease and --member-id: checked, named, and only for a PostgreSQL state (exit 2)', async () => {
    const env = { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' };
    const url = `postgres://otel:${PASSWORD}@127.0.0.1:9/otel`;
    const cases: Array<[string[], string]> = [
      [['--memory-state', '--lease', '5s'], 'assistants-otel --lease: only for a fleet: needs --state postgres://… (or ASSISTANTS_OTEL_STATE_URL)'],
      [['--state', url, '--lease', '100ms'], 'assistants-otel --lease: between 500ms and 1h'],
      [['--state', url, '--member-id', 'a b'], 'assistants-otel --member-id: 1–200 characters, letters, digits and _ . : @ - (starting with a letter or digit), unique among running members, got "a b"'],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(['watch', ...args], { env });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toContain(message);
      expect(stderr).not.toContain(PASSWORD);
    }
  });

  it('ASSISTANTS_OTEL_STATE_URL that is not PostgreSQL: exit 2, a configuration error', async () => {
    const { code, stderr } = await runCli(['watch'], { env: { ASSISTANTS_OTEL_STATE_URL: `redis://u:${PASSWORD}@h/0` } });
    expect(code).toBe(2);
    expect(stderr).toContain('assistants-otel ASSISTANTS_OTEL_STATE_URL: expected a postgres:// or postgresql:// URL, got "redis://u:<redacted>@h/0"');
    expect(stderr).not.toContain(PASSWORD);
  });
});

describe.runIf(canRunPostgresTests(import.meta.url))('watch with its state in PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('e2e_watch');
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('exports every run once across a restart, keeps registrations and marks in the database, and never shows the password', async () => {
    const world = await startWorld({ scenario: scenario('demo') });
    const args = ['--state', db.url, '--log-level', 'debug', '--log-format', 'json'];
    const first = startWatch(world, args);
    const url = await registrationUrl(first);
    const extra = world.sim.createThread();
    const registered = await fetch(`${url}/v1/watch`, { method: 'POST', body: JSON.stringify({ thread_id: extra.id }) });
    expect(registered.status).toBe(201);
    world.sim.startRun(extra.id, 'every-tool');
    const threads = [...world.threads, extra.id];
    const expected = await waitForEverything(world, { threads, extraDetails: () => outputOf(first) });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(await first.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const stored = await admin.query<{ thread_id: string }>('SELECT thread_id FROM assistants_otel.threads');
      expect(stored.rows.map((r) => r.thread_id)).toContain(extra.id);
      const done = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM assistants_otel.done');
      expect(done.rows[0]?.n).toBe(new Set(expected.map((s) => s.traceId)).size);
    } finally {
      await admin.end();
    }

    // A second life on the same database: nothing to export again.
    const before = world.receiver.spans().length;
    const second = startWatch(world, args, { threads: [] });
    await second.waitForOutput(/"msg":"watching".*"threads":\d+/, { stream: 'stderr' });
    await second.waitForOutput(/"msg":"discovery"/, { stream: 'stderr' });
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(world.receiver.spans().length).toBe(before);
    expect([...countById(world.receiver.spans()).values()].every((n) => n === 1)).toBe(true);

    for (const text of [first.stderr(), first.stdout(), second.stderr(), second.stdout(), metrics]) expect(db.leaks(text)).toBe(false);
    expect(first.stderr()).toMatch(/"state":"postgres:\/\/postgres(:<redacted>)?@[^"]+"/);
  });
});
