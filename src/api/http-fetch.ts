/**
 * A `fetch` for the API client on `node:http`/`node:https` with a keep-alive agent. Node's built-in
 * `fetch` (undici) costs about 150 MB of memory over 10,000 requests in this process (measured:
 * docs/performance.md); this one about 30 MB, which is what lets the sidecar watch 10,000 runs
 * within its memory target. It buffers the whole body (bounded) and answers the part of `Response`
 * the client reads (`BufferedResponse`).
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

/**
 * The answer as the client reads it: status, headers by name, and the body, buffered once. Not an
 * undici `Response`: building one per answer (its Headers, a web ReadableStream over the body, the
 * body mixin reading it back) cost more than the rest of a request together, ~10 KB per request.
 * It implements the part of `Response` the API client uses (`status`, `ok`, `headers.get`, `text`,
 * `json`); anything else a caller reaches for is missing, which is why it stays internal.
 */
class BufferedResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly status: number,
    readonly statusText: string,
    raw: IncomingMessage['headers'],
    private readonly body: Buffer | null,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = {
      get(name: string): string | null {
        const value = raw[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(', ') : value;
      },
    };
  }

  text(): Promise<string> {
    return Promise.resolve(this.body === null ? '' : this.body.toString('utf8'));
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}

/** Request headers as node:http takes them: a plain object is used as is, anything else converted. */
function plainHeaders(init: RequestInit['headers']): Record<string, string> {
  if (init === undefined || init === null) return {};
  if (typeof init === 'object' && !Array.isArray(init) && !(init instanceof Headers)) return init as Record<string, string>;
  const headers: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    headers[name] = value;
  });
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
      const headers = plainHeaders(init.headers);
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
          const body = NULL_BODY_STATUS.has(status) ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          resolve(new BufferedResponse(status, res.statusMessage ?? '', res.headers, body) as unknown as Response);
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
