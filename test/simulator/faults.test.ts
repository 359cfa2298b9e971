import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type ApiList, type Simulator } from '../../src/simulator/index.js';
import { call, type ErrorBody } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim.close();
});
const RUNS = '/threads/thread_everytype_a/runs';

describe('faults', () => {
  it('429 with Retry-After and the rate-limit body, `times` consumed in request order', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    const handle = sim.faults.add({ kind: 'rate-limit', retryAfterSeconds: 7, match: { operation: 'listRuns', times: 2 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call<ErrorBody>(sim, RUNS);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('7');
        expect(res.body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
        expect(res.body.error.message).toContain('Please try again in 7s');
      }
    }
    expect(statuses).toEqual([429, 429, 200, 200]);
    expect(handle.fired).toBe(2);
    expect(sim.requests.map((r) => r.fault)).toEqual(['rate-limit', 'rate-limit', null, null]);
  });

  it('`after` lets requests through first; a RegExp path and a method narrow the match', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    sim.faults.add({ kind: 'server-error', status: 503, match: { method: 'get', path: /\/steps$/, after: 1, times: 1 } });
    const steps = `${RUNS}/run_everytool/steps`;
    expect((await call(sim, RUNS)).status).toBe(200); // path does not match
    expect((await call(sim, steps)).status).toBe(200); // matched, let through by `after`
    const failed = await call<ErrorBody>(sim, steps);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toEqual({ message: 'The server is overloaded or not ready yet.', type: 'server_error', param: null, code: null });
    expect((await call(sim, steps)).status).toBe(200);
  });

  it('500 from a scenario file’s fault list, with pathRegex', async () => {
    sim = await createSimulator({ scenario: { threads: [{ id: 'thread_f' }], faults: [{ kind: 'server-error', match: { pathRegex: '^/threads/thread_f$', times: 1 } }] } });
    const res = await call<ErrorBody>(sim, '/threads/thread_f');
    expect(res.status).toBe(500);
    expect(res.body.error.type).toBe('server_error');
    expect((await call(sim, '/threads/thread_f')).status).toBe(200);
  });

  it('slow responses: delayMs holds the answer', async () => {
    sim = await createSimulator({ scenario: 'every-type', faults: [{ kind: 'delay', delayMs: 150, match: { times: 1 } }] });
    const started = performance.now();
    expect((await call(sim, RUNS)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('dropped connections: the socket is destroyed before any answer', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    sim.faults.add({ kind: 'drop-connection', match: { times: 1 } });
    await expect(fetch(sim.url + RUNS)).rejects.toThrow();
    expect(sim.requests[0]).toMatchObject({ status: null, fault: 'drop-connection' });
    expect((await call(sim, RUNS)).status).toBe(200);
  });

  it('malformed JSON: a 200 whose body is cut in half', async () => {
    sim = await createSimulator({ scenario: 'every-type', faults: [{ kind: 'malformed-json', match: { times: 1 } }] });
    const res = await fetch(sim.url + RUNS);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text.startsWith('{"object":"list"')).toBe(true);
  });

  it('authentication failure for a period of scenario time', async () => {
    sim = await createSimulator({ scenario: 'every-type', auth: { kind: 'bearer', token: 'sk-test' } });
    sim.faults.add({ kind: 'auth-failure', match: { fromSecond: 10, untilSecond: 20 } });
    const auth = { headers: { authorization: 'Bearer sk-test' } };
    expect((await call(sim, RUNS, auth)).status).toBe(200);
    await sim.advanceTo(10);
    const denied = await call<ErrorBody>(sim, RUNS, auth);
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('invalid_api_key');
    await sim.advanceTo(20);
    expect((await call(sim, RUNS, auth)).status).toBe(200);
  });

  it('record-level faults inject broken or unknown records into list pages only', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    await sim.runUntilIdle();
    sim.faults.add({ kind: 'inject-record', record: 'step-missing-created-at', position: 'start', match: { times: 1 } });
    sim.faults.add({ kind: 'inject-record', record: { value: { id: 'custom', type: 'bing_grounding' } }, match: { operation: 'listRunSteps', times: 1 } });
    sim.faults.add({ kind: 'inject-record', record: 'step-missing-run-id', position: 1, match: { operation: 'listRunSteps', times: 1 } });
    const steps = `${RUNS}/run_everytool/steps?order=asc`;
    // getRun is not a list: the first rule does not match it and stays unspent.
    expect((await call(sim, `${RUNS}/run_everytool`)).status).toBe(200);
    const page = (await call<ApiList<Record<string, unknown>>>(sim, steps)).body;
    expect(page.data).toHaveLength(5);
    // No timestamp at all: neither created_at nor an end.
    expect(page.data[0]).not.toHaveProperty('created_at');
    expect(page.data[0]).toMatchObject({ id: 'step_injected_step_missing_created_at', run_id: 'run_everytool', completed_at: null, failed_at: null, cancelled_at: null, expired_at: null });
    expect(page.first_id).toBe(sim.steps('run_everytool')[0]?.id); // envelope IDs come from real records
    const second = (await call<ApiList<Record<string, unknown>>>(sim, steps)).body;
    expect(second.data.at(-1)).toEqual({ id: 'custom', type: 'bing_grounding' });
    const third = (await call<ApiList<Record<string, unknown>>>(sim, steps)).body;
    expect(third.data).toHaveLength(5);
    expect(third.data[1]?.['id']).toBe('step_injected_step_missing_run_id');
    expect(third.data[1]).not.toHaveProperty('run_id');
    expect(third.data[1]).toHaveProperty('created_at');
    expect((await call<ApiList<unknown>>(sim, steps)).body.data).toHaveLength(4);
  });

  it('rejects a malformed fault rule with the field path', async () => {
    sim = await createSimulator();
    expect(() => sim.faults.add({ kind: 'rate-limit', match: { times: 0 } })).toThrow(/match\.times/);
    const bad = { kind: 'explode' } as unknown as Parameters<Simulator['faults']['add']>[0]; // deliberately not a FaultRuleInput
    expect(() => sim.faults.add(bad)).toThrow(/invalid fault rule/);
  });

  it('removes a fault and lists what each has done', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    const handle = sim.faults.add({ kind: 'server-error', label: 'flaky', match: { operation: 'listRuns' } });
    expect((await call(sim, RUNS)).status).toBe(500);
    expect(sim.faults.list()).toEqual([expect.objectContaining({ id: handle.id, seen: 1, fired: 1 })]);
    expect(sim.requests[0]?.fault).toBe('flaky');
    handle.remove();
    expect((await call(sim, RUNS)).status).toBe(200);
    expect(sim.faults.list()).toEqual([]);
  });
});
