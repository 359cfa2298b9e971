// The HTTP front: prefix, request log, faults, auth, api-version, beta header, then the route.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkApiVersion, checkAuth, checkBetaHeader, redactHeaders, redactQuery, type AuthMode } from './auth.js';
import { settledNow, type Core } from './core.js';
import { ApiError, errors } from './errors.js';
import type { FaultRule } from './fault-rules.js';
import { injectedRecord, type FaultBook } from './faults.js';
import type { OperationId } from './operations.js';
import { matchRoute, type MatchedRoute, type RouteAnswer } from './routes.js';

const MAX_BODY_BYTES = 1024 * 1024;

/** One request as `sim.requests` shows it. Credentials are replaced by `<redacted>`. */
export interface RequestRecord {
  method: string;
  /** Path without the prefix (the full path if it did not start with the prefix). */
  path: string;
  query: Record<string, string | string[]>;
  /** The status answered; null while in flight or when the connection was dropped. */
  status: number | null;
  headers: Record<string, string | string[]>;
  /** Real milliseconds since the simulator started. */
  receivedAtMs: number;
  /**
   * When the answer was written (real milliseconds since the simulator started); null while in
   * flight, when dropped, or for a stream (its headers go at once). A fault's delay is counted from
   * arrival, so under load an answer may go out later than arrival plus the delay.
   */
  answeredAtMs: number | null;
  /** Scenario seconds at arrival. */
  scenarioSeconds: number;
  operation: OperationId | null;
  /** The fault that hit this request (its label, or its kind). */
  fault: string | null;
  requestId: string;
}

export interface ServerConfig {
  host: string;
  port: number;
  prefix: string;
  auth: AuthMode;
  apiVersions: readonly string[];
  requireBetaHeader: boolean;
  azureHeaders: boolean;
  /** `Date` on the simulator's clock (else none at all). */
  dateHeader: boolean;
  /** Serve HTTPS with this key and certificate. */
  tls: { key: string | Buffer; cert: string | Buffer } | undefined;
  /** `openai-poll-after-ms` on getRun: how long the SDK's poll helpers wait. */
  pollAfterMillis: number;
  log: (line: string) => void;
  /** Called after each request and stream start, so the real clock can re-arm its timer. */
  onActivity: () => void;
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class SimulatorServer {
  readonly requests: RequestRecord[] = [];
  readonly counters = new Map<string, number>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly startedAt = performance.now();
  private closed: Promise<void> | null = null;

  constructor(
    private readonly core: Core,
    private readonly faults: FaultBook,
    private readonly config: ServerConfig,
  ) {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error: unknown) => {
        config.log(`simulator: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        if (!res.headersSent) this.sendJson(res, errors.serverError(500).status, errors.serverError(500).body(), {});
        else res.destroy();
      });
    };
    this.server = config.tls ? createTlsServer({ key: config.tls.key, cert: config.tls.cert }, listener) : createServer(listener);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address');
    return address.port;
  }

  /** Stops accepting, destroys every open connection (streams included). Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closed;
  }

  private stripPrefix(fullPath: string): string | null {
    const prefix = this.config.prefix;
    if (prefix === '') return fullPath;
    if (fullPath === prefix) return '/';
    return fullPath.startsWith(`${prefix}/`) ? fullPath.slice(prefix.length) : null;
  }

  private baseHeaders(requestId: string, started: number): Record<string, string> {
    const headers: Record<string, string> = {
      'x-request-id': requestId,
      'openai-version': '2020-10-01',
      'openai-processing-ms': String(Math.max(1, Math.round(performance.now() - started))),
    };
    if (this.config.azureHeaders) headers['apim-request-id'] = requestId.slice(4, 12) + '-0000-4000-8000-' + requestId.slice(12, 24);
    // The server's clock is the one its records show, not this host's (Node's own `Date` is off: `sendDate`).
    if (this.config.dateHeader) headers['date'] = new Date(this.core.epoch(this.core.clock.now()) * 1000).toUTCString();
    return headers;
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>, malformed = false): void {
    let text = JSON.stringify(body);
    // A body cut in half is what a broken proxy or a truncated transfer looks like.
    if (malformed) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.sendDate = false;
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = this.stripPrefix(url.pathname);
    const matched = path === null ? null : matchRoute(method, path);
    const requestId = this.core.ids.nextRequestId();
    const record: RequestRecord = {
      method,
      path: path ?? url.pathname,
      query: redactQuery(url.searchParams),
      status: null,
      headers: redactHeaders(req.headers),
      receivedAtMs: started - this.startedAt,
      answeredAtMs: null,
      scenarioSeconds: this.core.clock.now(),
      operation: matched?.route.operation ?? null,
      fault: null,
      requestId,
    };
    this.requests.push(record);
    const counter = record.operation ?? 'unmatched';
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + 1);
    const fault = this.faults.pick({ method, path: record.path, operation: record.operation, scenarioSeconds: record.scenarioSeconds });
    if (fault !== null) record.fault = fault.label ?? fault.kind;
    const raw = await readBody(req);
    if (fault !== null && fault.delayMs > 0) await sleep(fault.delayMs);

    const answer = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      record.status = status;
      record.answeredAtMs = performance.now() - this.startedAt;
      this.sendJson(res, status, body, { ...this.baseHeaders(requestId, started), ...extra }, fault?.kind === 'malformed-json');
      this.config.log(`${method} ${url.pathname} ${status} ${Math.round(performance.now() - started)}ms${record.fault === null ? '' : ` fault=${record.fault}`}`);
      this.config.onActivity();
    };
    const answerError = (error: ApiError) => answer(error.status, error.body(), error.headers);

    if (fault?.kind === 'drop-connection') {
      this.config.log(`${method} ${url.pathname} dropped fault=${record.fault}`);
      req.socket.destroy();
      return;
    }
    const injectedError = fault === null ? null : this.faultError(fault);
    if (injectedError !== null) return answerError(injectedError);

    const rejection =
      checkAuth(this.config.auth, req.headers) ??
      checkApiVersion(this.config.apiVersions, url.searchParams) ??
      (matched === null ? errors.invalidUrl(method, url.pathname) : null) ??
      (this.config.requireBetaHeader ? checkBetaHeader(req.headers) : null);
    if (rejection !== null || matched === null) return answerError(rejection ?? errors.invalidUrl(method, url.pathname));
    if (raw === 'too-large') return answerError(errors.tooLarge());

    let result: RouteAnswer;
    try {
      const body = raw.length === 0 ? undefined : parseJson(raw);
      settledNow(this.core);
      result = matched.route.handle(this.core, { params: matched.params, query: url.searchParams, body });
    } catch (error) {
      if (error instanceof ApiError) return answerError(error);
      throw error;
    }
    if (result.kind === 'stream') {
      record.status = 200;
      result.start(res, this.baseHeaders(requestId, started));
      this.config.log(`${method} ${url.pathname} 200 stream`);
      this.config.onActivity();
      return;
    }
    if (fault?.kind === 'inject-record') this.inject(fault, matched, result.body);
    const extra: Record<string, string> = {};
    // The SDK's poll helpers wait this long between polls; one scenario second, at most.
    if (matched.route.operation === 'getRun') extra['openai-poll-after-ms'] = String(this.config.pollAfterMillis);
    answer(result.status, result.body, extra);
  }

  private faultError(fault: FaultRule): ApiError | null {
    switch (fault.kind) {
      case 'rate-limit':
        return errors.rateLimited(fault.retryAfterSeconds);
      case 'server-error':
        return errors.serverError(fault.status);
      case 'auth-failure':
        return errors.invalidKey();
      default:
        return null;
    }
  }

  private inject(fault: Extract<FaultRule, { kind: 'inject-record' }>, matched: MatchedRoute, body: unknown): void {
    if (typeof body !== 'object' || body === null) return;
    const data: unknown = (body as Record<string, unknown>)['data']; // list envelopes are plain objects
    if (!Array.isArray(data)) return;
    const record = injectedRecord(fault, {
      threadId: matched.params['thread_id'] ?? '',
      runId: matched.params['run_id'] ?? '',
      epochNow: this.core.epoch(this.core.clock.now()),
    });
    const index = fault.position === 'start' ? 0 : fault.position === 'end' ? data.length : Math.min(fault.position, data.length);
    data.splice(index, 0, record);
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw errors.badJson();
  }
}
