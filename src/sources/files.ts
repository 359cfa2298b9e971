/**
 * Reading saved records: JSON (one value, an array, or a list envelope) or JSONL (one value per line),
 * from files or standard input. `.jsonl`/`.ndjson` files are read as JSONL, `.json` as JSON; anything
 * else (and `-`) is sniffed: a text that parses as one JSON value is JSON, otherwise JSONL.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { RecordCollector } from './collect.js';

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

function shortJsonMessage(error: Error): string {
  return error.message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, ' (not valid JSON)');
}

function addJsonValue(collector: RecordCollector, source: string, value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => collector.add(item, { source, pointer: `$[${index}]` }));
  } else {
    collector.add(value, { source, pointer: '$' });
  }
}

async function addJsonLines(collector: RecordCollector, source: string, input: Readable | string): Promise<void> {
  const lines = typeof input === 'string' ? input.split('\n') : createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const rawLine of lines) {
    lineNumber++;
    const line = rawLine.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      collector.addUnreadable({ source, line: lineNumber }, `not valid JSON: ${shortJsonMessage(error as Error)}`);
      continue;
    }
    collector.add(value, { source, line: lineNumber, pointer: '$' });
  }
}

function isJsonLinesName(path: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(path);
}

/**
 * Reads one file (or `-` for `stdin`) into the collector. What cannot be read (a missing file, a bad
 * JSON document, a bad JSONL line) becomes a rejection with its location; the rest is still read.
 */
export async function readRecordSource(path: string, collector: RecordCollector, stdin: Readable): Promise<void> {
  const source = path === '-' ? 'stdin' : path;
  if (path !== '-' && isJsonLinesName(path)) {
    const stream = createReadStream(path);
    const opened = await new Promise<Error | undefined>((resolve) => {
      stream.once('open', () => resolve(undefined));
      stream.once('error', resolve);
    });
    if (opened) return collector.addUnreadable({ source }, `cannot read: ${opened.message}`);
    return addJsonLines(collector, source, stream);
  }

  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (error) {
    return collector.addUnreadable({ source }, `cannot read: ${(error as Error).message}`);
  }
  // A byte-order mark (some Windows editors write one) is not JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Nothing but white space is an empty input (the caller warns), not a malformed document.
  if (text.trim() === '') return;
  try {
    addJsonValue(collector, source, JSON.parse(text));
  } catch (error) {
    if (path !== '-' && /\.json$/i.test(path)) {
      return collector.addUnreadable({ source }, `not valid JSON${jsonErrorLocation(text, error as Error)}: ${shortJsonMessage(error as Error)}`);
    }
    await addJsonLines(collector, source, text);
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
