/**
 * The PostgreSQL store against a real PostgreSQL: the StateStore contract every store passes, then
 * what only a shared database has: reopening, two stores on one schema, schemas side by side, a
 * faulty write among good ones, NUL refused, a finished run never written back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LeasingStateStore } from '../../../src/state/leasing.js';
import { createPostgresStateStore, type PostgresStateStoreOptions } from '../../../src/state/postgres-store.js';
import type { WatchedRun } from '../../../src/state/store.js';
import { canRunPostgresTests, testDatabase, type TestDatabase } from '../../support/postgres.js';
import { callStore, randomCalls, referenceSnapshot } from '../../support/state-ops.js';
import { describeStateStoreContract } from '../../unit/state/store-contract.js';

const run = (runId: string, extra: Partial<WatchedRun> = {}): WatchedRun => ({ threadId: 'thread_a', runId, exportedStepIds: [], ...extra });

describe.runIf(canRunPostgresTests(import.meta.url))('PostgreSQL store', () => {
  let db: TestDatabase;
  let schemas = 0;
  const warnings: string[] = [];
  beforeAll(async () => {
    db = await testDatabase('store');
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const options = (extra: Partial<PostgresStateStoreOptions> = {}): PostgresStateStoreOptions => ({
    url: db.url,
    schema: `s${++schemas}`,
    onWarning: (m) => warnings.push(m),
    ...extra,
  });

  // Every store of the contract gets a schema of its own: fresh, empty storage.
  describeStateStoreContract('PostgreSQL store', () => createPostgresStateStore(options()));

  describe('shared storage', () => {
    const opened: LeasingStateStore[] = [];
    const open = async (extra: Partial<PostgresStateStoreOptions>) => {
      const store = createPostgresStateStore(options(extra));
      opened.push(store);
      return { store, state: await store.load() };
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((store) => store.close()));
      expect(warnings.filter((w) => db.leaks(w))).toEqual([]);
      warnings.length = 0;
    });

    it('reopens with everything a closed store wrote, in the same order', async () => {
      const schema = `reopen_${schemas++}`;
      const calls = randomCalls(21, 500);
      const { store } = await open({ schema });
      for (let i = 0; i < calls.length; i += 11) await Promise.all(calls.slice(i, i + 11).map((call) => callStore(store, call)));
      await store.close();
      expect((await open({ schema })).state).toEqual(referenceSnapshot(calls));
    });

    it('two stores on one schema see each other\'s writes; set-aside spans add up across them', async () => {
      const schema = `shared_${schemas++}`;
      const { store: a } = await open({ schema });
      const { store: b } = await open({ schema });
      await a.putThread({ threadId: 'thread_a', since: 1, lastActivityAt: 2 });
      await b.putRun(run('run_1'));
      await a.markStepsExported('run_1', ['step_1']);
      await b.markStepsExported('run_1', ['step_2', 'step_1']);
      await a.addSetAside(2);
      await b.addSetAside(3);
      await a.addSetAside(1);
      await b.markRunDone('run_0', 10);
      const expected = {
        threads: [{ threadId: 'thread_a', since: 1, lastActivityAt: 2 }],
        runs: [run('run_1', { exportedStepIds: ['step_1', 'step_2'] })],
        done: { run_0: 10 },
        setAsideSpans: 6,
      };
      expect(await a.load()).toEqual(expected);
      expect(await b.load()).toEqual(expected);
    });

    it('a member id keeps its set-aside total across restarts', async () => {
      const schema = `setaside_${schemas++}`;
      const { store: first } = await open({ schema, memberId: 'pod-0' });
      await first.addSetAside(4);
      await first.close();
      const { store: again, state } = await open({ schema, memberId: 'pod-0' });
      expect(state.setAsideSpans).toBe(4);
      await again.addSetAside(1);
      expect((await again.load()).setAsideSpans).toBe(5);
    });

    it('schemas are separate stores', async () => {
      const { store: a } = await open({ schema: `left_${schemas++}` });
      const { store: b, state } = await open({ schema: `right_${schemas++}` });
      await a.putRun(run('run_1'));
      expect(state.runs).toEqual([]);
      expect((await b.load()).runs).toEqual([]);
    });

    it('a finished run is never followed again by a late putRun (a member that lost its lease)', async () => {
      const { store } = await open({});
      await store.putRun(run('run_1'));
      await store.markRunDone('run_1', 5);
      await store.putRun(run('run_1', { exportedStepIds: ['step_1'] }));
      expect(await store.load()).toMatchObject({ runs: [], done: { run_1: 5 } });
    });

    it('refuses NUL in text with a TypeError, and the writes around it succeed', async () => {
      const { store } = await open({});
      const results = await Promise.allSettled([
        store.putRun(run('run_1')),
        store.putRun(run('run_\u0000bad')),
        store.markStepsExported('run_1', ['step_\u0000']),
        store.putRun(run('run_2')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/TypeError: putRun: PostgreSQL cannot store a NUL/);
      expect((await store.load()).runs.map((r) => r.runId)).toEqual(['run_1', 'run_2']);
    });

    it('a write the database refuses fails alone; the others of its batch are committed', async () => {
      const { store } = await open({});
      // A thread id beyond what a btree index entry may hold: PostgreSQL refuses the row.
      const huge = `thread_${'x'.repeat(300_000)}`;
      const results = await Promise.allSettled([
        store.putRun(run('run_1')),
        store.putThread({ threadId: huge, since: 0, lastActivityAt: 0 }),
        store.putRun(run('run_2')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const reason = (results[1] as PromiseRejectedResult).reason as Error;
      expect(reason.name).toBe('StateStoreError');
      expect(reason.message).toMatch(/PostgreSQL state store postgres:\/\/[^:]+(:<redacted>)?@[^/]+\/\S+: writing: .*index/);
      expect(db.leaks(reason.message)).toBe(false);
      expect((await store.load()).runs.map((r) => r.runId)).toEqual(['run_1', 'run_2']);
    });

    it('refuses a schema name that is not a plain identifier, and bad lease settings', () => {
      expect(() => createPostgresStateStore(options({ schema: 'x"; DROP TABLE y; --' }))).toThrow(/schema name must be lower-case/);
      expect(() => createPostgresStateStore(options({ leaseMillis: 100 }))).toThrow(/leaseMillis must be at least 500/);
      expect(() => createPostgresStateStore(options({ leaseMillis: 1000, renewIntervalMillis: 1000 }))).toThrow(/renewIntervalMillis/);
    });
  });
});
