/**
 * The client's decisions on answers the simulator does not produce (a fake `fetch`, fake timers):
 * `Retry-After` as an HTTP date and OpenAI's `retry-after-ms`, 403, 408/409, other 4xx, bodies that
 * are not list envelopes, and an abort before the first request.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import { createAssistantsClient, type ApiRetryPolicy } from '../../../src/api/client.js';
import type { ApiError } from '../../../src/api/errors.js';
import { createProvider } from '../../../src/api/providers.js';
import { createLogger } from '../../../src/util/log.js';

const POLICY: ApiRetryPolicy = { maxAttempts: 3, initialDelayMillis: 10, maxDelayMillis: 40, multiplier: 2, jitterRatio: 0 };
const T = Date.UTC(2026, 0, 1, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(T);
});
afterEach(() => {
  vi.useRealTimers();
});

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

/** A client whose fetch answers from `answers` in turn, recording when each request was made. */
function fakeClient(answers: Answer[], retry: ApiRetryPolicy = POLICY) {
  const calls: { url: string; at: number; headers: Record<string, string> }[] = [];
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const fakeFetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), at: Date.now(), headers: init?.headers as Record<string, string> });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)] as Answer;
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
    return new Response(text, { status: answer.status, headers: { 'content-type': 'application/json', ...answer.headers } });
  }) as typeof fetch;
  const client = createAssistantsClient({
    provider: createProvider({ baseUrl: 'https://api.example.test/v1' }),
    retry,
    fetch: fakeFetch,
    random: () => 0,
    budget: new RequestBudget({ requestsPerSecond: 1000, now: () => Date.now() }),
    logger: createLogger({ stream, format: 'json', level: 'debug' }),
  });
  return { client, calls, lines };
}

const RUN = { id: 'run_1', object: 'thread.run', created_at: 1_767_225_600, status: 'completed' };
const LIST = { object: 'list', data: [RUN], first_id: 'run_1', last_id: 'run_1', has_more: false };

async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: ApiError }> {
  const result = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error as ApiError }),
  );
  await vi.runAllTimersAsync();
  return result;
}

describe('Retry-After forms', () => {
  it('an HTTP date: not retried before that moment', async () => {
    const { client, calls, lines } = fakeClient([
      { status: 429, headers: { 'retry-after': new Date(T + 3_000).toUTCString() } },
      { status: 200, body: RUN },
    ]);
    const pending = client.getRun('thread_1', 'run_1');
    await vi.advanceTimersByTimeAsync(2_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).value.id).toBe('run_1');
    expect(calls).toHaveLength(2);
    expect((calls[1]?.at as number) - (calls[0]?.at as number)).toBeGreaterThanOrEqual(3_000);
    expect(lines[0]).toMatchObject({ retry_after_ms: 3_000 });
  });

  it('OpenAI’s retry-after-ms is read (and preferred, being more precise)', async () => {
    const { client, calls, lines } = fakeClient([
      { status: 429, headers: { 'retry-after-ms': '250', 'retry-after': '1' } },
      { status: 200, body: RUN },
    ]);
    await settle(client.getRun('thread_1', 'run_1'));
    expect((calls[1]?.at as number) - (calls[0]?.at as number)).toBeGreaterThanOrEqual(250);
    expect(lines[0]).toMatchObject({ retry_after_ms: 250 });
  });

  it('an unreadable Retry-After falls back to the backoff', async () => {
    const { client, calls, lines } = fakeClient([{ status: 503, headers: { 'retry-after': 'soon' } }, { status: 200, body: RUN }]);
    await settle(client.getRun('thread_1', 'run_1'));
    expect(calls).toHaveLength(2);
    expect(lines[0]).not.toHaveProperty('retry_after_ms');
    expect(lines[0]).toMatchObject({ delay_ms: 10 });
  });
});

describe('a Retry-After beyond the cap (--max-retry-delay)', () => {
  const THIRTY_FIVE_DAYS = String(35 * 86_400);

  it('one-shot (give-up, the default): ends the request at once, saying what was asked and what the cap is', async () => {
    const { client, calls } = fakeClient([{ status: 429, headers: { 'retry-after': THIRTY_FIVE_DAYS } }, { status: 200, body: RUN }], { ...POLICY, delayCapMillis: 60_000 });
    const { error } = await settle(client.getRun('thread_1', 'run_1'));
    expect(calls).toHaveLength(1);
    expect(error?.kind).toBe('retries_exhausted');
    expect(error?.message).toBe(
      'get run run_1 of thread_1: the API asked to wait 35 days (Retry-After, after HTTP 429), longer than the longest wait allowed (1 min, --max-retry-delay); giving up',
    );
  });

  it('sidecar (wait-cap): waits the cap, not 35 days and not zero, and the shared budget is held for the cap only', async () => {
    const { client, calls, lines } = fakeClient([{ status: 503, headers: { 'retry-after': THIRTY_FIVE_DAYS } }, { status: 200, body: RUN }], {
      ...POLICY,
      delayCapMillis: 60_000,
      longRetryAfter: 'wait-cap',
    });
    const pending = client.getRun('thread_1', 'run_1');
    await vi.advanceTimersByTimeAsync(59_999);
    expect(calls).toHaveLength(1); // no hot loop: an overflowing timer would have fired at once
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).value.id).toBe('run_1');
    expect((calls[1]?.at as number) - (calls[0]?.at as number)).toBe(60_000);
    expect(lines[0]).toMatchObject({ msg: 'API request will be retried after the longest wait allowed, sooner than its Retry-After', delay_ms: 60_000 });
    // Another request of the process is held only until the cap too.
    expect(client.budget.stats().waiting).toBe(0);
  });
});

describe('statuses', () => {
  it.each([408, 409, 500, 501, 502])('%i is retried', async (status) => {
    const { client, calls } = fakeClient([{ status }, { status: 200, body: RUN }]);
    const { value } = await settle(client.getRun('thread_1', 'run_1'));
    expect(value?.value.id).toBe('run_1');
    expect(calls).toHaveLength(2);
  });

  it('403 is an auth failure (fatal): the message says what to check', async () => {
    const { client, calls } = fakeClient([{ status: 403, body: { error: { message: 'nope', type: 'x', code: 'forbidden', param: null } } }]);
    const { error } = await settle(client.getRun('thread_1', 'run_1'));
    expect(error).toMatchObject({ kind: 'auth', details: { status: 403, code: 'forbidden' } });
    expect(error?.message).toMatch(/denied access \(HTTP 403 forbidden\)\. Check: .*base URL https:\/\/api\.example\.test\/v1/);
    expect(calls).toHaveLength(1);
  });

  it('410 Gone is not_found, as 404 is (the thread or run is gone), not retried', async () => {
    const { client, calls } = fakeClient([{ status: 410, body: { error: { message: 'gone', type: 'invalid_request_error', code: null, param: null } } }]);
    const { error } = await settle(client.listRuns('thread_1'));
    expect(error).toMatchObject({ kind: 'not_found', details: { status: 410 } });
    expect(calls).toHaveLength(1);
  });

  it.each([400, 405, 413, 422])('%i is invalid_request, not retried, with the API’s code, message and request id', async (status) => {
    const { client, calls } = fakeClient([{ status, body: { error: { message: 'bad thing', type: 'invalid_request_error', code: 'bad_code', param: null } }, headers: { 'x-request-id': 'req_123' } }]);
    const { error } = await settle(client.listRuns('thread_1'));
    expect(error).toMatchObject({ kind: 'invalid_request', details: { status, code: 'bad_code', requestId: 'req_123' } });
    expect(error?.message).toContain('bad thing');
    expect(calls).toHaveLength(1);
  });
});

describe('payloads', () => {
  it.each([
    ['an array', [RUN]],
    ['an envelope whose data is not an array', { object: 'list', data: 'runs' }],
    ['an envelope whose has_more is a string', { ...LIST, has_more: 'no' }],
  ])('a list answer that is %s is an invalid payload naming the field', async (_name, body) => {
    const { client } = fakeClient([{ status: 200, body }]);
    const { error } = await settle(client.listRuns('thread_1'));
    expect(error?.kind).toBe('invalid_payload');
    expect(error?.details.issues?.length).toBeGreaterThan(0);
  });

  it('an empty body on a 200 is an invalid payload', async () => {
    const { client } = fakeClient([{ status: 200, body: '' }]);
    const { error } = await settle(client.getRun('thread_1', 'run_1'));
    expect(error?.kind).toBe('invalid_payload');
  });
});

describe('requests', () => {
  it('every request carries the profile headers, the credential and a User-Agent', async () => {
    const { client, calls } = fakeClient([{ status: 200, body: LIST }]);
    await settle(client.listRuns('thread_1', { order: 'desc', limit: 5 }));
    expect(calls[0]?.url).toBe('https://api.example.test/v1/threads/thread_1/runs?order=desc&limit=5');
    expect(calls[0]?.headers).toMatchObject({ Accept: 'application/json', 'OpenAI-Beta': 'assistants=v2', 'User-Agent': expect.stringMatching(/^assistants-otel\//) });
  });

  it('an already-aborted signal sends nothing', async () => {
    const { client, calls } = fakeClient([{ status: 200, body: LIST }]);
    const controller = new AbortController();
    controller.abort();
    const { error } = await settle(client.listRuns('thread_1', {}, controller.signal));
    expect(error?.kind).toBe('aborted');
    expect(calls).toHaveLength(0);
  });
});

describe('the server\'s clock, and what a request leaves behind', () => {
  it('a Date header becomes serverTimeSeconds on pages and records; none, none', async () => {
    const date = new Date(T - 300_000).toUTCString();
    const { client } = fakeClient([
      { status: 200, body: LIST, headers: { date } },
      { status: 200, body: RUN, headers: { date } },
      { status: 200, body: LIST },
    ]);
    expect((await settle(client.listRuns('thread_1'))).value?.serverTimeSeconds).toBe((T - 300_000) / 1000);
    expect((await settle(client.getRun('thread_1', 'run_1'))).value?.serverTimeSeconds).toBe((T - 300_000) / 1000);
    expect((await settle(client.listRuns('thread_1'))).value).not.toHaveProperty('serverTimeSeconds');
  });

  it('no timer and no abort listener outlives a request', async () => {
    const { client } = fakeClient([{ status: 200, body: RUN }]);
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
    await settle(client.getRun('thread_1', 'run_1', controller.signal));
    expect(listeners).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Retry-After holds every request from the moment the 429 is seen', () => {
  it('a request started while the 429\'s body is still arriving waits the whole Retry-After too', async () => {
    const calls: { url: string; at: number }[] = [];
    const fakeFetch = (async (url: string | URL | Request) => {
      calls.push({ url: String(url), at: Date.now() });
      if (calls.length === 1) {
        // The status and headers now, the body 200 ms later (a slow or loaded connection).
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            setTimeout(() => {
              controller.enqueue(new TextEncoder().encode('{"error":{"code":"rate_limit_exceeded"}}'));
              controller.close();
            }, 200);
          },
        });
        return new Response(body, { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '1' } });
      }
      return new Response(JSON.stringify(RUN), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const client = createAssistantsClient({
      provider: createProvider({ baseUrl: 'https://api.example.test/v1' }),
      retry: POLICY,
      fetch: fakeFetch,
      random: () => 0,
      budget: new RequestBudget({ requestsPerSecond: 1000, now: () => Date.now() }),
      logger: createLogger({ stream: new Writable({ write: (_c, _e, done) => done() }), level: 'error' }),
    });
    const first = client.getRun('thread_1', 'run_1');
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toHaveLength(1);
    const second = client.getRun('thread_1', 'run_2');
    const results = settle(Promise.all([first, second]));
    expect((await results).error).toBeUndefined();
    expect(calls.length).toBe(3);
    // Neither the other request nor the retry went out within Retry-After of the 429 (at 0 ms).
    expect(calls.slice(1).map((c) => c.at - (calls[0]?.at ?? 0) >= 1_000), JSON.stringify(calls)).toEqual([true, true]);
  });
});
