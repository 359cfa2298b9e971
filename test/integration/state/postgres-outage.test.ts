/**
 * The PostgreSQL store when the database is not there: a clear error at start (naming the flag or
 * variable, never the password), wrong credentials, a server that does not answer; and a database
 * that goes away while the store is in use (stopped, restarted): writes wait and then land, none
 * lost; reads fail fast with a transient error; the fleet's leases carry on; nothing crashes.
 *
 * This file starts its own cluster (it stops and restarts it), so it needs PostgreSQL's binaries.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LeasingStateStore } from '../../../src/state/leasing.js';
import { StateStoreUnavailableError } from '../../../src/state/postgres-connection.js';
import { createPostgresStateStore, type PostgresStateStoreOptions } from '../../../src/state/postgres-store.js';
import { canRunPostgresTests, startPostgresCluster, waitFor, type PostgresCluster } from '../../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { createServer } from 'node:net';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 1;
}

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error & { code?: string; transient?: boolean });

describe.runIf(canRunPostgresTests(import.meta.url, true))('PostgreSQL store without its database', () => {
  let cluster: PostgresCluster;
  let url: string;
  let schemas = 0;
  const stores: LeasingStateStore[] = [];
  const proxies: TcpProxy[] = [];
  const warnings: string[] = [];

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    url = await cluster.createDatabase('outage');
  });
  afterAll(async () => {
    await cluster?.destroy();
  });
  afterEach(async () => {
    for (const proxy of proxies) proxy.resume();
    await cluster.start().catch(() => {}); // if a test left it stopped
    await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
    expect(warnings.filter((w) => w.includes(cluster.password))).toEqual([]);
    warnings.length = 0;
  });

  const open = (extra: Partial<PostgresStateStoreOptions> = {}) => {
    const store = createPostgresStateStore({ url, schema: `o${++schemas}`, onWarning: (w) => warnings.push(w), ...extra });
    stores.push(store);
    return store;
  };

  describe('at start', () => {
    it('an unreachable database: a transient error naming the source and the redacted URL', async () => {
      const port = await closedPort();
      const store = open({ url: `postgres://bob:hunter2-secret@127.0.0.1:${port}/otel`, source: '--state' });
      const error = await errorOf(store.load());
      expect(error).toBeInstanceOf(StateStoreUnavailableError);
      expect(error).toMatchObject({ transient: true, code: 'ECONNREFUSED' });
      expect(error?.message).toBe(
        `PostgreSQL state store postgres://bob:<redacted>@127.0.0.1:${port}/otel (from --state): starting: cannot connect: connect ECONNREFUSED 127.0.0.1:${port} (is the database up and reachable? check --state)`,
      );
      await expect(store.putRun({ threadId: 't', runId: 'r', exportedStepIds: [] })).rejects.toThrow(/call load\(\)/);
    });

    it('a wrong password: a permanent error saying so, without either password', async () => {
      const wrong = new URL(url);
      wrong.password = 'not-the-right-one';
      const error = await errorOf(open({ url: wrong.href, source: 'ASSISTANTS_OTEL_STATE_URL' }).load());
      expect(error).toMatchObject({ name: 'StateStoreError', code: '28P01', transient: false });
      expect(error?.message).toMatch(/\(from ASSISTANTS_OTEL_STATE_URL\): starting: .*password authentication failed for user "postgres"/);
      expect(error?.message).not.toContain('not-the-right-one');
      expect(error?.message).not.toContain(cluster.password);
    });

    it('a server that does not answer: a timeout, not a hang', async () => {
      const proxy = await startTcpProxy(cluster.port);
      proxies.push(proxy);
      proxy.pause();
      const silent = new URL(url);
      silent.port = String(proxy.port);
      const error = await errorOf(open({ url: silent.href, connectTimeoutMillis: 300 }).load());
      expect(error).toBeInstanceOf(StateStoreUnavailableError);
      expect(error?.message).toMatch(/starting: cannot connect: .*timeout/i);
      expect(error?.message).not.toContain(cluster.password);
    });

    it('a start that failed may be tried again once the database is up', async () => {
      await cluster.stop();
      const store = open();
      expect(await errorOf(store.load())).toBeInstanceOf(StateStoreUnavailableError);
      await cluster.start();
      expect(await store.load()).toEqual({ threads: [], runs: [], done: {}, setAsideSpans: 0 });
    });
  });

  describe('while running', () => {
    it('a database stopped and started again: writes wait and land in order, reads fail fast meanwhile, nothing is lost', async () => {
      const writer = open();
      const reader = open({ schema: `o${schemas}` }); // the same schema
      await writer.load();
      await reader.load();
      const settled: string[] = [];
      const writes: Array<Promise<void>> = [];
      const write = (i: number) => {
        const runId = `run_${i}`;
        writes.push(writer.putRun({ threadId: 'thread_a', runId, exportedStepIds: [] }).then(() => void settled.push(runId)));
        if (i % 3 === 0) writes.push(writer.markRunDone(`run_${i - 1}`, i).then(() => void settled.push(`done ${i - 1}`)));
      };
      for (let i = 1; i <= 20; i++) write(i);
      await Promise.all(writes);

      await cluster.stop();
      for (let i = 21; i <= 40; i++) write(i);
      await waitFor('the writer to notice', () => warnings.some((w) => /state writes failing, retrying with backoff/.test(w)));
      const read = await errorOf(reader.listWatched());
      expect(read).toBeInstanceOf(StateStoreUnavailableError);
      expect(read?.message).toMatch(/listing the watch set: cannot connect/);
      await cluster.start();
      await Promise.all(writes);
      expect(warnings.some((w) => /state writes succeed again after/.test(w))).toBe(true);

      const state = await reader.load();
      const doneIds = Array.from({ length: 13 }, (_, k) => `run_${3 * (k + 1) - 1}`);
      expect(Object.keys(state.done).sort()).toEqual([...doneIds].sort());
      expect(state.runs.map((r) => r.runId)).toEqual(Array.from({ length: 40 }, (_, k) => `run_${k + 1}`).filter((id) => !doneIds.includes(id)));
      // The promises settled in call order.
      expect(settled.filter((s) => s.startsWith('run_')).map((s) => Number(s.slice(4)))).toEqual(Array.from({ length: 40 }, (_, k) => k + 1));
    });

    it('a restart under a fleet: members keep going, leases stay disjoint, and notifications come back', async () => {
      const schema = `fleet_${++schemas}`;
      // Long leases, so that a quick restart costs no lease: the fleet must just carry on.
      const a = open({ schema, memberId: 'member-a', leaseMillis: 120_000 });
      const b = open({ schema, memberId: 'member-b', leaseMillis: 120_000 });
      await a.load();
      await b.load();
      const held = new Map<string, Set<string>>([['member-a', new Set()], ['member-b', new Set()]]);
      const track = (name: string) => ({
        onGained: (keys: readonly string[]) => keys.forEach((k) => held.get(name)?.add(k)),
        onLost: (keys: readonly string[]) => keys.forEach((k) => held.get(name)?.delete(k)),
        onWarning: (w: string) => warnings.push(w),
      });
      await a.join(track('member-a'));
      await b.join(track('member-b'));
      for (let i = 0; i < 6; i++) await a.registerThread({ threadId: `thread_${i}`, since: 0, lastActivityAt: 0 });
      a.requestRound();
      await waitFor('3 each', () => held.get('member-a')?.size === 3 && held.get('member-b')?.size === 3);
      await waitFor('both listening', () => a.leaseStats().listening && b.leaseStats().listening);

      await cluster.restart();
      await waitFor('a listening again, on a new connection', () => a.leaseStats().listening, 15_000);
      const during = a.markRunDone('run_x', 1); // retried across the restart
      await during;
      // b drains: with renewals 40 s apart, a learns of it through its listener.
      await b.leave();
      await waitFor('a holds all 6 keys', () => held.get('member-a')?.size === 6, 15_000);
      expect(held.get('member-b')?.size).toBe(0);
      expect((await a.doneAmong(['run_x'])).has('run_x')).toBe(true);
    });

    it('close gives up on writes the database never takes, after closeTimeoutMillis, and says so', async () => {
      const store = open({ closeTimeoutMillis: 500 });
      await store.load();
      await cluster.stop();
      const write = errorOf(store.markRunDone('run_1', 1));
      await store.close();
      const error = await write;
      expect(error?.message).toMatch(/closed before this write was durable/);
      expect(warnings.some((w) => /closing with writes the database has not taken within 500 ms/.test(w))).toBe(true);
    });
  });
});
