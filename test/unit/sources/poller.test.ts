/**
 * `Poller` (src/sources/poller.ts), the sidecar's source, as a loop under fake timers (the rig:
 * poller-rig.ts).
 *
 * The contract (file comment, README "watch"): a watched thread is read with one listing per
 * interval, newest first, which gives both the status of its run being followed and any new run
 * (no `getRun` for it); runs watched alone are read with `getRun`; a terminal run is exported once
 * with all its steps and never read again; "since" is on the server's clock; a run id answering 404
 * is reported and dropped while its thread goes on; discovery keeps the poll interval through an
 * idle grace period, then slows down (jittered), resets on activity, and drops a thread idle past
 * its TTL; failures are values (gone → unwatched, malformed run → reported and unwatched, auth →
 * fatal, the rest → retried with backoff); live mode exports each finished step once; the state
 * store always holds what a restart needs; delivery behind pauses polling, and its room is checked
 * before each run is exported.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../src/api/errors.js';
import type { RunStep } from '../../../src/api/schemas.js';
import { validateRunStep } from '../../../src/api/validate.js';
import type { StateSnapshot } from '../../../src/state/store.js';
import { step as rawStep, TRACEPARENT } from '../../fixtures/records.js';
import { acked, advance, elapsed, FakeApi, POLL, rig, settleNow, START, stopRigs, subjectOf, THREAD } from './poller-rig.js';

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});

afterEach(async () => {
  await stopRigs();
  vi.useRealTimers();
});

// ---- a watched thread ----------------------------------------------------------------------------

describe('Poller: a watched thread\'s runs', () => {
  it('are discovered and followed through one listing per interval (no getRun), and exported once when terminal, with all their steps', async () => {
    const { api, poller, delivery, exported, state } = await rig();
    expect(await poller.watchThread(THREAD)).toBe('added');
    expect(await poller.watchThread(THREAD)).toBe('already');
    await settleNow();
    expect(api.count('listRuns')).toBe(1);

    await advance(500);
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await advance(500); // the listing at 1 s finds the run
    expect(poller.stats()).toMatchObject({ threads: 1, runs: 1 });
    expect(delivery.jobs).toEqual([]); // active: nothing exported

    await advance(POLL); // its status, from the next listing
    expect(delivery.jobs).toEqual([]);

    api.addStep('run_1', 'step_2', { type: 'tool_calls', step_details: { type: 'tool_calls', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}', output: '1' } }] } });
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(api.times('listRuns')).toEqual([0, 1_000, 2_000, 3_000]);
    expect(api.count('getRun')).toBe(0);
    expect(api.count('listRunSteps', 'run_1')).toBe(1);
    expect(delivery.runIds()).toEqual(['run_1']);
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1', 'step:step_2', 'tool:id:call_1'].sort());
    expect(exported).toEqual([{ runs: 1, steps: 2, toolCalls: 1, spans: 4 }]);
    expect((await state()).done).toHaveProperty('run_1');
    expect(poller.stats().runs).toBe(0);

    // A terminal run is never read again, and never exported twice, however long we watch.
    await advance(10 * 60_000);
    expect(api.count('getRun')).toBe(0);
    expect(api.count('listRunSteps', 'run_1')).toBe(1);
    expect(delivery.jobs).toHaveLength(1);
  });

  it('back to back: the listing that sees a run end also finds the next one, so each interval costs one request', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    await advance(500);
    api.addRun(THREAD, 'run_1');
    await advance(500); // 1 s: run_1 found
    for (const [ended, next] of [['run_1', 'run_2'], ['run_2', 'run_3'], ['run_3', 'run_4']] as const) {
      await advance(500);
      api.finishRun(ended);
      api.addRun(THREAD, next);
      await advance(500);
      await acked();
    }
    expect(delivery.runIds()).toEqual(['run_1', 'run_2', 'run_3']);
    expect(api.times('listRuns')).toEqual([0, 1_000, 2_000, 3_000, 4_000]);
    expect(api.count('listRunSteps')).toBe(3);
    expect(api.count('getRun')).toBe(0);
    expect(poller.stats().runs).toBe(1); // run_4, active
  });

  it('lists newest first: the first look 100 per page, then a page just big enough for the followed run, a new one and the newest seen', async () => {
    const { api, poller } = await rig();
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    await settleNow(); // first look: run_1 followed, the cursor
    await advance(POLL);
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    await advance(POLL); // nothing followed now
    expect(api.queries('listRuns')).toEqual([
      { order: 'desc', limit: 100 },
      { order: 'desc', limit: 4 },
      { order: 'desc', limit: 4 },
      { order: 'desc', limit: 3 },
    ]);
  });

  it('more new runs than the first page holds: pages on from its last item until the newest run seen before, and exports them oldest first', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_0');
    api.finishRun('run_0');
    await poller.watchThread(THREAD);
    await settleNow(); // run_0: finished within the grace, exported; the cursor
    await acked();
    for (let i = 1; i <= 5; i++) {
      api.addRun(THREAD, `run_${i}`);
      api.finishRun(`run_${i}`);
    }
    await advance(POLL);
    await acked();
    expect(api.queries('listRuns').slice(1)).toEqual([
      { order: 'desc', limit: 3 },
      { order: 'desc', limit: 100, after: 'run_3' },
    ]);
    expect(delivery.runIds()).toEqual(['run_0', 'run_1', 'run_2', 'run_3', 'run_4', 'run_5']);
  });

  it('a cursor run deleted from the API: the listing pages on below it, and nothing is lost or exported twice', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await settleNow();
    await acked(); // run_1 exported, the cursor
    api.deleteRun('run_1');
    api.addRun(THREAD, 'run_2');
    api.addRun(THREAD, 'run_3');
    api.finishRun('run_2');
    api.finishRun('run_3');
    await advance(POLL);
    await acked();
    expect(delivery.runIds()).toEqual(['run_1', 'run_2', 'run_3']);
    await advance(5 * POLL);
    expect(delivery.runIds()).toEqual(['run_1', 'run_2', 'run_3']);
  });

  it('a run found already terminal is exported at once, without a status read', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    api.finishRun('run_1');
    await advance(POLL);
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
    expect(api.count('getRun')).toBe(0);
  });

  it('a run registered on a watched thread is read through the thread\'s listing, within one interval, with its traceparent', async () => {
    const { api, poller, delivery } = await rig({ idleGraceMillis: 1_000, maxIdleIntervalMillis: 30_000 });
    await poller.watchThread(THREAD);
    await advance(10_000); // idle: the next listing is far off
    api.addRun(THREAD, 'run_tp');
    api.addStep('run_tp', 'step_1');
    expect(await poller.watchRun(THREAD, 'run_tp', TRACEPARENT.header)).toBe('added');
    const registeredAt = Date.now() - START;
    await advance(POLL);
    expect(api.times('listRuns').filter((t) => t > registeredAt)).toEqual([registeredAt + POLL]);
    api.finishRun('run_tp');
    await advance(POLL);
    expect(api.count('getRun')).toBe(0);
    const spans = delivery.jobs.flatMap((j) => j.spans);
    expect(spans.map(subjectOf).sort()).toEqual(['run:run_tp', 'step:step_1']);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([TRACEPARENT.traceId]));
    expect(spans.find((s) => s.subject.kind === 'run')?.parentSpanId).toBe(TRACEPARENT.spanId);
  });

  it('a followed run the first page does not reach (older than the newest runs) is read alone', async () => {
    const { api, poller, delivery } = await rig();
    const t = api.nowSeconds();
    // Each a second apart: runs of one second are paged through to the end (see discovery.ts).
    api.addRun(THREAD, 'run_old', { created_at: t - 10 });
    for (let i = 1; i <= 4; i++) {
      api.addRun(THREAD, `run_${i}`, { created_at: t - 10 + i });
      api.finishRun(`run_${i}`);
    }
    await poller.watchThread(THREAD);
    await poller.watchRun(THREAD, 'run_old');
    await settleNow();
    await acked();
    await advance(POLL);
    expect(api.count('getRun', 'run_old')).toBeGreaterThanOrEqual(1);
    api.finishRun('run_old');
    await advance(POLL);
    await acked();
    expect(delivery.runIds().sort()).toEqual(['run_1', 'run_2', 'run_3', 'run_4', 'run_old']);
  });
});

describe('Poller: a run id that answers 404', () => {
  it('on a watched thread: reported and dropped, and the thread goes on (both of its runs exported)', async () => {
    const { api, poller, delivery, dropped, lines, state } = await rig();
    await poller.watchThread(THREAD);
    await poller.watchRun(THREAD, 'run_missing');
    api.addRun(THREAD, 'run_1');
    await settleNow();
    await advance(POLL); // the listing does not show run_missing: read alone, 404
    expect(dropped).toEqual([['run', 'not_found']]);
    const line = lines.find((l) => l.level === 'warn' && /not found/.test(l.message));
    expect(line?.fields).toMatchObject({ run_id: 'run_missing', thread_id: THREAD });
    expect((await state()).runs.map((r) => r.runId)).toEqual(['run_1']);

    api.finishRun('run_1');
    await advance(POLL);
    api.addRun(THREAD, 'run_2');
    await advance(POLL);
    api.finishRun('run_2');
    await advance(POLL);
    await acked();
    expect(delivery.runIds()).toEqual(['run_1', 'run_2']);
    expect(api.count('getRun', 'run_missing')).toBe(1);
    expect(api.times('listRuns').slice(0, 5)).toEqual([0, 1_000, 2_000, 3_000, 4_000]);
  });

  it('watched alone: reported, dropped and forgotten in the store', async () => {
    const { api, poller, state, dropped } = await rig();
    await poller.watchRun(THREAD, 'run_gone');
    await advance(POLL);
    expect(api.count('getRun')).toBe(1);
    expect(poller.stats().runs).toBe(0);
    expect(dropped).toEqual([['run', 'not_found']]);
    await settleNow();
    expect((await state()).runs).toEqual([]);
    await advance(60_000);
    expect(api.count('getRun')).toBe(1);
  });
});

// ---- history and clocks --------------------------------------------------------------------------

describe('Poller: history', () => {
  function history(api: FakeApi): void {
    vi.setSystemTime(START - 3_600_000);
    api.addRun(THREAD, 'run_old_done');
    api.finishRun('run_old_done');
    api.addRun(THREAD, 'run_old_active');
    vi.setSystemTime(START - 30_000); // within the registration grace (clock skew)
    api.addRun(THREAD, 'run_recent_done');
    api.finishRun('run_recent_done');
    vi.setSystemTime(START);
  }

  it('runs that ended before the thread was watched are not traced; an old run still active is', async () => {
    const api = new FakeApi();
    history(api);
    const { poller, delivery } = await rig({ api });
    await poller.watchThread(THREAD);
    await settleNow();
    await acked();
    expect(delivery.runIds()).toEqual(['run_recent_done']);
    expect(poller.stats().runs).toBe(1); // run_old_active is followed
    api.finishRun('run_old_active');
    await advance(POLL);
    expect(delivery.runIds().sort()).toEqual(['run_old_active', 'run_recent_done']);
  });

  it('a finished run whose record has no usable time is not taken for history: it is traced', async () => {
    const api = new FakeApi();
    history(api);
    // A mock server's placeholders: nothing says when it was created, so nothing says it is old.
    api.addRun(THREAD, 'run_untimed', { created_at: 0, started_at: 0 });
    api.finishRun('run_untimed', { completed_at: 0 });
    const { poller, delivery } = await rig({ api });
    await poller.watchThread(THREAD);
    await settleNow();
    await acked();
    expect(delivery.jobs.map((j) => j.runId).sort()).toEqual(['run_recent_done', 'run_untimed']);
  });

  it('backfill traces the thread\'s history too', async () => {
    const api = new FakeApi();
    history(api);
    const { poller, delivery } = await rig({ api, backfill: true });
    await poller.watchThread(THREAD);
    await settleNow();
    expect(delivery.runIds().sort()).toEqual(['run_old_done', 'run_recent_done']);
  });
});

describe('Poller: the API\'s clock, not this host\'s', () => {
  it('API clock 5 minutes behind: "since" comes from its Date header, and every short run is exported', async () => {
    const api = new FakeApi();
    api.clockOffsetSeconds = -300;
    vi.setSystemTime(START - 30_000);
    api.addRun(THREAD, 'run_before'); // finished 20 s before the thread was watched: within the grace
    vi.setSystemTime(START - 20_000);
    api.finishRun('run_before');
    vi.setSystemTime(START);
    const { poller, delivery, state } = await rig({ api });
    await poller.watchThread(THREAD);
    await settleNow();
    await acked();
    expect((await state()).threads[0]?.since).toBe(api.nowSeconds() - 60);
    // Three short runs, each started and finished between two listings.
    for (const id of ['run_a', 'run_b', 'run_c']) {
      await advance(300);
      api.addRun(THREAD, id);
      api.finishRun(id);
      await advance(POLL - 300);
      await acked();
    }
    expect(delivery.runIds()).toEqual(['run_before', 'run_a', 'run_b', 'run_c']);
  });

  it('no Date header: "since" from the records; runs on a thread seen empty are all new; the warning is logged once', async () => {
    const api = new FakeApi();
    api.clockOffsetSeconds = -300;
    api.sendsDate = false;
    api.addRun('thread_busy', 'run_history');
    api.finishRun('run_history');
    const { poller, delivery, lines, state } = await rig({ api });
    await poller.watchThread('thread_busy');
    await poller.watchThread('thread_empty');
    await settleNow();
    await acked();
    // Finished when first seen, on an unknown clock: history (it could be from any time).
    expect(delivery.runIds()).toEqual([]);
    expect((await state()).threads.find((t) => t.threadId === 'thread_busy')?.since).toBe(api.nowSeconds() + 1);
    await advance(300);
    api.addRun('thread_empty', 'run_short');
    api.finishRun('run_short');
    api.addRun('thread_busy', 'run_next');
    api.finishRun('run_next');
    await advance(POLL);
    await acked();
    expect(delivery.runIds().sort()).toEqual(['run_next', 'run_short']);
    expect(lines.filter((l) => l.level === 'warn' && /no Date header/.test(l.message))).toHaveLength(1);
  });
});

describe('Poller: runs the library instrumentation traces (one version of each span)', () => {
  const MARK = { metadata: { assistants_otel: 'library', traceparent: TRACEPARENT } };

  it('are left to it by default: discovered, but never read, listed or exported', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_library', MARK);
    api.addRun(THREAD, 'run_plain');
    await advance(POLL);
    api.finishRun('run_library');
    api.finishRun('run_plain');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_plain']);
    expect(api.count('getRun', 'run_library')).toBe(0);
    expect(api.count('listRunSteps', 'run_library')).toBe(0);
    await advance(5 * POLL); // nor later, once the listing has moved past it
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_plain']);
  });

  it('with includeLibraryRuns they are exported like any other', async () => {
    const { api, poller, delivery } = await rig({ includeLibraryRuns: true });
    await poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_library', MARK);
    api.finishRun('run_library');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_library']);
  });

  it('a marked run registered by id is exported all the same (an explicit registration wins)', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_library', MARK);
    api.finishRun('run_library');
    await poller.watchRun(THREAD, 'run_library');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.runId)).toEqual(['run_library']);
  });
});

// ---- runs watched alone --------------------------------------------------------------------------

describe('Poller: runs watched alone', () => {
  it('a run registered as it is created is first read one interval later, and each interval while active', async () => {
    const { api, poller } = await rig();
    api.addRun(THREAD, 'run_1');
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('added');
    await advance(POLL - 1);
    expect(api.count('getRun')).toBe(0);
    await advance(1);
    await advance(2 * POLL);
    expect(api.times('getRun', 'run_1')).toEqual([1_000, 2_000, 3_000]);
    expect(api.count('listRuns')).toBe(0);
  });

  it('answers already, updated and exported as the README says', async () => {
    const { api, poller, state } = await rig();
    api.addRun(THREAD, 'run_1');
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('added');
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('already');
    expect(await poller.watchRun(THREAD, 'run_1', TRACEPARENT.header)).toBe('updated');
    expect(await poller.watchRun(THREAD, 'run_1', TRACEPARENT.header)).toBe('already');
    expect((await state()).runs).toEqual([{ threadId: THREAD, runId: 'run_1', exportedStepIds: [], traceparent: TRACEPARENT.header }]);
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('exported');
  });

  it('a registered traceparent parents the run\'s spans (its trace id, the run span\'s remote parent)', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_tp');
    api.addStep('run_tp', 'step_1');
    api.finishRun('run_tp');
    await poller.watchRun(THREAD, 'run_tp', TRACEPARENT.header);
    await advance(POLL);
    const spans = delivery.jobs.flatMap((j) => j.spans);
    expect(spans).toHaveLength(2);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([TRACEPARENT.traceId]));
    const runSpan = spans.find((s) => s.subject.kind === 'run');
    expect(runSpan?.parentSpanId).toBe(TRACEPARENT.spanId);
    expect(runSpan?.parentIsRemote).toBe(true);
  });

  it('without a traceparent, the run span is a root', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    const runSpan = delivery.jobs[0]?.spans.find((s) => s.subject.kind === 'run');
    expect(runSpan?.parentSpanId).toBeUndefined();
    expect(runSpan?.traceId).not.toBe(TRACEPARENT.traceId);
  });

  it('lists the steps 100 per page, following every page', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchRun(THREAD, 'run_1');
    api.addRun(THREAD, 'run_1');
    for (let i = 0; i < 150; i++) api.addStep('run_1', `step_${String(i).padStart(3, '0')}`);
    api.finishRun('run_1');
    await advance(POLL);
    expect(api.queries('listRunSteps')).toEqual([
      { order: 'asc', limit: 100 },
      { order: 'asc', limit: 100, after: 'step_099' },
    ]);
    expect(delivery.subjects().filter((s) => s.startsWith('step:'))).toHaveLength(150);
  });

  it('unwatchRun stops following a run and forgets it in the store', async () => {
    const { api, poller, state } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchRun(THREAD, 'run_1');
    expect(await poller.unwatchRun('run_1')).toBe(true);
    expect(await poller.unwatchRun('run_1')).toBe(false);
    await advance(10 * POLL);
    expect(api.count('getRun')).toBe(0);
    expect((await state()).runs).toEqual([]);
  });

  it('watching its thread moves a run from getRun to the thread\'s listing; unwatching the thread moves it back', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(2 * POLL);
    expect(api.count('getRun')).toBe(2);
    await poller.watchThread(THREAD);
    await advance(3 * POLL);
    expect(api.count('getRun')).toBe(2);
    expect(api.count('listRuns')).toBe(4);
    await poller.unwatchThread(THREAD);
    await advance(2 * POLL);
    expect(api.count('listRuns')).toBe(4);
    expect(api.count('getRun')).toBe(4);
    api.finishRun('run_1');
    await advance(POLL);
    expect(delivery.runIds()).toEqual(['run_1']);
  });
});

// ---- the pace of discovery -------------------------------------------------------------------------

describe('Poller: discovery pace', () => {
  it('keeps the poll interval through the idle grace, then doubles up to the max idle interval', async () => {
    const { api, poller } = await rig({ idleGraceMillis: 5_000, maxIdleIntervalMillis: 8_000 });
    await poller.watchThread(THREAD);
    await advance(36_000);
    expect(api.times('listRuns')).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 7_000, 11_000, 19_000, 27_000, 35_000]);
  });

  it('idle intervals are jittered (±20 %): threads that went idle together drift apart', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const { api, poller } = await rig({ idleGraceMillis: 2_000, maxIdleIntervalMillis: 8_000, random });
    await poller.watchThread('thread_a');
    await poller.watchThread('thread_b');
    await advance(120_000);
    const gaps = (id: string) => {
      const t = api.times('listRuns', id);
      return t.slice(1).map((x, i) => x - (t[i] as number));
    };
    for (const id of ['thread_a', 'thread_b']) {
      const idle = gaps(id).slice(4); // past the grace and the doubling: around 8 s each
      expect(idle.every((g) => g >= 6_400 && g <= 9_600), `${id}: ${idle.join(', ')}`).toBe(true);
      expect(new Set(idle).size).toBeGreaterThan(1);
    }
    expect(api.times('listRuns', 'thread_a').slice(-3)).not.toEqual(api.times('listRuns', 'thread_b').slice(-3));
  });

  it('activity (a new run) resets the pace to the poll interval', async () => {
    const { api, poller, delivery } = await rig({ idleGraceMillis: 5_000, maxIdleIntervalMillis: 8_000 });
    await poller.watchThread(THREAD);
    await advance(36_000); // slowed down to 8 s: the next look is at 43 s
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await advance(7_000);
    expect(delivery.runIds()).toEqual(['run_1']);
    await advance(5_000);
    expect(api.times('listRuns').filter((t) => t > 43_000)).toEqual([44_000, 45_000, 46_000, 47_000, 48_000]);
  });

  it('defaults: a 60 s grace at the poll interval, then slower, up to 60 s', async () => {
    const { api, poller } = await rig();
    await poller.watchThread(THREAD);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(61); // 0, 1 s, …, 60 s
    await advance(4 * 60_000);
    const times = api.times('listRuns');
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.slice(60)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]); // 60 s, 62, 66, 74, 90, 122, 182, 242
  });

  it('a thread idle past idleTtlMillis is dropped, reported, and persisted as removed', async () => {
    const { api, poller, state, lines, dropped } = await rig({ idleGraceMillis: 1_000, maxIdleIntervalMillis: 4_000, idleTtlMillis: 10_000 });
    await poller.watchThread(THREAD);
    expect((await state()).threads.map((t) => t.threadId)).toEqual([THREAD]);
    await advance(60_000);
    expect(api.times('listRuns')).toEqual([0, 1_000, 3_000, 7_000, 11_000]);
    expect(poller.stats().threads).toBe(0);
    expect((await state()).threads).toEqual([]);
    expect(dropped).toEqual([['thread', 'idle']]);
    expect(lines.some((l) => /idle past its TTL/.test(l.message) && l.fields['thread_id'] === THREAD)).toBe(true);
  });

  it('a thread with a run active is not dropped, and is read at the poll interval however long the run', async () => {
    const { api, poller, state } = await rig({ idleGraceMillis: 1_000, maxIdleIntervalMillis: 4_000, idleTtlMillis: 10_000 });
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    await advance(60_000);
    expect(poller.stats().threads).toBe(1);
    expect((await state()).threads).toHaveLength(1);
    expect(api.count('listRuns')).toBe(61);
  });

  it('unwatchThread stops discovery and forgets the thread', async () => {
    const { api, poller, state } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    expect(await poller.unwatchThread(THREAD)).toBe(true);
    expect(await poller.unwatchThread(THREAD)).toBe(false);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(1);
    expect((await state()).threads).toEqual([]);
  });
});

// ---- failures ----------------------------------------------------------------------------------------

describe('Poller: failures', () => {
  it('not_found on a thread: no longer watched, reported, and forgotten in the store', async () => {
    const { api, poller, state, dropped } = await rig();
    api.failNext('listRuns', new ApiError('not_found', 'list runs of thread_1: HTTP 404', { status: 404 }));
    await poller.watchThread(THREAD);
    await settleNow();
    expect(poller.stats().threads).toBe(0);
    expect(dropped).toEqual([['thread', 'not_found']]);
    expect((await state()).threads).toEqual([]);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(1);
  });

  it('invalid_payload on a run: reported (counted, logged with the run and issues) and no longer watched', async () => {
    const { api, poller, state, rejected, lines } = await rig();
    api.addRun(THREAD, 'run_bad');
    const issues = [{ path: 'id', message: 'required to place the record in a trace, but missing' }];
    api.failNext('getRun', new ApiError('invalid_payload', 'get run run_bad: the record cannot be placed', { issues }));
    await poller.watchRun(THREAD, 'run_bad');
    await advance(POLL);
    expect(rejected).toEqual([['run', 1]]);
    expect(poller.stats().runs).toBe(0);
    expect((await state()).runs).toEqual([]);
    const line = lines.find((l) => l.level === 'error' && /malformed run/.test(l.message));
    expect(line?.fields).toMatchObject({ run_id: 'run_bad', thread_id: THREAD, issues });
    await advance(60_000);
    expect(api.count('getRun')).toBe(1);
  });

  it.each([
    { mode: 'batch', live: false },
    { mode: 'live', live: true },
  ])('a run whose records cannot be mapped: reported once, counted, and not polled again ($mode mode)', async ({ live }) => {
    const { api, poller, state, rejected, lines, delivery } = await rig({ live });
    api.addRun(THREAD, 'run_unmappable');
    if (!live) api.finishRun('run_unmappable');
    // A step the validation boundary never saw: an empty id, so the mapper throws.
    const broken = { ...(validateRunStep(rawStep({ id: 'step_broken', run_id: 'run_unmappable' })) as { value: RunStep }).value, id: '' };
    api.client.listRunSteps = async () => {
      api.calls.push({ op: 'listRunSteps', at: elapsed(), threadId: THREAD, runId: 'run_unmappable' });
      return { items: [broken], rejected: [], warnings: [], hasMore: false, lastId: 'step_broken' };
    };
    await poller.watchRun(THREAD, 'run_unmappable');
    await advance(POLL);
    expect(rejected).toEqual([['run', 1]]);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toEqual([expect.objectContaining({ message: 'run cannot be mapped: reported once and no longer watched', fields: expect.objectContaining({ run_id: 'run_unmappable', thread_id: THREAD, error: expect.stringMatching(/step 0 of run run_unmappable has no id/) }) })]);
    expect(poller.stats().runs).toBe(0);
    expect((await state()).runs).toEqual([]);
    await advance(60_000);
    expect([api.count('getRun'), api.count('listRunSteps'), rejected.length, delivery.jobs.length]).toEqual([1, 1, 1, 0]);
  });

  it('auth on a run read: onFatal, with the error', async () => {
    const { api, poller, fatal } = await rig();
    api.addRun(THREAD, 'run_1');
    const error = new ApiError('auth', 'get run run_1: the API refused the credentials (HTTP 401). Check: OPENAI_API_KEY', { status: 401 });
    api.failNext('getRun', error);
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(fatal).toEqual([error]);
  });

  it('auth on a listing: onFatal too', async () => {
    const { api, poller, fatal } = await rig();
    const error = new ApiError('auth', 'list runs: the API denied access (HTTP 403)', { status: 403 });
    api.failNext('listRuns', error);
    await poller.watchThread(THREAD);
    await settleNow();
    expect(fatal).toEqual([error]);
  });

  it('a run whose reads keep failing is retried with growing backoff, and reset after a success', async () => {
    const { api, poller } = await rig({ maxIdleIntervalMillis: 60_000 });
    api.addRun(THREAD, 'run_1');
    const flaky = () => new ApiError('retries_exhausted', 'get run run_1: gave up after 6 attempts (last: HTTP 503)', { attempts: 6 });
    for (let i = 0; i < 3; i++) api.failNext('getRun', flaky());
    await poller.watchRun(THREAD, 'run_1');
    await advance(20_000);
    // Read at 1 s fails → 2 s later; fails → 4 s; fails → 8 s; succeeds (active) → back to the poll interval.
    expect(api.times('getRun').slice(0, 6)).toEqual([1_000, 3_000, 7_000, 15_000, 16_000, 17_000]);
    api.failNext('getRun', flaky());
    const at = api.times('getRun').at(-1) as number;
    await advance(POLL + 2 * POLL);
    expect(api.times('getRun').filter((t) => t > at)).toEqual([at + POLL, at + 3 * POLL]); // fails, then 2 s (not 16 s)
    expect(poller.stats().runs).toBe(1); // still watched
  });

  it('run backoff is capped by the max idle interval', async () => {
    const { api, poller } = await rig({ maxIdleIntervalMillis: 5_000 });
    api.addRun(THREAD, 'run_1');
    for (let i = 0; i < 6; i++) api.failNext('getRun', new Error('socket hang up'));
    await poller.watchRun(THREAD, 'run_1');
    await advance(40_000);
    const times = api.times('getRun');
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.slice(0, 6)).toEqual([2_000, 4_000, 5_000, 5_000, 5_000, 5_000]);
  });

  it('a listing that fails is tried again later, not at once, and the thread stays watched', async () => {
    const { api, poller, state } = await rig();
    api.failNext('listRuns', new ApiError('retries_exhausted', 'list runs: gave up', { attempts: 6 }));
    await poller.watchThread(THREAD);
    await settleNow();
    await advance(5_000);
    const times = api.times('listRuns');
    expect(times.slice(0, 2)).toEqual([0, 2 * POLL]);
    expect(poller.stats().threads).toBe(1);
    expect((await state()).threads).toHaveLength(1);
  });

  it('a failed step listing of a finished run watched alone is retried, and the run is exported once', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    api.finishRun('run_1');
    api.failNext('listRunSteps', new ApiError('retries_exhausted', 'list steps: gave up', { attempts: 6 }));
    await poller.watchRun(THREAD, 'run_1');
    await advance(10_000);
    expect(api.count('listRunSteps')).toBe(2);
    expect(delivery.jobs).toHaveLength(1);
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
  });

  it('a failed step listing of a run read through its thread: retried after a backoff, exported once; the thread keeps its pace', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await settleNow();
    api.finishRun('run_1');
    api.failNext('listRunSteps', new ApiError('retries_exhausted', 'list steps: gave up', { attempts: 6 }));
    await advance(POLL); // 1 s: finished, steps fail → no attempt before 3 s
    await advance(POLL); // 2 s: listed, not retried yet
    expect(api.count('listRunSteps')).toBe(1);
    await advance(POLL); // 3 s: retried
    await acked();
    expect(api.count('listRunSteps')).toBe(2);
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
    expect(api.times('listRuns')).toEqual([0, 1_000, 2_000, 3_000]);
  });
});

// ---- live mode ---------------------------------------------------------------------------------------

describe('Poller: live mode', () => {
  it('exports each finished step once, as soon as it is seen; the final run export excludes them', async () => {
    const { api, poller, delivery, state } = await rig({ live: true });
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    api.addStep('run_1', 'step_2', { status: 'in_progress', completed_at: null });
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.spans.map(subjectOf))).toEqual([['step:step_1']]);
    expect((await state()).runs[0]?.exportedStepIds).toEqual(['step_1']);

    await advance(POLL); // nothing new finished
    await acked();
    expect(delivery.jobs).toHaveLength(1);

    api.updateStep('run_1', 'step_2', { status: 'completed', completed_at: api.nowSeconds() });
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.spans.map(subjectOf))).toEqual([['step:step_1'], ['step:step_2']]);
    expect(api.queries('listRunSteps').at(-1)).toMatchObject({ order: 'asc', after: 'step_1' }); // from the last exported step on

    api.addStep('run_1', 'step_3');
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.at(-1)?.spans.map(subjectOf).sort()).toEqual(['run:run_1', 'step:step_3']);
    const steps = delivery.subjects().filter((s) => s.startsWith('step:'));
    expect(steps.sort()).toEqual(['step:step_1', 'step:step_2', 'step:step_3']); // each once
    expect((await state()).done).toHaveProperty('run_1');
  });

  it('through a watched thread: one listing and one step page per interval, each finished step once', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    await poller.watchThread(THREAD);
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await settleNow();
    await acked();
    api.addStep('run_1', 'step_2');
    await advance(POLL);
    await acked();
    api.finishRun('run_1');
    await advance(POLL);
    await acked();
    expect(delivery.jobs.map((j) => j.spans.map(subjectOf).sort())).toEqual([['step:step_1'], ['step:step_2'], ['run:run_1']]);
    expect(api.count('listRuns')).toBe(3);
    expect(api.count('listRunSteps')).toBe(3); // one per interval while active, one at the end
    expect(api.count('getRun')).toBe(0);
  });

  it('a step acknowledged while the steps are being listed is not exported again', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(delivery.jobs).toHaveLength(1); // step_1 handed over, not yet acknowledged

    const hold = api.holdNext('listRunSteps');
    await advance(POLL); // the next read lists the steps; the listing is out…
    expect(hold.started).toBe(true);
    await delivery.settle(); // …when step_1's acknowledgement lands
    hold.release();
    await settleNow();
    expect(delivery.subjects()).toEqual(['step:step_1']);

    api.finishRun('run_1');
    await advance(POLL);
    await delivery.settle();
    expect(delivery.subjects().sort()).toEqual(['run:run_1', 'step:step_1']);
  });

  it('a step acknowledged while a finished run\'s steps are being listed is not in the run\'s export', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(delivery.subjects()).toEqual(['step:step_1']);

    api.addStep('run_1', 'step_2');
    api.finishRun('run_1');
    const hold = api.holdNext('listRunSteps');
    await advance(POLL); // the run is finished: its steps are listed for the final export…
    expect(hold.started).toBe(true);
    await delivery.settle(); // …and step_1 is acknowledged meanwhile
    hold.release();
    await settleNow();
    expect(delivery.jobs).toHaveLength(2);
    expect(delivery.jobs[1]?.spans.map(subjectOf).sort()).toEqual(['run:run_1', 'step:step_2']);
    await delivery.settle();
    expect(delivery.subjects().filter((s) => s === 'step:step_1')).toHaveLength(1);
  });

  it('a step handed over but not yet acknowledged is not handed over again', async () => {
    const { api, poller, delivery } = await rig({ live: true });
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(5 * POLL);
    expect(delivery.subjects()).toEqual(['step:step_1']);
    api.finishRun('run_1');
    await advance(POLL);
    expect(delivery.subjects()).toEqual(['step:step_1', 'run:run_1']);
  });

  it('a finished run is not read again while its export waits for the acknowledgement', async () => {
    const { api, poller, delivery, state } = await rig();
    delivery.autoSettle = false;
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    expect(delivery.jobs).toHaveLength(1);
    expect((await state()).done).toEqual({}); // not marked before the acknowledgement
    expect((await state()).runs.map((r) => r.runId)).toEqual(['run_1']);
    await advance(30_000);
    expect(api.count('getRun')).toBe(1);
    expect(delivery.jobs).toHaveLength(1);
    await delivery.settle();
    expect((await state()).done).toHaveProperty('run_1');
    expect((await state()).runs).toEqual([]);
  });
});

// ---- back-pressure -------------------------------------------------------------------------------------

describe('Poller: delivery behind', () => {
  it('makes no API calls while delivery is behind, reports the pause, and resumes', async () => {
    const { api, poller, delivery, paused } = await rig();
    api.addRun('thread_2', 'run_1');
    await poller.watchThread(THREAD);
    await poller.watchRun('thread_2', 'run_1');
    delivery.behind = true;
    await advance(30_000);
    expect(api.calls).toEqual([]);
    expect(paused).toEqual([true]);
    expect(poller.stats().paused).toBe(true);
    delivery.behind = false;
    await advance(250);
    expect(paused).toEqual([true, false]);
    expect(poller.stats().paused).toBe(false);
    expect(api.count('listRuns')).toBeGreaterThan(0);
    expect(api.count('getRun')).toBe(1);
  });

  it('pauses between reads of an active run too', async () => {
    const { api, poller, delivery } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(3 * POLL);
    const before = api.count('getRun');
    delivery.behind = true;
    await advance(60_000);
    expect(api.count('getRun')).toBe(before);
    delivery.behind = false;
    await advance(POLL);
    expect(api.count('getRun')).toBeGreaterThan(before);
  });

  it('is checked before each run is exported, not after a page: a listing of finished runs waits between them', async () => {
    const { api, poller, delivery } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    for (let i = 1; i <= 4; i++) {
      api.addRun(THREAD, `run_${i}`);
      api.finishRun(`run_${i}`);
    }
    delivery.autoSettle = false;
    delivery.onEnqueue = () => {
      delivery.behind = true; // one run fills the queue
    };
    await advance(POLL);
    await advance(5_000);
    expect(delivery.runIds()).toEqual(['run_1']);
    expect(api.count('listRunSteps')).toBe(1); // the others' steps not even listed
    delivery.onEnqueue = undefined;
    delivery.behind = false;
    await advance(1_000);
    expect(delivery.runIds()).toEqual(['run_1', 'run_2', 'run_3', 'run_4']);
  });
});

// ---- stopping ------------------------------------------------------------------------------------

describe('Poller: stop()', () => {
  it('aborts the request in flight, waits for it, and leaves nothing running', async () => {
    const { api, poller, fatal, lines } = await rig();
    api.addRun(THREAD, 'run_1');
    await poller.watchThread(THREAD);
    await settleNow();
    const hold = api.holdNext('listRuns');
    await advance(POLL);
    expect(hold.started).toBe(true);
    await poller.stop();
    await poller.stop(); // idempotent
    expect(vi.getTimerCount()).toBe(0);
    const calls = api.calls.length;
    await advance(3_600_000);
    expect(api.calls).toHaveLength(calls);
    expect(fatal).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn' && /poll failed/.test(l.message))).toEqual([]); // an abort is not a failure
  });

  it('stops with nothing in flight', async () => {
    const { api, poller } = await rig();
    await poller.watchThread(THREAD);
    await settleNow();
    await poller.stop();
    expect(vi.getTimerCount()).toBe(0);
    await advance(60_000);
    expect(api.count('listRuns')).toBe(1);
  });
});

// ---- state ---------------------------------------------------------------------------------------

describe('Poller: the state store holds what a restart needs', () => {
  it('after each step: the thread, the run before the cursor passes it, the cursor, the done mark', async () => {
    const { api, poller, delivery, state, ops } = await rig();
    delivery.autoSettle = false;
    await poller.watchThread(THREAD);
    expect((await state()).threads).toEqual([{ threadId: THREAD, since: START / 1000 - 60, lastActivityAt: START }]);
    await settleNow();

    api.addRun(THREAD, 'run_1');
    await advance(POLL);
    let s = await state();
    expect(s.runs).toEqual([{ threadId: THREAD, runId: 'run_1', exportedStepIds: [] }]);
    expect(s.threads[0]?.cursor).toBe('run_1');
    expect(ops.indexOf('putRun run_1')).toBeLessThan(ops.indexOf(`putThread ${THREAD} cursor=run_1`));

    api.finishRun('run_1');
    await advance(POLL);
    s = await state();
    expect(s.runs.map((r) => r.runId)).toEqual(['run_1']); // handed over, not acknowledged: still followed
    expect(s.done).toEqual({});

    await delivery.settle();
    s = await state();
    expect(s.runs).toEqual([]);
    expect(s.done).toEqual({ run_1: START + 2 * POLL });
  });

  it('live mode: the steps acknowledged are persisted with the run', async () => {
    const { api, poller, state } = await rig({ live: true });
    api.addRun(THREAD, 'run_1');
    api.addStep('run_1', 'step_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    await acked();
    expect((await state()).runs).toEqual([{ threadId: THREAD, runId: 'run_1', exportedStepIds: ['step_1'] }]);
  });

  it('a restart from the persisted state goes on where it stopped: nothing lost, nothing exported twice', async () => {
    const api = new FakeApi();
    const first = await rig({ api, live: true });
    await first.poller.watchThread(THREAD);
    await settleNow();
    api.addRun(THREAD, 'run_done');
    api.finishRun('run_done');
    await advance(POLL); // run_done exported
    api.addRun(THREAD, 'run_active');
    api.addStep('run_active', 'step_1');
    await advance(POLL); // run_active found; step_1 exported live
    await advance(POLL);
    expect(first.delivery.subjects().sort()).toEqual(['run:run_done', 'step:step_1']);
    await first.poller.stop();
    const snapshot = await first.state();
    expect(snapshot.threads[0]?.cursor).toBe('run_active');
    expect(snapshot.runs).toEqual([{ threadId: THREAD, runId: 'run_active', exportedStepIds: ['step_1'] }]);
    expect(Object.keys(snapshot.done)).toEqual(['run_done']);

    const second = await rig({ api, live: true, snapshot });
    expect(second.poller.stats()).toMatchObject({ threads: 1, runs: 1 });
    api.addStep('run_active', 'step_2');
    api.finishRun('run_active');
    await advance(POLL);
    expect(second.delivery.subjects().sort()).toEqual(['run:run_active', 'step:step_2']);
    await advance(60_000);
    expect(second.delivery.subjects().sort()).toEqual(['run:run_active', 'step:step_2']);
    expect(api.count('getRun')).toBe(0);
  });

  it('a restart does not export again a run already done, even when discovery starts over', async () => {
    const api = new FakeApi();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    const snapshot: StateSnapshot = {
      threads: [{ threadId: THREAD, since: START / 1000 - 60, lastActivityAt: START }], // no cursor
      runs: [],
      done: { run_1: START },
      setAsideSpans: 0,
    };
    const { poller, delivery } = await rig({ api, snapshot });
    expect(poller.stats().threads).toBe(1);
    await advance(5 * POLL);
    expect(api.count('listRuns')).toBeGreaterThan(0);
    expect(delivery.jobs).toEqual([]);
  });

  it('the done marks are pruned after a day', async () => {
    const { api, poller, state } = await rig();
    api.addRun(THREAD, 'run_1');
    api.finishRun('run_1');
    await poller.watchRun(THREAD, 'run_1');
    await advance(POLL);
    await acked();
    expect((await state()).done).toHaveProperty('run_1');
    await advance(24 * 3_600_000 + 20 * 60_000);
    expect((await state()).done).toEqual({});
    expect(await poller.watchRun(THREAD, 'run_1')).toBe('added');
  });
});
