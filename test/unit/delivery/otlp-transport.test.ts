/**
 * What the send policy sees of each attempt (README "Delivery"): 429/502/503/504, timeouts and
 * connection errors are retryable, with the collector's `Retry-After`; 413 and other refusals are not.
 * The transport is exercised against a tiny collector on loopback; the last test goes through the
 * official `OTLPExporterBase` to show the send policy receives these answers unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOtlpTraceExporter } from '../../../src/delivery/exporter.js';
import { ExportAttemptError, createOtlpHttpTransport, parseRetryAfter } from '../../../src/delivery/otlp-transport.js';
import { createResource } from '../../../src/delivery/resource.js';
import { sendBatch, type DeliveryRetryPolicy } from '../../../src/delivery/send.js';
import { toReadableSpan } from '../../../src/delivery/spans.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { functionCall, run, toolCallsStep, validRun, validStep } from '../../fixtures/records.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function answer(status: number, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(status >= 400 ? '{"code":3,"message":"no"}' : '');
  };
}

const transport = () => createOtlpHttpTransport({ url: `${base}/v1/traces`, contentType: 'application/x-protobuf' });

describe('parseRetryAfter', () => {
  it.each([
    ['1', 1_000],
    ['120', 120_000],
    [' 3 ', 3_000],
  ])('delay-seconds %j → %i ms', (value, millis) => {
    expect(parseRetryAfter(value)).toBe(millis);
  });

  it('an HTTP date → the time until then', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now)).toBe(0);
  });

  it.each([undefined, '', 'soon'])('%j → undefined', (value) => {
    expect(parseRetryAfter(value)).toBeUndefined();
  });
});

describe('one OTLP/HTTP attempt', () => {
  it('2xx is success', async () => {
    handler = answer(200);
    expect((await transport().send(new Uint8Array([1]), 1_000)).status).toBe('success');
  });

  it.each([429, 502, 503, 504])('HTTP %i is retryable, with its Retry-After', async (status) => {
    handler = answer(status, { 'Retry-After': '2' });
    const response = await transport().send(new Uint8Array([1]), 1_000);
    expect(response.status).toBe('retryable');
    if (response.status !== 'retryable') return;
    expect(response.retryInMillis).toBe(2_000);
    expect(response.error).toBeInstanceOf(ExportAttemptError);
    expect(response.error).toMatchObject({ code: status, retryable: true, retryAfterMillis: 2_000 });
  });

  it.each([400, 401, 403, 404, 413, 500, 501])('HTTP %i is not retryable', async (status) => {
    handler = answer(status);
    const response = await transport().send(new Uint8Array([1]), 1_000);
    expect(response.status).toBe('failure');
    if (response.status !== 'failure') return;
    expect(response.error).toMatchObject({ code: status, retryable: false });
  });

  it('a connection error is retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const response = await createOtlpHttpTransport({ url: `http://127.0.0.1:${port}/v1/traces`, contentType: 'application/json' }).send(
      new Uint8Array([1]),
      1_000,
    );
    expect(response.status).toBe('retryable');
    expect(response.status === 'retryable' && response.error).toMatchObject({ retryable: true });
  });

  it('a timeout is retryable', async () => {
    handler = () => {
      /* never answers */
    };
    const response = await transport().send(new Uint8Array([1]), 50);
    expect(response.status).toBe('retryable');
    expect(response.status === 'retryable' && response.error).toMatchObject({ retryable: true });
  });

  it('sends the configured headers and content type, gzip when asked', async () => {
    let seen: IncomingMessage | undefined;
    handler = (req, res) => {
      seen = req;
      res.end();
    };
    await createOtlpHttpTransport({
      url: `${base}/v1/traces`,
      contentType: 'application/json',
      headers: { 'api-key': 'k-123' },
      compression: 'gzip',
    }).send(new TextEncoder().encode('{}'), 1_000);
    expect(seen?.headers['api-key']).toBe('k-123');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.headers['content-encoding']).toBe('gzip');
  });
});

describe('through the official exporter class', () => {
  const FAST: DeliveryRetryPolicy = { maxAttempts: 3, initialDelayMillis: 1, maxDelayMillis: 2, multiplier: 2, jitterRatio: 0 };
  const batch = () => {
    const calls = [functionCall({ id: 'call_1' }), functionCall({ id: 'call_2' })];
    const data = mapRunToSpans({ runId: 'run_abc123', run: validRun(run()), steps: [validStep(toolCallsStep(calls))] });
    return data.map((s) => toReadableSpan(s, createResource()));
  };

  it('sendBatch sees 413 (and splits), 503 (and retries), 400 (and stops)', async () => {
    const statuses: number[] = [];
    let calls = 0;
    // 4 spans: too large; first half: 503, then accepted; second half: too large; its halves: accepted, refused.
    const script = [413, 503, 200, 413, 200, 400];
    handler = (_req, res) => {
      const status = script[calls++] ?? 500;
      statuses.push(status);
      res.writeHead(status);
      res.end();
    };
    const exporter = createOtlpTraceExporter({ url: `${base}/v1/traces` });
    try {
      const outcomes = await sendBatch(exporter, batch(), { policy: FAST });
      expect(statuses).toEqual(script);
      expect(outcomes.map((o) => [o.kind, o.spans.length])).toEqual([
        ['delivered', 2],
        ['delivered', 1],
        ['rejected', 1],
      ]);
    } finally {
      await exporter.shutdown();
    }
  });
});
