/**
 * Failures of a long import are kept as counts by cause, one line each (not one per request, and
 * not the refused spans themselves).
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { FailureSummary } from '../../../src/cli/export-failures.js';
import type { FailedOutcome } from '../../../src/delivery/send.js';

const spans = (n: number) => Array.from({ length: n }, () => ({}) as ReadableSpan);

describe('FailureSummary', () => {
  it('one line per cause, with the spans and requests it took; the list handed in is emptied', () => {
    const summary = new FailureSummary();
    expect(summary.failed).toBe(false);
    const batch: FailedOutcome[] = [
      { kind: 'rejected', spans: spans(512), status: 401, reason: 'collector answered HTTP 401: no' },
      { kind: 'gave_up', spans: spans(3), attempts: 5, reason: 'connect ECONNREFUSED' },
    ];
    summary.absorb(batch);
    expect(batch).toEqual([]);
    summary.absorb([{ kind: 'rejected', spans: spans(100), status: 401, reason: 'collector answered HTTP 401: no' }]);
    summary.absorb([{ kind: 'unexportable', spans: spans(7), reason: 'Maximum call stack size exceeded' }]);
    expect(summary.failed).toBe(true);
    expect(summary.lines()).toEqual([
      'export failed: 612 spans refused by the collector HTTP 401 (2 requests): collector answered HTTP 401: no',
      'export failed: 3 spans not delivered after 5 attempts: connect ECONNREFUSED',
      'export failed: 7 spans could not be exported (set aside; the other runs were exported): Maximum call stack size exceeded',
    ]);
  });

  it('past 20 distinct causes, the rest are counted together', () => {
    const summary = new FailureSummary();
    for (let i = 0; i < 25; i++) summary.absorb([{ kind: 'rejected', spans: spans(2), status: 400, reason: `bad request ${i}` }]);
    const lines = summary.lines();
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('export failed: 10 more spans in 5 requests, for other reasons');
  });
});
