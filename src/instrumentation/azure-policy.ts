/**
 * The `@azure/ai-agents` capture: one policy in the client's HTTP pipeline (`client.pipeline`).
 *
 * Why the pipeline: the SDK's models are camelCase with `Date` objects (`createdAt: Date`), a
 * translation of the wire records; the spans must be exactly those the REST mapping gives for the
 * wire records (same IDs, names, attributes), and the pipeline is where the wire records are. It
 * also sees every call, whichever helper made it (`createAndPoll`'s own polling included, which the
 * SDK runs inside a module, out of reach of any method wrapper), and leaves every function of the
 * client untouched: uninstrumenting removes the policy and the client is as it was.
 *
 * What it does per request (others pass through untouched):
 * - creating a run (`POST …/threads/{id}/runs`, `POST …/threads/runs`): completes the JSON body's
 *   `metadata` (traceparent, mark), then hands the answer (JSON, or the SSE stream) to the tracker;
 * - submitting tool outputs: the time and the tool call IDs, then the answer;
 * - reading a followed run: its status (the application's or its SDK's own polling); cancelling
 *   one: its answer;
 * - a read of the library's own (marked in our async scope): its raw answer, to the reader.
 * An SSE answer is observed through a pass-through stream put in place of the body: the SDK reads
 * the same bytes, at its own pace; if it stops reading early, the connection closes as before.
 */
import { context } from '@opentelemetry/api';
import { pipeline as pipe, Transform } from 'node:stream';
import type { RunReader, RunSource } from './followed-run.js';
import { currentScope } from './scope.js';
import { sourceMappingOptions } from '../mapping/source.js';
import type { TracingSession } from './session.js';
import { parseEventData, SseParser } from './stream.js';
import type { StreamFollower } from './stream-follower.js';

export const CAPTURE_POLICY_NAME = 'assistantsOtelCapturePolicy';

/** The parts of `@azure/core-rest-pipeline`'s request, response and policy used here. */
export interface PipelineRequestLike {
  method: string;
  url: string;
  body?: unknown;
}

export interface PipelineResponseLike {
  status: number;
  bodyAsText?: string | null;
  readableStreamBody?: NodeJS.ReadableStream;
}

export interface PipelinePolicyLike {
  name: string;
  sendRequest(request: PipelineRequestLike, next: (request: PipelineRequestLike) => Promise<PipelineResponseLike>): Promise<PipelineResponseLike>;
}

type Route =
  | { kind: 'create'; threadId: string | undefined }
  | { kind: 'submit'; threadId: string; runId: string }
  | { kind: 'get'; threadId: string; runId: string }
  | { kind: 'cancel'; threadId: string; runId: string };

function routeOf(method: string, url: string): Route | undefined {
  const path = new URL(url).pathname;
  const segment = '([^/]+)';
  const m = (pattern: string) => new RegExp(`/threads${pattern}$`).exec(path);
  const decoded = (s: string | undefined) => decodeURIComponent(s ?? '');
  if (method === 'POST') {
    if (m('/runs')) return { kind: 'create', threadId: undefined };
    const cancel = m(`/${segment}/runs/${segment}/cancel`);
    if (cancel) return { kind: 'cancel', threadId: decoded(cancel[1]), runId: decoded(cancel[2]) };
    const submit = m(`/${segment}/runs/${segment}/submit_tool_outputs`);
    if (submit) return { kind: 'submit', threadId: decoded(submit[1]), runId: decoded(submit[2]) };
    const create = m(`/${segment}/runs`);
    if (create) return { kind: 'create', threadId: decoded(create[1]) };
  } else if (method === 'GET') {
    const get = m(`/${segment}/runs/${segment}`);
    if (get && get[2] !== undefined) return { kind: 'get', threadId: decoded(get[1]), runId: decoded(get[2]) };
  }
  return undefined;
}

function jsonBody(request: PipelineRequestLike): Record<string, unknown> | undefined {
  if (typeof request.body !== 'string') return undefined;
  const parsed: unknown = JSON.parse(request.body);
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

function jsonAnswer(response: PipelineResponseLike): unknown {
  return typeof response.bodyAsText === 'string' ? (JSON.parse(response.bodyAsText) as unknown) : undefined;
}

/** Puts an observing pass-through in place of an SSE body. */
function observeSse(response: PipelineResponseLike, follower: StreamFollower, session: TracingSession): void {
  const source = response.readableStreamBody;
  if (!source) return;
  const parser = new SseParser();
  const guard = session.guard;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      guard.run('observing a stream event', () => {
        for (const event of parser.push(chunk)) follower.event(event.event, parseEventData(event.data), session.now());
      }, undefined);
      callback(null, chunk);
    },
    flush(callback) {
      guard.run('observing a stream end', () => follower.end('done'), undefined);
      callback();
    },
  });
  // `pipeline` forwards errors and, if the SDK destroys the tap early, destroys the response too.
  pipe(source, tap, (error) => {
    if (error) guard.run('observing a stream end', () => follower.end((error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE' ? 'closed' : 'error'), undefined);
  });
  response.readableStreamBody = tap;
}

export interface CaptureTarget {
  reader: RunReader;
  providerName: string;
  /** The API's endpoint for `server.address`; by default the origin of the request that created the run. */
  endpoint?: string | undefined;
}

/** The policy; `sessionOf` names the session in charge now (the `Instrumentation` changes it on enable/disable). */
export function createCapturePolicy(sessionOf: () => TracingSession | undefined, target: CaptureTarget): PipelinePolicyLike {
  const sourceFor = (url: string): RunSource => ({
    reader: target.reader,
    mapping: sourceMappingOptions({ providerName: target.providerName, baseUrl: target.endpoint ?? url }),
  });
  return {
    name: CAPTURE_POLICY_NAME,
    async sendRequest(request, next) {
      const capture = currentScope()?.capture;
      if (capture) {
        // A read of our own: its answer is ours, not something the application did.
        const response = await next(request);
        if (response.status === 200 && typeof response.bodyAsText === 'string') {
          try {
            capture(jsonAnswer(response));
          } catch {
            // not JSON: the reader reports an empty answer
          }
        }
        return response;
      }
      const session = sessionOf();
      if (!session?.active) return next(request);
      const guard = session.guard;
      const route = guard.run('routing a request', () => routeOf(request.method.toUpperCase(), request.url), undefined);
      if (!route) return next(request);

      if (route.kind === 'create') {
        const ctx = context.active();
        const calledAt = session.now();
        guard.run('preparing run metadata', () => {
          const body = jsonBody(request);
          if (!body) return;
          const plan = session.metadataFor(body['metadata'], ctx);
          if (plan.metadata) request.body = JSON.stringify({ ...body, metadata: plan.metadata });
        }, undefined);
        const response = await next(request);
        guard.run('observing a created run', () => {
          if (response.status !== 200) return;
          const creation = { context: ctx, source: sourceFor(request.url), calledAt };
          if (response.readableStreamBody) observeSse(response, session.tracker.creationStream(creation), session);
          else session.tracker.created(creation, jsonAnswer(response), session.now());
        }, undefined);
        return response;
      }

      if (route.kind === 'submit') {
        const at = session.now();
        const follower = guard.run('observing submitted tool outputs', () => {
          if (!session.tracker.isFollowing(route.runId)) return undefined;
          const body = jsonBody(request);
          const outputs = Array.isArray(body?.['tool_outputs']) ? (body['tool_outputs'] as unknown[]) : [];
          const ids = outputs.map((o) => (o as { tool_call_id?: unknown } | null)?.tool_call_id).filter((id): id is string => typeof id === 'string');
          return { follower: session.tracker.submitted(route.runId, route.threadId, ids, at, body?.['stream'] === true) };
        }, undefined);
        const response = await next(request);
        if (!follower) return response;
        guard.run('observing submitted tool outputs', () => {
          if (response.status !== 200) return;
          if (response.readableStreamBody && follower.follower) observeSse(response, follower.follower, session);
          else session.tracker.observeRun(jsonAnswer(response), session.now(), 'answer');
        }, undefined);
        return response;
      }

      // A read of a followed run, or a cancel's answer (`cancelling`: followed to its end).
      const response = await next(request);
      guard.run('observing a run read', () => {
        if (response.status === 200 && session.tracker.isFollowing(route.runId)) session.tracker.observeRun(jsonAnswer(response), session.now(), route.kind === 'get' ? 'read' : 'answer');
      }, undefined);
      return response;
    },
  };
}
