/**
 * The API client against the protocol simulator over real HTTP: the four operations, their query
 * parameters (`order`, `limit`, `after`, `before`, opt-in `include[]`), pagination of every page, and
 * validation at this boundary (a malformed item is reported with its path; the rest of the page is
 * still returned; unknown fields and types are carried through).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FILE_SEARCH_CONTENT_INCLUDE } from '../../../src/api/client.js';
import { collectPages, listAllRuns, listAllRunSteps, MAX_PAGE_SIZE } from '../../../src/api/pagination.js';
import { recordQuirks } from '../../../src/api/quirks.js';
import { createSimulator, type ApiStep, type Simulator } from '../../../src/simulator/index.js';
import { apiError, clientFor } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** A thread's runs as the API shows them, oldest first. */
function runsOf(s: Simulator, threadId: string) {
  return s.recordsFor(threadId)?.runs.map((r) => r.run);
}

async function simulator(scenario: string): Promise<Simulator> {
  sim = await createSimulator({ clock: 'manual', scenario, prefix: '/v1' });
  await sim.runUntilIdle();
  return sim;
}

const A = 'thread_everytype_a';
const EVERY_TOOL = 'run_everytool';

/** The file search call of a step's tool calls, if any. */
function fileSearchResults(step: unknown): Record<string, unknown>[] | undefined {
  const details = (step as ApiStep).step_details as { tool_calls?: { type: string; file_search?: { results?: Record<string, unknown>[] } }[] };
  return details.tool_calls?.find((c) => c.type === 'file_search')?.file_search?.results;
}

describe('runs', () => {
  it('listRuns returns a page as the API sent it, newest first by default, with no query parameters added', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const page = await client.listRuns(A);
    expect(page.items.map((r) => r.id)).toEqual(['run_incomplete', 'run_failed', 'run_everytool']);
    expect(page.items).toEqual(runsOf(s, A)?.reverse());
    expect(page).toMatchObject({ rejected: [], warnings: [], hasMore: false, lastId: 'run_everytool' });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]).toMatchObject({ method: 'GET', path: `/threads/${A}/runs`, query: {}, operation: 'listRuns', status: 200 });
  });

  it('order, limit and after page through the runs; hasMore and lastId tell where the next page starts', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const first = await client.listRuns(A, { order: 'asc', limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual(['run_everytool', 'run_failed']);
    expect(first).toMatchObject({ hasMore: true, lastId: 'run_failed' });
    const second = await client.listRuns(A, { order: 'asc', limit: 2, after: first.lastId as string });
    expect(second.items.map((r) => r.id)).toEqual(['run_incomplete']);
    expect(second.hasMore).toBe(false);
    expect(s.requests.map((r) => r.query)).toEqual([
      { order: 'asc', limit: '2' },
      { order: 'asc', limit: '2', after: 'run_failed' },
    ]);
  });

  it('before asks for the page before a cursor', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const page = await client.listRuns(A, { order: 'asc', limit: 1, before: 'run_incomplete' });
    expect(page.items.map((r) => r.id)).toEqual(['run_failed']);
    expect(s.requests[0]?.query).toEqual({ order: 'asc', limit: '1', before: 'run_incomplete' });
  });

  it('getRun returns the run object as the API sent it', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const { value, warnings } = await client.getRun(A, 'run_failed');
    expect(value).toEqual(s.run(A, 'run_failed'));
    expect(value.status).toBe('failed');
    expect(warnings).toEqual([]);
    expect(s.requests[0]).toMatchObject({ path: `/threads/${A}/runs/run_failed`, operation: 'getRun', query: {} });
  });

  it('listAllRuns follows every page, 100 at a time, up to a limit when given', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'many-threads:1x120', prefix: '/v1' });
    await sim.runUntilIdle();
    const s = sim;
    const thread = s.state.threads[0]?.id as string;
    const { client } = clientFor(s);
    const all = await listAllRuns(client, thread, { order: 'asc' });
    expect(all.items).toHaveLength(120);
    expect(all.items).toEqual(runsOf(s, thread));
    expect(s.requests.map((r) => r.query['limit'])).toEqual(['100', '100']);
    expect(s.requests[1]?.query['after']).toBe(all.items[99]?.id);

    s.resetRequests();
    const some = await listAllRuns(client, thread, { order: 'desc' }, undefined, 5);
    expect(some.items.map((r) => r.id)).toEqual(all.items.slice(-5).reverse().map((r) => r.id));
    expect(s.requests.map((r) => r.query)).toEqual([{ order: 'desc', limit: '5' }]);
  });
});

describe('run steps', () => {
  it('listRunSteps and getRunStep return the step objects as the API sent them', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const expected = s.steps(EVERY_TOOL);
    const page = await client.listRunSteps(A, EVERY_TOOL, { order: 'asc' });
    expect(page.items).toEqual(expected);
    expect(page).toMatchObject({ rejected: [], warnings: [], hasMore: false });
    const one = expected[1] as ApiStep;
    const fetched = await client.getRunStep(A, EVERY_TOOL, one.id);
    expect(fetched).toEqual({ value: one, warnings: [], raw: one, serverTimeSeconds: expect.any(Number) });
    expect(s.requests.map((r) => [r.operation, r.path])).toEqual([
      ['listRunSteps', `/threads/${A}/runs/${EVERY_TOOL}/steps`],
      ['getRunStep', `/threads/${A}/runs/${EVERY_TOOL}/steps/${one.id}`],
    ]);
  });

  it('file search content is opt-in: include[] is sent only when asked, and then the content is there', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const plain = await client.listRunSteps(A, EVERY_TOOL, { order: 'asc' });
    const plainResults = plain.items.map(fileSearchResults).find((r) => r !== undefined);
    expect(plainResults?.length).toBeGreaterThan(0);
    for (const result of plainResults ?? []) expect(result).not.toHaveProperty('content');

    const withContent = await client.listRunSteps(A, EVERY_TOOL, { order: 'asc', includeFileSearchContent: true });
    const results = withContent.items.map(fileSearchResults).find((r) => r !== undefined);
    expect(results?.length).toBeGreaterThan(0);
    for (const result of results ?? []) expect(result['content']).toEqual(expect.any(Array));
    expect(withContent.items).toEqual(s.steps(EVERY_TOOL, { includeFileSearchContent: true }));

    const stepId = withContent.items.find((i) => fileSearchResults(i) !== undefined)?.id as string;
    const one = await client.getRunStep(A, EVERY_TOOL, stepId, { includeFileSearchContent: true });
    expect(fileSearchResults(one.value)?.[0]).toHaveProperty('content');

    expect(s.requests.map((r) => r.query['include[]'])).toEqual([undefined, FILE_SEARCH_CONTENT_INCLUDE, FILE_SEARCH_CONTENT_INCLUDE]);
  });

  it('listAllRunSteps fetches every page of a 250-step run, following `after` with limit=100', async () => {
    const s = await simulator('long-run');
    const { client } = clientFor(s);
    const all = await listAllRunSteps(client, 'thread_longrun', 'run_longrun');
    expect(MAX_PAGE_SIZE).toBe(100);
    expect(all.items).toHaveLength(250);
    expect(all.items).toEqual(s.steps('run_longrun'));
    expect(all).toMatchObject({ rejected: [], warnings: [], hasMore: false });
    expect(s.requests.map((r) => r.query)).toEqual([
      { order: 'asc', limit: '100' },
      { order: 'asc', limit: '100', after: all.items[99]?.id },
      { order: 'asc', limit: '100', after: all.items[199]?.id },
    ]);
  });

  it('listAllRunSteps with a limit asks for no more than it needs (100, then 50) and stops', async () => {
    const s = await simulator('long-run');
    const { client } = clientFor(s);
    const some = await listAllRunSteps(client, 'thread_longrun', 'run_longrun', { order: 'desc' }, undefined, 150);
    expect(some.items.map((i) => i.id)).toEqual(s.steps('run_longrun').reverse().slice(0, 150).map((i) => i.id));
    expect(s.requests.map((r) => [r.query['order'], r.query['limit']])).toEqual([
      ['desc', '100'],
      ['desc', '50'],
    ]);
    expect(some.hasMore).toBe(true);
  });
});

describe('validation at the boundary', () => {
  const MALFORMED = ['thread_malformed', 'run_malformed'] as const;

  it('a malformed item is reported with its index and path; the rest of the page is returned', async () => {
    const s = await simulator('malformed');
    const { client } = clientFor(s);
    const page = await client.listRunSteps(...MALFORMED, { order: 'asc' });
    const raw = s.steps('run_malformed');
    expect(page.items.map((i) => i.id)).toEqual([raw[0]?.id, raw[3]?.id, raw[4]?.id, raw[5]?.id, raw[6]?.id]);
    expect(page.rejected).toEqual([
      { index: 1, id: raw[1]?.id, issues: [{ path: 'run_id', message: 'required to place the record in a trace, but missing' }] },
      { index: 2, issues: [{ path: '', message: expect.stringMatching(/expected an object, got a string/) }] },
    ]);
    // The function call whose name is a number is kept (as a generic call), with a warning at its path;
    // the step with no time at all is kept too, with a warning and its quirk.
    expect(page.warnings).toEqual([
      { index: 3, id: raw[3]?.id, issues: [expect.objectContaining({ path: 'step_details.tool_calls[0].function.name' })] },
      { index: 6, id: raw[6]?.id, issues: [{ path: 'created_at', message: "missing, and no other usable timestamp: the record is kept and placed at its run's start" }] },
    ]);
    expect(page.items[1]).toEqual(raw[3]);
    expect(JSON.parse(JSON.stringify(page.items[4]))).toEqual(raw[6]); // the data as sent; the quirk beside it
    expect(recordQuirks(page.items[4])).toEqual(['time_unknown']);
  });

  it('pagination goes on past a page whose last item has no id, and indexes count across pages', async () => {
    const s = await simulator('malformed');
    const { client } = clientFor(s);
    const all = await collectPages((after) => client.listRunSteps(...MALFORMED, { order: 'asc', limit: 3, ...(after ? { after } : {}) }));
    expect(all.items).toHaveLength(5);
    expect(all.rejected.map((r) => [r.index, r.issues[0]?.path])).toEqual([
      [1, 'run_id'],
      [2, ''],
    ]);
    expect(all.warnings.map((w) => w.index)).toEqual([3, 6]);
    expect(s.requests).toHaveLength(3);
  });

  it('a record injected by the server that is not an object is rejected in its place; the others survive', async () => {
    const s = await simulator('every-type');
    s.faults.add({ kind: 'inject-record', record: 'not-an-object', position: 1, match: { operation: 'listRunSteps', times: 1 } });
    s.faults.add({ kind: 'inject-record', record: 'unknown-step-type', position: 'end', match: { operation: 'listRunSteps', times: 1 } });
    const { client } = clientFor(s);
    const page = await client.listRunSteps(A, EVERY_TOOL, { order: 'asc' });
    expect(page.rejected).toEqual([{ index: 1, issues: [{ path: '', message: expect.stringMatching(/got a string/) }] }]);
    expect(page.items).toHaveLength(4);
  });

  it('a single record that cannot be placed is an invalid payload naming the field (not retried)', async () => {
    const s = await simulator('malformed');
    const { client } = clientFor(s);
    const broken = s.steps('run_malformed')[1] as ApiStep;
    const error = await apiError(client.getRunStep(...MALFORMED, broken.id));
    expect(error.kind).toBe('invalid_payload');
    expect(error.details.issues).toEqual([{ path: 'run_id', message: 'required to place the record in a trace, but missing' }]);
    expect(error.message).toContain('run_id');
    expect(s.requests).toHaveLength(1);
  });

  it('a single record with no usable time is returned, placed later by its run, with a warning naming the field', async () => {
    const s = await simulator('malformed');
    const { client } = clientFor(s);
    const untimed = s.steps('run_malformed')[6] as ApiStep;
    const { value, warnings } = await client.getRunStep(...MALFORMED, untimed.id);
    expect(JSON.parse(JSON.stringify(value))).toEqual(untimed); // the data as sent; the quirk beside it
    expect(value).not.toHaveProperty('created_at');
    expect(recordQuirks(value)).toEqual(['time_unknown']);
    expect(warnings).toEqual([{ path: 'created_at', message: "missing, and no other usable timestamp: the record is kept and placed at its run's start" }]);
  });

  it('a kept record with a malformed field comes back with its warnings', async () => {
    const s = await simulator('malformed');
    const { client } = clientFor(s);
    const odd = s.steps('run_malformed')[3] as ApiStep;
    const { value, warnings } = await client.getRunStep(...MALFORMED, odd.id);
    expect(value).toEqual(odd);
    expect(warnings).toEqual([expect.objectContaining({ path: 'step_details.tool_calls[0].function.name' })]);
  });

  it('records with fields and types we do not know are carried through untouched', async () => {
    const s = await simulator('unknown-types');
    const { client } = clientFor(s);
    const steps = await client.listRunSteps('thread_unknowntypes', 'run_unknowntypes', { order: 'asc' });
    expect(steps.items).toEqual(s.steps('run_unknowntypes'));
    expect(steps.rejected).toEqual([]);
    expect(steps.items.map((i) => i.type)).toEqual(['activities', 'tool_calls', 'message_creation']);
    expect(steps.items[2]).toHaveProperty('x_content_filter_results', { hate: { filtered: false } });
    expect(steps.items[0]).toHaveProperty('expires_at', expect.any(Number));

    const runs = await client.listRuns('thread_unknowntypes', { order: 'asc' });
    expect(runs.items).toEqual(runsOf(s, 'thread_unknowntypes'));
    expect(runs.items[0]).toMatchObject({ x_azure_region: 'swedencentral', tool_resources: {} });
    expect(runs.items[1]).toMatchObject({ instructions: null });
    expect(runs.rejected).toEqual([]);
  });
});

describe('typed outcomes for what the API refuses (never retried)', () => {
  it('an unknown run is not_found (404)', async () => {
    const s = await simulator('every-type');
    const { client, events } = clientFor(s);
    const error = await apiError(client.getRun(A, 'run_nosuch'));
    expect(error).toMatchObject({ kind: 'not_found', details: { status: 404 } });
    expect(error.message).toMatch(/run_nosuch/);
    expect(error.details.requestId).toBe(s.requests[0]?.requestId);
    expect(s.requests).toHaveLength(1);
    expect(events).toEqual([{ operation: expect.any(String), status: 404, outcome: 'error' }]);
  });

  it('the steps of an unknown run are not_found', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    expect((await apiError(client.listRunSteps(A, 'run_nosuch'))).kind).toBe('not_found');
  });

  it.each([
    ['a limit above 100', { limit: 101 }, 'integer_above_max_value'],
    ['an unknown after cursor', { after: 'run_nosuch' }, 'invalid_value'],
  ])('%s is invalid_request (400) with the API code and message', async (_name, query, code) => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    const error = await apiError(client.listRuns(A, query));
    expect(error).toMatchObject({ kind: 'invalid_request', details: { status: 400, code } });
    expect(error.message).toMatch(/HTTP 400/);
    expect(s.requests).toHaveLength(1);
  });

  it('a missing api-version (a misconfigured Azure profile) is invalid_request', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'every-type', prefix: '/openai', apiVersion: '2025-04-01-preview' });
    const { client } = clientFor(sim);
    const error = await apiError(client.listRuns(A));
    expect(error).toMatchObject({ kind: 'invalid_request', details: { status: 400, code: 'missing_api_version' } });
  });

  it('ids are sent as path segments, encoded', async () => {
    const s = await simulator('every-type');
    const { client } = clientFor(s);
    expect((await apiError(client.getRun(A, 'run x/../y'))).kind).toBe('not_found');
    expect(s.requests[0]?.path).toBe(`/threads/${A}/runs/run%20x%2F..%2Fy`);
  });
});
