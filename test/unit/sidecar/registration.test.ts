/**
 * The registration endpoint (src/sidecar/registration.ts), in process on 127.0.0.1 with a fake
 * `WatchControl`: every route and every refusal, each saying why in `{"error": …}`.
 *
 *   GET    /v1/watch   what is watched
 *   POST   /v1/watch   {"thread_id", "run_id"?, "traceparent"?}   201 when added, 200 when already watched
 *   DELETE /v1/watch   same body, or ?thread_id=&run_id=
 *   GET    /healthz    200, or 503 while stopping
 *   GET    /metrics    Prometheus text
 *
 * `/v1/*` needs `Authorization: Bearer <token>` when a token is set; bodies over the limit get 413.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startRegistrationServer, type RegistrationServerOptions, type WatchControl } from '../../../src/sidecar/registration.js';
import type { WatchedRun, WatchedThread } from '../../../src/state/store.js';
import { TRACEPARENT } from '../../fixtures/records.js';
import { recordingLogger } from '../../support/recording-logger.js';

// ---- the fake control and the server -----------------------------------------------------------------

type ThreadAnswer = Awaited<ReturnType<WatchControl['watchThread']>>;
type RunAnswer = Awaited<ReturnType<WatchControl['watchRun']>>;

class FakeControl implements WatchControl {
  readonly calls: Array<[string, ...unknown[]]> = [];
  threadAnswer: ThreadAnswer | (() => Promise<ThreadAnswer>) = 'added';
  runAnswer: RunAnswer = 'added';
  removed = true;
  watching: { threads: Array<WatchedThread & { owner?: string | null }>; runs: Array<WatchedRun & { owner?: string | null }> } = { threads: [], runs: [] };
  /** Set: unwatch calls reject with it (a fleet member asked about another member's item). */
  unwatchError: Error | undefined;

  listing() {
    this.calls.push(['listing']);
    return Promise.resolve(this.watching);
  }

  watchThread(threadId: string): Promise<ThreadAnswer> {
    this.calls.push(['watchThread', threadId]);
    return typeof this.threadAnswer === 'function' ? this.threadAnswer() : Promise.resolve(this.threadAnswer);
  }
  unwatchThread(threadId: string): Promise<boolean> {
    this.calls.push(['unwatchThread', threadId]);
    return this.unwatchError ? Promise.reject(this.unwatchError) : Promise.resolve(this.removed);
  }
  watchRun(threadId: string, runId: string, traceparent?: string): Promise<RunAnswer> {
    this.calls.push(['watchRun', threadId, runId, traceparent]);
    return Promise.resolve(this.runAnswer);
  }
  unwatchRun(runId: string): Promise<boolean> {
    this.calls.push(['unwatchRun', runId]);
    return Promise.resolve(this.removed);
  }
}

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function server(options: Partial<RegistrationServerOptions> = {}) {
  const control = new FakeControl();
  const { logger, lines } = recordingLogger();
  let healthy = true;
  const started = await startRegistrationServer({
    host: '127.0.0.1',
    port: 0,
    control,
    metrics: { render: () => Promise.resolve('# HELP x_total x\n# TYPE x_total counter\nx_total 1\n'), contentType: 'text/plain; version=0.0.4; charset=utf-8' },
    healthy: () => healthy,
    logger,
    ...options,
  });
  closers.push(() => started.close());
  return {
    url: started.url,
    control,
    lines,
    close: started.close,
    setHealthy: (value: boolean) => (healthy = value),
    /** A request; the JSON body (when JSON) is parsed. */
    async call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
      const response = await fetch(`${started.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      const json = (response.headers.get('content-type') ?? '').startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      return { status: response.status, headers: response.headers, text, json };
    },
  };
}

// ---- POST /v1/watch ----------------------------------------------------------------------------------

describe('POST /v1/watch', () => {
  it('listens on the loopback address it was given', async () => {
    const s = await server();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a thread: 201 when added', async () => {
    const s = await server();
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}');
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ watching: 'thread', thread_id: 'thread_abc', status: 'added' });
    expect(s.control.calls).toEqual([['watchThread', 'thread_abc']]);
  });

  it('a thread: 200 when already watched', async () => {
    const s = await server();
    s.control.threadAnswer = 'already';
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ watching: 'thread', thread_id: 'thread_abc', status: 'already' });
  });

  it('a run with a traceparent: 201 when added, the traceparent handed over', async () => {
    const s = await server();
    const r = await s.call('POST', '/v1/watch', JSON.stringify({ thread_id: 'thread_abc', run_id: 'run_123', traceparent: TRACEPARENT.header }));
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ watching: 'run', thread_id: 'thread_abc', run_id: 'run_123', status: 'added' });
    expect(s.control.calls).toEqual([['watchRun', 'thread_abc', 'run_123', TRACEPARENT.header]]);
  });

  it('a run without a traceparent', async () => {
    const s = await server();
    await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc","run_id":"run_123"}');
    expect(s.control.calls).toEqual([['watchRun', 'thread_abc', 'run_123', undefined]]);
  });

  it.each(['already', 'updated', 'exported'] as const)('a run: 200 when %s', async (status) => {
    const s = await server();
    s.control.runAnswer = status;
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc","run_id":"run_123"}');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ watching: 'run', thread_id: 'thread_abc', run_id: 'run_123', status });
  });

  it('answers only once the registration is durable', async () => {
    const s = await server();
    let resolve!: (answer: ThreadAnswer) => void;
    s.control.threadAnswer = () => new Promise<ThreadAnswer>((r) => (resolve = r));
    let answered = false;
    const pending = s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}').then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(answered).toBe(false);
    resolve('added');
    expect((await pending).status).toBe(201);
  });

  it('accepts ids with the characters API ids use', async () => {
    const s = await server();
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_A-b.c:d_9"}');
    expect(r.status).toBe(201);
  });
});

describe('POST /v1/watch: 400 says why', () => {
  it.each([
    ['not JSON', '{"thread_id":', 'body: not valid JSON'],
    ['an empty body', '', 'body: not valid JSON'],
    ['an array', '["thread_abc"]', 'body: expected a JSON object'],
    ['a string', '"thread_abc"', 'body: expected a JSON object'],
    ['null', 'null', 'body: expected a JSON object'],
    ['no thread_id', '{}', 'thread_id: required'],
    ['thread_id null', '{"thread_id":null}', 'thread_id: '],
    ['a number for thread_id', '{"thread_id":42}', 'thread_id: must be a string'],
    ['a number for run_id', '{"thread_id":"thread_abc","run_id":42}', 'run_id: must be a string'],
    ['a thread_id that is no API id', '{"thread_id":"thread abc/../x"}', 'thread_id: must be an API object id'],
    ['an empty thread_id', '{"thread_id":""}', 'thread_id: must be an API object id'],
    ['a number for traceparent', '{"thread_id":"t","run_id":"r","traceparent":7}', 'traceparent: must be a string'],
    ['an unknown field', '{"thread_id":"thread_abc","thread":"x"}', 'unknown field(s): thread'],
    ['two unknown fields', '{"thread_id":"thread_abc","a":1,"b":2}', 'unknown field(s): a, b'],
    ['a bad traceparent', '{"thread_id":"t","run_id":"r","traceparent":"00-xyz-abc-01"}', 'traceparent: not a valid W3C traceparent'],
    ['an all-zero trace id', `{"thread_id":"t","run_id":"r","traceparent":"00-${'0'.repeat(32)}-00f067aa0ba902b7-01"}`, 'traceparent: not a valid W3C traceparent'],
    ['a traceparent without run_id', `{"thread_id":"thread_abc","traceparent":"${TRACEPARENT.header}"}`, 'traceparent: needs run_id'],
  ])('%s', async (_name, body, reason) => {
    const s = await server();
    const r = await s.call('POST', '/v1/watch', body);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(typeof r.json?.['error']).toBe('string');
    expect(r.json?.['error']).toContain(reason);
    expect(s.control.calls).toEqual([]); // nothing registered
  });

  it('names every problem at once', async () => {
    const s = await server();
    const r = await s.call('POST', '/v1/watch', '{"run_id":5,"extra":true}');
    expect(r.status).toBe(400);
    const error = r.json?.['error'] as string;
    expect(error).toContain('thread_id: required');
    expect(error).toContain('run_id: must be a string');
    expect(error).toContain('unknown field(s): extra');
  });
});

// ---- DELETE /v1/watch --------------------------------------------------------------------------------

describe('DELETE /v1/watch', () => {
  it('a thread, by body', async () => {
    const s = await server();
    const r = await s.call('DELETE', '/v1/watch', '{"thread_id":"thread_abc"}');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ removed: true });
    expect(s.control.calls).toEqual([['unwatchThread', 'thread_abc']]);
  });

  it('a run, by body', async () => {
    const s = await server();
    const r = await s.call('DELETE', '/v1/watch', '{"thread_id":"thread_abc","run_id":"run_123"}');
    expect(r.status).toBe(200);
    expect(s.control.calls).toEqual([['unwatchRun', 'run_123']]);
  });

  it('a thread, by query string', async () => {
    const s = await server();
    const r = await s.call('DELETE', '/v1/watch?thread_id=thread_abc');
    expect(r.status).toBe(200);
    expect(s.control.calls).toEqual([['unwatchThread', 'thread_abc']]);
  });

  it('a run, by query string', async () => {
    const s = await server();
    const r = await s.call('DELETE', '/v1/watch?thread_id=thread_abc&run_id=run_123');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ removed: true });
    expect(s.control.calls).toEqual([['unwatchRun', 'run_123']]);
  });

  it('404 when the thread is not watched', async () => {
    const s = await server();
    s.control.removed = false;
    const r = await s.call('DELETE', '/v1/watch', '{"thread_id":"thread_abc"}');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'thread thread_abc is not watched' });
  });

  it('404 when the run is not watched', async () => {
    const s = await server();
    s.control.removed = false;
    const r = await s.call('DELETE', '/v1/watch?thread_id=thread_abc&run_id=run_123');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'run run_123 is not watched' });
  });

  it.each([
    ['no thread_id in the query', '/v1/watch', undefined, 'thread_id: required'],
    ['an unknown query parameter', '/v1/watch?thread_id=t&foo=1', undefined, 'unknown field(s): foo'],
    ['a bad id in the query', '/v1/watch?thread_id=a%20b', undefined, 'thread_id: must be an API object id'],
    ['a body that is not JSON', '/v1/watch', '{oops', 'body: not valid JSON'],
    ['a body with an unknown field', '/v1/watch', '{"thread_id":"t","x":1}', 'unknown field(s): x'],
  ])('400 for %s', async (_name, path, body, reason) => {
    const s = await server();
    const r = await s.call('DELETE', path, body);
    expect(r.status).toBe(400);
    expect(r.json?.['error']).toContain(reason);
    expect(s.control.calls).toEqual([]);
  });
});

// ---- authentication ---------------------------------------------------------------------------------

describe('the bearer token', () => {
  const TOKEN = 's3cret-t0ken';

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { Authorization: 'Bearer nope' }],
    ['a token of another length', { Authorization: `Bearer ${TOKEN}x` }],
    ['another scheme', { Authorization: `Basic ${TOKEN}` }],
    ['the token without the scheme', { Authorization: TOKEN }],
    ['the scheme glued to the token', { Authorization: `Bearer${TOKEN}` }],
    ['the scheme alone', { Authorization: 'Bearer ' }],
  ])('401 with %s', async (_name, headers: Record<string, string>) => {
    const s = await server({ token: TOKEN });
    for (const method of ['POST', 'DELETE']) {
      const r = await s.call(method, '/v1/watch', '{"thread_id":"thread_abc"}', headers);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      expect(r.json).toEqual({ error: 'missing or wrong bearer token' });
      expect(r.text).not.toContain(TOKEN);
    }
    expect(s.control.calls).toEqual([]);
  });

  it('the right token is let through', async () => {
    const s = await server({ token: TOKEN });
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}', { Authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(201);
    const d = await s.call('DELETE', '/v1/watch?thread_id=thread_abc', undefined, { Authorization: `Bearer ${TOKEN}` });
    expect(d.status).toBe(200);
  });

  it.each(['bearer', 'BEARER', 'bEaReR'])('the scheme in any case (RFC 7235): %s', async (scheme) => {
    const s = await server({ token: TOKEN });
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}', { Authorization: `${scheme} ${TOKEN}` });
    expect(r.status).toBe(201);
    expect((await s.call('GET', '/v1/watch', undefined, { Authorization: `${scheme}  ${TOKEN}` })).status).toBe(200);
  });

  it('is checked before anything else on /v1/watch (a wrong method too)', async () => {
    const s = await server({ token: TOKEN });
    expect((await s.call('GET', '/v1/watch')).status).toBe(401);
    expect((await s.call('POST', '/v1/watch', 'not json')).status).toBe(401);
  });

  it('is not needed for /healthz and /metrics', async () => {
    const s = await server({ token: TOKEN });
    expect((await s.call('GET', '/healthz')).status).toBe(200);
    expect((await s.call('GET', '/metrics')).status).toBe(200);
  });
});

// ---- other routes and methods ------------------------------------------------------------------------

describe('routes and methods', () => {
  it('GET /healthz: 200 while running, 503 while stopping', async () => {
    const s = await server();
    const ok = await s.call('GET', '/healthz');
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: 'ok' });
    s.setHealthy(false);
    const stopping = await s.call('GET', '/healthz');
    expect(stopping.status).toBe(503);
    expect(stopping.json).toEqual({ status: 'stopping' });
  });

  it('GET /metrics: the rendered text, with the registry\'s content type', async () => {
    const s = await server();
    const r = await s.call('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text).toBe('# HELP x_total x\n# TYPE x_total counter\nx_total 1\n');
  });

  it.each(['/', '/v1', '/v1/watch/extra', '/v2/watch', '/healthz/', '/metrics.txt'])('404 for %s', async (path) => {
    const s = await server();
    const r = await s.call('GET', path);
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: `no such endpoint: ${path}` });
  });

  it('GET /v1/watch: every thread and run watched, in snake_case with ISO times', async () => {
    const s = await server();
    s.control.watching = {
      threads: [
        { threadId: 'thread_a', since: 1_714_560_000, lastActivityAt: 1_714_560_123_456, cursor: 'run_9' },
        { threadId: 'thread_b', since: 0, lastActivityAt: 1_714_560_000_000 },
      ],
      runs: [
        { threadId: 'thread_a', runId: 'run_1', traceparent: TRACEPARENT.header, exportedStepIds: ['step_1', 'step_2'] },
        { threadId: 'thread_c', runId: 'run_2', exportedStepIds: [] },
      ],
    };
    const r = await s.call('GET', '/v1/watch');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      threads: [
        { thread_id: 'thread_a', runs_since: '2024-05-01T10:40:00.000Z', last_activity_at: '2024-05-01T10:42:03.456Z' },
        { thread_id: 'thread_b', runs_since: null, last_activity_at: '2024-05-01T10:40:00.000Z' },
      ],
      runs: [
        { thread_id: 'thread_a', run_id: 'run_1', traceparent: TRACEPARENT.header, exported_steps: 2 },
        { thread_id: 'thread_c', run_id: 'run_2' },
      ],
    });
  });

  it('GET /v1/watch in a fleet: each item with its owner (null when nobody holds its lease)', async () => {
    const s = await server();
    s.control.watching = {
      threads: [
        { threadId: 'thread_a', since: 0, lastActivityAt: 1_714_560_000_000, owner: 'host-1-abc' },
        { threadId: 'thread_b', since: 0, lastActivityAt: 1_714_560_000_000, owner: null },
      ],
      runs: [{ threadId: 'thread_c', runId: 'run_2', exportedStepIds: [], owner: 'host-2-def' }],
    };
    expect((await s.call('GET', '/v1/watch')).json).toEqual({
      threads: [
        { thread_id: 'thread_a', runs_since: null, last_activity_at: '2024-05-01T10:40:00.000Z', owner: 'host-1-abc' },
        { thread_id: 'thread_b', runs_since: null, last_activity_at: '2024-05-01T10:40:00.000Z', owner: null },
      ],
      runs: [{ thread_id: 'thread_c', run_id: 'run_2', owner: 'host-2-def' }],
    });
  });

  it('DELETE /v1/watch of what another fleet member follows: 409 with the reason', async () => {
    const s = await server();
    const error = new Error('thread thread_abc is followed by fleet member host-2-def: send the DELETE to that member');
    error.name = 'NotOwnerError';
    s.control.unwatchError = error;
    const r = await s.call('DELETE', '/v1/watch', '{"thread_id":"thread_abc"}');
    expect(r.status).toBe(409);
    expect(r.json).toEqual({ error: error.message });
  });

  it('GET /v1/watch with nothing watched: empty lists', async () => {
    const s = await server();
    expect((await s.call('GET', '/v1/watch')).json).toEqual({ threads: [], runs: [] });
  });

  it.each(['PUT', 'PATCH'])('405 for %s /v1/watch, with Allow', async (method) => {
    const s = await server();
    const r = await s.call(method, '/v1/watch', '{"thread_id":"t"}');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, POST, DELETE');
    expect(r.json).toEqual({ error: `${method} not allowed on /v1/watch` });
    expect(s.control.calls).toEqual([]);
  });

  it.each([
    ['POST', '/healthz'],
    ['DELETE', '/metrics'],
    ['PUT', '/metrics'],
  ])('405 for %s %s, with Allow: GET', async (method, path) => {
    const s = await server();
    const r = await s.call(method, path, '');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
    expect(r.json).toEqual({ error: `${method} not allowed on ${path}` });
  });

  it('a query string does not change the route', async () => {
    const s = await server();
    expect((await s.call('GET', '/healthz?verbose=1')).status).toBe(200);
    expect((await s.call('POST', '/v1/watch?x=1', '{"thread_id":"thread_abc"}')).status).toBe(201);
  });

  it('500 when the control fails, logged, with nothing internal in the answer', async () => {
    const s = await server();
    s.control.threadAnswer = () => Promise.reject(new Error('EACCES: /var/lib/state.json'));
    const r = await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}');
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ error: 'internal error; see the sidecar log' });
    expect(s.lines.some((l) => l.level === 'error' && l.fields['error'] === 'EACCES: /var/lib/state.json')).toBe(true);
  });
});

// ---- body size ---------------------------------------------------------------------------------------

describe('413 for a body over the limit', () => {
  /** A raw request; `chunked` sends the body without Content-Length, in pieces. */
  function raw(url: string, body: string, options: { chunked?: boolean; method?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(`${url}/v1/watch`, { method: options.method ?? 'POST', headers: options.chunked ? {} : { 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      // The server may answer and close before the whole body is sent: that is the point.
      req.on('error', () => {});
      if (options.chunked) {
        for (let i = 0; i < body.length; i += 1024) req.write(body.slice(i, i + 1024));
        req.end();
      } else {
        req.end(body);
      }
    });
  }

  const big = (bytes: number) => JSON.stringify({ thread_id: 'thread_abc', pad: 'x'.repeat(bytes) });

  it('16 KiB by default: a larger declared body gets 413 and Connection: close', async () => {
    const s = await server();
    const r = await raw(s.url, big(16_384));
    expect(r.status).toBe(413);
    expect(r.headers['connection']).toBe('close');
    expect(JSON.parse(r.text)).toEqual({ error: 'body larger than 16384 bytes' });
    expect(s.control.calls).toEqual([]);
  });

  it('a body of exactly the limit is read (and judged on its content)', async () => {
    const s = await server({ maxBodyBytes: 64 });
    const body = JSON.stringify({ thread_id: 't'.repeat(40) });
    const padded = body + ' '.repeat(64 - body.length);
    expect(padded).toHaveLength(64);
    const r = await raw(s.url, padded);
    expect(r.status).toBe(201);
  });

  it('a chunked body without Content-Length is cut off at the limit too', async () => {
    const s = await server({ maxBodyBytes: 2_048 });
    const r = await raw(s.url, big(10_000), { chunked: true });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text)).toEqual({ error: 'body larger than 2048 bytes' });
    expect(s.control.calls).toEqual([]);
  });

  it('DELETE bodies are limited the same way', async () => {
    const s = await server({ maxBodyBytes: 100 });
    const r = await raw(s.url, big(500), { method: 'DELETE' });
    expect(r.status).toBe(413);
    expect(s.control.calls).toEqual([]);
  });

  it('the server keeps serving after a 413', async () => {
    const s = await server({ maxBodyBytes: 100 });
    await raw(s.url, big(5_000), { chunked: true });
    expect((await s.call('POST', '/v1/watch', '{"thread_id":"thread_abc"}')).status).toBe(201);
  });
});

describe('close()', () => {
  it('stops listening, also with a keep-alive connection open', async () => {
    const s = await server();
    expect((await s.call('GET', '/healthz')).status).toBe(200); // fetch keeps the connection alive
    await s.close();
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
