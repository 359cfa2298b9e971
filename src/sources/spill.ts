/**
 * Where a streaming import puts the records of runs it must keep but cannot hold in memory: one
 * append-only file of JSON lines in a fresh temporary directory. Each write is one extent (a run's
 * records held so far, encoded by `encodeRecord`, the form they are held in memory too); reading an
 * extent back gives those records again.
 *
 * The file is unlinked as soon as it is open (POSIX keeps it while the descriptor lives; libuv opens
 * files with FILE_SHARE_DELETE on Windows, where it goes when closed), so nothing is left on disk
 * however the process ends: Ctrl-C, a second Ctrl-C, a crash or `kill -9`. Where unlinking an open
 * file fails, the directory is removed by `close()`. Synchronous I/O: the import waits for the disk
 * as it would for memory, and each call moves one run's records.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { addRecordQuirks, recordQuirks } from '../api/quirks.js';
import type { Run, RunStep } from '../api/schemas.js';

export interface Extent {
  offset: number;
  length: number;
}

export type SpilledRecord = { kind: 'run'; record: Run; terminal: boolean } | { kind: 'step'; record: RunStep; terminal: boolean };

/**
 * One line per record: `["r"|"s", 0|1, record, quirks]`, and a fifth element `1` when the record
 * holds a negative zero. Validated records are plain JSON values, but for two things JSON does not
 * keep: the data quirks validation found, carried under a symbol (`api/quirks.ts`), written beside
 * the record and put back on it; and `-0` (a `temperature` saved as `-0.0`), which `JSON.stringify`
 * writes as `0` and the span would then carry as a different double. (A string of exactly the
 * marker's text, in a record that also holds a `-0`, would come back as `-0`: not worth a heavier
 * format.)
 */
const NEGATIVE_ZERO = '\u0000-0';

export function encodeRecord(record: SpilledRecord): string {
  let negativeZero = false;
  const replacer = (_key: string, value: unknown) => {
    if (value === 0 && Object.is(value, -0)) {
      negativeZero = true;
      return NEGATIVE_ZERO;
    }
    return value;
  };
  const body = JSON.stringify(record.record, replacer);
  return `["${record.kind === 'run' ? 'r' : 's'}",${record.terminal ? 1 : 0},${body},${JSON.stringify(recordQuirks(record.record))}${negativeZero ? ',1' : ''}]`;
}

export function decodeRecord(line: string): SpilledRecord {
  const reviver = (_key: string, value: unknown) => (value === NEGATIVE_ZERO ? -0 : value);
  const fields = JSON.parse(line) as [unknown, unknown, unknown, unknown, unknown?];
  const [kind, terminal, value, quirks] = fields[4] === 1 ? (JSON.parse(line, reviver) as typeof fields) : fields;
  const record = addRecordQuirks(value as object, quirks as string[]);
  return kind === 'r' ? { kind: 'run', record: record as Run, terminal: terminal === 1 } : { kind: 'step', record: record as RunStep, terminal: terminal === 1 };
}

export class SpillFile {
  private fd: number | undefined;
  private dir: string | undefined;
  private end = 0;

  /** Creates `assistants-otel-import-XXXXXX` under `parentDir` (the system's temporary directory, as the caller decides). */
  constructor(parentDir: string) {
    try {
      this.dir = mkdtempSync(join(parentDir, 'assistants-otel-import-'));
      const path = join(this.dir, 'held-records.jsonl');
      this.fd = openSync(path, 'w+', 0o600);
      try {
        unlinkSync(path);
        rmSync(this.dir, { recursive: true, force: true });
        this.dir = undefined;
      } catch {
        // Kept until close().
      }
    } catch (error) {
      this.close();
      throw new Error(`cannot create a spill file under ${parentDir}: ${(error as Error).message}`);
    }
  }

  /** Bytes written so far. */
  get size(): number {
    return this.end;
  }

  /** Records encoded by `encodeRecord`, one extent. */
  write(lines: readonly string[]): Extent {
    const text = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const extent = { offset: this.end, length: text.length };
    let written = 0;
    try {
      while (written < text.length) written += writeSync(this.descriptor(), text, written, text.length - written, extent.offset + written);
    } catch (error) {
      throw new Error(`cannot write held records to the spill file: ${(error as Error).message}`);
    }
    this.end += text.length;
    return extent;
  }

  read(extent: Extent): SpilledRecord[] {
    const buffer = Buffer.allocUnsafe(extent.length);
    let read = 0;
    while (read < extent.length) {
      const n = readSync(this.descriptor(), buffer, read, extent.length - read, extent.offset + read);
      if (n === 0) throw new Error(`the spill file ended at ${extent.offset + read} of ${extent.offset + extent.length}`);
      read += n;
    }
    const records: SpilledRecord[] = [];
    for (const line of buffer.toString('utf8').split('\n')) if (line !== '') records.push(decodeRecord(line));
    return records;
  }

  /** Idempotent. */
  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.dir !== undefined) {
      rmSync(this.dir, { recursive: true, force: true });
      this.dir = undefined;
    }
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new Error('the spill file is closed');
    return this.fd;
  }
}
