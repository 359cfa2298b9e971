/**
 * The waterfall renderer (src/cli/waterfall.ts), a pure function from spans to lines: what it draws
 * for known runs (bars on the run's own time axis, durations, statuses, model, tokens, errors),
 * that no line is ever wider than the width asked for whatever the names, and that absurd times
 * (1e300, negative durations, NaN) are drawn as `?` rather than thrown.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { colorEnabled } from '../../../src/config.js';
import { painter } from '../../../src/cli/terminal.js';
import { cut, displayWidth, sanitize, stripAnsi } from '../../../src/cli/text.js';
import { barCells, columnsFor, compactNumber, formatDuration, renderWaterfall, type Style, type WaterfallSpan } from '../../../src/cli/waterfall.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { T0, functionCall, run, step, toolCallsStep, validRun, validStep } from '../../fixtures/records.js';

/** A run of 20 s: a tool_calls step (two calls) over seconds 2–6, a message over 6–20. */
function weatherRun(overrides: Record<string, unknown> = {}) {
  return mapRunToSpans({
    runId: 'run_weather',
    run: validRun(run({ id: 'run_weather', thread_id: 'thread_w', assistant_id: 'asst_weather', created_at: T0, completed_at: T0 + 20, usage: { prompt_tokens: 300, completion_tokens: 60, total_tokens: 360 }, ...overrides })),
    steps: [
      validStep(toolCallsStep([functionCall({ id: 'call_a' }), functionCall({ id: 'call_b', function: { name: 'get_time', arguments: '{}', output: 'noon' } })], {
        id: 'step_tools', run_id: 'run_weather', created_at: T0 + 2, completed_at: T0 + 6, usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
      })),
      validStep(step({ id: 'step_msg', run_id: 'run_weather', created_at: T0 + 6, completed_at: T0 + 20, usage: { prompt_tokens: 200, completion_tokens: 40, total_tokens: 240 } })),
    ],
  });
}

const tagged = (style: Style, text: string) => `<${style}>${text}</${style}>`;

function span(overrides: Partial<WaterfallSpan> = {}): WaterfallSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    name: 'invoke_agent asst',
    startTime: [T0, 0],
    endTime: [T0 + 10, 0],
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'assistants.run.id': 'run_x', 'assistants.run.status': 'completed' },
    status: { code: 0 },
    ...overrides,
  };
}

describe('renderWaterfall: what it draws', () => {
  it('a run ▸ steps ▸ tool calls, each bar on the run\'s own 20 s axis, with durations, statuses and tokens (80 columns)', () => {
    expect(renderWaterfall(weatherRun())).toEqual([
      'run_weather · thread_w · 2024-03-13 11:50:40Z',
      'gpt-4o · 300 input + 60 output tokens',
      'invoke_agent asst_weather    ███████████████████████    20s completed    360 tok',
      '├ step tool_calls            ··█████················     4s completed    120 tok',
      '│ ├ execute_tool get_curren… ··█████················     4s',
      '│ └ execute_tool get_time    ··█████················     4s',
      '└ step message_creation      ······█████████████████    14s completed    240 tok',
    ]);
  });

  it('long ids: the start time leads the second line, whole, rather than be cut at the edge', () => {
    const runId = `run_${'r'.repeat(30)}`;
    const threadId = `thread_${'t'.repeat(30)}`;
    const spans = mapRunToSpans({ runId, run: validRun(run({ id: runId, thread_id: threadId, created_at: T0, completed_at: T0 + 5 })), steps: [] });
    const lines = renderWaterfall(spans, { width: 80 });
    expect(lines[0]).toBe(`${runId} · ${threadId}`);
    expect(lines[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z · /);
    expect(lines.slice(0, 2).every((l) => !l.includes('…'))).toBe(true);
  });

  it('a failed run: the status word, and the error on a line of its own (once, not again for its failed step)', () => {
    const failed = { status: 'failed', completed_at: null, failed_at: T0 + 20, last_error: { code: 'server_error', message: 'Sorry, something went wrong.' } };
    const spans = mapRunToSpans({
      runId: 'run_f',
      run: validRun(run({ id: 'run_f', created_at: T0, ...failed })),
      steps: [validStep(step({ id: 'step_f', run_id: 'run_f', created_at: T0 + 1, ...failed }))],
    });
    const lines = renderWaterfall(spans);
    expect(lines[2]).toMatch(/^invoke_agent asst_abc123 +█+ +20s failed +\d+ tok$/);
    expect(lines[3]).toBe('  ✗ server_error: Sorry, something went wrong.');
    expect(lines[4]).toMatch(/^└ step message_creation +·█+ +19s failed/);
    expect(lines.filter((l) => l.includes('✗'))).toHaveLength(1);
  });

  it('paints statuses, bars and errors in their styles, and only the text (padding is left plain)', () => {
    const lines = renderWaterfall(weatherRun({ status: 'expired', completed_at: null, expired_at: T0 + 20, last_error: null }), { paint: tagged });
    expect(lines[0]).toBe('<header>run_weather · thread_w · 2024-03-13 11:50:40Z</header>');
    expect(lines[2]).toContain('<error>███████████████████████</error>');
    expect(lines[2]).toContain('<error>expired</error>');
    expect(lines[3]).toBe('  <error>✗ expired</error>');
    expect(lines[4]).toContain('<track>··</track><ok>█████</ok><track>················</track>');
    expect(lines[4]).toContain('<ok>completed</ok>');
    expect(lines[5]).toMatch(/<bar>█+<\/bar>/); // tool calls have no status of their own
    expect(lines.map((l) => l.replace(/<\/?[a-z]+>/g, ''))).toEqual(renderWaterfall(weatherRun({ status: 'expired', completed_at: null, expired_at: T0 + 20, last_error: null })));
  });

  it('real colours on a terminal: ANSI styles that take no columns', () => {
    const colored = renderWaterfall(weatherRun(), { paint: painter(true) });
    expect(colored.join('\n')).toMatch(/\u001b\[32mcompleted\u001b\[39m/);
    expect(colored.map(stripAnsi)).toEqual(renderWaterfall(weatherRun()));
    expect(renderWaterfall(weatherRun(), { paint: painter(false) }).join('\n')).not.toMatch(/\u001b/);
  });

  it('says when the run record was absent, and when the trace continues a remote parent', () => {
    const synthesized = mapRunToSpans({ runId: 'run_s', steps: [validStep(step({ id: 'step_s', run_id: 'run_s' }))] });
    expect(renderWaterfall(synthesized)[1]).toBe('run record absent');
    const remote = renderWaterfall([span({ parentSpanId: 'c'.repeat(16), parentIsRemote: true })]);
    expect(remote[0]).toBe('run_x · 2024-03-13 11:50:40Z');
    expect(remote[1]).toBe(`parent span ${'c'.repeat(16)} (remote)`);
  });

  it('one block per trace, a blank line between, in the order the traces came', () => {
    const lines = renderWaterfall([...weatherRun(), span({ traceId: 'f'.repeat(32), attributes: { 'assistants.run.id': 'run_second' } })]);
    const headers = lines.filter((_l, i) => i === 0 || lines[i - 1] === '');
    expect(headers.map((h) => h.split(' ')[0])).toEqual(['run_weather', 'run_second']);
  });

  it('spans whose parent is missing, and a cycle of parents, are still drawn (as roots)', () => {
    const a = span({ spanId: '1'.repeat(16), parentSpanId: '2'.repeat(16), name: 'a' });
    const b = span({ spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'b' });
    const orphan = span({ spanId: '3'.repeat(16), parentSpanId: '9'.repeat(16), name: 'orphan' });
    const lines = renderWaterfall([a, b, orphan]);
    for (const name of ['a ', 'b ', 'orphan ']) expect(lines.some((l) => l.startsWith(name)), name).toBe(true);
  });

  it('a zero-length run fills its bar; a step outside the run\'s axis is clamped to it', () => {
    const lines = renderWaterfall([
      span({ startTime: [T0, 0], endTime: [T0, 0] }),
      span({ spanId: 'c'.repeat(16), parentSpanId: 'b'.repeat(16), name: 'late step', startTime: [T0 + 50, 0], endTime: [T0 + 60, 0], attributes: {} }),
    ]);
    expect(lines[1]).toMatch(/ █{23} +0s completed/);
    expect(lines[2]).toMatch(/└ late step +█{23} +10s$/);
  });
});

describe('renderWaterfall: records without a usable time (README "Time rules")', () => {
  it('a step placed by its run shows ? for its bar and duration; the rest is drawn as usual', () => {
    const spans = mapRunToSpans({
      runId: 'run_weather',
      run: validRun(run({ id: 'run_weather', thread_id: 'thread_w', assistant_id: 'asst_weather', created_at: T0, completed_at: T0 + 20, usage: null })),
      steps: [
        validStep(step({ id: 'step_prism', run_id: 'run_weather', created_at: 0, completed_at: 0, usage: null })),
        validStep(step({ id: 'step_msg', run_id: 'run_weather', created_at: T0 + 6, completed_at: T0 + 20, usage: null })),
      ],
    });
    expect(renderWaterfall(spans)).toEqual([
      'run_weather · thread_w · 2024-03-13 11:50:40Z',
      'gpt-4o',
      'invoke_agent asst_weather    ███████████████████████    20s completed',
      '├ step message_creation      ?                            ? completed',
      '└ step message_creation      ······█████████████████    14s completed',
    ]);
  });

  it('a run none of whose records has a time: "time unknown" in the header, not the placeholder date', () => {
    const spans = mapRunToSpans({
      runId: 'run_prism',
      run: validRun(run({ id: 'run_prism', thread_id: 'thread_p', assistant_id: 'asst_p', created_at: 0, started_at: 0, completed_at: 0, usage: null })),
      steps: [validStep(step({ id: 'step_prism', run_id: 'run_prism', created_at: 0, completed_at: 0, usage: null }))],
    });
    expect(renderWaterfall(spans)).toEqual([
      'run_prism · thread_p · time unknown',
      'gpt-4o',
      'invoke_agent asst_p          ?                            ? completed',
      '└ step message_creation      ?                            ? completed',
    ]);
  });
});

describe('renderWaterfall: absurd input never throws', () => {
  const absurd: Array<[string, WaterfallSpan]> = [
    ['start 1e300', span({ startTime: [1e300, 0], endTime: [1e300, 0] })],
    ['end before start (negative duration)', span({ startTime: [T0, 0], endTime: [T0 - 50, 0] })],
    ['NaN', span({ startTime: [NaN, 0], endTime: [NaN, NaN] })],
    ['Infinity', span({ startTime: [-Infinity, 0], endTime: [Infinity, 0] })],
    ['negative times', span({ startTime: [-1e308, 0], endTime: [1e308, 0] })],
    ['huge nanoseconds', span({ startTime: [0, 1e300], endTime: [0, -1e300] })],
  ];

  it.each(absurd)('%s: drawn, with ? for what cannot be placed', (_name, root) => {
    const child = { ...root, spanId: 'c'.repeat(16), parentSpanId: root.spanId, name: 'step', attributes: { 'assistants.step.status': 'completed' } };
    const lines = renderWaterfall([root, child, span({ spanId: 'd'.repeat(16), parentSpanId: root.spanId, name: 'normal step' })]);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(80);
  });

  it('a negative duration reads "?"; so does a non-finite one', () => {
    expect(renderWaterfall([absurd[1]![1]])[1]).toMatch(/ \? +\? completed/);
    expect(formatDuration(-1)).toBe('?');
    expect(formatDuration(NaN)).toBe('?');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatDuration(1e300)).toBe('>999d');
  });

  it('token counts that are not counts are left out', () => {
    const lines = renderWaterfall([span({ attributes: { 'assistants.run.id': 'r', 'assistants.usage.total_tokens': -5, 'gen_ai.usage.input_tokens': Number.NaN } })]);
    expect(lines.join('\n')).not.toMatch(/tok/);
    expect(compactNumber(1e300)).toBe('>999T');
  });
});

describe('renderWaterfall: every line fits the width', () => {
  const names = [
    'invoke_agent ' + 'asst_'.repeat(60),
    'execute_tool 天気予報を取得する関数の名前がとても長い',
    'execute_tool 🌦️ weather 🌦️ forecast 🌦️',
    'step \u001b[31mred\u001b[0m \r\n\ttabbed \u202eevil',
    'e\u0301\u0301\u0301 combining',
  ];

  it.each([1, 2, 5, 10, 11, 12, 20, 24, 40, 47, 52, 60, 80, 120, 250])('at %i columns, with long, wide and hostile names', (width) => {
    const spans: WaterfallSpan[] = [span({ name: names[0] as string, attributes: { 'assistants.run.id': 'run_' + 'x'.repeat(200), 'gen_ai.request.model': 'm'.repeat(100), 'gen_ai.conversation.id': 'thread_日本語'.repeat(10), 'gen_ai.usage.input_tokens': 123456789, 'gen_ai.usage.output_tokens': 42, 'assistants.run.status': 'a_status_word_far_longer_than_its_column' } })];
    let parent = spans[0] as WaterfallSpan;
    // Nested ten deep: the tree prefix alone outgrows narrow widths.
    for (let i = 0; i < 10; i++) {
      const child = span({ spanId: String(i).padStart(16, '0'), parentSpanId: parent.spanId, name: names[i % names.length] as string, status: { code: 2, message: 'x'.repeat(500) }, attributes: { 'error.type': 'boom' } });
      spans.push(child);
      parent = child;
    }
    const lines = renderWaterfall(spans, { width });
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(displayWidth(line), `${JSON.stringify(line)} at width ${width}`).toBeLessThanOrEqual(width);
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    }
  });

  it('any spans, any width: never throws, never wider (property)', () => {
    const hr = fc.tuple(fc.oneof(fc.double(), fc.integer({ min: 0, max: 2e9 })), fc.oneof(fc.double(), fc.integer({ min: 0, max: 999_999_999 }))) as fc.Arbitrary<[number, number]>;
    const id = fc.constantFrom('1', '2', '3', '4', '5');
    const arbitrarySpan = fc.record({
      traceId: fc.constantFrom('t1', 't2'),
      spanId: id,
      parentSpanId: fc.option(id, { nil: undefined }),
      parentIsRemote: fc.boolean(),
      name: fc.string({ unit: 'binary', maxLength: 120 }),
      startTime: hr,
      endTime: hr,
      attributes: fc.dictionary(
        fc.constantFrom('assistants.run.id', 'assistants.run.status', 'assistants.step.status', 'gen_ai.request.model', 'gen_ai.usage.input_tokens', 'assistants.usage.total_tokens', 'error.type', 'gen_ai.conversation.id'),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.double(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 })),
      ),
      status: fc.record({ code: fc.constantFrom(0, 1, 2), message: fc.option(fc.string({ unit: 'binary', maxLength: 200 }), { nil: undefined }) }),
    });
    fc.assert(
      fc.property(fc.array(arbitrarySpan, { maxLength: 8 }), fc.integer({ min: 1, max: 300 }), (spans, width) => {
        for (const line of renderWaterfall(spans as WaterfallSpan[], { width })) {
          if (displayWidth(line) > width) return false;
        }
        return true;
      }),
      { numRuns: 400 },
    );
  });

  it('uses the width it is given: wider terminals get longer bars and labels', () => {
    const narrow = renderWaterfall(weatherRun(), { width: 80 });
    const wide = renderWaterfall(weatherRun(), { width: 160 });
    expect(Math.max(...wide.map(displayWidth))).toBeGreaterThan(120);
    expect(wide[2]!.match(/█+/)![0].length).toBeGreaterThan(narrow[2]!.match(/█+/)![0].length);
  });
});

describe('pieces', () => {
  it('columnsFor: the richest layout that fits, never wider', () => {
    for (let w = 1; w <= 200; w++) {
      const c = columnsFor(w);
      const used = c.label + (c.bar ? c.bar + 1 : 0) + (c.duration ? c.duration + 1 : 0) + (c.status ? c.status + 1 : 0) + (c.tokens ? c.tokens + 1 : 0);
      expect(used, `width ${w}`).toBeLessThanOrEqual(w);
    }
    expect(columnsFor(80)).toEqual({ label: 28, bar: 23, duration: 6, status: 10, tokens: 9 });
    expect(columnsFor(45).tokens).toBe(0);
    expect(columnsFor(30)).toMatchObject({ status: 0, tokens: 0 });
  });

  it('barCells: placed on the axis, at least one cell, clamped; undefined when unplaceable', () => {
    expect(barCells(0, 10, 0, 10, 20)).toEqual([0, 20]);
    expect(barCells(5, 6, 0, 10, 20)).toEqual([10, 12]);
    expect(barCells(5, 5, 0, 10, 20)).toEqual([10, 11]);
    expect(barCells(-5, 50, 0, 10, 20)).toEqual([0, 20]);
    expect(barCells(3, 3, 3, 3, 20)).toEqual([0, 20]);
    expect(barCells(6, 5, 0, 10, 20)).toBeUndefined();
    expect(barCells(0, 1, 10, 0, 20)).toBeUndefined();
    expect(barCells(0, NaN, 0, 10, 20)).toBeUndefined();
    expect(barCells(0, 1, -1e308, 1e308, 20)).toBeUndefined();
  });

  it('formatDuration and compactNumber', () => {
    expect([0, 0.25, 1.5, 9, 59, 60, 184, 3599, 3600, 7500, 86_400, 90_000 * 3].map(formatDuration)).toEqual(['0s', '250ms', '1.5s', '9s', '59s', '1m00s', '3m04s', '59m59s', '1h00m', '2h05m', '1d00h', '3d03h']);
    expect([0, 950, 9999, 12_345, 999_999, 4_500_000, 2e9].map(compactNumber)).toEqual(['0', '950', '9999', '12.3k', '1000k', '4.5M', '2.0G']);
    expect(compactNumber('12')).toBe('');
  });

  it('text: widths of wide and zero-width characters, cuts with …, control characters replaced', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('🌦')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(cut('abcdef', 4)).toBe('abc…');
    expect(cut('日本語', 4)).toBe('日…');
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('abc', 0)).toBe('');
    expect(sanitize('a\u001b[2Jb\r\n')).toBe('a?[2Jb??');
  });

  it('colours follow the terminal, NO_COLOR, FORCE_COLOR and TERM=dumb', () => {
    expect(colorEnabled({}, true)).toBe(true);
    expect(colorEnabled({}, false)).toBe(false);
    expect(colorEnabled({ NO_COLOR: '1' }, true)).toBe(false);
    expect(colorEnabled({ NO_COLOR: '' }, true)).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(colorEnabled({ TERM: 'dumb' }, true)).toBe(false);
  });
});
