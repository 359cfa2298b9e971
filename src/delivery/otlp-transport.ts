/**
 * One OTLP/HTTP POST, and what came of it. No retries here: the retry policy lives in `send.ts`, so
 * that it can be unbounded for the sidecar and bounded for one-shot commands, and always see the
 * status code and `Retry-After` of each attempt.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { ExportResponse } from '@opentelemetry/otlp-exporter-base';
import { OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { parseRetryAfter } from '../util/backoff.js';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { describeCollectorAnswer } from './collector-answer.js';

/** Re-exported: the collector's and the API's `Retry-After` are read the same way. */
export { parseRetryAfter };

/** Status codes OTLP/HTTP says to retry. 413 is handled by splitting the batch. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** A collector's answer is small; a huge one is a misconfigured endpoint, not a collector. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** An attempt's failure, with what the retry policy needs to decide. */
export class ExportAttemptError extends OTLPExporterError {
  constructor(
    message: string,
    status: number | undefined,
    body: string | undefined,
    /** Worth trying again (429/502/503/504, timeouts, connection errors). */
    readonly retryable: boolean,
    /** From the collector's `Retry-After`, when it sent one. */
    readonly retryAfterMillis?: number,
  ) {
    super(message, status, body);
  }

  override readonly name: string = 'ExportAttemptError';
}

export interface OtlpHttpTransportOptions {
  url: string;
  contentType: 'application/x-protobuf' | 'application/json';
  /** Extra headers (`OTEL_EXPORTER_OTLP_HEADERS`). Values are secrets: never logged. */
  headers?: Readonly<Record<string, string>>;
  compression?: 'none' | 'gzip';
  /** Aborting cancels any request in flight (a forced shutdown must not wait out the timeout). */
  signal?: AbortSignal;
  /** For https:// URLs: a private CA, and a client certificate and key for mTLS (PEM). */
  tls?: OtlpTlsOptions;
}

/** PEM contents (not paths): `OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_KEY`, `..._CLIENT_CERTIFICATE`. */
export interface OtlpTlsOptions {
  /** Trusted CA certificate(s), instead of the system's. */
  ca?: string | Buffer;
  /** The client's private key (mTLS; with `cert`). */
  key?: string | Buffer;
  /** The client's certificate chain (mTLS; with `key`). */
  cert?: string | Buffer;
}

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

export function createOtlpHttpTransport(options: OtlpHttpTransportOptions) {
  const url = new URL(options.url);
  const secure = url.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  const tls = secure && options.tls
    ? { ...(options.tls.ca ? { ca: options.tls.ca } : {}), ...(options.tls.key ? { key: options.tls.key } : {}), ...(options.tls.cert ? { cert: options.tls.cert } : {}) }
    : {};
  const userAgent = `${PACKAGE_NAME}/${VERSION}`;

  function send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const body = options.compression === 'gzip' ? gzipSync(data) : data;
    const headers: Record<string, string> = {
      ...options.headers,
      'Content-Type': options.contentType,
      'Content-Length': String(body.byteLength),
      'User-Agent': userAgent,
    };
    if (options.compression === 'gzip') headers['Content-Encoding'] = 'gzip';

    return new Promise<ExportResponse>((resolve) => {
      const req = request(url, { method: 'POST', headers, ...tls, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
        readBody(res).then(
          (buffer) => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve({ status: 'success', data: buffer });
              return;
            }
            const text = buffer.toString('utf8').slice(0, 2000);
            const retryable = RETRYABLE_STATUS.has(status);
            const retryAfter = parseRetryAfter(res.headers['retry-after']);
            // The collector's own reason ("…: field x is required") is what tells the user what to fix.
            const said = describeCollectorAnswer(buffer, res.headers['content-type'], Object.values(options.headers ?? {}));
            const error = new ExportAttemptError(`collector answered HTTP ${status}${said ? `: ${said}` : ''}`, status, text, retryable, retryAfter);
            resolve(retryable ? { status: 'retryable', error, ...(retryAfter !== undefined ? { retryInMillis: retryAfter } : {}) } : { status: 'failure', error });
          },
          (err: Error) => resolve({ status: 'retryable', error: new ExportAttemptError(`response interrupted: ${err.message}`, undefined, undefined, true) }),
        );
      });
      req.setTimeout(timeoutMillis, () => {
        req.destroy(new Error(`no answer within ${timeoutMillis} ms`));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const reason = err.code ? `${err.code}: ${err.message}` : err.message;
        resolve({ status: 'retryable', error: new ExportAttemptError(`could not reach the collector (${reason})`, undefined, undefined, true) });
      });
      req.end(body);
    });
  }

  return { send, shutdown(): void {} };
}
