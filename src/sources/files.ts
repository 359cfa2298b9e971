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
 * whole text parses as one value, else JSONL.
 *
 * Everything but a `.json` file is read as a stream, chunk by chunk, each record handed on as soon as
 * its line is complete; between chunks the reader waits for the target to `settle` (a streaming
 * import sending what it has). Other names and `-` are judged at their first lines: an event stream,
 * or a first line that is a whole JSON value followed by another line, is read as it streams; a first
 * line that is not a whole value (a JSON document spread over lines, or a broken first line) makes
 * the reader take the whole text and judge it as before, unless two lines in a row are whole
 * records: no document can hold that, so it is JSON lines with a broken first line, read on as such. `.json` files are read whole.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { RecordLocation } from './collect.js';
import { shortJsonMessage } from './json-text.js';
import { EventStreamParser, looksLikeEventStream } from './sse.js';

/** What the reader hands records to (`RecordCollector`). */
export interface RecordTarget {
  add(value: unknown, location: RecordLocation): void;
  addEvent(event: string, data: unknown, location: RecordLocation): void;
  addUnreadable(location: RecordLocation, message: string): void;
}

export interface ReadOptions {
  /** Called between chunks (and every few hundred records of a document); reading waits for its promise. */
  settle?: () => Promise<void> | undefined;
  /** Stops reading at the next chunk: the rest of the input is left unread. */
  signal?: AbortSignal;
  /**
   * Called once each time a stream (a pipe, standard input) has given nothing for `idleMillis`
   * while it stays open: a streaming import sends what it holds ready rather than wait for more.
   */
  onIdle?: () => void;
  /** @default 1000 */
  idleMillis?: number;
}

/** The next chunk of a stream; `onIdle` is called if it takes longer than `idleMillis` to come. */
async function nextChunk<T>(iterator: AsyncIterator<T>, options: ReadOptions): Promise<IteratorResult<T>> {
  const next = iterator.next();
  const { onIdle } = options;
  if (!onIdle) return next;
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<'idle'>((resolve) => {
    timer = setTimeout(() => resolve('idle'), options.idleMillis ?? 1000);
  });
  try {
    const first = await Promise.race([next, idle]);
    if (first !== 'idle') return first;
  } finally {
    clearTimeout(timer);
  }
  onIdle();
  return next;
}

/** Records of a JSON document handed on between two calls of `settle`. */
const RECORDS_PER_SETTLE = 256;
/** Read size for files: fewer, larger chunks for big inputs. */
const FILE_CHUNK_BYTES = 256 * 1024;

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

async function addJsonValue(target: RecordTarget, source: string, value: unknown, options: ReadOptions): Promise<void> {
  if (!Array.isArray(value)) return target.add(value, { source, pointer: '$' });
  for (let index = 0; index < value.length; index++) {
    target.add(value[index], { source, pointer: `$[${index}]` });
    if (index % RECORDS_PER_SETTLE === RECORDS_PER_SETTLE - 1) await options.settle?.();
  }
}

const BOM = 0xfeff;

type Mode =
  /** Nothing but blank lines so far. */
  | 'undecided'
  | 'jsonl'
  | 'sse'
  /** Other names: the first line is a whole JSON value; JSONL if another line follows, else a document. */
  | 'first-value'
  /** Other names: the first line is not a whole value; the whole text is judged at the end. */
  | 'document';

/**
 * Lines in, records out: decides at the first non-blank line whether the source is an event stream
 * or JSON (see the top of this file), and reads it so.
 */
class LineSink {
  private mode: Mode = 'undecided';
  private readonly sse = new EventStreamParser();
  private first: { value: unknown; lineNumber: number } | undefined;
  private readonly document: string[] = [];
  /** In 'document' mode: whether the last non-blank line was a whole record on its own. */
  private previousWasRecord = false;

  constructor(
    private readonly target: RecordTarget,
    private readonly source: string,
    /** JSONL whatever the first line holds (`.jsonl`, `.ndjson`, `.sse` names). */
    private readonly linesByName: boolean,
  ) {}

  push(rawLine: string, lineNumber: number): void {
    // A byte-order mark (some Windows editors write one) is neither JSON nor a field name.
    const line = lineNumber === 1 && rawLine.charCodeAt(0) === BOM ? rawLine.slice(1) : rawLine;
    switch (this.mode) {
      case 'undecided':
        if (line.trim() !== '') return this.decide(line, lineNumber);
        this.document.push(line);
        return;
      case 'sse':
        return this.pushEvent(this.sse.push(line, lineNumber));
      case 'jsonl':
        return this.pushJsonLine(line.trim(), lineNumber);
      case 'first-value':
        if (line.trim() === '') return;
        this.mode = 'jsonl';
        this.addFirst();
        return this.pushJsonLine(line.trim(), lineNumber);
      case 'document':
        this.document.push(line);
        return this.leaveDocumentIfLines(line);
    }
  }

  /**
   * A text whose first line is broken (`tail -f` joined half-way into a line, say) may still be
   * JSON lines. Two non-blank lines in a row that are each a whole record cannot be parts of one
   * JSON document (two values with no `,` or `:` between them), so from there it is read as JSON
   * lines, as it streams, instead of being held to the end of the input to be judged.
   */
  private leaveDocumentIfLines(line: string): void {
    if (line.trim() === '') return;
    const whole = isWholeRecordLine(line);
    const twoInARow = whole && this.previousWasRecord;
    this.previousWasRecord = whole;
    if (!twoInARow) return;
    this.mode = 'jsonl';
    const lines = this.document.splice(0);
    for (let i = 0; i < lines.length; i++) this.pushJsonLine((lines[i] as string).trim(), i + 1);
  }

  /** The end of the input; a document still to judge is judged now. */
  async end(options: ReadOptions): Promise<void> {
    switch (this.mode) {
      case 'sse':
        return this.pushEvent(this.sse.end());
      case 'first-value': {
        const first = this.first as NonNullable<LineSink['first']>;
        return addJsonValue(this.target, this.source, first.value, options);
      }
      case 'document':
        return this.judgeDocument(options);
      default:
        return;
    }
  }

  private decide(line: string, lineNumber: number): void {
    if (looksLikeEventStream(line)) {
      this.mode = 'sse';
      this.document.length = 0;
      return this.pushEvent(this.sse.push(line, lineNumber));
    }
    // A pretty-printed document saved under a JSON lines name opens with `[` or `{` alone, which no
    // JSON line can be: judged as a whole (as a document, if it is one), not as a line per rejection.
    if (this.linesByName && !/^\s*[[{]\s*$/.test(line)) {
      this.mode = 'jsonl';
      this.document.length = 0;
      return this.pushJsonLine(line.trim(), lineNumber);
    }
    try {
      this.first = { value: JSON.parse(line), lineNumber };
      this.mode = 'first-value';
      this.document.length = 0;
    } catch {
      this.mode = 'document';
      this.document.push(line);
    }
  }

  private addFirst(): void {
    const first = this.first as NonNullable<LineSink['first']>;
    this.first = undefined;
    this.target.add(first.value, { source: this.source, line: first.lineNumber, pointer: '$' });
  }

  private async judgeDocument(options: ReadOptions): Promise<void> {
    const lines = this.document.splice(0);
    const text = lines.join('\n');
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Not one value: JSON lines after all, the first one broken.
      this.mode = 'jsonl';
      for (let i = 0; i < lines.length; i++) {
        this.pushJsonLine((lines[i] as string).trim(), i + 1);
        if (i % RECORDS_PER_SETTLE === RECORDS_PER_SETTLE - 1) await options.settle?.();
      }
      return;
    }
    return addJsonValue(this.target, this.source, value, options);
  }

  private pushEvent(event: ReturnType<EventStreamParser['push']>): void {
    if (event) this.target.addEvent(event.event, event.data, { source: this.source, line: event.line });
  }

  private pushJsonLine(line: string, lineNumber: number): void {
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.target.addUnreadable({ source: this.source, line: lineNumber }, `not valid JSON: ${shortJsonMessage(error as Error)}`);
      return;
    }
    this.target.add(value, { source: this.source, line: lineNumber, pointer: '$' });
  }
}

/** A line that is one JSON object on its own (tried only on lines shaped like one: cheap to reject). */
function isWholeRecordLine(line: string): boolean {
  const text = line.trim();
  if (text.length < 2 || text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * Splits text arriving in chunks into lines ending in CRLF, LF or CR (as an event stream's lines
 * are; JSON text never holds a raw CR or LF). A chunk without a line end is kept aside, not joined
 * at once, so that a line of many megabytes is not copied chunk after chunk.
 */
class LineSplitter {
  private pending: string[] = [];
  private lineNumber = 0;

  constructor(private readonly onLine: (line: string, lineNumber: number) => void) {}

  push(chunk: string): void {
    if (chunk.indexOf('\n') === -1 && chunk.indexOf('\r') === -1) {
      this.pending.push(chunk);
      return;
    }
    this.split(this.take(chunk), false);
  }

  end(): void {
    this.split(this.take(''), true);
  }

  private take(chunk: string): string {
    if (this.pending.length === 0) return chunk;
    const text = this.pending.join('') + chunk;
    this.pending = [];
    return text;
  }

  private split(text: string, final: boolean): void {
    // A CR at the very end may be the first half of a CRLF split across chunks: decided next time.
    const end = !final && text.charCodeAt(text.length - 1) === 13 ? text.length - 1 : text.length;
    let start = 0;
    if (text.indexOf('\r') === -1) {
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        this.onLine(text.slice(start, nl), ++this.lineNumber);
        start = nl + 1;
      }
    } else {
      LINE_END.lastIndex = 0;
      for (let m = LINE_END.exec(text); m !== null && m.index < end; m = LINE_END.exec(text)) {
        this.onLine(text.slice(start, m.index), ++this.lineNumber);
        start = m.index + m[0].length;
      }
    }
    const rest = text.slice(start);
    if (final) {
      if (rest !== '') this.onLine(rest, ++this.lineNumber);
    } else if (rest !== '') {
      this.pending.push(rest);
    }
  }
}

async function readLines(input: Readable | string, sink: LineSink, options: ReadOptions): Promise<void> {
  const splitter = new LineSplitter((line, lineNumber) => sink.push(line, lineNumber));
  if (typeof input === 'string') {
    splitter.push(input);
  } else {
    // Bytes split inside a character are joined by the decoder (a file stream decodes by itself).
    const decoder = new StringDecoder('utf8');
    const chunks = input[Symbol.asyncIterator]() as AsyncIterator<string | Buffer>;
    try {
      for (let next = await nextChunk(chunks, options); !next.done; next = await nextChunk(chunks, options)) {
        const chunk = next.value;
        splitter.push(typeof chunk === 'string' ? chunk : decoder.write(chunk));
        if (options.signal?.aborted) return;
        await options.settle?.();
      }
    } finally {
      // As `for await` does on a `return` or a throw: the stream is released.
      await chunks.return?.();
    }
    splitter.push(decoder.end());
  }
  splitter.end();
  await sink.end(options);
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

/** A `.json` file: one document, read whole. */
async function readJsonFile(path: string, target: RecordTarget, options: ReadOptions): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return target.addUnreadable({ source: path }, `cannot read: ${(error as Error).message}`);
  }
  if (looksLikeEventStream(firstLineOf(text))) return readLines(text, new LineSink(target, path, true), options);
  const json = text.charCodeAt(0) === BOM ? text.slice(1) : text;
  // Nothing but white space is an empty input (the caller warns), not a malformed document.
  if (json.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return target.addUnreadable({ source: path }, `not valid JSON${jsonErrorLocation(json, error as Error)}: ${shortJsonMessage(error as Error)}`);
  }
  return addJsonValue(target, path, value, options);
}

/**
 * Reads one file (or `-` for `stdin`) into the target. What cannot be read (a missing file, a bad
 * JSON document, a bad JSONL line) becomes a rejection with its location; the rest is still read.
 */
export async function readRecordSource(path: string, target: RecordTarget, stdin: Readable, options: ReadOptions = {}): Promise<void> {
  if (path !== '-' && /\.json$/i.test(path)) return readJsonFile(path, target, options);
  const source = path === '-' ? 'stdin' : path;
  const sink = new LineSink(target, source, path !== '-' && isLineByLineName(path));
  if (path === '-') return readLines(stdin, sink, options);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: FILE_CHUNK_BYTES });
  const opened = await new Promise<Error | undefined>((resolve) => {
    stream.once('open', () => resolve(undefined));
    stream.once('error', resolve);
  });
  if (opened) return target.addUnreadable({ source }, `cannot read: ${opened.message}`);
  return readLines(stream, sink, options);
}
