/**
 * The shared formatting helpers (tables, the `--dry-run` tree): any number, any value, never a throw.
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, formatTimestamp, isoFromHrTime, isoFromMillis, safeJson } from '../../../src/cli/format.js';
import { formatCell, formatTable, renderList } from '../../../src/cli/output.js';

const T = 1733050000;

describe('formatTimestamp', () => {
  it.each<[string, unknown, string]>([
    ['seconds', T, '2024-12-01T10:46:40Z'],
    ['milliseconds, marked', T * 1000 + 250, '2024-12-01T10:46:40.250Z (ms)'],
    ['microseconds, marked', T * 1e6, '2024-12-01T10:46:40Z (µs)'],
    ['an ISO string', '2024-12-01T10:46:40Z', '2024-12-01T10:46:40Z'],
    ['negative', -28450271, '-28450271 (negative)'],
    ['8.64e12 (past Date)', 8.64e12, '8640000000000 (out of range)'],
    ['1e300', 1e300, '1e+300 (out of range)'],
    ['Infinity', Infinity, 'Infinity (not finite)'],
    ['NaN', Number.NaN, 'NaN (not finite)'],
    ['"NaN" from text', 'NaN', 'NaN (not a time)'],
    ['zero', 0, '0 (out of range)'],
    ['null', null, '-'],
  ])('%s → %s', (_name, value, text) => {
    expect(formatTimestamp(value)).toBe(text);
  });
});

describe('times and durations of spans', () => {
  it('prints any HrTime and duration without throwing', () => {
    expect(isoFromHrTime([T, 500_000_000])).toBe('2024-12-01T10:46:40.500Z');
    expect(isoFromHrTime([1e300, 0])).toBe(String(1e303));
    expect(isoFromHrTime([Number.NaN, 0])).toBe('NaN');
    expect(isoFromMillis(8.64e15 + 1)).toBe('8640000000000001');
    expect(formatDuration([T, 0], [T + 12, 0])).toBe('12s');
    expect(formatDuration([T, 0], [T, 250_000_000])).toBe('0.250s');
    expect(formatDuration([0, 0], [Infinity, 0])).toBe('Infinitys');
  });

  it('safeJson never throws', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(safeJson(cycle)).toBe('[object Object]');
    expect(safeJson(Infinity)).toBe('Infinity');
    expect(safeJson(undefined)).toBe('undefined');
  });
});

describe('tables', () => {
  it('a timestamp cell of any number', () => {
    expect(formatCell('created_at', 1e300)).toBe('1e+300 (out of range)');
    expect(formatCell('usage.total_tokens', Infinity)).toBe('Infinity');
    expect(formatCell('completed_at', T * 1000)).toBe('2024-12-01T10:46:40Z (ms)');
  });

  it('a record that is not an object gets a row of its own', () => {
    const text = formatTable([{ id: 'step_1', created_at: T }, 'not a record', 42], ['id', 'created_at']);
    expect(text.trimEnd().split('\n')).toEqual([
      'ID                               CREATED_AT',
      'step_1                           2024-12-01T10:46:40Z',
      '(not an object: "not a record")  -',
      '(not an object: 42)              -',
    ]);
    expect(JSON.parse(renderList(['x', { id: 'a' }], ['id'], { format: 'json', fields: 'id' }))).toEqual(['x', { id: 'a' }]);
  });
});
