/**
 * Identity (README "Identity and parenting"): trace and span IDs are the first 16 / 8 bytes of SHA-256
 * over `assistants-otel/ids/v1`, a kind, and the run id, step id and tool call key (`id:<tool call id>`
 * or `index:<position>`), each length-prefixed.
 * Re-exporting gives the same IDs. A W3C `traceparent` parents the run span; an invalid one is ignored.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ID_SCHEME,
  formatTraceparent,
  parseTraceparent,
  spanIdForRun,
  spanIdForStep,
  spanIdForToolCall,
  traceIdForRun,
} from '../../../src/mapping/ids.js';

/**
 * The README's scheme, written out independently of src/. The README does not pin the byte layout of
 * the length prefix nor the kind names; this uses `<decimal UTF-8 byte length>:` and the kinds
 * `trace`, `run`, `step`, `tool_call` (see the report: the README should state them, since every
 * stored ID depends on them).
 */
function referenceId(bytes: 16 | 8, kind: string, ...ids: string[]): string {
  const hash = createHash('sha256');
  for (const part of ['assistants-otel/ids/v1', kind, ...ids]) {
    const utf8 = Buffer.from(part, 'utf8');
    hash.update(Buffer.from(`${utf8.length}:`, 'ascii'));
    hash.update(utf8);
  }
  return hash.digest().subarray(0, bytes).toString('hex');
}

describe('deterministic IDs', () => {
  it('uses the versioned scheme name of the README', () => {
    expect(ID_SCHEME).toBe('assistants-otel/ids/v1');
  });

  it('matches known-answer values for the spec example IDs', () => {
    expect(traceIdForRun('run_abc123')).toBe('8c1aeceb8a73da071c32ea8cbc36680d');
    expect(spanIdForRun('run_abc123')).toBe('55b332435949e642');
    expect(spanIdForStep('run_abc123', 'step_abc123')).toBe('c422c31297558445');
    // The key of a tool call span is prefixed (README: `id:<tool call id>`, or `index:<position>`).
    expect(spanIdForToolCall('run_abc123', 'step_abc123', 'id:call_fn1')).toBe('70533896f8e195f9');
    expect(spanIdForToolCall('run_abc123', 'step_abc123', 'index:0')).toBe('74890c24a9554d01');
  });

  it.each([
    ['run_abc123', 'step_abc123', 'id:call_fn1'],
    ['run_abc123', 'step_abc123', 'index:3'],
    ['run_9yjn1YQQ3kN1mZ2WQyr7xDiq', 'step_Ks2wSdFQ4ObaMBZLq6KwPTqO', 'id:call_Y9dT3bL0Yg1cvUZ3MXiPdPaB'],
    ['ряд_unicode', 'étape_😀', 'id:appel_ü'],
    ['', '', ''],
  ])('equals SHA-256 over the length-prefixed parts for (%j, %j, %j)', (runId, stepId, callId) => {
    expect(traceIdForRun(runId)).toBe(referenceId(16, 'trace', runId));
    expect(spanIdForRun(runId)).toBe(referenceId(8, 'run', runId));
    expect(spanIdForStep(runId, stepId)).toBe(referenceId(8, 'step', runId, stepId));
    expect(spanIdForToolCall(runId, stepId, callId)).toBe(referenceId(8, 'tool_call', runId, stepId, callId));
  });

  it('gives 32- and 16-digit lowercase hex IDs that are not all zero', () => {
    expect(traceIdForRun('run_abc123')).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
    expect(spanIdForRun('run_abc123')).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
    expect(spanIdForStep('run_abc123', 'step_abc123')).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
    expect(spanIdForToolCall('run_abc123', 'step_abc123', 'id:call_1')).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
  });

  it('gives the same IDs for the same input, every time', () => {
    expect(traceIdForRun('run_x')).toBe(traceIdForRun('run_x'));
    expect(spanIdForStep('run_x', 'step_y')).toBe(spanIdForStep('run_x', 'step_y'));
    expect(spanIdForToolCall('run_x', 'step_y', 'id:call_z')).toBe(spanIdForToolCall('run_x', 'step_y', 'id:call_z'));
  });

  it('gives different IDs to different runs, steps and tool calls', () => {
    const ids = [
      spanIdForRun('run_a'),
      spanIdForRun('run_b'),
      spanIdForStep('run_a', 'step_1'),
      spanIdForStep('run_a', 'step_2'),
      spanIdForStep('run_b', 'step_1'),
      spanIdForToolCall('run_a', 'step_1', 'id:call_1'),
      spanIdForToolCall('run_a', 'step_1', 'id:call_2'),
      spanIdForToolCall('run_a', 'step_2', 'id:call_1'),
      spanIdForToolCall('run_b', 'step_1', 'id:call_1'),
      spanIdForToolCall('run_a', 'step_1', 'index:0'),
      spanIdForToolCall('run_a', 'step_1', 'index:1'),
      // A tool call whose id looks like a positional key: its key is `id:index:0`, not `index:0`.
      spanIdForToolCall('run_a', 'step_1', 'id:index:0'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(traceIdForRun('run_a')).not.toBe(traceIdForRun('run_b'));
  });

  it('is unambiguous where the parts meet (length prefixes)', () => {
    expect(spanIdForStep('run_ab', 'c')).not.toBe(spanIdForStep('run_a', 'bc'));
    expect(spanIdForToolCall('r', 's', 'id:tc')).not.toBe(spanIdForToolCall('r', 'si', 'd:tc'));
  });

  it('separates kinds: a run span ID is not the first half of its trace ID', () => {
    expect(traceIdForRun('run_abc123').startsWith(spanIdForRun('run_abc123'))).toBe(false);
  });
});

describe('parseTraceparent (W3C Trace Context)', () => {
  it('parses a valid version-00 header', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    });
  });

  it('keeps the flags of an unsampled parent', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.traceFlags).toBe(0);
  });

  it('accepts a future version carrying more fields (W3C: parse the first four)', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    });
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not-a-traceparent'],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['short span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01'],
    ['non-hex digit', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['version 00 with trailing fields', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'],
    ['missing flags', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7'],
  ])('rejects an invalid header: %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  // W3C Trace Context §3.2.2: trace-id = 32HEXDIGLC, parent-id = 16HEXDIGLC ("lowercase hex");
  // an upper-case header is not a valid traceparent, and the README says an invalid one is ignored.
  it('rejects upper-case hex, which W3C Trace Context does not allow', () => {
    expect(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01')).toBeUndefined();
  });

  it('round-trips through formatTraceparent', () => {
    const parsed = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(parsed).toBeDefined();
    expect(formatTraceparent(parsed!)).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });
});
