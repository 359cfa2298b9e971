// A real OTLP/gRPC trace receiver on loopback for end-to-end tests: a @grpc/grpc-js server whose
// TraceService/Export method comes from the vendored official protos (loaded by
// @grpc/proto-loader), decoding each request with the same decoder as the HTTP receiver, and
// answering as a test scripts it: success, a partial success, or a gRPC error with an optional
// google.rpc.RetryInfo in the trailers. Optionally over TLS, or mTLS.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import { decodeProtobufTraces } from './otlp-decode.js';
import { encodeEmptyExportResponse, encodePartialSuccessResponse, encodeStatusWithRetryInfo } from './otlp-proto.js';
import type { ReceivedSpan } from './otlp-types.js';

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

export interface GrpcRequest {
  readonly index: number;
  /** Metadata as received (keys lower-case; repeated values joined with ", "). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Bytes of the ExportTraceServiceRequest (after grpc-js undid any compression). */
  readonly body: Uint8Array;
  readonly spans: readonly ReceivedSpan[];
  readonly receivedAt: number;
  /** The answer: 'ok', 'partial', or the gRPC status code name. */
  answer?: string;
  /** With mTLS: the client certificate's subject CN. */
  clientCertificate?: string | undefined;
}

export type GrpcReply =
  | { kind: 'ok' }
  | { kind: 'partial'; rejectedSpans: number; errorMessage: string }
  | { kind: 'error'; code: grpc.status; message: string; retryDelayMillis?: number }
  | { kind: 'delay'; ms: number; then?: GrpcReply };

export type GrpcReplyScript = (request: GrpcRequest, index: number) => GrpcReply | undefined;

export interface GrpcReceiverOptions {
  /** TLS with this key and certificate; with `clientCa`, a client certificate signed by it is required. */
  tls?: { key: Buffer; cert: Buffer; clientCa?: Buffer };
}

/** The service definition from the vendored trace_service.proto, with requests kept as bytes. */
function traceServiceDefinition(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { includeDirs: [PROTO_DIR] });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: { service: grpc.ServiceDefinition } } } } } };
  };
  const service = loaded.opentelemetry.proto.collector.trace.v1.TraceService.service;
  const exportMethod = service['Export'] as grpc.MethodDefinition<unknown, unknown>;
  return {
    Export: {
      ...exportMethod,
      // Raw bytes in and out: requests are decoded by the receiver's own decoder; responses may
      // carry partial_success, which the vendored (older) proto does not declare.
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes),
    },
  };
}

export class OtlpGrpcReceiver {
  readonly requests: GrpcRequest[] = [];
  #script: GrpcReplyScript | undefined;
  readonly #changes = new Set<() => void>();

  constructor(
    private readonly server: grpc.Server,
    /** `host:port`, e.g. 127.0.0.1:4317 */
    readonly address: string,
    readonly secure: boolean,
  ) {}

  /** `http://127.0.0.1:PORT` (plaintext) or `https://127.0.0.1:PORT` (TLS), for OTEL_EXPORTER_OTLP_ENDPOINT. */
  get url(): string {
    return `${this.secure ? 'https' : 'http'}://${this.address}`;
  }

  respondWith(script: GrpcReplyScript | undefined): this {
    this.#script = script;
    return this;
  }

  /** Spans of requests answered 'ok' or 'partial' (the exporter was told they were taken). */
  spans(): ReceivedSpan[] {
    return this.requests.filter((r) => r.answer === 'ok' || r.answer === 'partial').flatMap((r) => r.spans);
  }

  /** Resolves once `probe` returns something other than undefined/false, checked after every request. */
  waitFor<T>(probe: (receiver: this) => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe(this);
        if (value !== undefined && value !== false) {
          clearTimeout(timer);
          this.#changes.delete(check);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        this.#changes.delete(check);
        reject(new Error(`gRPC receiver: timed out after ${timeoutMs} ms waiting for ${what}; ${this.requests.length} request(s): ${this.requests.map((r) => r.answer ?? 'pending').join(', ')}`));
      }, timeoutMs);
      this.#changes.add(check);
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.tryShutdown(() => resolve());
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 500).unref();
    });
  }

  /** @internal */
  handle(call: grpc.ServerUnaryCall<Buffer, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>): void {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = Buffer.isBuffer(value) ? value.toString('base64') : String(value);
    const body = new Uint8Array(call.request);
    let spans: ReceivedSpan[] = [];
    let decodeError: string | undefined;
    try {
      spans = decodeProtobufTraces(body);
    } catch (error) {
      decodeError = (error as Error).message;
    }
    const peer = (call as unknown as { getAuthContext?: () => { sslPeerCertificate?: { subject?: { CN?: string } } } }).getAuthContext?.();
    const request: GrpcRequest = {
      index: this.requests.length,
      metadata,
      body,
      spans,
      receivedAt: performance.now(),
      clientCertificate: peer?.sslPeerCertificate?.subject?.CN,
    };
    this.requests.push(request);
    const reply: GrpcReply = decodeError !== undefined
      ? { kind: 'error', code: grpc.status.INVALID_ARGUMENT, message: `not an ExportTraceServiceRequest: ${decodeError}` }
      : (this.#script?.(request, request.index) ?? { kind: 'ok' });
    this.answer(request, reply, callback);
  }

  private answer(request: GrpcRequest, reply: GrpcReply, callback: grpc.sendUnaryData<Uint8Array>): void {
    const done = (answer: string) => {
      request.answer = answer;
      for (const notify of [...this.#changes]) notify();
    };
    switch (reply.kind) {
      case 'delay':
        setTimeout(() => this.answer(request, reply.then ?? { kind: 'ok' }, callback), reply.ms);
        return;
      case 'ok':
        callback(null, encodeEmptyExportResponse());
        done('ok');
        return;
      case 'partial':
        callback(null, encodePartialSuccessResponse(reply.rejectedSpans, reply.errorMessage));
        done('partial');
        return;
      case 'error': {
        const trailers = new grpc.Metadata();
        if (reply.retryDelayMillis !== undefined) trailers.set('grpc-status-details-bin', Buffer.from(encodeStatusWithRetryInfo(reply.code, reply.message, reply.retryDelayMillis)));
        callback({ code: reply.code, details: reply.message, metadata: trailers });
        done(grpc.status[reply.code]);
        return;
      }
    }
  }
}

/** Starts a gRPC receiver on 127.0.0.1 (an ephemeral port). */
export async function startOtlpGrpcReceiver(options: GrpcReceiverOptions = {}): Promise<OtlpGrpcReceiver> {
  const server = new grpc.Server();
  // Calls arrive only after bindAsync, once the receiver exists.
  const holder: { receiver?: OtlpGrpcReceiver } = {};
  server.addService(traceServiceDefinition(), {
    Export: (call: grpc.ServerUnaryCall<Buffer, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) => holder.receiver?.handle(call, callback),
  });
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(options.tls.clientCa ?? null, [{ private_key: options.tls.key, cert_chain: options.tls.cert }], options.tls.clientCa !== undefined)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  holder.receiver = new OtlpGrpcReceiver(server, `127.0.0.1:${port}`, options.tls !== undefined);
  return holder.receiver;
}

export { grpc };
