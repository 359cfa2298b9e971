// A tiny OTLP/HTTP sink for the benchmarks: answers every POST with 200 and an empty
// ExportTraceServiceResponse, counts requests and bytes, and (optionally) reads the span IDs out of
// each protobuf request so a scenario can tell when a given span arrived.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Reads a protobuf varint at `pos`; returns [value, nextPos]. Values here fit in 2^53. */
function varint(buf, pos) {
  let value = 0;
  let factor = 1;
  for (;;) {
    const byte = buf[pos++];
    if (byte === undefined) throw new RangeError('truncated varint');
    value += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return [value, pos];
    factor *= 128;
  }
}

/** Calls `onField(field, wire, start, end, value)` for each field of the message in buf[start, end). */
function fields(buf, start, end, onField) {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = varint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    pos = afterTag;
    if (wire === 0) {
      const [value, next] = varint(buf, pos);
      onField(field, wire, pos, next, value);
      pos = next;
    } else if (wire === 1) {
      onField(field, wire, pos, pos + 8, undefined);
      pos += 8;
    } else if (wire === 2) {
      const [length, next] = varint(buf, pos);
      onField(field, wire, next, next + length, undefined);
      pos = next + length;
    } else if (wire === 5) {
      onField(field, wire, pos, pos + 4, undefined);
      pos += 4;
    } else {
      throw new RangeError(`unsupported wire type ${wire}`);
    }
  }
}

/**
 * The span IDs (hex) of an OTLP `ExportTraceServiceRequest` in protobuf:
 * request.resource_spans(1).scope_spans(2).spans(2).span_id(2).
 */
export function spanIdsOfRequest(buf) {
  const ids = [];
  fields(buf, 0, buf.length, (f, w, s, e) => {
    if (f !== 1 || w !== 2) return;
    fields(buf, s, e, (f2, w2, s2, e2) => {
      if (f2 !== 2 || w2 !== 2) return;
      fields(buf, s2, e2, (f3, w3, s3, e3) => {
        if (f3 !== 2 || w3 !== 2) return;
        fields(buf, s3, e3, (f4, w4, s4, e4) => {
          if (f4 === 2 && w4 === 2) ids.push(buf.toString('hex', s4, e4));
        });
      });
    });
  });
  return ids;
}

/**
 * Starts the sink on 127.0.0.1 (a free port). `decode: true` records, for every span ID, the
 * `performance.now()` at which the request holding it was fully received (first arrival wins).
 */
export async function startOtlpSink({ decode = false, port: wantedPort = 0 } = {}) {
  const stats = { requests: 0, bytes: 0, spans: 0, firstRequestAt: undefined, lastRequestAt: undefined };
  /** span ID (hex) → performance.now() at first arrival */
  const arrivals = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => {
      stats.bytes += chunk.length;
      if (decode) chunks.push(chunk);
    });
    req.on('end', () => {
      const at = performance.now();
      stats.requests++;
      stats.firstRequestAt ??= at;
      stats.lastRequestAt = at;
      if (decode) {
        const ids = spanIdsOfRequest(Buffer.concat(chunks));
        stats.spans += ids.length;
        for (const id of ids) if (!arrivals.has(id)) arrivals.set(id, at);
      }
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' });
      res.end();
    });
  });
  const listen = (port) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen(wantedPort);
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    tracesUrl: `http://127.0.0.1:${port}/v1/traces`,
    stats,
    arrivals,
    /** The collector goes away: the port refuses connections until `up()`. */
    down: close,
    /** The collector is back, on the same port. */
    up: () => listen(port),
    close,
  };
}
