/**
 * Traces as a waterfall, as a trace UI draws them: one block per trace, the run ▸ its steps ▸ their
 * tool calls, each with a bar placed on the run's own time axis, its duration, status and tokens.
 *
 *   run_abc · thread_xyz · 2026-05-01 10:00:00Z
 *   gpt-4o · 300 input + 60 output tokens
 *   invoke_agent asst_weather    ███████████████████████    30s completed   360 tok
 *   ├ step tool_calls            ███████················    10s completed   120 tok
 *   │ └ execute_tool get_weather ███████················    10s
 *   └ step message_creation      ·······████████████████    20s completed   240 tok
 *
 * A pure function from spans to lines: no clock, no terminal, no environment. The caller says how
 * wide the terminal is and how to paint (colours on a TTY, nothing otherwise); every line fits the
 * width, whatever the names, and absurd times (1e300, negative durations, NaN) are drawn as `?`
 * rather than thrown. A span whose record had no usable time (quirk `time_unknown`, placed by its
 * run: README "Time rules") shows `?` for its bar and duration, and a trace whose run had none at
 * all (`time_placeholder`) says "time unknown" instead of the placeholder date.
 */
import type { Attributes } from '@opentelemetry/api';
import type { HrTime } from '../mapping/types.js';
import { cut, displayWidth, fit, sanitize } from './text.js';

/** What the renderer needs of a span: the mapper's `SpanData` and the demo receiver's spans have it. */
export interface WaterfallSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string | undefined;
  parentIsRemote?: boolean;
  name: string;
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  status: { code: number; message?: string | undefined };
}

export type Style = 'header' | 'ok' | 'error' | 'warning' | 'bar' | 'track' | 'dim';
/** Wraps `text` in the style's colours; must not change how many columns the text takes. */
export type Painter = (style: Style, text: string) => string;

export interface WaterfallOptions {
  /** Columns; no line is wider. @default 80 */
  width?: number;
  /** @default no colours */
  paint?: Painter;
}

export const DEFAULT_WIDTH = 80;
const STATUS_ERROR = 2;
const FILLED = '█';
const TRACK = '·';

interface Columns {
  label: number;
  bar: number;
  duration: number;
  status: number;
  tokens: number;
}

/** The richest set of columns that fits: tokens go first, then the status, then the bar. */
export function columnsFor(width: number): Columns {
  const w = Number.isFinite(width) && width >= 1 ? Math.floor(width) : DEFAULT_WIDTH;
  const candidates: Array<Omit<Columns, 'label' | 'bar'>> = [
    { duration: 6, status: 10, tokens: 9 },
    { duration: 6, status: 10, tokens: 0 },
    { duration: 6, status: 0, tokens: 0 },
  ];
  for (const c of candidates) {
    const fixed = c.duration + 1 + (c.status ? c.status + 1 : 0) + (c.tokens ? c.tokens + 1 : 0);
    const available = w - fixed - 1; // one space between the label and the bar
    if (available < 18) continue;
    const label = Math.min(60, Math.max(12, Math.round(available * 0.55)));
    return { ...c, label, bar: available - label };
  }
  // Very narrow: the label and the duration, or the label alone.
  if (w >= 12) return { label: w - 7, bar: 0, duration: 6, status: 0, tokens: 0 };
  return { label: w, bar: 0, duration: 0, status: 0, tokens: 0 };
}

function seconds(time: HrTime): number {
  const s = time[0] + time[1] / 1e9;
  return Number.isFinite(s) ? s : NaN;
}

/** `12s`, `3m04s`, `2h05m`, `3d04h`; `?` for a negative or non-finite duration. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  // Whole seconds (the API's usual unit) as such; finer times (milliseconds from a stream) to a tenth.
  if (s < 60 && !Number.isInteger(s)) return s < 1 ? `${Math.round(s * 1000)}ms` : `${s.toFixed(1)}s`;
  const total = Math.round(s);
  if (total < 60) return `${total}s`;
  const two = (n: number) => String(n).padStart(2, '0');
  if (total < 3600) return `${Math.floor(total / 60)}m${two(total % 60)}s`;
  if (total < 86_400) return `${Math.floor(total / 3600)}h${two(Math.floor((total % 3600) / 60))}m`;
  const days = Math.floor(total / 86_400);
  return days > 999 ? '>999d' : `${days}d${two(Math.floor((total % 86_400) / 3600))}h`;
}

/** `950`, `12.3k`, `4.5M`; empty for what is not a non-negative number. */
export function compactNumber(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '';
  if (n < 10_000) return String(Math.round(n));
  if (n >= 1e15) return '>999T';
  const [size, unit] = ([[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const).find(([s]) => n >= s) ?? [1e3, 'k'];
  const v = n / size;
  return `${v < 100 ? v.toFixed(1) : Math.round(v)}${unit}`;
}

function attr(span: WaterfallSpan, key: string): string | undefined {
  const value = span.attributes[key];
  if (value === undefined || value === null) return undefined;
  return sanitize(Array.isArray(value) ? value.join(',') : String(value));
}

/** Whether the mapper recorded `quirk` on the span (`assistants.quirks`). */
function hasQuirk(span: WaterfallSpan, quirk: string): boolean {
  const quirks = span.attributes['assistants.quirks'];
  return Array.isArray(quirks) && (quirks as readonly unknown[]).includes(quirk);
}

function numberAttr(span: WaterfallSpan, key: string): number | undefined {
  const value = span.attributes[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function totalTokens(span: WaterfallSpan): number | undefined {
  const total = numberAttr(span, 'assistants.usage.total_tokens');
  if (total !== undefined) return total;
  const input = numberAttr(span, 'gen_ai.usage.input_tokens');
  const output = numberAttr(span, 'gen_ai.usage.output_tokens');
  return input === undefined && output === undefined ? undefined : (input ?? 0) + (output ?? 0);
}

/** The record's own status word (`completed`, `failed`, …); tool calls have none. */
function statusWord(span: WaterfallSpan): string {
  const word = attr(span, 'assistants.run.status') ?? attr(span, 'assistants.step.status');
  if (word !== undefined) return word;
  return span.status.code === STATUS_ERROR ? 'error' : '';
}

function styleOf(span: WaterfallSpan, word: string): Style | undefined {
  if (span.status.code === STATUS_ERROR || word === 'failed' || word === 'expired') return 'error';
  if (word === 'cancelled' || word === 'incomplete') return 'warning';
  if (word === 'completed') return 'ok';
  return undefined;
}

/** `2024-05-01 10:40:00Z`, with milliseconds when the time has them; undefined past what a date can show. */
function isoSeconds(s: number): string | undefined {
  const ms = Math.round(s * 1000);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
  return new Date(ms).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

/** The cells of a span's bar on the axis [axisStart, axisEnd]: `[from, to)`, or undefined when unplaceable. */
export function barCells(start: number, end: number, axisStart: number, axisEnd: number, cells: number): [number, number] | undefined {
  if (cells <= 0 || ![start, end, axisStart, axisEnd].every(Number.isFinite)) return undefined;
  const span = axisEnd - axisStart;
  if (!Number.isFinite(span) || span < 0 || end < start) return undefined;
  if (span === 0) return [0, cells];
  const clamp = (x: number) => Math.min(cells, Math.max(0, x));
  const from = Math.min(cells - 1, Math.floor(clamp(((start - axisStart) / span) * cells)));
  const to = Math.max(from + 1, Math.ceil(clamp(((end - axisStart) / span) * cells)));
  return [from, Math.min(cells, to)];
}

interface Node {
  span: WaterfallSpan;
  children: Node[];
}

/** Traces in first-seen order; in each, roots (spans whose parent is not here) with their descendants. */
function buildForest(spans: readonly WaterfallSpan[]): Array<{ traceId: string; roots: Node[] }> {
  const traces = new Map<string, WaterfallSpan[]>();
  for (const span of spans) {
    const list = traces.get(span.traceId) ?? [];
    list.push(span);
    traces.set(span.traceId, list);
  }
  const forest: Array<{ traceId: string; roots: Node[] }> = [];
  for (const [traceId, list] of traces) {
    const nodes = new Map<string, Node>();
    for (const span of list) if (!nodes.has(span.spanId)) nodes.set(span.spanId, { span, children: [] });
    const roots: Node[] = [];
    for (const node of nodes.values()) {
      const parent = node.span.parentSpanId !== undefined ? nodes.get(node.span.parentSpanId) : undefined;
      if (parent && parent !== node) parent.children.push(node);
      else roots.push(node);
    }
    // A cycle of parents (absurd input) has no root: what no root reaches is drawn as roots.
    const reached = new Set<Node>();
    const stack = [...roots];
    while (stack.length > 0) {
      const node = stack.pop() as Node;
      if (reached.has(node)) continue;
      reached.add(node);
      stack.push(...node.children);
    }
    for (const node of nodes.values()) {
      if (!reached.has(node)) {
        roots.push(node);
        node.children = [];
        reached.add(node);
      }
    }
    forest.push({ traceId, roots });
  }
  return forest;
}

const plain: Painter = (_style, text) => text;

/** A line made of pieces, each maybe styled; measured without the styles. */
class Line {
  private readonly parts: Array<{ text: string; style: Style | undefined }> = [];
  add(text: string, style?: Style): this {
    if (text !== '') this.parts.push({ text, style });
    return this;
  }
  render(paint: Painter): string {
    return this.parts
      .map((p) => {
        if (p.style === undefined) return p.text;
        // Paint the text, not the padding around it, so trimming the line stays exact.
        const match = /^(\s*)(.*?)(\s*)$/su.exec(p.text) as RegExpExecArray;
        return match[2] === '' ? p.text : `${match[1]}${paint(p.style, match[2] as string)}${match[3]}`;
      })
      .join('')
      .trimEnd();
  }
}

/** Two lines over each trace: which run (thread, start time), then model, tokens and how it is parented. */
function header(root: WaterfallSpan, width: number): Line[] {
  const first: string[] = [attr(root, 'assistants.run.id') ?? `trace ${sanitize(root.traceId).slice(0, 16)}`];
  const thread = attr(root, 'gen_ai.conversation.id');
  if (thread) first.push(thread);
  const when = hasQuirk(root, 'time_placeholder') ? 'time unknown' : isoSeconds(seconds(root.startTime));
  if (when) first.push(when);

  const second: string[] = [];
  const model = attr(root, 'gen_ai.response.model') ?? attr(root, 'gen_ai.request.model');
  if (model) second.push(model);
  const input = compactNumber(root.attributes['gen_ai.usage.input_tokens']);
  const output = compactNumber(root.attributes['gen_ai.usage.output_tokens']);
  if (input || output) second.push(`${input || '?'} input + ${output || '?'} output tokens`);
  if (root.attributes['assistants.run.synthesized'] === true) second.push('run record absent');
  if (root.parentSpanId) second.push(`parent span ${sanitize(root.parentSpanId).slice(0, 16)}${root.parentIsRemote ? ' (remote)' : ' (not shown)'}`);

  // Long ids leave no room for the time on the first line: it leads the second, whole, rather than cut.
  if (when && first.length > 1 && displayWidth(first.join(' · ')) > width) second.unshift(first.pop() as string);
  const lines = [new Line().add(cut(first.join(' · '), width), 'header')];
  if (second.length > 0) lines.push(new Line().add(cut(second.join(' · '), width), 'dim'));
  return lines;
}

/** Renders the spans as waterfall lines (no trailing newline on any); a blank line between traces. */
export function renderWaterfall(spans: readonly WaterfallSpan[], options: WaterfallOptions = {}): string[] {
  const width = Number.isFinite(options.width) && (options.width as number) >= 1 ? Math.floor(options.width as number) : DEFAULT_WIDTH;
  const paint = options.paint ?? plain;
  const cols = columnsFor(width);
  const lines: string[] = [];

  for (const { roots } of buildForest(spans)) {
    for (const root of roots) {
      if (lines.length > 0) lines.push('');
      for (const line of header(root.span, width)) lines.push(line.render(paint));
      const axisStart = seconds(root.span.startTime);
      const axisEnd = seconds(root.span.endTime);
      // Depth first, children in the order given, without recursion (input may nest deeply).
      const stack: Array<{ node: Node; prefix: string; branch: string; parentError: string | undefined }> = [
        { node: root, prefix: '', branch: '', parentError: undefined },
      ];
      while (stack.length > 0) {
        const { node, prefix, branch, parentError } = stack.pop() as (typeof stack)[number];
        const childPrefix = branch === '' ? prefix : prefix + (branch === '└ ' ? '  ' : '│ ');
        const error = row(node.span, `${prefix}${branch}`, childPrefix, cols, { start: axisStart, end: axisEnd }, width, lines, paint, parentError);
        const children = node.children;
        for (let i = children.length - 1; i >= 0; i--) {
          stack.push({ node: children[i] as Node, prefix: childPrefix, branch: i === children.length - 1 ? '└ ' : '├ ', parentError: error });
        }
      }
    }
  }
  return lines;
}

/** Pushes a span's row (and its error line, when it failed); returns its error text. */
function row(
  span: WaterfallSpan,
  labelPrefix: string,
  /** What goes left of the lines under this row (the tree's vertical lines). */
  continuation: string,
  cols: Columns,
  axis: { start: number; end: number },
  width: number,
  lines: string[],
  paint: Painter,
  parentError: string | undefined,
): string | undefined {
  const word = statusWord(span);
  const style = styleOf(span, word);
  const untimed = hasQuirk(span, 'time_unknown');
  // An untimed span's times are borrowed: drawn as unknown, not as a real moment.
  const start = untimed ? NaN : seconds(span.startTime);
  const end = untimed ? NaN : seconds(span.endTime);
  const line = new Line().add(fit(`${labelPrefix}${sanitize(span.name)}`, cols.label));
  if (cols.bar > 0) {
    const cells = barCells(start, end, axis.start, axis.end, cols.bar);
    line.add(' ');
    if (cells) {
      line.add(TRACK.repeat(cells[0]), 'track');
      line.add(FILLED.repeat(cells[1] - cells[0]), style ?? 'bar');
      line.add(TRACK.repeat(cols.bar - cells[1]), 'track');
    } else {
      line.add(fit('?', cols.bar), 'dim');
    }
  }
  if (cols.duration > 0) line.add(' ').add(fit(formatDuration(end - start), cols.duration, 'right'));
  if (cols.status > 0) line.add(' ').add(fit(word, cols.status), style);
  if (cols.tokens > 0) {
    const tokens = compactNumber(totalTokens(span));
    line.add(' ').add(fit(tokens ? `${tokens} tok` : '', cols.tokens, 'right'), 'dim');
  }
  lines.push(line.render(paint));

  if (span.status.code !== STATUS_ERROR) return undefined;
  const type = attr(span, 'error.type');
  const message = span.status.message ? sanitize(span.status.message) : '';
  const error = [type, message].filter((s) => s).join(': ') || 'error';
  // The same error as the parent's (a failed step in a failed run) is said once.
  if (error !== parentError) {
    const indent = `${continuation}  `;
    const text = cut(`${indent}✗ ${error}`, width);
    lines.push(new Line().add(text.slice(0, indent.length)).add(text.slice(indent.length), 'error').render(paint));
  }
  return error;
}

/** The widest line, in columns (for tests and callers that want to check). */
export function widestLine(lines: readonly string[]): number {
  return lines.reduce((max, line) => Math.max(max, displayWidth(line)), 0);
}
