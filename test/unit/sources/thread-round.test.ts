/**
 * `planListing`, `settleThread`, `nextListingIn` (src/sources/thread-round.ts): one look at a
 * thread as decisions, one input class per case.
 */
import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/api/schemas.js';
import { validateRun } from '../../../src/api/validate.js';
import type { ThreadListing } from '../../../src/sources/discovery.js';
import { freshRejections, nextListingIn, planListing, settleThread } from '../../../src/sources/thread-round.js';
import type { ThreadState } from '../../../src/sources/watch-set.js';
import { run as rawRun } from '../../fixtures/records.js';

const E = 1_767_225_600;

function run(id: string, createdAt: number | undefined, overrides: Record<string, unknown> = {}): Run {
  const raw = rawRun({ id, created_at: createdAt === undefined ? undefined : E + createdAt, started_at: null, completed_at: createdAt === undefined ? null : E + createdAt + 5, ...overrides });
  if (createdAt === undefined) delete raw['created_at'];
  const v = validateRun(raw);
  if (!v.ok) throw new Error(`invalid test run ${JSON.stringify(v.issues)}`);
  return v.value;
}

/** A listing of `runs` given newest first. */
function listing(runs: Run[], newerThanCursor?: number): ThreadListing {
  return { runs, newerThanCursor, newest: runs[0]?.id, newestCreatedAt: runs[0]?.created_at, serverTimeSeconds: undefined, pages: 1, rejected: 0, rejectedKeys: [], issues: [] };
}

function thread(extra: Partial<ThreadState['watched']> = {}, state: Partial<ThreadState> = {}): ThreadState {
  return { watched: { threadId: 'thread_1', since: E + 100, lastActivityAt: 0, ...extra }, intervalMillis: 1_000, failures: 0, ...state };
}

const none = { isFollowed: () => false, isDone: () => false, includeLibraryRuns: false };
const actions = (plan: ReturnType<typeof planListing>) => plan.runs.map((r) => `${r.run.id}:${r.action}`);

describe('planListing', () => {
  it('oldest first; done skipped; followed read; newer than the cursor followed; the cursor and older left', () => {
    const l = listing([run('run_new2', 300), run('run_new1', 200), run('run_cursor', 100), run('run_old', 50)], 2);
    const plan = planListing(l, thread({ cursor: 'run_cursor' }), { ...none, isFollowed: (id) => id === 'run_cursor', isDone: (id) => id === 'run_new1' });
    expect(actions(plan)).toEqual(['run_cursor:read', 'run_new2:follow']);
    expect([...plan.seen].sort()).toEqual(['run_cursor', 'run_new1', 'run_new2', 'run_old']);
  });

  it('a run of the cursor\'s second listed below it is new unless it was listed in that second before; older ones are not', () => {
    const l = listing([run('run_cursor', 100), run('run_tie', 100), run('run_tie_seen', 100), run('run_older', 99)], 0);
    const t = thread({ cursor: 'run_cursor', cursorCreatedAt: E + 100 }, { cursorPeers: new Set(['run_cursor', 'run_tie_seen']) });
    expect(actions(planListing(l, t, none))).toEqual(['run_tie:follow']);
    // After the look, every run of that second is known: the next listing follows none again.
    settleThread(t, { listing: l, newRuns: 1, followed: 0, now: 1, pollMillis: 1_000, graceMillis: 60_000, maxIdleMillis: 60_000 });
    expect([...(t.cursorPeers ?? [])].sort()).toEqual(['run_cursor', 'run_tie', 'run_tie_seen']);
    expect(actions(planListing(l, t, none))).toEqual([]);
  });

  it('a run after the cursor is new even when its creation is long before since (a clock off)', () => {
    const plan = planListing(listing([run('run_a', -10_000), run('run_cursor', 0)], 1), thread({ cursor: 'run_cursor' }), none);
    expect(actions(plan)).toEqual(['run_a:follow']);
  });

  it('first look: a run finished before since is history; after it, traced; an active old one, followed; one of unknown creation time, traced', () => {
    const l = listing([run('run_recent', 150), run('run_untimed', undefined), run('run_active', 10, { status: 'in_progress' }), run('run_history', 10)]);
    expect(actions(planListing(l, thread(), none))).toEqual(['run_active:follow', 'run_untimed:follow', 'run_recent:follow']);
  });

  it('a thread seen empty at its first look: everything after is new', () => {
    expect(actions(planListing(listing([run('run_x', 10)]), thread({}, { seenEmpty: true }), none))).toEqual(['run_x:follow']);
  });

  it('runs the library traces are marked for it, unless includeLibraryRuns', () => {
    const marked = run('run_lib', 200, { metadata: { assistants_otel: 'library' } });
    expect(actions(planListing(listing([marked]), thread(), none))).toEqual(['run_lib:library']);
    expect(actions(planListing(listing([marked]), thread(), { ...none, includeLibraryRuns: true }))).toEqual(['run_lib:follow']);
  });
});

describe('settleThread and nextListingIn', () => {
  const pace = { pollMillis: 1_000, graceMillis: 5_000, maxIdleMillis: 8_000 };

  it('activity keeps the poll interval and moves the cursor (stored state changed)', () => {
    const t = thread({ cursor: 'run_old' }, { intervalMillis: 4_000 });
    expect(settleThread(t, { listing: listing([run('run_new', 200)]), newRuns: 1, followed: 1, now: 9_000, ...pace })).toBe(true);
    expect(t.watched).toEqual({ threadId: 'thread_1', since: E + 100, cursor: 'run_new', cursorCreatedAt: E + 200, lastActivityAt: 9_000 });
    expect(t.intervalMillis).toBe(1_000);
    expect(nextListingIn(t, 1, 1_000, () => 0)).toBe(1_000);
  });

  it('a cursor stored without its creation time (older state) learns it when listed, and says the stored state changed', () => {
    const t = thread({ cursor: 'run_a', lastActivityAt: 0 });
    expect(settleThread(t, { listing: listing([run('run_a', 7), run('run_b', 3)]), newRuns: 0, followed: 0, now: 1_000, ...pace })).toBe(true);
    expect(t.watched).toEqual({ threadId: 'thread_1', since: E + 100, cursor: 'run_a', cursorCreatedAt: E + 7, lastActivityAt: 0 });
    expect(settleThread(t, { listing: listing([run('run_a', 7)]), newRuns: 0, followed: 0, now: 2_000, ...pace })).toBe(false);
  });

  it('a new cursor listed without a creation time keeps the older time (a safe place to stop paging)', () => {
    const t = thread({ cursor: 'run_a', cursorCreatedAt: E + 7 });
    expect(settleThread(t, { listing: listing([run('run_b', undefined), run('run_a', 7)]), newRuns: 1, followed: 1, now: 1_000, ...pace })).toBe(true);
    expect(t.watched).toMatchObject({ cursor: 'run_b', cursorCreatedAt: E + 7 });
  });

  it('idle within the grace: the poll interval; past it: doubling up to the max, jittered', () => {
    const t = thread({ cursor: 'run_a', cursorCreatedAt: E + 1, lastActivityAt: 0 });
    expect(settleThread(t, { listing: listing([run('run_a', 1)]), newRuns: 0, followed: 0, now: 4_000, ...pace })).toBe(false);
    expect(t.intervalMillis).toBe(1_000);
    settleThread(t, { listing: listing([run('run_a', 1)]), newRuns: 0, followed: 0, now: 6_000, ...pace });
    expect(t.intervalMillis).toBe(2_000);
    for (let i = 0; i < 5; i++) settleThread(t, { listing: listing([run('run_a', 1)]), newRuns: 0, followed: 0, now: 7_000 + i, ...pace });
    expect(t.intervalMillis).toBe(8_000);
    expect([nextListingIn(t, 0, 1_000, () => 0), nextListingIn(t, 0, 1_000, () => 0.5), nextListingIn(t, 0, 1_000, () => 1)]).toEqual([6_400, 8_000, 9_600]);
  });
});

describe('freshRejections', () => {
  const issue = (index: number, path: string) => ({ index, path, message: 'bad' });
  const rejecting = (keys: Array<string | undefined>): ThreadListing => ({
    ...listing([]),
    rejected: keys.length,
    rejectedKeys: keys.map((key, index) => ({ index, key })),
    issues: keys.flatMap((_, index) => [issue(index, 'id'), issue(index, 'status')]),
  });

  it('reports each rejected record once per thread; one without a key each time; forgets what is no longer listed', () => {
    const t = thread();
    expect(freshRejections(t, rejecting(['id:a', undefined]))).toEqual({ count: 2, issues: [issue(0, 'id'), issue(0, 'status'), issue(1, 'id'), issue(1, 'status')] });
    expect(freshRejections(t, rejecting(['sha256:b', 'id:a', undefined]))).toEqual({ count: 2, issues: [issue(0, 'id'), issue(0, 'status'), issue(2, 'id'), issue(2, 'status')] });
    expect(freshRejections(t, rejecting(['sha256:b', 'id:a']))).toEqual({ count: 0, issues: [] });
    expect(freshRejections(t, rejecting([]))).toEqual({ count: 0, issues: [] });
    expect(t.rejectedReported).toBeUndefined();
    expect(freshRejections(t, rejecting(['id:a'])).count).toBe(1); // listed again after a listing without it
  });
});
