// A real OTLP/HTTP trace receiver on loopback for end-to-end tests: it decodes protobuf and
// OTLP/JSON (optionally gzipped), keeps every request, and answers as a test scripts it, so
// retry, back-pressure and rejection paths can be driven without a collector.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

import { encodeEmptyExportResponse, encodePartialSuccessResponse, encodeRpcStatus } from './otlp-proto.js';
import { describeRequest, now } from './otlp-request.js';
import type { ReceivedRequest, Rejection, ReplySource } from './otlp-request.js';
import type { OtlpEncoding, ReceivedSpan } from './otlp-types.js';
import { formatTree } from './span-tree.js';

export type { Instant, ReceivedRequest, ReplySource, RequestOutcome } from './otlp-request.js';
export type { AttrValue, Attributes, OtlpEncoding, ReceivedEvent, ReceivedLink, ReceivedSpan } from './otlp-types.js';
export { SpanKind, StatusCode } from './otlp-types.js';
export { formatTree, spanTree } from './span-tree.js';
export type { SpanNode } from './span-tree.js';
export { encodeExportTraceRequest } from './otlp-proto.js';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Wait this long before answering (or before destroying the socket). */
  delayMs?: number;
  /** Destroy the connection instead of answering: the client sees a reset, not a status. */
  destroySocket?: boolean;
}

/** Return a Reply to override the answer to request `index`, or undefined for the default one. */
export type ReplyScript = (request: ReceivedRequest, index: number) => Reply | undefined;

export interface OtlpReceiverOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Answer 413 when the body on the wire (before gunzip) is larger than this. */
  maxBodyBytes?: number;
  /** Default '/v1/traces'. */
  tracesPath?: string;
  /**
   * Serve HTTPS with this key and certificate (PEM). With `clientCa`, require a client certificate
   * signed by it (mTLS): a client without one cannot connect.
   */
  tls?: { key: Buffer; cert: Buffer; clientCa?: Buffer };
}

/** The OTLP/HTTP answer for a partial success, in the request's encoding (int64 as a string in JSON). */
export function partialSuccessReply(request: ReceivedRequest, rejectedSpans: number, errorMessage: string): Reply {
  return request.encoding === 'json'
    ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } }) }
    : { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: encodePartialSuccessResponse(rejectedSpans, errorMessage) };
}

const GRPC_INVALID_ARGUMENT = 3;
const GRPC_RESOURCE_EXHAUSTED = 8;

export class OtlpReceiver {
  /** e.g. http://127.0.0.1:43121 */
  readonly url: string;
  /** The full traces endpoint, e.g. http://127.0.0.1:43121/v1/traces */
  readonly tracesUrl: string;
  readonly port: number;

  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #records: ReceivedRequest[] = [];
  readonly #changes = new EventEmitter();
  readonly #pendingDelays = new Set<() => void>();
  readonly #failNextQueue: Reply[] = [];
  readonly #maxBodyBytes: number | undefined;
  readonly #tracesPath: string;
  #script: ReplyScript | undefined;
  #nextIndex = 0;
  #closed: Promise<void> | undefined;

  /** Use {@link startOtlpReceiver}. */
  constructor(server: Server, options: OtlpReceiverOptions) {
    this.#server = server;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#tracesPath = options.tracesPath ?? '/v1/traces';
    this.port = (server.address() as AddressInfo).port;
    this.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    this.tracesUrl = `${this.url}${this.#tracesPath}`;
    this.#changes.setMaxListeners(0); // many concurrent waitFor() calls are legitimate
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        // A bug in the receiver itself: make it loud and never leave the client hanging.
        console.error('otlp-receiver: internal error', error);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  /** Every request so far, in arrival order (including rejected and pending ones). */
  get requests(): readonly ReceivedRequest[] {
    return this.#records;
  }

  /** Spans from accepted (2xx-answered) requests, in arrival order. */
  spans(): ReceivedSpan[] {
    return this.#records.filter((r) => r.accepted).flatMap((r) => r.spans);
  }

  /** Set (or clear, with undefined) the script that may override each answer. */
  respondWith(script: ReplyScript | undefined): this {
    this.#script = script;
    return this;
  }

  /** Answer the next `count` requests with `reply`, before any script is consulted. */
  failNext(count: number, reply: Reply): this {
    for (let i = 0; i < count; i += 1) this.#failNextQueue.push(reply);
    return this;
  }

  /** Forget recorded requests, queued failures and the script. Call it while no export is in flight. */
  reset(): void {
    this.#records.length = 0;
    this.#failNextQueue.length = 0;
    this.#script = undefined;
    this.#nextIndex = 0;
  }

  /**
   * Resolves with the accepted spans once `predicate` accepts them, checked now and after every
   * request. It keeps waiting while the predicate returns false or throws (so `expect` calls can
   * be used inside); any other return (true, or nothing) ends the wait. On timeout the
   * rejection shows the last error thrown and what was received, as a tree.
   */
  waitFor(
    predicate: (spans: ReceivedSpan[]) => boolean | void,
    timeoutMs = 5_000,
    description = 'condition',
  ): Promise<ReceivedSpan[]> {
    let lastError: unknown;
    return this.#waitUntil(
      () => {
        const spans = this.spans();
        try {
          return predicate(spans) === false ? undefined : spans;
        } catch (error) {
          lastError = error;
          return undefined;
        }
      },
      timeoutMs,
      () => {
        const message = lastError instanceof Error ? lastError.message : String(lastError);
        const last = lastError === undefined ? '' : ` Last predicate error: ${message}`;
        return `waitFor(${description}) timed out after ${timeoutMs} ms.${last} ${this.#summary()}`;
      },
    );
  }

  /** Resolves once `count` requests have been answered or dropped (whatever the status). */
  waitForRequests(count: number, timeoutMs = 5_000): Promise<ReceivedRequest[]> {
    return this.#waitUntil(
      () => {
        const settled = this.#records.filter((r) => r.outcome !== 'pending');
        return settled.length >= count ? settled : undefined;
      },
      timeoutMs,
      () => `waitForRequests(${count}) timed out after ${timeoutMs} ms. ${this.#summary()}`,
    );
  }

  /** Stops listening and destroys open connections, so no keep-alive socket holds the test up. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const release of this.#pendingDelays) release();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = now();
    const index = this.#nextIndex++;
    const rawBody = await readBody(req);
    if (rawBody === undefined) return; // the client went away mid-body; nothing to record
    const { request, rejection } = describeRequest({
      index,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] ?? '',
      headers: req.headers,
      rawBody,
      receivedAt,
      tracesPath: this.#tracesPath,
    });
    const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.();
    if (peer && typeof peer.subject?.CN === 'string') request.clientCertificate = peer.subject.CN;
    this.#record(request);

    const [reply, source] = this.#chooseReply(request, rejection);
    if (reply.delayMs !== undefined && reply.delayMs > 0) await this.#delay(reply.delayMs);

    if (res.destroyed || req.socket.destroyed || this.#closed !== undefined) {
      this.#settle(request, { outcome: 'client-gone', source });
    } else if (reply.destroySocket === true) {
      req.socket.destroy();
      this.#settle(request, { outcome: 'socket-destroyed', source });
    } else {
      res.writeHead(reply.status, reply.headers).end(reply.body);
      this.#settle(request, { outcome: 'answered', source, status: reply.status });
    }
  }

  #chooseReply(request: ReceivedRequest, rejection: Rejection | undefined): [Reply, ReplySource] {
    const queued = this.#failNextQueue.shift();
    if (queued !== undefined) return [withContentType(queued), 'fail-next'];
    const scripted = this.#script?.(request, request.index);
    if (scripted !== undefined) return [withContentType(scripted), 'script'];
    if (this.#maxBodyBytes !== undefined && request.rawBody.length > this.#maxBodyBytes) {
      const message = `request body of ${request.rawBody.length} bytes exceeds maxBodyBytes ${this.#maxBodyBytes}`;
      return [errorReply(413, GRPC_RESOURCE_EXHAUSTED, message, request.encoding), 'body-limit'];
    }
    if (rejection !== undefined) {
      return [errorReply(rejection.status, GRPC_INVALID_ARGUMENT, rejection.message, request.encoding), 'rejected'];
    }
    return [successReply(request.encoding ?? 'protobuf'), 'default'];
  }

  #record(request: ReceivedRequest): void {
    // Requests finish reading their bodies out of order; keep the list in arrival order.
    const at = this.#records.findIndex((r) => r.index > request.index);
    if (at === -1) this.#records.push(request);
    else this.#records.splice(at, 0, request);
    this.#changes.emit('change');
  }

  #settle(
    request: ReceivedRequest,
    result: { outcome: ReceivedRequest['outcome']; source: ReplySource; status?: number },
  ): void {
    request.outcome = result.outcome;
    request.replySource = result.source;
    request.status = result.status;
    request.accepted = result.status !== undefined && result.status >= 200 && result.status < 300;
    request.answeredAt = now();
    this.#changes.emit('change');
  }

  #delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.#pendingDelays.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.#pendingDelays.add(release);
    });
  }

  #waitUntil<T>(probe: () => T | undefined, timeoutMs: number, timeoutMessage: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#changes.off('change', check);
        settle();
      };
      const check = (): void => {
        const value = probe();
        if (value !== undefined) finish(() => resolve(value));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(timeoutMessage()))), timeoutMs);
      this.#changes.on('change', check);
      check();
    });
  }

  #summary(): string {
    const spans = this.spans();
    const answers = this.#records.map((r) => (r.outcome === 'answered' ? String(r.status) : r.outcome)).join(', ');
    return (
      `Had ${spans.length} accepted span(s) from ${this.#records.filter((r) => r.accepted).length} ` +
      `of ${this.#records.length} request(s) [${answers || 'none'}].\n${formatTree(spans)}`
    );
  }
}

/** Starts a receiver on 127.0.0.1 (an ephemeral port unless `port` is given). */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const tls = options.tls;
  const server: Server = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) })
    : createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new OtlpReceiver(server, options);
}

/** The whole body, or undefined when the client aborted before sending all of it. */
function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', () => resolve(undefined));
    req.on('close', () => {
      if (!req.complete) resolve(undefined);
    });
  });
}

/** The OTLP/HTTP success answer: an empty ExportTraceServiceResponse in the request's encoding. */
function successReply(encoding: OtlpEncoding): Reply {
  return encoding === 'json'
    ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' }
    : { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: encodeEmptyExportResponse() };
}

/** OTLP/HTTP error answers carry a google.rpc.Status in the request's encoding. */
function errorReply(status: number, grpcCode: number, message: string, encoding: OtlpEncoding | undefined): Reply {
  return encoding === 'protobuf'
    ? { status, headers: { 'content-type': 'application/x-protobuf' }, body: encodeRpcStatus(grpcCode, message) }
    : { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: grpcCode, message }) };
}

/** Scripted bodies get a content type unless the script chose one. */
function withContentType(reply: Reply): Reply {
  if (reply.body === undefined) return reply;
  const headers = reply.headers ?? {};
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) return reply;
  const contentType = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
  return { ...reply, headers: { ...headers, 'content-type': contentType } };
}
