// One HTTP request as the OTLP receiver saw it: headers, bytes on the wire, bytes after
// decompression, what they decoded to, and (once answered) what the receiver replied.
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';

import { decodeTraces } from './otlp-decode.js';
import { OtlpDecodeError } from './otlp-fields.js';
import type { OtlpEncoding, ReceivedSpan } from './otlp-types.js';

export interface Instant {
  /** performance.now() in the test process: for measuring intervals (backoff, Retry-After). */
  performanceNow: number;
  /** Date.now(): for correlating with wall-clock logs. */
  epochMs: number;
}

/**
 * - `pending`: decoded, answer not sent yet (e.g. a scripted delay).
 * - `answered`: a status line was sent; see `status`.
 * - `socket-destroyed`: a scripted reply destroyed the socket without answering.
 * - `client-gone`: the client closed the connection (or the receiver was closed) before the answer.
 */
export type RequestOutcome = 'pending' | 'answered' | 'socket-destroyed' | 'client-gone';

/** Who chose the answer; useful when a test's script and the defaults interact. */
export type ReplySource = 'default' | 'fail-next' | 'script' | 'body-limit' | 'rejected';

export interface ReceivedRequest {
  /**
   * 0-based, in order of arrival (of the request headers), since start or the last reset().
   * A request whose client disconnects before sending its whole body is not recorded, which
   * leaves a gap in the numbering.
   */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Media type without parameters, lower-cased; '' when absent. */
  readonly contentType: string;
  /** Content-Encoding, lower-cased; '' when absent. */
  readonly contentEncoding: string;
  /** The OTLP encoding named by the content type, if it is one. */
  readonly encoding: OtlpEncoding | undefined;
  /** The body exactly as received (still compressed when Content-Encoding is gzip). */
  readonly rawBody: Uint8Array;
  /** The body after decompression (same bytes as rawBody when not compressed). */
  readonly body: Uint8Array;
  /** Spans decoded from the body; [] when it did not decode. Counted only if `accepted`. */
  readonly spans: readonly ReceivedSpan[];
  /** Why the request is not a readable OTLP traces export; undefined when it is. */
  readonly decodeError: string | undefined;
  /** When the request's headers arrived. */
  readonly receivedAt: Instant;
  outcome: RequestOutcome;
  /** The status sent; undefined unless `outcome` is 'answered'. */
  status: number | undefined;
  /** True when the receiver answered with a 2xx: the exporter was told its spans were taken. */
  accepted: boolean;
  replySource: ReplySource | undefined;
  answeredAt: Instant | undefined;
  /** Over TLS with client certificates: the subject CN of the certificate the client presented, if any. */
  clientCertificate?: string | undefined;
}

export function now(): Instant {
  return { performanceNow: performance.now(), epochMs: Date.now() };
}

export interface RequestInput {
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Uint8Array;
  receivedAt: Instant;
  tracesPath: string;
}

/** Why the receiver refuses a request by default: the HTTP status and a message. */
export interface Rejection {
  status: number;
  message: string;
}

class RejectedRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Everything about a request that does not depend on the answer, and why it would be refused. */
export function describeRequest(input: RequestInput): { request: ReceivedRequest; rejection: Rejection | undefined } {
  const headers = flattenHeaders(input.headers);
  const contentType = mediaType(headers['content-type']);
  const contentEncoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  const encoding = encodingOf(contentType);
  let body = input.rawBody;
  let spans: ReceivedSpan[] = [];
  let rejection: Rejection | undefined;
  try {
    if (input.path !== input.tracesPath) throw new RejectedRequest(404, `no such path: ${input.path}`);
    if (input.method !== 'POST') throw new RejectedRequest(405, `method ${input.method} not allowed`);
    if (encoding === undefined) throw new RejectedRequest(415, `unsupported Content-Type "${contentType}"`);
    body = decompress(input.rawBody, contentEncoding);
    spans = decodeTraces(body, encoding);
  } catch (error) {
    if (error instanceof RejectedRequest) rejection = { status: error.status, message: error.message };
    else if (error instanceof OtlpDecodeError) rejection = { status: 400, message: error.message };
    else throw error;
  }
  const request: ReceivedRequest = {
    index: input.index,
    method: input.method,
    path: input.path,
    headers,
    contentType,
    contentEncoding,
    encoding,
    rawBody: input.rawBody,
    body,
    spans,
    decodeError: rejection?.message,
    receivedAt: input.receivedAt,
    outcome: 'pending',
    status: undefined,
    accepted: false,
    replySource: undefined,
    answeredAt: undefined,
  };
  return { request, rejection };
}

function decompress(raw: Uint8Array, contentEncoding: string): Uint8Array {
  if (contentEncoding === '' || contentEncoding === 'identity') return raw;
  if (contentEncoding !== 'gzip') throw new RejectedRequest(415, `unsupported Content-Encoding "${contentEncoding}"`);
  try {
    return new Uint8Array(gunzipSync(raw));
  } catch (error) {
    throw new OtlpDecodeError(`Content-Encoding is gzip but the body does not gunzip: ${(error as Error).message}`);
  }
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function encodingOf(contentType: string): OtlpEncoding | undefined {
  if (contentType === 'application/x-protobuf') return 'protobuf';
  if (contentType === 'application/json') return 'json';
  return undefined;
}
