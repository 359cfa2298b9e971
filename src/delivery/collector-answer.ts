/**
 * What a collector said when it refused a request, for a person to read: the `message` of the
 * `google.rpc.Status` OTLP/HTTP answers carry (protobuf or JSON), or the body's text; on one line,
 * cut to a few hundred characters, with header values (credentials) removed.
 */
import { scrubSecrets } from '../util/redact.js';

/** Long enough for a collector's reason ("…: field x is required"), short enough for a log line. */
export const MAX_SHOWN_CHARS = 300;

function readVarint(buf: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let shift = 0;
  for (let pos = at; pos < buf.length && shift < 35; pos++) {
    const byte = buf[pos] as number;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, pos + 1];
  }
  return undefined;
}

/** Field 2 (`message`) of a protobuf `google.rpc.Status`, or undefined when this is not one. */
export function rpcStatusMessage(buf: Uint8Array): string | undefined {
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (!tag) return undefined;
    pos = tag[1];
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (!v) return undefined;
      pos = v[1];
    } else if (wire === 2) {
      const length = readVarint(buf, pos);
      if (!length || length[1] + length[0] > buf.length) return undefined;
      if (field === 2) return Buffer.from(buf.subarray(length[1], length[1] + length[0])).toString('utf8');
      pos = length[1] + length[0];
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else {
      return undefined;
    }
  }
  return undefined;
}

function looksLikeText(text: string): boolean {
  const control = text.match(/[\u0000-\u0008\u000e-\u001f\ufffd]/g)?.length ?? 0;
  return control <= text.length / 20;
}

/** The collector's reason, ready to show; undefined when the body says nothing readable. */
export function describeCollectorAnswer(body: Uint8Array, contentType: string | undefined, secrets: Iterable<string> = []): string | undefined {
  if (body.length === 0) return undefined;
  let text: string | undefined;
  if (/protobuf/i.test(contentType ?? '')) {
    text = rpcStatusMessage(body);
  } else {
    const raw = Buffer.from(body).toString('utf8');
    try {
      const json = JSON.parse(raw) as { message?: unknown; error?: { message?: unknown } };
      const message = typeof json.message === 'string' ? json.message : typeof json.error?.message === 'string' ? json.error.message : undefined;
      text = message ?? raw;
    } catch {
      text = raw;
    }
  }
  if (text === undefined || text.trim() === '' || !looksLikeText(text)) return undefined;
  const oneLine = scrubSecrets(text, secrets).replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_SHOWN_CHARS ? `${oneLine.slice(0, MAX_SHOWN_CHARS - 1)}…` : oneLine;
}
