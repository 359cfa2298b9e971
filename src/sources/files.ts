/**
 * Reading saved records from files or standard input, in the forms they are saved in:
 *
 * - JSON: one value, an array, or a list envelope;
 * - JSONL: one value per line;
 * - a raw `text/event-stream` capture (`event:`/`data:` lines; see `sse.ts`).
 *
 * The form is judged by content. A capture starts with a field or a comment line, which JSON never
 * does, so it is recognised under any name (`.sse`, `.txt`, `.json`, stdin). Otherwise
 * `.jsonl`/`.ndjson` files are JSONL and `.json` files JSON; anything else (and `-`) is JSON when the
 * whole text parses as one value, else JSONL. `.jsonl`, `.ndjson` and `.sse` files are read line by
 * line as they stream in; others are read whole.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { RecordCollector } from './collect.js';
import { shortJsonMessage } from './json-text.js';
import { EventStreamParser, looksLikeEventStream } from './sse.js';

/** `Unexpected token } in JSON at position 12` → line and column, for a message a user can act on. */
function jsonErrorLocation(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return '';
  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

function addJsonValue(collector: RecordCollector, source: string, value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => collector.add(item, { source, pointer: `$[${index}]` }));
  } else {
    collector.add(value, { source, pointer: '$' });
  }
}

const BOM = 0xfeff;

/**
 * Lines in, records out: decides at the first non-blank line whether the source is an event
 * stream or JSONL, and reads it so. Shared by streamed files and text already in memory.
 */
class LineSink {
  private mode: 'undecided' | 'jsonl' | 'sse' = 'undecided';
  private readonly sse = new EventStreamParser();

  constructor(
    private readonly collector: RecordCollector,
    private readonly source: string,
  ) {}

  push(rawLine: string, lineNumber: number): void {
    // A byte-order mark (some Windows editors write one) is neither JSON nor a field name.
    const line = lineNumber === 1 && rawLine.charCodeAt(0) === BOM ? rawLine.slice(1) : rawLine;
    if (this.mode === 'undecided') {
      if (line.trim() === '') return;
      this.mode = looksLikeEventStream(line) ? 'sse' : 'jsonl';
    }
    if (this.mode === 'sse') {
      const event = this.sse.push(line, lineNumber);
      if (event) this.collector.addEvent(event.event, event.data, { source: this.source, line: event.line });
      return;
    }
    this.pushJsonLine(line.trim(), lineNumber);
  }

  end(): void {
    if (this.mode !== 'sse') return;
    const event = this.sse.end();
    if (event) this.collector.addEvent(event.event, event.data, { source: this.source, line: event.line });
  }

  private pushJsonLine(line: string, lineNumber: number): void {
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.collector.addUnreadable({ source: this.source, line: lineNumber }, `not valid JSON: ${shortJsonMessage(error as Error)}`);
      return;
    }
    this.collector.add(value, { source: this.source, line: lineNumber, pointer: '$' });
  }
}

/** Every line of `text`, split as an event stream would be (CRLF, LF or CR). */
function linesOf(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

async function addLines(collector: RecordCollector, source: string, input: Readable | string): Promise<void> {
  const sink = new LineSink(collector, source);
  if (typeof input === 'string') {
    linesOf(input).forEach((line, index) => sink.push(line, index + 1));
  } else {
    let lineNumber = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) sink.push(line, ++lineNumber);
  }
  sink.end();
}

function isLineByLineName(path: string): boolean {
  return /\.(jsonl|ndjson|sse)$/i.test(path);
}

/** The first non-blank line of a text, without a leading byte-order mark. */
function firstLineOf(text: string): string {
  const start = text.charCodeAt(0) === BOM ? 1 : 0;
  const match = /[^\r\n]*\S[^\r\n]*/.exec(text.slice(start, start + 4096));
  return match ? match[0] : '';
}

/**
 * Reads one file (or `-` for `stdin`) into the collector. What cannot be read (a missing file, a bad
 * JSON document, a bad JSONL line) becomes a rejection with its location; the rest is still read.
 */
export async function readRecordSource(path: string, collector: RecordCollector, stdin: Readable): Promise<void> {
  const source = path === '-' ? 'stdin' : path;
  if (path !== '-' && isLineByLineName(path)) {
    const stream = createReadStream(path, { encoding: 'utf8' });
    const opened = await new Promise<Error | undefined>((resolve) => {
      stream.once('open', () => resolve(undefined));
      stream.once('error', resolve);
    });
    if (opened) return collector.addUnreadable({ source }, `cannot read: ${opened.message}`);
    return addLines(collector, source, stream);
  }

  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (error) {
    return collector.addUnreadable({ source }, `cannot read: ${(error as Error).message}`);
  }
  if (looksLikeEventStream(firstLineOf(text))) return addLines(collector, source, text);
  const json = text.charCodeAt(0) === BOM ? text.slice(1) : text;
  // Nothing but white space is an empty input (the caller warns), not a malformed document.
  if (json.trim() === '') return;
  try {
    addJsonValue(collector, source, JSON.parse(json));
  } catch (error) {
    if (path !== '-' && /\.json$/i.test(path)) {
      return collector.addUnreadable({ source }, `not valid JSON${jsonErrorLocation(json, error as Error)}: ${shortJsonMessage(error as Error)}`);
    }
    await addLines(collector, source, text);
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
