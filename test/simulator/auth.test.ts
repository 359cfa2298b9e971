import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { call, type ErrorBody } from './helpers.js';

const SECRET = 'sk-simulator-secret-0123456789';
let sim: Simulator;
afterEach(async () => {
  await sim.close();
});

const start = (options: SimulatorOptions) => createSimulator({ scenario: { threads: [{ id: 'thread_auth' }] }, ...options });

/** The credential must not appear in any answer, nor in sim.requests. */
function expectNoLeak(texts: string[]): void {
  for (const text of [...texts, JSON.stringify(sim.requests)]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(3, 15));
  }
}

describe('auth, prefix, api-version and beta header', () => {
  it('bearer: missing → 401, wrong → 401 invalid_api_key, right → 200; nothing echoed', async () => {
    sim = await start({ auth: { kind: 'bearer', token: SECRET }, prefix: '/v1' });
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const missing = await call<ErrorBody>(sim, '/threads/thread_auth');
    const wrong = await call<ErrorBody>(sim, '/threads/thread_auth', { headers: { authorization: `Bearer ${SECRET}x` } });
    const right = await call(sim, '/threads/thread_auth', { headers: { authorization: `Bearer ${SECRET}` } });
    expect([missing.status, wrong.status, right.status]).toEqual([401, 401, 200]);
    expect(missing.body.error).toMatchObject({ type: 'invalid_request_error', param: null });
    expect(wrong.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', param: null });
    expectNoLeak([missing.text, wrong.text, right.text]);
    expect(sim.requests[2]?.headers['authorization']).toBe('<redacted>');
    expect(sim.requests.map((r) => r.path)).toEqual(['/threads/thread_auth', '/threads/thread_auth', '/threads/thread_auth']);
  });

  it('api-key (Azure) with a required api-version, prefix /openai and apim-request-id', async () => {
    sim = await start({ auth: { kind: 'api-key', key: SECRET }, prefix: '/openai', apiVersion: '2025-04-01-preview' });
    const headers = { 'api-key': SECRET };
    const noVersion = await call<ErrorBody>(sim, '/threads/thread_auth', { headers });
    const badVersion = await call<ErrorBody>(sim, '/threads/thread_auth?api-version=2023-01-01', { headers });
    const bearer = await call<ErrorBody>(sim, '/threads/thread_auth?api-version=2025-04-01-preview', { headers: { authorization: `Bearer ${SECRET}` } });
    const ok = await call(sim, '/threads/thread_auth?api-version=2025-04-01-preview', { headers });
    expect([noVersion.status, badVersion.status, bearer.status, ok.status]).toEqual([400, 400, 401, 200]);
    expect(noVersion.body.error.param).toBe('api-version');
    expect(ok.headers.get('apim-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(sim.requests[3]?.headers['api-key']).toBe('<redacted>');
    expectNoLeak([noVersion.text, badVersion.text, bearer.text, ok.text]);
  });

  it('Foundry-style prefix; requests outside the prefix are 404 Invalid URL', async () => {
    sim = await start({ prefix: '/api/projects/demo/' });
    expect(sim.url.endsWith('/api/projects/demo')).toBe(true);
    expect((await call(sim, '/threads/thread_auth')).status).toBe(200);
    const outside = await fetch(`${sim.origin}/threads/thread_auth`);
    expect(outside.status).toBe(404);
    expect(((await outside.json()) as ErrorBody).error.message).toBe('Invalid URL (GET /threads/thread_auth)');
  });

  it('requires OpenAI-Beta: assistants=v2 when asked to, with the real message', async () => {
    sim = await start({ requireBetaHeader: true });
    const missing = await call<ErrorBody>(sim, '/threads/thread_auth');
    expect(missing.status).toBe(400);
    expect(missing.body.error).toEqual({
      message: "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_beta',
    });
    expect((await call(sim, '/threads/thread_auth', { headers: { 'OpenAI-Beta': 'assistants=v2' } })).status).toBe(200);
  });

  it('never logs a credential', async () => {
    const lines: string[] = [];
    sim = await start({ auth: { kind: 'bearer', token: SECRET }, log: (line) => lines.push(line) });
    await call(sim, `/threads/thread_auth?api_key=${SECRET}`, { headers: { authorization: `Bearer ${SECRET}` } });
    await call(sim, '/threads/thread_auth', { headers: { authorization: 'Bearer nope' } });
    expect(lines.length).toBeGreaterThan(0);
    expectNoLeak(lines);
    expect(sim.requests[0]?.query['api_key']).toBe('<redacted>');
  });

  it('counts requests per operation', async () => {
    sim = await start({});
    await call(sim, '/threads/thread_auth');
    await call(sim, '/threads/thread_auth/runs');
    await call(sim, '/threads/thread_auth/runs');
    await call(sim, '/nowhere');
    expect(sim.counters).toEqual({ getThread: 1, listRuns: 2, unmatched: 1 });
    sim.resetRequests();
    expect(sim.requests).toHaveLength(0);
  });
});
