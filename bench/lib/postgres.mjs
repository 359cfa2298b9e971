// A throwaway PostgreSQL cluster for the fleet benchmarks (the tests' test/support/postgres.ts, in
// plain JS): initdb in a temp dir from Debian's binaries (/usr/lib/postgresql/<major>/bin, or
// ASSISTANTS_OTEL_PG_BIN), trust authentication on a free loopback port, fsync off. As root, the
// server commands run as the `postgres` user, since initdb refuses root.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function postgresBinDir() {
  const explicit = process.env.ASSISTANTS_OTEL_PG_BIN;
  if (explicit) return existsSync(join(explicit, 'initdb')) ? explicit : undefined;
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const majors = readdirSync(debian).filter((n) => /^\d+$/.test(n) && existsSync(join(debian, n, 'bin', 'initdb'))).sort((a, b) => b - a);
  return majors[0] ? join(debian, majors[0], 'bin') : undefined;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a cluster; resolves to { url(database), destroy() }. */
export async function startCluster() {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries (Debian: apt-get install postgresql; or set ASSISTANTS_OTEL_PG_BIN)');
  const root = process.getuid?.() === 0;
  const pgRun = (command, args) => run(root ? 'runuser' : join(bin, command), root ? ['-u', 'postgres', '--', join(bin, command), ...args] : args, { timeout: 120_000 });
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-pg-'));
  if (root) {
    const { stdout } = await run('id', ['postgres']);
    chownSync(dir, Number(/uid=(\d+)/.exec(stdout)[1]), Number(/gid=(\d+)/.exec(stdout)[1]));
  }
  const data = join(dir, 'data');
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '-N']);
  const port = await freePort();
  await pgRun('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
  return {
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async destroy() {
      await pgRun('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
