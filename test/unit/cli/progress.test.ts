/**
 * Progress of `export` (src/cli/progress.ts) as plain lines, on a fake clock: when lines come, what
 * they say, and that they hold no cursor movement. (The bar on a pseudo-terminal is tested end to
 * end in test/e2e/export.test.ts.)
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, type ProgressState } from '../../../src/cli/progress.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('progress as plain lines', () => {
  it('a line when listing starts and ends, one per tenth of the runs, the final counts once, rate and ETA', () => {
    let now = 0;
    const out = capture();
    const progress = createProgress('lines', { stream: out.stream, width: 80, now: () => now });
    const state: ProgressState = { threads: 1, threadsListed: 0, runsFound: 0, runsTotal: 0, runsRead: 0, stepsRead: 0, spansDelivered: 0 };
    progress.listing(state);
    Object.assign(state, { threadsListed: 1, runsFound: 20, runsTotal: 20 });
    progress.update(state);
    progress.exporting(state);
    for (let i = 1; i <= 20; i++) {
      now += 100;
      Object.assign(state, { runsRead: i, stepsRead: i * 3, spansDelivered: i * 4 });
      progress.update(state);
    }
    progress.stop(state);
    const lines = out.text().trimEnd().split('\n');
    expect(lines[0]).toBe('export: listing the runs of 1 thread');
    expect(lines[1]).toBe('export: 20 finished runs to export from 1 thread');
    expect(lines[2]).toBe('export: 1/20 runs, 3 steps read, 4 spans delivered (40 spans/s, ETA 1.9s)');
    expect(lines.at(-1)).toBe('export: 20/20 runs, 60 steps read, 80 spans delivered (40 spans/s, ETA 0s)');
    // 1, 2, 4, 6, … 20: one line each time another tenth is done, and the last counts only once.
    expect(lines).toHaveLength(2 + 11);
    expect(out.text()).not.toMatch(/[\r\u001b]/);
  });

  it('a line every 5 s even without a new tenth (a slow collector), and none for an empty export', () => {
    let now = 0;
    const out = capture();
    const progress = createProgress('lines', { stream: out.stream, width: 80, now: () => now });
    const state: ProgressState = { threads: 1, threadsListed: 1, runsFound: 100, runsTotal: 100, runsRead: 0, stepsRead: 0, spansDelivered: 0 };
    progress.exporting(state);
    state.runsRead = 1;
    progress.update(state);
    now += 4_000;
    progress.update(state);
    now += 1_000;
    progress.update(state);
    expect(out.text().trimEnd().split('\n')).toHaveLength(3);

    const empty = capture();
    const none = createProgress('lines', { stream: empty.stream, width: 80 });
    none.exporting({ ...state, runsTotal: 0, runsRead: 0 });
    none.update({ ...state, runsTotal: 0, runsRead: 0 });
    none.stop({ ...state, runsTotal: 0, runsRead: 0 });
    expect(empty.text()).toBe('export: 0 finished runs to export from 1 thread\n');
  });

  it('none: nothing at all', () => {
    const out = capture();
    const progress = createProgress('none', { stream: out.stream, width: 80 });
    const state: ProgressState = { threads: 1, threadsListed: 1, runsFound: 1, runsTotal: 1, runsRead: 1, stepsRead: 1, spansDelivered: 1 };
    progress.listing(state);
    progress.exporting(state);
    progress.update(state);
    progress.stop(state);
    expect(out.text()).toBe('');
  });
});
