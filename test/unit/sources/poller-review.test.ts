/**
 * Suspected poller bugs found in review (fidelity review, #11 items 1–2), written as tests that
 * failed (`it.fails`) until fixed: each names the bug.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../src/api/errors.js';
import { classifyFailure } from '../../../src/sources/failures.js';
import { acked, advance, FakeApi, POLL, rig, settleNow, START, stopRigs, THREAD } from './poller-rig.js';

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});

afterEach(async () => {
  await stopRigs();
  vi.useRealTimers();
});

const TP_1 = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TP_2 = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The fake lists newest first by position: put `id` just below `below` (a tie the API orders so). */
function listBelow(api: FakeApi, id: string, below: string): void {
  const runs = (api as unknown as { runsByThread: Map<string, Array<Record<string, unknown>>> }).runsByThread.get(THREAD) ?? [];
  const moved = runs.find((r) => r['id'] === id);
  const rest = runs.filter((r) => r['id'] !== id);
  rest.splice(rest.findIndex((r) => r['id'] === below), 0, moved as Record<string, unknown>);
  (api as unknown as { runsByThread: Map<string, unknown[]> }).runsByThread.set(THREAD, rest);
}

describe('poller review: suspected bugs', () => {
  // Was a bug (high): runs newer than the cursor were told by position only, but the API orders by
  // created_at (seconds) and leaves ties in an order of its own (ids are random); now a run of the
  // cursor's second not listed in it before is new (thread-round.ts isUnseenCursorPeer). A run that fails at once (a rate-limited
  // run, say) and the client's retry created in the same second: if a listing saw the first as
  // newest, the retry may be listed *below* it and is taken for one seen at the last look. It is
  // never followed, never exported; every later listing skips it again.
  it('a run created in the same second as the cursor run, listed below it, is still followed and exported', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    await advance(200);
    const first = api.addRun(THREAD, 'run_a');
    await advance(POLL - 200); // the listing at 1 s: run_a is the cursor, followed
    expect(poller.stats().runs).toBe(1);
    api.finishRun('run_a', { status: 'failed', failed_at: first['created_at'], completed_at: null });
    api.addRun(THREAD, 'run_b', { created_at: first['created_at'] }); // the retry, same second
    listBelow(api, 'run_b', 'run_a');
    await advance(POLL);
    await acked();
    api.finishRun('run_b');
    await advance(3 * POLL);
    await acked();
    expect(delivery.runIds().sort()).toEqual(['run_a', 'run_b']);
  });

  // Was a bug: only 404 dropped a thread or run; 410 Gone was `invalid_request`, retried forever.
  // Other 4xx (400, 422) are still retried with backoff: a misconfigured api-version answers 400 for
  // every thread, and dropping them all would lose the watch set over a fixable setting.
  it('410 Gone drops the thread as 404 does', () => {
    // The client makes a 410 `not_found` (test/unit/api/client.test.ts); dropped, saying which status.
    const action = classifyFailure('thread', new ApiError('not_found', 'list runs of thread_1: HTTP 410', { status: 410 }));
    expect(action).toMatchObject({ kind: 'drop', reason: 'not_found', message: expect.stringContaining('HTTP 410') });
  });

  // Was a bug (low): a registration with a new traceparent arriving while the run's export settled
  // (its spans acknowledged, the done mark being written) re-added the done run to the watch list
  // once its own write resolved; the listing checks `done` before `followed`, so that run was never
  // read or removed again, and its thread never idled nor reached its TTL. The answer was
  // `updated`, though the spans had gone with the old parent.
  it('a traceparent registered while the run\'s export settles: answered exported, the done run not followed again, the thread idles out', async () => {
    const { api, poller, delivery, state, dropped } = await rig({ idleTtlMillis: 20 * POLL, idleGraceMillis: 2 * POLL, maxIdleIntervalMillis: 2 * POLL });
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_1');
    expect(await poller.watchRun(THREAD, 'run_1', TP_1)).toBe('added');
    await advance(POLL);
    api.finishRun('run_1');
    delivery.autoSettle = false;
    await advance(POLL);
    expect(delivery.runIds()).toEqual(['run_1']);
    const settling = delivery.settle(); // the done mark is being written
    const answer = poller.watchRun(THREAD, 'run_1', TP_2);
    await settling;
    expect(await answer).toBe('exported');
    expect(poller.stats().runs).toBe(0);
    expect(await state()).toMatchObject({ runs: [], done: { run_1: expect.any(Number) } });
    await advance(30 * POLL);
    expect(dropped).toEqual([['thread', 'idle']]);
    expect(delivery.runIds()).toEqual(['run_1']);
  });

  it('a state that holds a run both followed and done (written by that race) does not follow it again', async () => {
    const api = new FakeApi();
    api.addRun(THREAD, 'run_1', { status: 'completed', completed_at: api.nowSeconds() });
    const { poller, delivery } = await rig({ api, snapshot: { threads: [], runs: [{ threadId: THREAD, runId: 'run_1', exportedStepIds: [], traceparent: TP_2 }], done: { run_1: START - 1_000 }, setAsideSpans: 0 } });
    expect(poller.stats().runs).toBe(0);
    await advance(3 * POLL);
    expect([api.count('getRun'), delivery.jobs.length]).toEqual([0, 0]);
  });

  // Was a bug (low): a traceparent registered while a finished run's steps were being listed for
  // its export was stored and answered `updated`, but the spans went with the old parent (and a
  // resend after a crash would have had the new one: two versions of the run's spans).
  it('a traceparent registered while the finished run\'s steps are listed parents the spans sent', async () => {
    const { api, poller, delivery, state } = await rig();
    api.addRun(THREAD, 'run_2');
    api.addStep('run_2', 'step_1');
    expect(await poller.watchRun(THREAD, 'run_2', TP_1)).toBe('added');
    api.finishRun('run_2');
    const hold = api.holdNext('listRunSteps', 'run_2');
    await advance(POLL);
    expect(hold.started).toBe(true);
    expect(await poller.watchRun(THREAD, 'run_2', TP_2)).toBe('updated');
    expect((await state()).runs).toEqual([{ threadId: THREAD, runId: 'run_2', exportedStepIds: [], traceparent: TP_2 }]);
    hold.release();
    await advance(POLL);
    await acked();
    expect(delivery.runIds()).toEqual(['run_2']);
    const spans = delivery.jobs.flatMap((j) => j.spans);
    expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([TP_2.split('-')[1]]));
    expect(api.count('listRunSteps')).toBe(2); // listed again for the spans built with the new parent
    expect(await poller.watchRun(THREAD, 'run_2', TP_1)).toBe('exported');
  });

  // Was a bug (low): a record newer than every valid run that fails validation (a run with no id)
  // stays above the cursor, which stops at the newest valid run: every listing showed it again,
  // and it was logged and counted in `onRejected` at each (assistants_otel_records_rejected_total
  // climbing once per poll interval for one bad record). Now once per thread (discovery.ts
  // rejectedKeys, thread-round.ts freshRejections).
  it('a rejected record newer than every valid run is reported once, not at every listing', async () => {
    const { api, poller, delivery, rejected, lines } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_a');
    await advance(POLL);
    api.finishRun('run_a');
    api.addMalformedRun(THREAD, { status: 'completed' });
    await advance(5 * POLL);
    await acked();
    const malformed = () => lines.filter((l) => l.level === 'error' && l.message === 'malformed run in a list page: skipped');
    expect(delivery.runIds()).toEqual(['run_a']);
    expect(api.count('listRuns')).toBeGreaterThanOrEqual(6);
    expect(rejected).toEqual([['run', 1]]);
    expect(malformed()).toEqual([expect.objectContaining({ fields: expect.objectContaining({ thread_id: THREAD, path: 'id' }) })]);
    // Another bad record is reported (once); the first is not again.
    api.addMalformedRun(THREAD, { status: 'failed', assistant_id: 'asst_other' });
    await advance(5 * POLL);
    expect(rejected).toEqual([['run', 1], ['run', 1]]);
    expect(malformed()).toHaveLength(2);
    // A valid run newer than both moves the cursor past them: they are no longer listed.
    api.addRun(THREAD, 'run_b', { status: 'completed', completed_at: api.nowSeconds() });
    await advance(5 * POLL);
    await acked();
    expect(delivery.runIds()).toEqual(['run_a', 'run_b']);
    expect(rejected).toHaveLength(2);
  });

  // Was a bug (medium-low): the cursor run's `created_at` was kept in memory only. After a restart
  // it was unknown until a new run moved the cursor; if the cursor run was deleted meanwhile, the
  // listing paged back to `since` minus an hour (the registration, possibly weeks ago) and, with no
  // cursor position, took every finished run created since `since` and not in `done` (kept 24 h)
  // for new: exported again (identical spans, but a steps listing per old run: a burst of
  // requests). Now it is stored with the cursor (WatchedThread.cursorCreatedAt).
  describe('after a restart, a deleted cursor run does not make the runs older than it new again', () => {
    const t = Math.floor(START / 1000);
    const history = () => {
      const api = new FakeApi();
      api.addRun(THREAD, 'run_old1', { created_at: t - 3 * 86_400, status: 'completed', completed_at: t - 3 * 86_400 + 5 });
      api.addRun(THREAD, 'run_old2', { created_at: t - 2 * 86_400, status: 'completed', completed_at: t - 2 * 86_400 + 5 });
      api.addRun(THREAD, 'run_cursor', { created_at: t - 86_400 - 600, status: 'completed', completed_at: t - 86_400 - 590 });
      return api;
    };
    const thread = { threadId: THREAD, since: t - 7 * 86_400, lastActivityAt: START - 86_400_000 + 600_000 };

    /** A second life on the first one's state, once the cursor run is deleted and a new run finished. */
    async function restartWithoutTheCursorRun(api: FakeApi, first: Awaited<ReturnType<typeof rig>>): Promise<string[]> {
      await first.poller.stop();
      const state = await first.state();
      expect(state.threads).toEqual([{ ...thread, lastActivityAt: expect.any(Number), cursor: 'run_cursor', cursorCreatedAt: t - 86_400 - 600 }]);
      api.deleteRun('run_cursor');
      api.addRun(THREAD, 'run_new', { created_at: t - 10, status: 'completed', completed_at: t - 5 });
      const { delivery } = await rig({ api, snapshot: state });
      await settleNow();
      await advance(POLL);
      await acked();
      return delivery.runIds();
    }

    it('the cursor moved to the run (its creation time stored with it)', async () => {
      const api = history();
      // The last life's cursor was run_old2: run_cursor is new, exported, and becomes the cursor.
      const first = await rig({ api, snapshot: { threads: [{ ...thread, cursor: 'run_old2' }], runs: [], done: {}, setAsideSpans: 0 } });
      await settleNow();
      await acked();
      expect(first.delivery.runIds()).toEqual(['run_cursor']);
      expect(await restartWithoutTheCursorRun(api, first)).toEqual(['run_new']);
    });

    it('a cursor stored without its creation time (state from an older version) learns it at the next listing', async () => {
      const api = history();
      const first = await rig({ api, snapshot: { threads: [{ ...thread, cursor: 'run_cursor' }], runs: [], done: {}, setAsideSpans: 0 } });
      await settleNow();
      await acked();
      expect(first.delivery.runIds()).toEqual([]);
      expect(await restartWithoutTheCursorRun(api, first)).toEqual(['run_new']);
    });
  });
});
