/**
 * `listThreadRuns` and `sinceOnServerClock` (src/sources/discovery.ts): a thread's listing, newest
 * first, paging on only until the newest run seen before (the cursor), and telling new runs from
 * the ones seen before; "since" moved onto the server's clock.
 */
import { describe, expect, it } from 'vitest';
import type { AssistantsClient, ListQuery, Page } from '../../../src/api/client.js';
import type { Run } from '../../../src/api/schemas.js';
import { validateRun } from '../../../src/api/validate.js';
import { firstPageSize, listThreadRuns, sinceOnServerClock, type ThreadListing } from '../../../src/sources/discovery.js';
import { run as rawRun } from '../../fixtures/records.js';

/** Seconds are given relative to this (the validation boundary takes only plausible Unix seconds). */
const E = 1_767_225_600;

function valid(id: string, createdAt: number, overrides: Record<string, unknown> = {}): Run {
  const v = validateRun(rawRun({ id, created_at: E + createdAt, started_at: E + createdAt, completed_at: E + createdAt + 5, ...overrides }));
  if (!v.ok) throw new Error('invalid test run');
  return v.value;
}

/** A client whose listRuns answers pages of `runs` (given newest first), with a rejected record where asked. */
function client(runs: Run[], options: { rejectIds?: string[]; serverTimeSeconds?: number } = {}) {
  const queries: ListQuery[] = [];
  const listRuns = async (_threadId: string, query: ListQuery = {}): Promise<Page<Run>> => {
    queries.push(query);
    const start = query.after === undefined ? 0 : runs.findIndex((r) => r.id === query.after) + 1;
    const data = runs.slice(start, start + (query.limit ?? 20));
    const page: Page<Run> = { items: [], rejected: [], warnings: [], hasMore: start + data.length < runs.length, lastId: data.at(-1)?.id };
    data.forEach((r, index) => {
      if (options.rejectIds?.includes(r.id)) page.rejected.push({ index, id: r.id, issues: [{ path: 'status', message: 'bad' }] });
      else page.items.push(r);
    });
    if (options.serverTimeSeconds !== undefined) page.serverTimeSeconds = options.serverTimeSeconds;
    return page;
  };
  return { client: { listRuns } as unknown as AssistantsClient, queries };
}

const base = { threadId: 'thread_1', since: E + 1_000, cursorCreatedAt: undefined, firstPageSize: 2 };

describe('listThreadRuns', () => {
  it('one small page when it reaches the cursor: the new runs are the ones before it', async () => {
    const { client: c, queries } = client([valid('run_3', 30), valid('run_2', 20), valid('run_1', 10)]);
    const listing = await listThreadRuns(c, { ...base, cursor: 'run_2' });
    expect(queries).toEqual([{ order: 'desc', limit: 2 }]);
    expect(listing.runs.map((r) => r.id)).toEqual(['run_3', 'run_2']);
    expect(listing).toMatchObject({ newerThanCursor: 1, newest: 'run_3', newestCreatedAt: E + 30, pages: 1 });
  });

  it('pages on (100 at a time) until the cursor', async () => {
    const runs = Array.from({ length: 8 }, (_, i) => valid(`run_${8 - i}`, 80 - i * 10));
    const { client: c, queries } = client(runs);
    const listing = await listThreadRuns(c, { ...base, cursor: 'run_2' });
    expect(queries).toEqual([
      { order: 'desc', limit: 2 },
      { order: 'desc', limit: 100, after: 'run_7' },
    ]);
    expect(listing.newerThanCursor).toBe(6);
  });

  it('a cursor that failed validation still places the new runs', async () => {
    const { client: c } = client([valid('run_3', 30), valid('run_2', 20), valid('run_1', 10)], { rejectIds: ['run_2'] });
    const listing = await listThreadRuns(c, { ...base, cursor: 'run_2', firstPageSize: 3 });
    expect(listing.runs.map((r) => r.id)).toEqual(['run_3', 'run_1']);
    expect(listing).toMatchObject({ newerThanCursor: 1, rejected: 1, rejectedKeys: [{ index: 1, key: 'id:run_2' }] });
  });

  it('tells rejected records apart: by id, else by a digest of the record as sent (the same at each listing)', async () => {
    const raw = [{ id: '', status: 'completed', n: 1 }, { id: 'run_bad', status: 42 }, { status: 'completed', n: 2 }, { id: 'run_1' }];
    const listRuns = (): Promise<Page<Run>> =>
      Promise.resolve({
        items: [valid('run_1', 10)],
        rejected: [{ index: 0, issues: [{ path: 'id', message: 'too short' }] }, { index: 1, id: 'run_bad', issues: [{ path: 'id', message: 'bad' }] }, { index: 2, issues: [{ path: 'id', message: 'missing' }] }],
        warnings: [],
        records: raw.map((r) => ({ ...r })),
        hasMore: false,
        lastId: 'run_1',
      });
    const c = { listRuns } as unknown as AssistantsClient;
    const first = await listThreadRuns(c, { ...base, cursor: 'run_1' });
    const again = await listThreadRuns(c, { ...base, cursor: 'run_1' });
    expect(first.rejectedKeys.map((r) => r.index)).toEqual([0, 1, 2]);
    const [a, b, d] = first.rejectedKeys.map((r) => r.key);
    expect(b).toBe('id:run_bad');
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a).not.toBe(d);
    expect(again.rejectedKeys).toEqual(first.rejectedKeys);
  });

  it('a deleted cursor with a known creation time: runs created since it are new, paging stops below it', async () => {
    const { client: c } = client([valid('run_5', 50), valid('run_4', 40), valid('run_2', 20), valid('run_1', 10)]);
    const listing = await listThreadRuns(c, { ...base, cursor: 'run_3', cursorCreatedAt: E + 30 });
    expect(listing.newerThanCursor).toBe(2);
    expect(listing.pages).toBe(2);
  });

  it('a deleted cursor with an unknown creation time: the new runs cannot be placed (since decides)', async () => {
    const { client: c } = client([valid('run_5', 50), valid('run_4', 40)]);
    const listing = await listThreadRuns(c, { ...base, cursor: 'run_3' });
    expect(listing.newerThanCursor).toBeUndefined();
  });

  it('a first look reads 100 per page back to an hour before since, and keeps the server\'s clock', async () => {
    const runs = Array.from({ length: 150 }, (_, i) => valid(`run_${i}`, 100_000 - i * 100));
    const { client: c, queries } = client(runs, { serverTimeSeconds: 123_456 });
    const listing = await listThreadRuns(c, { ...base, cursor: undefined, since: E + 100_000 });
    expect(queries).toEqual([{ order: 'desc', limit: 100 }]); // the first page already goes past since − 3600
    expect(listing).toMatchObject({ newerThanCursor: undefined, serverTimeSeconds: 123_456, newest: 'run_0' });
  });

  it('sizes the first page for the followed runs, a new one and the cursor', () => {
    expect([firstPageSize(0), firstPageSize(1), firstPageSize(5), firstPageSize(500)]).toEqual([3, 4, 8, 100]);
  });
});

describe('sinceOnServerClock', () => {
  const listing = (runs: Run[], serverTimeSeconds?: number): ThreadListing => ({
    runs,
    newerThanCursor: undefined,
    newest: runs[0]?.id,
    newestCreatedAt: runs[0]?.created_at,
    serverTimeSeconds,
    pages: 1,
    rejected: 0,
    rejectedKeys: [],
    issues: [],
  });

  it('from the Date header: the server\'s time minus the grace, never later than before', () => {
    expect(sinceOnServerClock(listing([], 10_000), 20_000, 60)).toBe(9_940);
    expect(sinceOnServerClock(listing([], 10_000), 5_000, 60)).toBe(5_000);
  });

  it('without one, just after the latest time in the records', () => {
    expect(sinceOnServerClock(listing([valid('run_1', 9_000, { started_at: E + 9_001, completed_at: E + 9_050 })]), E + 20_000, 60)).toBe(E + 9_051);
  });

  it('with neither: undefined (the caller warns and keeps its own)', () => {
    expect(sinceOnServerClock(listing([]), 20_000, 60)).toBeUndefined();
  });
});
