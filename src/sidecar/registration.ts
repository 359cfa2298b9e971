/**
 * The sidecar's HTTP endpoint (`--listen`, loopback by default):
 *
 *   GET    /v1/watch   what is watched: {"threads": [...], "runs": [...]}
 *   POST   /v1/watch   {"thread_id": "...", "run_id"?: "...", "traceparent"?: "..."}   watch a thread or a run
 *   DELETE /v1/watch   same body (or ?thread_id=&run_id=)                                stop watching
 *   GET    /healthz    200 while running, 503 while stopping or once the state store failed
 *   GET    /metrics    Prometheus text format
 *
 * `/v1/*` may require `Authorization: Bearer <token>`. Bodies are limited in size. Every refusal says
 * why, in JSON: `{"error": "..."}`. A registration is answered only once it is durable.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { API_OBJECT_ID } from '../api/object-id.js';
import { parseTraceparent } from '../mapping/ids.js';
import type { WatchedRun, WatchedThread } from '../state/store.js';
import { silentLogger, type Logger } from '../util/log.js';

/** A watched item; in a fleet, with the member following it (`owner`, null when nobody holds its lease now). */
type Listed<T> = T & { owner?: string | null };

export interface WatchControl {
  /** What is watched now (in a fleet: the whole shared set, with owners). */
  listing(): Promise<{ threads: ReadonlyArray<Listed<WatchedThread>>; runs: ReadonlyArray<Listed<WatchedRun>> }>;
  watchThread(threadId: string): Promise<'added' | 'already'>;
  unwatchThread(threadId: string): Promise<boolean>;
  watchRun(threadId: string, runId: string, traceparent?: string): Promise<'added' | 'updated' | 'already' | 'exported'>;
  unwatchRun(runId: string): Promise<boolean>;
}

export interface RegistrationServerOptions {
  host: string;
  port: number;
  control: WatchControl;
  /** When set, `/v1/*` requires `Authorization: Bearer <token>`. */
  token?: string;
  /** @default 16384 */
  maxBodyBytes?: number;
  metrics: { render(): Promise<string>; contentType: string };
  /** False once shutdown began, or once the sidecar cannot go on: `/healthz` answers 503 so load balancers stop sending. */
  healthy: () => boolean;
  /** The status `/healthz` shows (`ok`, `stopping`, `state store failed`). @default ok or stopping */
  health?: () => string;
  logger?: Logger;
  /**
   * Asked before a thread is registered (the caller skips the look-up for one it already follows):
   * `not_found` (the API answered 404) makes the registration a 404, so the caller learns at once
   * that the id is wrong; `unknown` (the API could not say in time) registers it anyway, and the
   * poller finds out. Without it, every thread is added.
   */
  checkThread?: (threadId: string) => Promise<'found' | 'not_found' | 'unknown'>;
}

const ID = z
  .string({ error: 'must be a string' })
  .regex(API_OBJECT_ID, { error: 'must be an API object id (letters, digits, _ . : -)' });

const WatchBody = z.strictObject({
  thread_id: ID,
  run_id: ID.optional(),
  traceparent: z
    .string({ error: 'must be a string' })
    .refine((v) => parseTraceparent(v) !== undefined, { error: 'not a valid W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, ids not all zero)' })
    .optional(),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new HttpError(413, `body larger than ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseWatchBody(text: string): z.infer<typeof WatchBody> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body: not valid JSON');
  }
  const parsed = WatchBody.safeParse(json);
  if (!parsed.success) {
    const given = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    const reasons = parsed.error.issues.map((i) => {
      const path = i.path.join('.');
      if (i.code === 'unrecognized_keys') return `unknown field(s): ${i.keys.join(', ')}`;
      if (path === '') return 'body: expected a JSON object';
      const missing = i.path.length === 1 && given[String(i.path[0])] === undefined;
      return `${path}: ${missing ? 'required' : i.message}`;
    });
    throw new HttpError(400, reasons.join('; '));
  }
  return parsed.data;
}

function iso(millis: number): string | null {
  return Number.isFinite(millis) && Math.abs(millis) <= 8.64e15 ? new Date(millis).toISOString() : null;
}

/** In a fleet, `owner`: the member id following the item, or null. */
const ownerOf = (item: { owner?: string | null }) => (item.owner !== undefined ? { owner: item.owner } : {});

/** `GET /v1/watch`: threads and runs in the API's snake_case, times as ISO 8601. */
async function watchedList(control: WatchControl): Promise<unknown> {
  const { threads, runs } = await control.listing();
  return {
    threads: threads.map((t) => ({
      thread_id: t.threadId,
      // 0 means "its whole history" (--backfill).
      runs_since: t.since > 0 ? iso(t.since * 1000) : null,
      last_activity_at: iso(t.lastActivityAt),
      ...ownerOf(t),
    })),
    runs: runs.map((r) => ({
      thread_id: r.threadId,
      run_id: r.runId,
      ...(r.traceparent ? { traceparent: r.traceparent } : {}),
      ...(r.exportedStepIds.length > 0 ? { exported_steps: r.exportedStepIds.length } : {}),
      ...ownerOf(r),
    })),
  };
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  // The scheme is case-insensitive, followed by one or more spaces (RFC 7235 §2.1, RFC 6750 §2.1).
  const credentials = /^bearer +(\S.*)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const presented = Buffer.from(credentials);
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

export async function startRegistrationServer(options: RegistrationServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const logger = options.logger ?? silentLogger;
  const limit = options.maxBodyBytes ?? 16_384;

  async function watch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!authorized(req, options.token)) throw new HttpError(401, 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer' });
    if (req.method === 'GET') {
      send(res, 200, await watchedList(options.control));
      return;
    }
    if (req.method === 'POST') {
      const body = parseWatchBody(await readBody(req, limit));
      if (body.run_id === undefined) {
        if (body.traceparent !== undefined) throw new HttpError(400, 'traceparent: needs run_id (a traceparent parents one run\'s trace)');
        if (options.checkThread && (await options.checkThread(body.thread_id)) === 'not_found') {
          logger.warn('watch refused: thread not found at the API', { thread_id: body.thread_id });
          throw new HttpError(404, `thread ${body.thread_id}: not found at the API (it answered 404); not watched`);
        }
        const status = await options.control.watchThread(body.thread_id);
        logger.info('watch registered', { thread_id: body.thread_id, status });
        send(res, status === 'added' ? 201 : 200, { watching: 'thread', thread_id: body.thread_id, status });
        return;
      }
      const status = await options.control.watchRun(body.thread_id, body.run_id, body.traceparent);
      logger.info('watch registered', { thread_id: body.thread_id, run_id: body.run_id, status });
      send(res, status === 'added' ? 201 : 200, { watching: 'run', thread_id: body.thread_id, run_id: body.run_id, status });
      return;
    }
    if (req.method === 'DELETE') {
      const text = await readBody(req, limit);
      const body = text.trim() === ''
        ? parseWatchBody(JSON.stringify(Object.fromEntries(url.searchParams)))
        : parseWatchBody(text);
      const removed = await (body.run_id !== undefined ? options.control.unwatchRun(body.run_id) : options.control.unwatchThread(body.thread_id)).catch((error: unknown) => {
        // A fleet member asked to stop what another member follows.
        if (error instanceof Error && error.name === 'NotOwnerError') throw new HttpError(409, error.message);
        throw error;
      });
      if (!removed) throw new HttpError(404, `${body.run_id !== undefined ? `run ${body.run_id}` : `thread ${body.thread_id}`} is not watched`);
      logger.info('watch removed', { thread_id: body.thread_id, ...(body.run_id ? { run_id: body.run_id } : {}) });
      send(res, 200, { removed: true });
      return;
    }
    throw new HttpError(405, `${req.method} not allowed on /v1/watch`, { Allow: 'GET, POST, DELETE' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/v1/watch') return await watch(req, res, url);
      if (req.method !== 'GET' && (url.pathname === '/healthz' || url.pathname === '/metrics')) {
        throw new HttpError(405, `${req.method} not allowed on ${url.pathname}`, { Allow: 'GET' });
      }
      if (url.pathname === '/healthz') {
        const healthy = options.healthy();
        return send(res, healthy ? 200 : 503, { status: options.health?.() ?? (healthy ? 'ok' : 'stopping') });
      }
      if (url.pathname === '/metrics') return send(res, 200, await options.metrics.render(), { 'Content-Type': options.metrics.contentType });
      throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, error.status, { error: error.message }, { ...error.headers, ...(error.status === 413 ? { Connection: 'close' } : {}) });
        return;
      }
      logger.error('registration endpoint failed', { path: url.pathname, error: (error as Error).message });
      send(res, 500, { error: 'internal error; see the sidecar log' });
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
