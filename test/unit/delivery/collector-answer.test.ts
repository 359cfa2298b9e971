/**
 * What a collector said when it refused (src/delivery/collector-answer.ts): the `google.rpc.Status`
 * message in protobuf or JSON, or the body's text; on one line, cut, credentials removed.
 */
import { describe, expect, it } from 'vitest';
import { describeCollectorAnswer, MAX_SHOWN_CHARS, rpcStatusMessage } from '../../../src/delivery/collector-answer.js';
import { encodeRpcStatus } from '../../support/otlp-proto.js';

describe('describeCollectorAnswer', () => {
  it('the message of a protobuf google.rpc.Status (encoded by the official protos)', () => {
    const body = encodeRpcStatus(3, 'resource_spans[0].scope_spans[0].spans[0]: trace_id is invalid');
    expect(rpcStatusMessage(body)).toBe('resource_spans[0].scope_spans[0].spans[0]: trace_id is invalid');
    expect(describeCollectorAnswer(body, 'application/x-protobuf')).toBe('resource_spans[0].scope_spans[0].spans[0]: trace_id is invalid');
  });

  it('the message of a JSON Status, or of a JSON error envelope', () => {
    expect(describeCollectorAnswer(Buffer.from('{"code":3,"message":"bad span"}'), 'application/json')).toBe('bad span');
    expect(describeCollectorAnswer(Buffer.from('{"error":{"message":"quota exceeded"}}'), 'application/json; charset=utf-8')).toBe('quota exceeded');
  });

  it('plain text, on one line', () => {
    expect(describeCollectorAnswer(Buffer.from('404 page not found\n\r\tsee docs\n'), 'text/plain')).toBe('404 page not found see docs');
  });

  it('cut to a few hundred characters', () => {
    const said = describeCollectorAnswer(Buffer.from('x'.repeat(5000)), 'text/plain') as string;
    expect(said).toHaveLength(MAX_SHOWN_CHARS);
    expect(said.endsWith('…')).toBe(true);
  });

  it('header values (credentials) are removed', () => {
    expect(describeCollectorAnswer(Buffer.from('invalid api key: Bearer tok-123456'), 'text/plain', ['Bearer tok-123456'])).toBe('invalid api key: <redacted>');
  });

  it('nothing readable: undefined (an empty body, binary, a protobuf that is not a Status)', () => {
    expect(describeCollectorAnswer(new Uint8Array(), 'text/plain')).toBeUndefined();
    expect(describeCollectorAnswer(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]), 'application/octet-stream')).toBeUndefined();
    expect(describeCollectorAnswer(Uint8Array.from([0x0a, 0xff]), 'application/x-protobuf')).toBeUndefined();
    expect(describeCollectorAnswer(Buffer.from('   '), 'text/plain')).toBeUndefined();
  });
});
