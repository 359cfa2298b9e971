import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, FILE_SEARCH_CONTENT_INCLUDE, type ApiList, type ApiStep, type Simulator } from '../../src/simulator/index.js';
import { call, type ErrorBody } from './helpers.js';

const STEPS = '/threads/thread_longrun/runs/run_longrun/steps';
let sim: Simulator;
let ascending: string[];

beforeAll(async () => {
  sim = await createSimulator({ scenario: 'long-run' });
  await sim.runUntilIdle();
  ascending = sim.steps('run_longrun').map((s) => s.id);
});
afterAll(async () => {
  await sim.close();
});

const page = async (query: string) => (await call<ApiList<ApiStep>>(sim, `${STEPS}?${query}`)).body;

describe('pagination of 250 steps', () => {
  it('has 250 steps in strictly ascending (created_at, id) order', () => {
    expect(ascending).toHaveLength(250);
    const steps = sim.steps('run_longrun');
    for (let i = 1; i < steps.length; i++) {
      const [a, b] = [steps[i - 1], steps[i]];
      expect(a !== undefined && b !== undefined && (a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id))).toBe(true);
    }
  });

  it('walks forward with after, order=asc, limit=100: 100 + 100 + 50', async () => {
    const p1 = await page('order=asc&limit=100');
    expect(p1.data.map((s) => s.id)).toEqual(ascending.slice(0, 100));
    expect(p1).toMatchObject({ object: 'list', first_id: ascending[0], last_id: ascending[99], has_more: true });
    const p2 = await page(`order=asc&limit=100&after=${p1.last_id}`);
    expect(p2.data.map((s) => s.id)).toEqual(ascending.slice(100, 200));
    expect(p2.has_more).toBe(true);
    const p3 = await page(`order=asc&limit=100&after=${p2.last_id}`);
    expect(p3.data.map((s) => s.id)).toEqual(ascending.slice(200));
    expect(p3).toMatchObject({ has_more: false, first_id: ascending[200], last_id: ascending[249] });
  });

  it('defaults to order=desc and limit=20', async () => {
    const p = await page('');
    expect(p.data.map((s) => s.id)).toEqual([...ascending].reverse().slice(0, 20));
    expect(p.has_more).toBe(true);
  });

  it('walks backwards with before: the items just before the cursor, in the requested order', async () => {
    const p = await page(`order=asc&limit=100&before=${ascending[150]}`);
    expect(p.data.map((s) => s.id)).toEqual(ascending.slice(50, 150));
    expect(p.has_more).toBe(true); // 50 more lie before
    const rest = await page(`order=asc&limit=100&before=${p.first_id}`);
    expect(rest.data.map((s) => s.id)).toEqual(ascending.slice(0, 50));
    expect(rest.has_more).toBe(false);
    const desc = await page(`order=desc&limit=10&before=${ascending[100]}`);
    expect(desc.data.map((s) => s.id)).toEqual(ascending.slice(101, 111).reverse());
  });

  it('answers an empty page with null first_id/last_id', async () => {
    const p = await page(`order=asc&after=${ascending[249]}`);
    expect(p).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
    const thread = sim.createThread();
    expect((await call(sim, `/threads/${thread.id}/runs`)).body).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it.each([
    ['limit=0', 'integer_below_min_value', 'Invalid \'limit\': integer below minimum value. Expected a value >= 1, but got 0 instead.'],
    ['limit=101', 'integer_above_max_value', 'Invalid \'limit\': integer above maximum value. Expected a value <= 100, but got 101 instead.'],
    ['limit=abc', 'invalid_type', undefined],
    ['order=sideways', 'invalid_value', "Invalid value: 'sideways'. Supported values are: 'asc', 'desc'."],
    ['include[]=bogus', 'invalid_value', undefined],
    ['after=step_unknown', 'invalid_value', undefined],
  ])('rejects %s with 400 %s', async (query, code, message) => {
    const res = await call<ErrorBody>(sim, `${STEPS}?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code });
    if (message !== undefined) expect(res.body.error.message).toBe(message);
  });

  it('fills file_search result content only with include[]', async () => {
    const withContent = await page(`order=asc&limit=10&include[]=${encodeURIComponent(FILE_SEARCH_CONTENT_INCLUDE)}`);
    const plain = await page('order=asc&limit=10');
    const fileSearch = (p: ApiList<ApiStep>) =>
      p.data.flatMap((s) => (s.step_details.type === 'tool_calls' ? s.step_details.tool_calls : [])).find((c) => c.type === 'file_search');
    const a = fileSearch(withContent);
    const b = fileSearch(plain);
    expect(a?.type === 'file_search' && a.file_search.results?.[0]?.content).toEqual([{ type: 'text', text: 'Chunk 3.' }]);
    expect(b?.type === 'file_search' && b.file_search.results?.[0]).not.toHaveProperty('content');
  });
});
