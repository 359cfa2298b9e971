// fleet-leases: the PostgreSQL store's lease machinery on a throwaway local cluster.
//
// (A) A lease round's time with 1,000 and 10,000 thread ids held by one member (the renewal rewrites
//     each held lease row), and registration throughput through one store (group commit).
// (B) Three members, each a process of its own (fleet-member-child.mjs), on 30 threads with a 2 s
//     lease: one is killed with SIGKILL at a random point of its renewal cycle, and the time until the
//     other two hold all 30 is measured; then a member drains (close) and the time until the others
//     hold its leases. Target (issue): takeover within one lease.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { leaseRound } from '../../dist/state/postgres-lease-sql.js';
import { createPostgresStateStore } from '../../dist/state/postgres-store.js';
import { postgresBinDir, startCluster } from '../lib/postgres.mjs';
import { figure, median, round, sleep, waitFor } from '../lib/util.mjs';

export const defaults = { roundKeys: [1_000, 10_000], rounds: 10, threads: 30, leaseMillis: 2_000, trials: 5 };
const here = dirname(fileURLToPath(import.meta.url));

async function roundTimes(url, keys, rounds) {
  const schema = `bench_${keys}`;
  const store = createPostgresStateStore({ url, schema, memberId: 'bench-registrar' });
  await store.load();
  const started = performance.now();
  await Promise.all(Array.from({ length: keys }, (_, i) => store.registerThread({ threadId: `thread_${i}`, since: 0, lastActivityAt: 0 })));
  const perSecond = keys / ((performance.now() - started) / 1000);
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const input = { ctx: { schema: `"${schema}"`, schemaName: schema, memberId: 'bench-member' }, session: 'bench', leaseMillis: 30_000, joining: false };
  let held = new Set();
  const times = [];
  for (let i = 0; i <= rounds; i++) {
    const t = performance.now();
    const result = await leaseRound(client, input, held);
    if (i > 0) times.push(performance.now() - t); // the first one claims them all
    held = new Set(result.held.keys());
  }
  await client.end();
  return { perSecond, median: median(times), max: Math.max(...times) };
}

function startMember(url, schema, name, leaseMillis, holdings) {
  const child = fork(join(here, 'fleet-member-child.mjs'), [url, schema, name, String(leaseMillis)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  child.on('message', (m) => {
    if (m.type === 'held') holdings.set(m.member, new Set(m.keys));
  });
  return child;
}

async function fleetTrial(url, params, trial, holdings) {
  const schema = `bench_fleet_${trial}`;
  const store = createPostgresStateStore({ url, schema, memberId: 'bench-registrar' });
  await store.load();
  for (let i = 0; i < params.threads; i++) await store.registerThread({ threadId: `thread_${i}`, since: 0, lastActivityAt: 0 });
  await store.close();
  holdings.clear();
  const members = ['a', 'b', 'c'].map((name) => startMember(url, schema, name, params.leaseMillis, holdings));
  const total = (names) => names.reduce((n, name) => n + (holdings.get(name)?.size ?? 0), 0);
  const even = () => ['a', 'b', 'c'].every((name) => holdings.get(name)?.size === params.threads / 3);
  if (!(await waitFor(even, { timeoutMs: 30_000 }))) throw new Error(`no even split: ${JSON.stringify([...holdings].map(([k, v]) => [k, v.size]))}`);
  await sleep(Math.random() * (params.leaseMillis / 3)); // anywhere in c's renewal cycle
  const killedAt = performance.now();
  members[2].kill('SIGKILL');
  if (!(await waitFor(() => total(['a', 'b']) === params.threads, { timeoutMs: 30_000, everyMs: 2 }))) throw new Error('no takeover');
  const takeover = performance.now() - killedAt;
  // a drains: b alone then holds all.
  const drainAt = performance.now();
  const left = new Promise((resolve) => members[0].on('message', (m) => m.type === 'left' && resolve()));
  members[0].send({ type: 'leave' });
  await left;
  const released = performance.now();
  if (!(await waitFor(() => holdings.get('b')?.size === params.threads, { timeoutMs: 30_000, everyMs: 2 }))) throw new Error('no pickup after drain');
  const pickup = performance.now() - released;
  for (const child of members) child.kill('SIGKILL');
  return { takeover, drain: released - drainAt, pickup };
}

export async function run(params = {}) {
  const p = { ...defaults, ...params };
  if (!postgresBinDir()) {
    return { params: p, figures: [figure('skipped', undefined, '', { note: 'no PostgreSQL binaries (apt-get install postgresql, or ASSISTANTS_OTEL_PG_BIN)' })], details: {} };
  }
  const cluster = await startCluster();
  try {
    const url = cluster.url();
    const figures = [];
    const rounds = {};
    for (const keys of p.roundKeys) {
      const r = await roundTimes(url, keys, p.rounds);
      rounds[keys] = r;
      figures.push(figure(`lease round, ${keys.toLocaleString('en-US')} thread ids held (median)`, round(r.median, 1), 'ms', { note: `max ${round(r.max, 1)} ms` }));
      figures.push(figure(`registration through one store, ${keys.toLocaleString('en-US')} threads`, Math.round(r.perSecond), 'threads/s'));
    }
    const holdings = new Map();
    const trials = [];
    for (let t = 0; t < p.trials; t++) trials.push(await fleetTrial(url, p, t, holdings));
    const worst = Math.max(...trials.map((t) => t.takeover));
    figures.push(
      figure(`takeover after SIGKILL of 1 of 3 members (lease ${p.leaseMillis} ms), median`, Math.round(median(trials.map((t) => t.takeover))), 'ms'),
      figure(`takeover after SIGKILL, worst of ${p.trials}`, Math.round(worst), 'ms', { target: `≤ ${p.leaseMillis} ms (one lease)`, met: worst <= p.leaseMillis, note: 'from the kill; the lease runs from the last renewal, up to a third of a lease before' }),
      figure('drain: close() releasing every lease, median', Math.round(median(trials.map((t) => t.drain))), 'ms'),
      figure('drain: until the remaining member holds them, median', Math.round(median(trials.map((t) => t.pickup))), 'ms'),
    );
    return { params: p, figures, details: { rounds, trials } };
  } finally {
    await cluster.destroy();
  }
}
