/**
 * The demo's stand-in for a collector: an OTLP/HTTP (JSON) endpoint on loopback that acknowledges
 * what the real exporter sends and counts the spans, so the demo needs no collector of its own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface OtlpJsonRequest {
  resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }>;
}

export interface DemoCollector {
  /** Base URL (the exporter appends `/v1/traces`). */
  url: string;
  /** Spans acknowledged so far. */
  spans(): number;
  close(): Promise<void>;
}

export async function startDemoCollector(): Promise<DemoCollector> {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJsonRequest;
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"message":"expected OTLP/JSON"}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
