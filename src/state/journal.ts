/**
 * Journal lines: `<checksum> <json>\n`, where json is `{"seq":N,"op":...}` and checksum is the first
 * 8 hex digits of SHA-256 over the json's UTF-8 bytes. A line that does not match its checksum is
 * damaged (torn by a crash mid-write, or corrupted) and is skipped; a line that matches but is not an
 * op this version knows was written by a newer version, and reading on would lose its meaning.
 */
import { createHash } from 'node:crypto';
import { parseOp, type StateOp } from './model.js';

const CHECKSUM_CHARS = 8;

function checksum(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest('hex').slice(0, CHECKSUM_CHARS);
}

export function encodeJournalLine(seq: number, op: StateOp): string {
  const json = JSON.stringify({ seq, ...op });
  return `${checksum(json)} ${json}\n`;
}

export interface JournalEntry {
  seq: number;
  op: StateOp;
}

export interface JournalContents {
  entries: JournalEntry[];
  /** 1-based numbers of the lines skipped as damaged. */
  damagedLines: number[];
  /** The last line is damaged and has no newline: a write cut short, which is what a crash leaves. */
  tornTail: boolean;
}

/** Parses a whole journal; throws (naming `path` and the line) only for an intact line it cannot read. */
export function decodeJournal(text: string, path: string): JournalContents {
  const entries: JournalEntry[] = [];
  const damagedLines: number[] = [];
  const lines = text.split('\n');
  // The text after the last newline: empty when the last write completed.
  if (lines.at(-1) === '') lines.pop();
  const unterminated = !text.endsWith('\n') && lines.length > 0;
  for (const [index, line] of lines.entries()) {
    const json = line.slice(CHECKSUM_CHARS + 1);
    if (line[CHECKSUM_CHARS] !== ' ' || checksum(json) !== line.slice(0, CHECKSUM_CHARS)) {
      damagedLines.push(index + 1);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = undefined;
    }
    const fields = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    const op = parseOp(fields);
    const seq = fields.seq;
    if (!op || typeof seq !== 'number' || !Number.isSafeInteger(seq)) {
      throw new Error(`state journal ${path} line ${index + 1} is intact but not an op this version knows (written by a newer assistants-otel?): ${json.slice(0, 200)}`);
    }
    entries.push({ seq, op });
  }
  return { entries, damagedLines, tornTail: unterminated && damagedLines.at(-1) === lines.length };
}
