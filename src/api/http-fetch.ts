/**
 * A `fetch` for the API client on `node:http`/`node:https` with a keep-alive agent. Node's built-in
 * `fetch` (undici) costs about 150 MB of memory over 10,000 requests in this process (measured:
 * docs/performance.md); this one about 30 MB, which is what lets the sidecar watch 10,000 runs
 * within its memory target. It buffers the whole body (bounded) and answers a standard `Response`.
 *
 * Errors look like `fetch`'s: a network failure rejects with `TypeError('fetch failed', { cause })`
 * carrying the socket error's `code`; an aborted or timed-out signal rejects with the signal's reason.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** An API answer is a page of at most 100 records; anything near this is not the API. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

export interface NodeFetchOptions {
  /** Sockets per origin. @default Infinity (the request budget is what limits concurrency) */
  maxSockets?: number;
}

function headersOf(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? Infinity }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? Infinity }),
  };

  const nodeFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
        return;
      }
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const req = request(url, { method: init.method ?? 'GET', headers, agent: agents[url.protocol] }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            fail(new TypeError('fetch failed', { cause: { code: 'EBODYTOOLARGE', message: `response body over ${MAX_BODY_BYTES} bytes` } }));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          const status = res.statusCode ?? 0;
          const body = NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: headersOf(res) }));
        });
        res.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
        res.on('aborted', () => fail(new TypeError('fetch failed', { cause: { code: 'ECONNRESET', message: 'the connection closed mid-body' } })));
      });
      const onAbort = () => {
        req.destroy();
        fail(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
      if (init.body !== undefined && init.body !== null) req.end(init.body as string | Buffer);
      else req.end();
    });
  return nodeFetch as typeof fetch;
}
