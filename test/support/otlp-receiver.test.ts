import { gzipSync } from 'node:zlib';
import http from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import { CHILD_SPAN_ID, ROOT_SPAN_ID, TRACE_ID, expectedSpans, jsonRequestText, protobufRequest } from './otlp-fixtures.js';
import { otlpSchema } from './otlp-proto.js';
import { encodeExportTraceRequest, formatTree, spanTree, startOtlpReceiver } from './otlp-receiver.js';
import type { OtlpReceiver, OtlpReceiverOptions, ReceivedSpan } from './otlp-receiver.js';

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function start(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const receiver = await startOtlpReceiver(options);
  receivers.push(receiver);
  return receiver;
}

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const protobufBody = encodeExportTraceRequest(protobufRequest);
const jsonBody = new TextEncoder().encode(jsonRequestText);

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

async function post(url: string, body: Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) };
}

/** A span as the tree tests need it; everything else at its default. */
function span(name: string, spanId: string, parentSpanId: string, startOffsetNs: bigint, statusCode = 1): ReceivedSpan {
  return {
    ...(expectedSpans[1] as ReceivedSpan),
    name,
    spanId,
    parentSpanId,
    startTimeUnixNano: 1_000n + startOffsetNs,
    status: { code: statusCode, message: statusCode === 2 ? 'failed' : '' },
  };
}

describe('OTLP receiver: decoding', () => {
  it.each([
    { encoding: 'protobuf', contentType: PROTOBUF, body: protobufBody, gzip: false },
    { encoding: 'protobuf', contentType: PROTOBUF, body: protobufBody, gzip: true },
    { encoding: 'json', contentType: JSON_TYPE, body: jsonBody, gzip: false },
    { encoding: 'json', contentType: JSON_TYPE, body: jsonBody, gzip: true },
  ])('decodes $encoding (gzip: $gzip) into the normalised span shape', async ({ contentType, body, gzip }) => {
    const receiver = await start();
    const wire = gzip ? new Uint8Array(gzipSync(body)) : body;
    const headers: Record<string, string> = { 'Content-Type': contentType, 'X-Test-Header': 'yes' };
    if (gzip) headers['Content-Encoding'] = 'gzip';

    const before = performance.now();
    const answer = await post(receiver.tracesUrl, wire, headers);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(contentType);
    if (contentType === PROTOBUF) {
      expect(otlpSchema().exportResponse.toObject(otlpSchema().exportResponse.decode(answer.body))).toEqual({});
    } else {
      expect(JSON.parse(new TextDecoder().decode(answer.body))).toEqual({});
    }
    expect(receiver.spans()).toEqual(expectedSpans);

    const [request] = receiver.requests;
    expect(request).toMatchObject({
      index: 0,
      method: 'POST',
      path: '/v1/traces',
      contentType,
      contentEncoding: gzip ? 'gzip' : '',
      status: 200,
      accepted: true,
      outcome: 'answered',
      replySource: 'default',
      decodeError: undefined,
    });
    expect(request?.headers['x-test-header']).toBe('yes');
    expect(request?.rawBody).toEqual(wire);
    expect(request?.body).toEqual(body);
    expect(request?.receivedAt.performanceNow).toBeGreaterThanOrEqual(before);
    expect(request?.receivedAt.performanceNow).toBeLessThanOrEqual(performance.now());
    expect(Math.abs((request?.receivedAt.epochMs ?? 0) - Date.now())).toBeLessThan(5_000);
    expect(request?.answeredAt?.performanceNow).toBeGreaterThanOrEqual(request?.receivedAt.performanceNow ?? Infinity);
  });

  it('keeps nanosecond timestamps exact and unsafe integers as bigint', async () => {
    const receiver = await start();
    await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    const [root] = receiver.spans();
    expect(typeof root?.startTimeUnixNano).toBe('bigint');
    expect(root?.startTimeUnixNano.toString()).toBe('1700000000123456789');
    expect(root?.attributes['int.unsafe']).toBe(9007199254740993n);
    expect(root?.attributes['tokens.input']).toBe(1234);
  });

  it('answers 400 with a google.rpc.Status to a body that does not decode, and counts none of it', async () => {
    const receiver = await start();
    const answer = await post(receiver.tracesUrl, Uint8Array.from([0x0a, 0xff, 0xff]), { 'content-type': PROTOBUF });

    expect(answer.status).toBe(400);
    const status = otlpSchema().rpcStatus.toObject(otlpSchema().rpcStatus.decode(answer.body)) as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/not a protobuf ExportTraceServiceRequest/);
    expect(receiver.requests[0]).toMatchObject({ status: 400, accepted: false, replySource: 'rejected' });
    expect(receiver.spans()).toEqual([]);
  });

  it('rejects OTLP/JSON ids that are not hex of the right length', async () => {
    const receiver = await start();
    const bad = jsonRequestText.replace(ROOT_SPAN_ID, 'abc');
    const answer = await post(receiver.tracesUrl, new TextEncoder().encode(bad), { 'content-type': JSON_TYPE });

    expect(answer.status).toBe(400);
    const body = JSON.parse(new TextDecoder().decode(answer.body)) as { code: number; message: string };
    expect(body.code).toBe(3);
    expect(body.message).toContain('resourceSpans[0].scopeSpans[0].spans[0].spanId');
    expect(receiver.requests[0]?.decodeError).toBe(body.message);
  });

  it('answers 415 to an unknown content type and 404 to another path', async () => {
    const receiver = await start();
    expect((await post(receiver.tracesUrl, jsonBody, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(`${receiver.url}/v1/metrics`, jsonBody, { 'content-type': JSON_TYPE })).status).toBe(404);
    expect(receiver.requests.map((r) => [r.status, r.accepted])).toEqual([
      [415, false],
      [404, false],
    ]);
  });
});

describe('OTLP receiver: scripted answers', () => {
  it('fails the next request with 503, then accepts the retry; only the accepted spans count', async () => {
    const receiver = await start();
    receiver.failNext(1, { status: 503, body: 'unavailable' });

    const first = await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    const second = await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });

    expect([first.status, second.status]).toEqual([503, 200]);
    expect(new TextDecoder().decode(first.body)).toBe('unavailable');
    expect(first.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(receiver.requests.map((r) => [r.status, r.accepted, r.replySource])).toEqual([
      [503, false, 'fail-next'],
      [200, true, 'default'],
    ]);
    // The rejected request was still decoded, so a test can compare what was resent.
    expect(receiver.requests[0]?.spans).toEqual(expectedSpans);
    expect(receiver.spans()).toEqual(expectedSpans);
  });

  it('answers 429 with Retry-After from a script that sees the request and its index', async () => {
    const receiver = await start();
    const seen: Array<[number, number]> = [];
    receiver.respondWith((request, index) => {
      seen.push([index, request.spans.length]);
      return index === 0 ? { status: 429, headers: { 'Retry-After': '7' } } : undefined;
    });

    const throttled = await post(receiver.tracesUrl, jsonBody, { 'content-type': JSON_TYPE });
    const accepted = await post(receiver.tracesUrl, jsonBody, { 'content-type': JSON_TYPE });

    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(accepted.status).toBe(200);
    expect(seen).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(receiver.requests.map((r) => r.replySource)).toEqual(['script', 'default']);
  });

  it('answers 413 above maxBodyBytes (measured on the wire) and accepts smaller bodies', async () => {
    const receiver = await start({ maxBodyBytes: protobufBody.length - 1 });
    const tooLarge = await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    const gzipped = new Uint8Array(gzipSync(protobufBody));
    const small = await post(receiver.tracesUrl, gzipped, { 'content-type': PROTOBUF, 'content-encoding': 'gzip' });

    expect(gzipped.length).toBeLessThan(protobufBody.length);
    expect(tooLarge.status).toBe(413);
    const status = otlpSchema().rpcStatus.toObject(otlpSchema().rpcStatus.decode(tooLarge.body)) as { message: string };
    expect(status.message).toContain(`${protobufBody.length} bytes exceeds maxBodyBytes`);
    expect(small.status).toBe(200);
    expect(receiver.requests.map((r) => r.replySource)).toEqual(['body-limit', 'default']);
    expect(receiver.spans()).toHaveLength(2);
  });

  it('destroys the socket instead of answering, and serves the next connection normally', async () => {
    const receiver = await start();
    receiver.failNext(1, { status: 200, destroySocket: true });

    await expect(post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF })).rejects.toThrow(/fetch failed/);
    const retry = await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });

    expect(retry.status).toBe(200);
    expect(receiver.requests.map((r) => [r.outcome, r.status, r.accepted])).toEqual([
      ['socket-destroyed', undefined, false],
      ['answered', 200, true],
    ]);
    expect(receiver.spans()).toHaveLength(2);
  });

  it('delays an answer; spans count only once the answer is sent', async () => {
    const receiver = await start();
    receiver.failNext(1, { status: 200, delayMs: 150 });

    const answer = post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    await expect.poll(() => receiver.requests.length).toBe(1);
    expect(receiver.requests[0]?.outcome).toBe('pending');
    expect(receiver.spans()).toEqual([]);

    expect((await answer).status).toBe(200);
    const request = receiver.requests[0];
    const waitedMs = (request?.answeredAt?.performanceNow ?? 0) - (request?.receivedAt.performanceNow ?? 0);
    expect(waitedMs).toBeGreaterThanOrEqual(140);
    expect(receiver.spans()).toHaveLength(2);
  });
});

describe('OTLP receiver: waiting and lifecycle', () => {
  it('waitFor resolves when the accepted spans satisfy the predicate', async () => {
    const receiver = await start();
    const waiting = receiver.waitFor((spans) => spans.some((s) => s.name === 'execute_tool lookup'), 2_000);
    await post(receiver.tracesUrl, jsonBody, { 'content-type': JSON_TYPE });
    expect((await waiting).map((s) => s.name)).toEqual(['invoke_agent Helper', 'execute_tool lookup']);
  });

  it('waitFor rejects with how many spans and requests it had, and the tree', async () => {
    const receiver = await start();
    receiver.failNext(1, { status: 503 });
    await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });

    const started = performance.now();
    const error = await receiver.waitFor((spans) => spans.length >= 5, 50, 'five spans').catch((e: unknown) => e);

    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      [
        'waitFor(five spans) timed out after 50 ms. Had 2 accepted span(s) from 1 of 2 request(s) [503, 200].',
        'invoke_agent Helper [CLIENT] ERROR "boom"',
        '  execute_tool lookup [INTERNAL] OK',
      ].join('\n'),
    );
  });

  it('waitFor treats a throwing predicate as not yet satisfied and reports its last error', async () => {
    const receiver = await start();
    const waiting = receiver.waitFor((spans) => {
      expect(spans.map((s) => s.name)).toContain('execute_tool lookup');
    }, 2_000);
    await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    await expect(waiting).resolves.toHaveLength(2);

    const error = await receiver
      .waitFor((spans) => expect(spans).toHaveLength(3), 50, 'three spans')
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^waitFor\(three spans\) timed out after 50 ms\. Last predicate error: expected \[.*\] to have a length of 3 but got 2 Had 2 accepted span/s);
  });

  it('records a client that gave up before a delayed answer as not accepted', async () => {
    const receiver = await start();
    receiver.failNext(1, { status: 200, delayMs: 300 });
    const abort = new AbortController();
    const answer = fetch(receiver.tracesUrl, {
      method: 'POST',
      body: protobufBody,
      headers: { 'content-type': PROTOBUF },
      signal: abort.signal,
    });
    await expect.poll(() => receiver.requests.length).toBe(1);
    abort.abort();
    await expect(answer).rejects.toThrow(/abort/i);

    const [request] = await receiver.waitForRequests(1, 2_000);
    expect(request).toMatchObject({ outcome: 'client-gone', status: undefined, accepted: false });
    expect(receiver.spans()).toEqual([]);
  });

  it('waitForRequests counts answered requests whatever their status', async () => {
    const receiver = await start();
    receiver.failNext(2, { status: 502 });
    const waiting = receiver.waitForRequests(3, 2_000);
    for (let i = 0; i < 3; i += 1) await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    expect((await waiting).map((r) => r.status)).toEqual([502, 502, 200]);
  });

  it('reset() forgets requests, queued failures and the script', async () => {
    const receiver = await start();
    receiver.failNext(5, { status: 500 }).respondWith(() => ({ status: 500 }));
    await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    receiver.reset();
    const answer = await post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF });
    expect(answer.status).toBe(200);
    expect(receiver.requests.map((r) => r.index)).toEqual([0]);
  });

  it('close() destroys kept-alive connections and stops listening', async () => {
    const receiver = await start();
    const agent = new http.Agent({ keepAlive: true });
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = http.request(receiver.tracesUrl, { method: 'POST', agent, headers: { 'content-type': PROTOBUF } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end(protobufBody);
    });
    expect(status).toBe(200);

    const started = performance.now();
    await receiver.close();
    expect(performance.now() - started).toBeLessThan(1_000); // not the 5 s keep-alive timeout
    await expect(post(receiver.tracesUrl, protobufBody, { 'content-type': PROTOBUF })).rejects.toThrow(/fetch failed/);
    agent.destroy();
  });
});

describe('spanTree / formatTree', () => {
  it('nests children under parents, sorted by start time then name, whatever the arrival order', () => {
    const root = span('run', ROOT_SPAN_ID, '', 0n);
    const stepB = span('step b', '0000000000000002', ROOT_SPAN_ID, 10n);
    const stepA = span('step a', '0000000000000001', ROOT_SPAN_ID, 10n);
    const early = span('step 0', '0000000000000003', ROOT_SPAN_ID, 5n, 2);
    const tool = span('tool', CHILD_SPAN_ID, '0000000000000001', 11n);

    const tree = spanTree([tool, stepB, root, early, stepA]);

    expect(tree).toHaveLength(1);
    expect(tree[0]?.span.name).toBe('run');
    expect(tree[0]?.children.map((n) => n.span.name)).toEqual(['step 0', 'step a', 'step b']);
    expect(tree[0]?.children[1]?.children.map((n) => n.span.name)).toEqual(['tool']);
    expect(formatTree(tree)).toBe(
      [
        'run [INTERNAL] OK',
        '  step 0 [INTERNAL] ERROR "failed"',
        '  step a [INTERNAL] OK',
        '    tool [INTERNAL] OK',
        '  step b [INTERNAL] OK',
      ].join('\n'),
    );
  });

  it('shows a span whose parent never arrived as a marked root, and a resent span once', () => {
    const orphan = span('lost step', '0000000000000009', 'ffffffffffffffff', 1n);
    const root = span('run', ROOT_SPAN_ID, '', 0n);
    const tree = spanTree([root, orphan, { ...root }]);

    expect(tree.map((n) => [n.span.name, n.orphan])).toEqual([
      ['run', false],
      ['lost step', true],
    ]);
    expect(formatTree([root, orphan])).toBe(
      ['run [INTERNAL] OK', 'lost step [INTERNAL] OK (orphan: parent ffffffffffffffff not received)'].join('\n'),
    );
    expect(formatTree([])).toBe('(no spans)');
  });

  it('does not lose spans whose parent links form a loop', () => {
    const a = span('a', '000000000000000a', '000000000000000b', 0n);
    const b = span('b', '000000000000000b', '000000000000000a', 1n);
    const names = (nodes: ReturnType<typeof spanTree>): string[] =>
      nodes.flatMap((n) => [n.span.name, ...names(n.children)]);
    expect(names(spanTree([a, b])).sort()).toEqual(['a', 'b']);
  });

  it('matches parents within the same trace only', () => {
    const root = span('run', ROOT_SPAN_ID, '', 0n);
    const otherTraceChild = { ...span('elsewhere', CHILD_SPAN_ID, ROOT_SPAN_ID, 1n), traceId: TRACE_ID.replace('5b', '6c') };
    expect(spanTree([root, otherTraceChild]).map((n) => n.orphan)).toEqual([false, true]);
  });
});
