/**
 * The behaviour every `StateStore` shares, run against each store by its own test file. `newStore`
 * returns a store over fresh, empty storage; `afterEach` closes every store it made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StateStore, WatchedRun, WatchedThread } from '../../../src/state/store.js';
import { callStore, randomCalls, referenceSnapshot, type StoreCall } from '../../support/state-ops.js';

export type StoreFactory = () => Promise<StateStore> | StateStore;

const thread = (threadId: string, extra: Partial<WatchedThread> = {}): WatchedThread => ({ threadId, since: 100, lastActivityAt: 1_000, ...extra });
const run = (runId: string, extra: Partial<WatchedRun> = {}): WatchedRun => ({ threadId: 'thread_a', runId, exportedStepIds: [], ...extra });

/** One call of every kind, in an order where each one changes the state. */
export const everyKindOfCall: StoreCall[] = [
  { method: 'putThread', args: [thread('thread_a', { cursor: 'run_1', cursorCreatedAt: 1_767_225_600 })] },
  { method: 'putThread', args: [thread('thread_b')] },
  { method: 'removeThread', args: ['thread_b'] },
  { method: 'putRun', args: [run('run_1', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })] },
  { method: 'putRun', args: [run('run_2')] },
  { method: 'putRun', args: [run('run_3')] },
  { method: 'markStepsExported', args: ['run_1', ['step_1', 'step_2']] },
  { method: 'markRunDone', args: ['run_2', 5_000] },
  { method: 'markRunDone', args: ['run_old', 1_000] },
  { method: 'removeRun', args: ['run_3'] },
  { method: 'pruneDone', args: [2_000] },
  { method: 'addSetAside', args: [7] },
];

export function describeStateStoreContract(name: string, factory: StoreFactory): void {
  describe(`${name}: the StateStore contract`, () => {
    const opened: StateStore[] = [];
    const newStore = async () => {
      const store = await factory();
      opened.push(store);
      return store;
    };
    const loaded = async () => {
      const store = await newStore();
      await store.load();
      return store;
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((store) => store.close()));
    });

    it('starts empty', async () => {
      const store = await newStore();
      expect(await store.load()).toEqual({ threads: [], runs: [], done: {}, setAsideSpans: 0 });
    });

    it('gives back exactly what one call of every kind wrote', async () => {
      const store = await loaded();
      for (const call of everyKindOfCall) await callStore(store, call);
      expect(await store.load()).toEqual({
        threads: [thread('thread_a', { cursor: 'run_1', cursorCreatedAt: 1_767_225_600 })],
        runs: [run('run_1', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', exportedStepIds: ['step_1', 'step_2'] })],
        done: { run_2: 5_000 },
        setAsideSpans: 7,
      });
    });

    it('putThread and putRun replace by id, keep the first-put order, and store all fields as given', async () => {
      const store = await loaded();
      await store.putThread(thread('thread_a', { cursor: 'run_1', cursorCreatedAt: 1_767_225_600.5 }));
      await store.putThread(thread('thread_b', { cursor: 'run_2', cursorCreatedAt: 1_767_225_601 }));
      await store.putThread(thread('thread_b'));
      await store.putThread(thread('thread_a', { since: 0, lastActivityAt: 2_000 })); // no cursor any more
      await store.putRun(run('run_1', { exportedStepIds: ['step_1'] }));
      await store.putRun(run('run_2'));
      await store.putRun(run('run_1', { threadId: 'thread_b', exportedStepIds: [] }));
      const state = await store.load();
      expect(state.threads).toEqual([thread('thread_a', { since: 0, lastActivityAt: 2_000 }), thread('thread_b')]);
      expect(state.threads[0]).not.toHaveProperty('cursor');
      expect(state.threads[0]).not.toHaveProperty('cursorCreatedAt');
      expect(state.threads[1]).not.toHaveProperty('cursorCreatedAt');
      expect(state.runs).toEqual([run('run_1', { threadId: 'thread_b' }), run('run_2')]);
    });

    it('removeThread, removeRun, markStepsExported and markRunDone accept ids that are not there', async () => {
      const store = await loaded();
      await store.putRun(run('run_1'));
      await store.removeThread('thread_unknown');
      await store.removeRun('run_unknown');
      await store.markStepsExported('run_unknown', ['step_1']);
      await store.markRunDone('run_unknown', 3_000); // rediscovery must still know it was exported
      expect(await store.load()).toEqual({ threads: [], runs: [run('run_1')], done: { run_unknown: 3_000 }, setAsideSpans: 0 });
    });

    it('markStepsExported appends each new step id once, in order', async () => {
      const store = await loaded();
      await store.putRun(run('run_1', { exportedStepIds: ['step_1'] }));
      await store.markStepsExported('run_1', ['step_2', 'step_1', 'step_3', 'step_2']);
      await store.markStepsExported('run_1', []);
      expect((await store.load()).runs).toEqual([run('run_1', { exportedStepIds: ['step_1', 'step_2', 'step_3'] })]);
    });

    it('markRunDone stops following the run; removeRun forgets it without marking it done', async () => {
      const store = await loaded();
      await store.putRun(run('run_1'));
      await store.putRun(run('run_2'));
      await store.markRunDone('run_1', 10);
      await store.removeRun('run_2');
      expect(await store.load()).toEqual({ threads: [], runs: [], done: { run_1: 10 }, setAsideSpans: 0 });
    });

    it('pruneDone forgets entries older than `before` and keeps the rest', async () => {
      const store = await loaded();
      await store.markRunDone('run_1', 999);
      await store.markRunDone('run_2', 1_000);
      await store.markRunDone('run_3', 1_001);
      await store.pruneDone(1_000);
      expect((await store.load()).done).toEqual({ run_2: 1_000, run_3: 1_001 });
    });

    it('addSetAside adds up', async () => {
      const store = await loaded();
      await Promise.all([store.addSetAside(3), store.addSetAside(0), store.addSetAside(4)]);
      expect((await store.load()).setAsideSpans).toBe(7);
    });

    it('repeating any mutation but addSetAside changes nothing more (replays are harmless)', async () => {
      const once = await loaded();
      const twice = await loaded();
      for (const call of everyKindOfCall.filter((c) => c.method !== 'addSetAside')) {
        await callStore(once, call);
        await callStore(twice, call);
        await callStore(twice, call);
        expect(await twice.load(), `after repeating ${call.method}`).toEqual(await once.load());
      }
    });

    it('load returns a copy, and a put keeps a copy of its argument', async () => {
      const store = await loaded();
      const mine = run('run_1', { exportedStepIds: ['step_1'] });
      await store.putRun(mine);
      mine.exportedStepIds.push('changed by the caller');
      const first = await store.load();
      first.runs[0]?.exportedStepIds.push('changed by the reader');
      first.runs.push(run('run_x'));
      first.done.run_x = 1;
      expect(await store.load()).toEqual({ threads: [], runs: [run('run_1', { exportedStepIds: ['step_1'] })], done: {}, setAsideSpans: 0 });
    });

    it('rejects malformed arguments and leaves the state unchanged', async () => {
      const store = await loaded();
      await store.putRun(run('run_1'));
      const before = await store.load();
      // Casts: these are the values an untyped caller (or a bug) could pass.
      await expect(store.putThread({ threadId: '', since: 1, lastActivityAt: 1 })).rejects.toThrow(TypeError);
      await expect(store.putThread(thread('t', { since: Number.NaN }))).rejects.toThrow(TypeError);
      await expect(store.putThread(thread('t', { cursor: 'run_1', cursorCreatedAt: Number.NaN }))).rejects.toThrow(TypeError);
      await expect(store.putThread(thread('t', { cursor: 'run_1', cursorCreatedAt: '1767225600' as unknown as number }))).rejects.toThrow(TypeError);
      await expect(store.putRun({ threadId: 't', runId: 'r' } as WatchedRun)).rejects.toThrow(TypeError);
      await expect(store.markStepsExported('run_1', [42 as unknown as string])).rejects.toThrow(TypeError);
      await expect(store.markRunDone('run_1', Number.POSITIVE_INFINITY)).rejects.toThrow(TypeError);
      await expect(store.pruneDone(Number.NaN)).rejects.toThrow(TypeError);
      await expect(store.addSetAside(-1)).rejects.toThrow(TypeError);
      await expect(store.addSetAside(1.5)).rejects.toThrow(TypeError);
      expect(await store.load()).toEqual(before);
    });

    it('rejects mutations before load', async () => {
      const store = await newStore();
      await expect(store.putRun(run('run_1'))).rejects.toThrow(/load\(\)/);
      expect(await store.load()).toEqual({ threads: [], runs: [], done: {}, setAsideSpans: 0 });
    });

    it('rejects mutations and load after close; close is idempotent', async () => {
      const store = await loaded();
      const pending = store.putRun(run('run_1')); // called before close: completes
      const closing = store.close();
      await expect(store.putRun(run('run_2'))).rejects.toThrow(/closed/);
      await expect(store.markRunDone('run_1', 1)).rejects.toThrow(/closed/);
      await expect(store.addSetAside(1)).rejects.toThrow(/closed/);
      await pending;
      await closing;
      await store.close();
      await expect(store.load()).rejects.toThrow(/closed/);
    });

    it('gives back exactly what a long random sequence wrote', async () => {
      const store = await loaded();
      const calls = randomCalls(7, 600);
      // In waves of concurrent calls, as the poller makes them.
      for (let i = 0; i < calls.length; i += 9) await Promise.all(calls.slice(i, i + 9).map((call) => callStore(store, call)));
      expect(await store.load()).toEqual(referenceSnapshot(calls));
    });
  });
}
