/**
 * Resilience against the simulator's faults over real HTTP: per-request timeouts; retries on 429,
 * 5xx and connection errors with exponential backoff that never retries before `Retry-After`
 * (measured with the simulator's arrival times); typed outcomes when retrying cannot help.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import { createAssistantsClient, type ApiRetryPolicy } from '../../../src/api/client.js';
import { listAllRunSteps } from '../../../src/api/pagination.js';
import { createProvider } from '../../../src/api/providers.js';
import { createSimulator, type Simulator } from '../../../src/simulator/index.js';
import { apiError, arrivalGaps, captureLogger, clientFor, FAST_RETRY } from './helpers.js';

const THREAD = 'thread_everytype_a';
const RUN = 'run_everytool';

let sim: Simulator | undefined;
let stub: Server | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (stub) {
    stub.closeAllConnections();
    await new Promise((resolve) => stub?.close(resolve));
    stub = undefined;
  }
});

async function simulator(): Promise<Simulator> {
  sim = await createSimulator({ clock: 'manual', scenario: 'every-type', prefix: '/v1' });
  await sim.runUntilIdle();
  return sim;
}

describe('429 and Retry-After', () => {
  it('waits at least Retry-After (1 s) before the retry, though its own backoff would be ~5 ms', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'rate-limit', retryAfterSeconds: 1, match: { operation: 'listRunSteps', times: 1 } });
    const { logger, lines } = captureLogger();
    const { client, events } = clientFor(s, { logger });
    const page = await client.listRunSteps(THREAD, RUN);
    expect(page.items).toHaveLength(4);
    expect(s.requests.map((r) => r.status)).toEqual([429, 200]);
    const [gap] = arrivalGaps(s);
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(1000 * (1 + FAST_RETRY.jitterRatio) + 300); // the jitter only lengthens, a little
    expect(events.map((e) => [e.status, e.outcome])).toEqual([
      [429, 'retry'],
      [200, 'ok'],
    ]);
    const warning = JSON.parse(lines.find((l) => l.includes('will be retried')) as string) as Record<string, unknown>;
    expect(warning).toMatchObject({ level: 'warn', reason: 'HTTP 429 rate_limit_exceeded', attempt: 1, retry_after_ms: 1000 });
    expect(warning['delay_ms']).toBeGreaterThanOrEqual(1000);
  });

  it('Retry-After outranks the backoff ceiling (maxDelayMillis 20 ms); the retry repeats the same page request', async () => {
    const s = await simulator();
    // The second page's request is refused once.
    s.faults.add({ kind: 'rate-limit', retryAfterSeconds: 1, match: { operation: 'listRuns', after: 1, times: 1 } });
    const { client } = clientFor(s);
    const first = await client.listRuns(THREAD, { order: 'asc', limit: 2 });
    const second = await client.listRuns(THREAD, { order: 'asc', limit: 2, after: first.lastId as string });
    expect(second.items.map((r) => r.id)).toEqual(['run_incomplete']);
    expect(s.requests.map((r) => r.status)).toEqual([200, 429, 200]);
    expect(s.requests[2]?.query).toEqual(s.requests[1]?.query); // the same request, cursor and all
    expect((arrivalGaps(s)[1] as number)).toBeGreaterThanOrEqual(1000);
  });

  it('a 429 without Retry-After is retried with the client’s own backoff', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'rate-limit', retryAfterSeconds: null, match: { times: 2 } });
    const { client } = clientFor(s);
    expect((await client.getRun(THREAD, RUN)).value.id).toBe(RUN);
    expect(s.requests.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('a 429 that never ends: retries exhausted after maxAttempts', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'rate-limit', retryAfterSeconds: 0, match: { operation: 'getRun' } });
    const { client } = clientFor(s);
    const error = await apiError(client.getRun(THREAD, RUN));
    expect(error).toMatchObject({ kind: 'retries_exhausted', details: { attempts: FAST_RETRY.maxAttempts } });
    expect(error.message).toMatch(/gave up after 4 attempts \(last: HTTP 429 rate_limit_exceeded\)/);
    expect(s.requests).toHaveLength(FAST_RETRY.maxAttempts);
  });
});

describe('5xx', () => {
  it.each([500, 502, 503, 504] as const)('%i is retried and the request goes through', async (status) => {
    const s = await simulator();
    s.faults.add({ kind: 'server-error', status, match: { times: 1 } });
    const { client, events } = clientFor(s);
    const page = await client.listRuns(THREAD);
    expect(page.items).toHaveLength(3);
    expect(s.requests.map((r) => r.status)).toEqual([status, 200]);
    expect(events.map((e) => e.outcome)).toEqual(['retry', 'ok']);
  });

  it('backoff is exponential between attempts', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'server-error', status: 503 });
    const policy: ApiRetryPolicy = { maxAttempts: 4, initialDelayMillis: 60, maxDelayMillis: 10_000, multiplier: 2, jitterRatio: 0.1 };
    const { client } = clientFor(s, { retry: policy });
    const error = await apiError(client.listRuns(THREAD));
    expect(error).toMatchObject({ kind: 'retries_exhausted', details: { attempts: 4 } });
    expect(error.message).toContain('HTTP 503');
    const gaps = arrivalGaps(s);
    expect(gaps).toHaveLength(3);
    [60, 120, 240].forEach((base, i) => expect(gaps[i]).toBeGreaterThanOrEqual(base * 0.9 - 2));
    expect(gaps[2]).toBeGreaterThan(gaps[0] as number);
  });

  it('a persistent 500 inside a paginated listing fails the listing with retries_exhausted', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'long-run', prefix: '/v1' });
    await sim.runUntilIdle();
    sim.faults.add({ kind: 'server-error', status: 500, match: { operation: 'listRunSteps', after: 1 } });
    const { client } = clientFor(sim);
    const error = await apiError(listAllRunSteps(client, 'thread_longrun', 'run_longrun'));
    expect(error.kind).toBe('retries_exhausted');
    expect(sim.requests).toHaveLength(1 + FAST_RETRY.maxAttempts);
  });
});

describe('timeouts', () => {
  it('a response slower than the timeout is abandoned and retried', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'delay', delayMs: 1_500, match: { times: 1 } });
    const { client, events } = clientFor(s, { timeoutMillis: 150 });
    const started = performance.now();
    const { value } = await client.getRun(THREAD, RUN);
    expect(value.id).toBe(RUN);
    expect(s.requests).toHaveLength(2);
    const [gap] = arrivalGaps(s);
    expect(gap).toBeGreaterThanOrEqual(150); // not before the timeout…
    expect(gap).toBeLessThan(1_000); // …and without waiting for the slow answer
    expect(performance.now() - started).toBeLessThan(1_400);
    expect(events[0]).toEqual({ operation: expect.any(String), status: 0, outcome: 'retry' });
  });

  it('a response slower than usual but within the timeout is simply awaited', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'delay', delayMs: 200, match: { times: 1 } });
    const { client } = clientFor(s, { timeoutMillis: 2_000 });
    await client.getRun(THREAD, RUN);
    expect(s.requests).toHaveLength(1);
  });

  it('always too slow: retries exhausted, and the message says it timed out', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'delay', delayMs: 1_000 });
    const { logger, lines } = captureLogger();
    const { client } = clientFor(s, { timeoutMillis: 60, retry: { ...FAST_RETRY, maxAttempts: 3 }, logger });
    const error = await apiError(client.listRuns(THREAD));
    expect(error).toMatchObject({ kind: 'retries_exhausted', details: { attempts: 3 } });
    expect(error.message).toMatch(/last: timed out/);
    expect(s.requests).toHaveLength(3);
    expect(lines.filter((l) => l.includes('"reason":"timed out"'))).toHaveLength(2);
  });

  it('a body that stalls after the headers is a timeout too: retried, not reported as a malformed payload', async () => {
    // The simulator always sends whole bodies; this stub sends the headers and half a body, then stalls.
    let requests = 0;
    stub = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"object":"list","data":[');
    });
    await new Promise<void>((resolve) => stub?.listen(0, '127.0.0.1', resolve));
    const port = (stub.address() as AddressInfo).port;
    const client = createAssistantsClient({
      provider: createProvider({ baseUrl: `http://127.0.0.1:${port}/v1` }),
      timeoutMillis: 100,
      retry: { ...FAST_RETRY, maxAttempts: 2 },
      budget: new RequestBudget({ requestsPerSecond: 1000 }),
    });
    const error = await apiError(client.listRuns(THREAD));
    expect(error.message).toMatch(/timed out/);
    expect(error.kind).toBe('retries_exhausted');
    expect(requests).toBe(2);
  });
});

describe('dropped connections', () => {
  it('a dropped connection is retried and the request goes through', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'drop-connection', match: { times: 2 } });
    const { client, events } = clientFor(s);
    const page = await client.listRunSteps(THREAD, RUN);
    expect(page.items).toHaveLength(4);
    expect(s.requests.map((r) => r.status)).toEqual([null, null, 200]);
    expect(events.map((e) => [e.status, e.outcome])).toEqual([
      [0, 'retry'],
      [0, 'retry'],
      [200, 'ok'],
    ]);
  });

  it('connections dropped every time: retries exhausted, naming the transport failure', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'drop-connection' });
    const { client } = clientFor(s);
    const error = await apiError(client.listRuns(THREAD));
    expect(error.kind).toBe('retries_exhausted');
    expect(error.message).toMatch(/gave up after 4 attempts \(last: (UND_ERR_SOCKET|ECONNRESET|other side closed)/);
    expect(s.requests).toHaveLength(4);
  });

  it('nothing listening at all: retries exhausted with the connection error', async () => {
    const s = await simulator();
    const url = s.url;
    await s.close();
    sim = undefined;
    const client = createAssistantsClient({ provider: createProvider({ baseUrl: url }), retry: { ...FAST_RETRY, maxAttempts: 2 } });
    const error = await apiError(client.listRuns(THREAD));
    expect(error.kind).toBe('retries_exhausted');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });
});

describe('malformed answers', () => {
  it('a JSON body cut in half is an invalid payload', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'malformed-json', match: { operation: 'listRunSteps', times: 1 } });
    const { client, events } = clientFor(s);
    const error = await apiError(client.listRunSteps(THREAD, RUN));
    expect(error).toMatchObject({ kind: 'invalid_payload', details: { status: 200 } });
    expect(error.message).toMatch(/not valid JSON/);
    expect(s.requests).toHaveLength(1);
    expect(events).toEqual([{ operation: expect.any(String), status: 200, outcome: 'error' }]);
  });
});

describe('aborting and the budget', () => {
  it('an abort during a Retry-After wait ends the call at once as aborted', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'rate-limit', retryAfterSeconds: 30, match: { times: 1 } });
    const { client } = clientFor(s);
    const controller = new AbortController();
    const pending = client.listRuns(THREAD, {}, controller.signal);
    await expect.poll(() => s.requests.length).toBe(1);
    await expect.poll(() => s.requests[0]?.status).toBe(429);
    const started = performance.now();
    controller.abort();
    const error = await apiError(pending);
    expect(error.kind).toBe('aborted');
    expect(performance.now() - started).toBeLessThan(500);
    expect(s.requests).toHaveLength(1);
  });

  it('an abort during a slow response ends the call as aborted, with no retry', async () => {
    const s = await simulator();
    s.faults.add({ kind: 'delay', delayMs: 2_000, match: { times: 1 } });
    const { client } = clientFor(s);
    const controller = new AbortController();
    const pending = client.getRun(THREAD, RUN, controller.signal);
    await expect.poll(() => s.requests.length).toBe(1);
    controller.abort();
    expect((await apiError(pending)).kind).toBe('aborted');
    expect(s.requests).toHaveLength(1);
  });

  it('no budget slot is leaked, whatever the outcome', async () => {
    const s = await simulator();
    const budget = new RequestBudget({ maxConcurrency: 2, requestsPerSecond: 1000 });
    const { client } = clientFor(s, { budget, timeoutMillis: 80 });
    s.faults.add({ kind: 'server-error', status: 503, match: { times: 4 } });
    await apiError(client.listRuns(THREAD)); // retries exhausted
    s.faults.add({ kind: 'malformed-json', match: { times: 1 } });
    await apiError(client.listRuns(THREAD)); // invalid payload
    s.faults.add({ kind: 'delay', delayMs: 500, match: { times: 1 } });
    s.faults.add({ kind: 'drop-connection', match: { times: 1 } });
    await client.listRuns(THREAD); // a timeout, a dropped connection, then success
    await apiError(client.getRun(THREAD, 'run_nosuch')); // not found
    expect(budget.stats()).toMatchObject({ inFlight: 0, waiting: 0 });
    expect(budget.stats().peakInFlight).toBeLessThanOrEqual(2);
  });
});
