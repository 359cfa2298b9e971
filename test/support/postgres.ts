/**
 * A real, throwaway PostgreSQL for the fleet tests: a cluster of its own (initdb in a temp dir, on
 * a free loopback port, password authentication over TCP), or a database on a server named by
 * `ASSISTANTS_OTEL_TEST_PG_URL` (a role that may CREATE DATABASE).
 *
 * Binaries: `ASSISTANTS_OTEL_PG_BIN`, else the newest /usr/lib/postgresql/<major>/bin (Debian's
 * layout), else `pg_ctl` on PATH. initdb refuses to run as root, so as root every server command
 * runs as the `postgres` user (`runuser -u postgres --`), which Debian's package creates.
 *
 * When neither binaries nor a URL are there, PG test files skip with a warning saying so; with
 * `ASSISTANTS_OTEL_REQUIRE_POSTGRES=1` (CI) they fail instead, so they can never silently not run.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const EXTERNAL_URL = process.env['ASSISTANTS_OTEL_TEST_PG_URL']?.trim() || undefined;
const REQUIRED = process.env['ASSISTANTS_OTEL_REQUIRE_POSTGRES'] === '1';

function findBinDir(): string | undefined {
  const explicit = process.env['ASSISTANTS_OTEL_PG_BIN'];
  if (explicit) return existsSync(join(explicit, 'initdb')) ? explicit : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const majors = readdirSync(debian).filter((name) => /^\d+$/.test(name) && existsSync(join(debian, name, 'bin', 'initdb')));
    majors.sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(debian, majors[0], 'bin');
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

export const PG_BIN = findBinDir();
const IS_ROOT = process.getuid?.() === 0;

/** Why PG tests cannot run here, or undefined when they can. `ownCluster`: the test needs binaries (it restarts the server). */
export function postgresUnavailable(ownCluster = false): string | undefined {
  if (PG_BIN && (!IS_ROOT || existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser'))) return undefined;
  if (!ownCluster && EXTERNAL_URL) return undefined;
  return PG_BIN
    ? 'running as root without runuser to start PostgreSQL as the postgres user'
    : 'no PostgreSQL binaries (install Debian\'s postgresql package, or set ASSISTANTS_OTEL_PG_BIN' + (ownCluster ? ')' : ' or ASSISTANTS_OTEL_TEST_PG_URL)');
}

/**
 * True when this file's PG tests can run; otherwise warns (or throws, when required) naming the file.
 * Use as `describe.runIf(canRunPostgresTests(import.meta.url))`.
 */
export function canRunPostgresTests(file: string, ownCluster = false): boolean {
  const why = postgresUnavailable(ownCluster);
  if (why === undefined) return true;
  const message = `PostgreSQL tests in ${file.replace(/^.*\/test\//, 'test/')} DID NOT RUN: ${why}`;
  if (REQUIRED) throw new Error(`${message} (ASSISTANTS_OTEL_REQUIRE_POSTGRES=1)`);
  console.warn(`\n⚠ ${message}\n`);
  return false;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

async function asPostgres(command: string, args: string[]): Promise<string> {
  const binary = join(PG_BIN as string, command);
  const [file, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  try {
    const { stdout } = await run(file, argv, { timeout: 120_000 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

export interface PostgresCluster {
  readonly port: number;
  /** The superuser's password (the tests check it never leaks). */
  readonly password: string;
  /** A URL of a database in this cluster. */
  url(database: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast: connections are cut) and starts it again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its files. Idempotent. */
  destroy(): Promise<void>;
}

let databases = 0;
const databaseName = (label: string) => `t_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase().slice(0, 30)}_${process.pid}_${++databases}`;

async function createDatabaseAt(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  if (!PG_BIN) throw new Error(`cannot start PostgreSQL: ${postgresUnavailable(true)}`);
  const dir = await fsp.mkdtemp(join(tmpdir(), 'assistants-otel-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  await fsp.writeFile(join(dir, 'pwfile'), `${password}\n`);
  if (IS_ROOT) {
    const { uid, gid } = await postgresIds();
    chownSync(dir, uid, gid);
    chownSync(join(dir, 'pwfile'), uid, gid);
  }
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale', '-N']);
  let port = 0;
  // Tests exercise failover, not disk durability: fsync off keeps them fast on a busy machine.
  const serverOptions = () => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  const start = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', serverOptions(), 'start']);
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 3) throw error; // the port was taken between our check and the server's bind
    }
  }
  const url = (database: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  let destroyed = false;
  const stop = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
  };
  return {
    port,
    password,
    url,
    createDatabase: (name = databaseName('db')) => createDatabaseAt(url('postgres'), name),
    restart: async () => {
      await stop();
      await start();
    },
    stop,
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await asPostgres('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']).catch(() => {});
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['postgres']);
  const uid = /uid=(\d+)/.exec(stdout)?.[1];
  const gid = /gid=(\d+)/.exec(stdout)?.[1];
  if (!uid || !gid) throw new Error('no postgres user (Debian\'s postgresql package creates it)');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface TestDatabase {
  /** The database's URL (with the password). */
  url: string;
  /** The password in `url` ('' when an external URL has none). */
  password: string;
  /** Whether `text` holds the password (never, when there is none). */
  leaks(text: string): boolean;
  /** The cluster, when this file started its own. */
  cluster?: PostgresCluster;
  destroy(): Promise<void>;
}

/**
 * A fresh database for one test file: on `ASSISTANTS_OTEL_TEST_PG_URL`'s server if set, else in a
 * cluster of the file's own. Call in `beforeAll`, `destroy` in `afterAll`.
 */
export async function testDatabase(label: string): Promise<TestDatabase> {
  if (EXTERNAL_URL) {
    const url = await createDatabaseAt(EXTERNAL_URL, databaseName(label));
    const password = decodeURIComponent(new URL(url).password);
    return { url, password, leaks: (text) => password !== '' && text.includes(password), destroy: async () => {} };
  }
  const cluster = await startPostgresCluster();
  const url = await cluster.createDatabase(databaseName(label));
  return { url, password: cluster.password, leaks: (text) => text.includes(cluster.password), cluster, destroy: () => cluster.destroy() };
}

/** Waits until `check` returns a truthy value (polling), or fails naming `what`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMillis = 20_000, everyMillis = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMillis;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMillis));
  }
}
