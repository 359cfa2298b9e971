/**
 * The registration endpoint (`--listen`): POST /v1/watch adds a thread or a run (with a traceparent
 * that parents its trace), DELETE stops watching, /healthz and /metrics; every refusal is answered
 * with its status and reason; `/v1/*` needs the bearer token when ASSISTANTS_OTEL_LISTEN_TOKEN is set.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningCli } from '../../support/cli.js';
import {
  cleanupAll,
  comparable,
  countById,
  expectedSpans,
  metricValue,
  outputOf,
  pickComparable,
  registrationUrl,
  startWatch,
  startWorld,
  subjectOf,
  waitUntil,
  type World,
} from './helpers.js';

afterEach(cleanupAll);

const TOKEN = 'listen-token-e2e-7f3a';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** One HTTP request with node:http (so an early answer to a large upload is still read). */
function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body !== undefined ? Buffer.from(options.body) : undefined;
    const framing = body ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {};
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: { ...framing, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (base: string, body: unknown, headers: Record<string, string> = AUTH) =>
  call(`${base}/v1/watch`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const del = (base: string, body: unknown, headers: Record<string, string> = AUTH) =>
  call(`${base}/v1/watch`, { method: 'DELETE', headers, body: JSON.stringify(body) });

describe('the registration endpoint', () => {
  let world: World;
  let cli: RunningCli;
  let base: string;
  beforeEach(async () => {
    world = await startWorld();
    world.threads = [];
    // `--listen 0`: an ephemeral port on loopback (the default host).
    cli = startWatch(world, ['--memory-state', '--listen', '0'], { listen: false, env: { ASSISTANTS_OTEL_LISTEN_TOKEN: TOKEN } });
    base = await registrationUrl(cli);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('POST a thread: its new runs are exported; DELETE: it is no longer polled', async () => {
    const thread = world.sim.createThread();
    const added = await post(base, { thread_id: thread.id });
    expect(added.status, added.text).toBe(201);
    expect(added.json).toEqual({ watching: 'thread', thread_id: thread.id, status: 'added' });
    expect((await post(base, { thread_id: thread.id })).json).toMatchObject({ status: 'already' });
    expect(cli.stderr()).toMatch(new RegExp(`watch registered .*thread_id=${thread.id} status=added`));

    const run = world.sim.startRun(thread.id, 'every-tool');
    await waitUntil(() => world.receiver.spans().some((s) => subjectOf(s).runId === run.id && subjectOf(s).kind === 'run'), { what: `run ${run.id} exported`, details: () => outputOf(cli) });
    const expected = expectedSpans(world, { threads: [thread.id] });
    const received = world.receiver.spans();
    expect(received.length).toBe(expected.length);
    const byId = new Map(received.map((s) => [s.spanId, s]));
    for (const span of expected) expect(pickComparable(byId.get(span.spanId)!), span.name).toEqual(comparable(span));

    // DELETE (by query string this time); a second DELETE finds nothing.
    const other = world.sim.createThread();
    expect((await post(base, { thread_id: other.id })).status).toBe(201);
    const removed = await call(`${base}/v1/watch?thread_id=${thread.id}`, { method: 'DELETE', headers: AUTH });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.json).toEqual({ removed: true });
    const removedAt = performance.now();
    const again = await del(base, { thread_id: thread.id });
    expect(again.status).toBe(404);
    expect(again.json).toEqual({ error: `thread ${thread.id} is not watched` });

    // A run on the removed thread and, after it, one on a watched thread: only the second is exported,
    // and the removed thread is not even listed any more.
    const ignored = world.sim.startRun(thread.id, 'message');
    const watched = world.sim.startRun(other.id, 'message');
    await waitUntil(() => world.receiver.spans().some((s) => subjectOf(s).runId === watched.id && subjectOf(s).kind === 'run'), { what: `run ${watched.id} exported`, details: () => outputOf(cli) });
    const listedAfterOtherExport = world.sim.requests.filter((r) => r.operation === 'listRuns' && r.path.includes(other.id)).length;
    await waitUntil(() => world.sim.requests.filter((r) => r.operation === 'listRuns' && r.path.includes(other.id)).length >= listedAfterOtherExport + 2, {
      what: 'two more discoveries of the watched thread',
    });
    expect(world.receiver.spans().filter((s) => subjectOf(s).runId === ignored.id)).toEqual([]);
    const late = world.sim.requests.filter((r) => r.path.includes(thread.id) && world.simStartedAt + r.receivedAtMs > removedAt + 50);
    expect(late.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(cli.stderr()).toMatch(new RegExp(`watch removed .*thread_id=${thread.id}`));
  });

  it('POST a thread the API does not know: 404 with the reason, not watched; checked with one listing, not again once watched', async () => {
    const answer = await post(base, { thread_id: 'thread_nope' }, { Authorization: `bearer ${TOKEN}` });
    expect(answer.status, answer.text).toBe(404);
    expect(answer.json).toEqual({ error: 'thread thread_nope: not found at the API (it answered 404); not watched' });
    const listed = await call(`${base}/v1/watch`, { headers: AUTH });
    expect(listed.json).toEqual({ threads: [], runs: [] });
    expect(cli.stderr()).toMatch(/WARN\s+watch refused: thread not found at the API .*thread_id=thread_nope/);
    expect(cli.stderr()).not.toMatch(/watch registered .*thread_nope/);

    // A thread that exists: one listing of one run before the 201, none for a second registration.
    const thread = world.sim.createThread();
    const checks = () => world.sim.requests.filter((r) => r.operation === 'listRuns' && r.path.includes(thread.id) && r.query['limit'] === '1');
    expect((await post(base, { thread_id: thread.id })).status).toBe(201);
    expect(checks().length).toBe(1);
    expect((await post(base, { thread_id: thread.id })).json).toMatchObject({ status: 'already' });
    expect(checks().length).toBe(1);
  });

  it('POST a run with a traceparent: its trace id and parent come from it; DELETE a run', async () => {
    const thread = world.sim.createThread(); // not watched: only the run is
    const run = world.sim.startRun(thread.id, 'every-tool');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    const traceparent = `00-${traceId}-${parentSpanId}-01`;
    const added = await post(base, { thread_id: thread.id, run_id: run.id, traceparent });
    expect(added.status, added.text).toBe(201);
    expect(added.json).toEqual({ watching: 'run', thread_id: thread.id, run_id: run.id, status: 'added' });

    await waitUntil(() => world.receiver.spans().some((s) => subjectOf(s).runId === run.id && subjectOf(s).kind === 'run'), { what: `run ${run.id} exported`, details: () => outputOf(cli) });
    const spans = world.receiver.spans();
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
    const runSpan = spans.find((s) => subjectOf(s).kind === 'run')!;
    expect(runSpan.parentSpanId).toBe(parentSpanId);
    expect(runSpan.attributes['assistants.run.metadata.traceparent']).toBeUndefined();
    const expected = expectedSpans(world, { threads: [thread.id], traceparents: new Map([[run.id, traceparent]]) });
    expect(spans.length).toBe(expected.length);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const span of expected) expect(pickComparable(byId.get(span.spanId)!), span.name).toEqual(comparable(span));
    expect([...countById(spans)].filter(([, n]) => n > 1)).toEqual([]);
    // An exported run says so.
    expect((await post(base, { thread_id: thread.id, run_id: run.id })).json).toMatchObject({ status: 'exported' });

    // DELETE a run that is being watched: it is forgotten, never exported.
    const waiting = world.sim.startRun(thread.id, 'function-client'); // waits for tool outputs that never come
    expect((await post(base, { thread_id: thread.id, run_id: waiting.id })).status).toBe(201);
    await waitUntil(() => world.sim.requests.some((r) => r.operation === 'getRun' && r.path.endsWith(waiting.id)), { what: `a poll of ${waiting.id}` });
    const removed = await del(base, { thread_id: thread.id, run_id: waiting.id });
    expect(removed.status, removed.text).toBe(200);
    const removedAt = performance.now();
    expect((await del(base, { thread_id: thread.id, run_id: waiting.id })).json).toEqual({ error: `run ${waiting.id} is not watched` });
    await waitUntil(() => world.sim.run(thread.id, waiting.id)?.status === 'requires_action', { what: `${waiting.id} waiting for tool outputs` });
    world.sim.submitToolOutputs(thread.id, waiting.id, {});
    await waitUntil(() => world.sim.run(thread.id, waiting.id)?.status === 'completed', { what: `${waiting.id} completed` });
    const polls = () => world.sim.requests.filter((r) => r.path.includes(waiting.id) && world.simStartedAt + r.receivedAtMs > removedAt + 50);
    // Give it the chance to poll: a discovery-free sidecar polls runs every 100 ms; two other requests must pass.
    const other = world.sim.startRun(world.sim.createThread().id, 'message');
    expect((await post(base, { thread_id: other.thread_id, run_id: other.id })).status).toBe(201);
    await waitUntil(() => world.receiver.spans().some((s) => subjectOf(s).runId === other.id && subjectOf(s).kind === 'run'), { what: `run ${other.id} exported` });
    expect(polls().map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(world.receiver.spans().some((s) => subjectOf(s).runId === waiting.id)).toBe(false);
  });

  it('answers bad requests with 400 and the reason', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['invalid JSON', '{"thread_id": ', /^body: not valid JSON$/],
      ['missing thread_id', '{}', /^thread_id: required$/],
      ['a bad traceparent', JSON.stringify({ thread_id: 'thread_a', run_id: 'run_a', traceparent: '00-XYZ-00f067aa0ba902b7-01' }), /^traceparent: not a valid W3C traceparent/],
      ['an all-zero trace id', JSON.stringify({ thread_id: 'thread_a', run_id: 'run_a', traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }), /^traceparent: not a valid W3C traceparent/],
      ['a traceparent without run_id', JSON.stringify({ thread_id: 'thread_a', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), /^traceparent: needs run_id/],
      ['an unknown field', JSON.stringify({ thread_id: 'thread_a', colour: 'blue' }), /^unknown field\(s\): colour$/],
      ['a number for thread_id', JSON.stringify({ thread_id: 42 }), /^thread_id: must be a string$/],
      ['an array for run_id', JSON.stringify({ thread_id: 'thread_a', run_id: ['run_a'] }), /^run_id: must be a string$/],
      ['an id with a slash', JSON.stringify({ thread_id: 'thread/../x' }), /^thread_id: must be an API object id/],
      ['a JSON array', '[]', /./],
    ];
    for (const [what, body, reason] of cases) {
      const answer = await post(base, body);
      expect(answer.status, `${what}: ${answer.text}`).toBe(400);
      expect(answer.headers['content-type']).toBe('application/json');
      const error = (answer.json as { error?: string } | undefined)?.error ?? '';
      expect.soft(error, `${what}: ${body}`).toMatch(reason);
    }
    // A DELETE is checked the same way.
    expect((await call(`${base}/v1/watch?thread_id=thread_a&colour=blue`, { method: 'DELETE', headers: AUTH })).status).toBe(400);
    expect(world.sim.requests).toEqual([]); // nothing was registered, so nothing was polled
  });

  it('413 for an oversized body, 401 without the token, 405 for a wrong method, 404 elsewhere', async () => {
    const huge = JSON.stringify({ thread_id: 'thread_a', padding: 'x'.repeat(20_000) });
    const tooLarge = await post(base, huge);
    expect(tooLarge.status).toBe(413);
    expect((tooLarge.json as { error: string }).error).toMatch(/body larger than \d+ bytes/);

    for (const headers of [{}, { Authorization: 'Bearer wrong-token' }, { Authorization: TOKEN }]) {
      const refused = await post(base, { thread_id: 'thread_a' }, headers);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.json).toEqual({ error: 'missing or wrong bearer token' });
    }
    expect((await del(base, { thread_id: 'thread_a' }, {})).status).toBe(401);

    const put = await call(`${base}/v1/watch`, { method: 'PUT', headers: AUTH, body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers['allow']).toBe('GET, POST, DELETE');
    const listed = await call(`${base}/v1/watch`, { headers: AUTH });
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({ threads: [], runs: [] });
    const postHealth = await call(`${base}/healthz`, { method: 'POST', body: '{}' });
    expect(postHealth.status).toBe(405);
    expect(postHealth.headers['allow']).toBe('GET');
    expect((await call(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405);
    expect((await call(`${base}/v2/watch`)).status).toBe(404);

    // None of that registered anything.
    const metrics = await call(`${base}/metrics`);
    expect(metricValue(metrics.text, 'assistants_otel_watched', '{kind="thread"}')).toBe(0);
  });

  it('GET /healthz and GET /metrics (Prometheus text) need no token', async () => {
    const health = await call(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });

    const thread = world.sim.createThread();
    expect((await post(base, { thread_id: thread.id })).status).toBe(201);
    const run = world.sim.startRun(thread.id, 'every-tool');
    await waitUntil(() => world.receiver.spans().some((s) => subjectOf(s).runId === run.id && subjectOf(s).kind === 'run'), { what: `run ${run.id} exported` });
    const spans = world.receiver.spans().length;

    const metrics = await call(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(String(metrics.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = metrics.text;
    for (const name of [
      'assistants_otel_api_requests_total',
      'assistants_otel_exported_total',
      'assistants_otel_export_retries_total',
      'assistants_otel_records_rejected_total',
      'assistants_otel_export_latency_seconds',
      'assistants_otel_delivery_queue_spans',
      'assistants_otel_export_lag_seconds',
      'assistants_otel_watched',
      'assistants_otel_polling_paused',
      'assistants_otel_poll_effective_interval_seconds',
      'assistants_otel_poll_overdue_seconds',
      'assistants_otel_poll_overdue',
      'assistants_otel_api_stuck_requests',
      'assistants_otel_watch_dropped_total',
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
    }
    expect(metricValue(text, 'assistants_otel_exported_total', '{kind="run"}')).toBe(1);
    expect(metricValue(text, 'assistants_otel_exported_total', '{kind="span"}')).toBe(spans);
    expect(metricValue(text, 'assistants_otel_export_latency_seconds_count')).toBe(1);
    expect(metricValue(text, 'assistants_otel_watched', '{kind="thread"}')).toBe(1);
    expect(metricValue(text, 'assistants_otel_watched', '{kind="run"}')).toBe(0);
    expect(metricValue(text, 'assistants_otel_polling_paused')).toBe(0);
    // A watched thread's run is read through the thread's listing: no getRun.
    expect(metricValue(text, 'assistants_otel_api_requests_total', '{operation="list_runs",status="200",outcome="ok"}')).toBeGreaterThan(0);
    expect(metricValue(text, 'assistants_otel_api_requests_total', '{operation="get_run",status="200",outcome="ok"}')).toBeUndefined();
    expect(metricValue(text, 'assistants_otel_poll_overdue')).toBe(0);
    expect(metricValue(text, 'assistants_otel_api_stuck_requests')).toBe(0);
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^assistants_otel_[a-z_]+(\{[^}]*\})? [-+0-9.eEInf]+$/);
  });
});

describe('DELETE /v1/watch while a discovery of that thread is in flight', () => {
  it('the thread stays removed, also after a restart', async () => {
    const world = await startWorld();
    world.threads = [];
    const state = join(world.dir, 'state.json');
    const thread = world.sim.createThread();
    const run = world.sim.startRun(thread.id, 'message'); // the discovery finds it, so its cursor moves
    // Hold the first discovery of the thread for 800 ms: the DELETE lands while it is in flight. (The
    // listing before it is the registration's check that the thread exists: let through.)
    world.sim.faults.add({ kind: 'delay', delayMs: 800, match: { operation: 'listRuns', path: `/threads/${thread.id}/runs`, after: 1, times: 1 } });
    const cli = startWatch(world, ['--state', state]);
    const base = await registrationUrl(cli);
    expect((await post(base, { thread_id: thread.id })).status).toBe(201);
    const discovery = await waitUntil(() => world.sim.requests.filter((r) => r.operation === 'listRuns' && r.path.includes(thread.id))[1], { what: 'the discovery' });
    expect(discovery.status, 'still in flight').toBeNull();
    const removed = await del(base, { thread_id: thread.id });
    expect(removed.status, removed.text).toBe(200);
    // The held discovery completes; what it found is dropped with the thread (the user stopped
    // watching it), and nothing of it is written back to the state.
    await waitUntil(() => world.sim.requests.find((r) => r === discovery && r.status !== null), { what: 'the held discovery to complete' });
    await waitUntil(async () => metricValue((await call(`${base}/metrics`)).text, 'assistants_otel_watched', '{kind="run"}') === 0, { what: 'no run followed' });
    const metrics = (await call(`${base}/metrics`)).text;
    expect(metricValue(metrics, 'assistants_otel_watched', '{kind="thread"}')).toBe(0);
    expect(world.receiver.spans().filter((s) => subjectOf(s).runId === run.id)).toEqual([]);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });

    // What was persisted: a restart must not watch the thread again.
    const again = startWatch(world, ['--state', state]);
    const watching = await again.waitForOutput(/watching component=poller threads=(\d+)/, { stream: 'stderr' });
    expect(await again.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(watching.match?.[1], `threads watched after restart, though ${thread.id} was deleted\n${outputOf(cli)}`).toBe('0');
  });
});
