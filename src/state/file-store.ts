/**
 * The crash-safe file store: a snapshot plus an append-only journal, so a mutation costs one line,
 * not a rewrite of the whole state.
 *
 * On disk (version 1), next to each other:
 * - `PATH`: the snapshot, one JSON document, replaced atomically (write `PATH.tmp`, fsync, rename, fsync
 *   the directory). `{"version":1,"seq":N,"threads":[…],"runs":[…],"done":{"run_…":ms},"setAsideSpans":0}`,
 *   where threads/runs/done/setAsideSpans are the `StateSnapshot` and `seq` is the last op it includes.
 * - `PATH.journal`: one line per mutation since the snapshot, `<checksum> <json>\n`, where checksum is
 *   the first 8 hex digits of SHA-256 over the json's UTF-8 bytes and json is `{"seq":N+1,"op":…,…}`,
 *   seq counting up by one per mutation. The ops (model.ts): `putThread {thread}`, `removeThread
 *   {threadId}`, `putRun {run}`, `markStepsExported {runId, stepIds}`, `markRunDone {runId, at}`,
 *   `removeRun {runId}`, `pruneDone {before}`, `setAside {total}` (the new total, not the increment).
 * - `PATH.lock`: who has the store open (see lock.ts). `PATH.tmp`: a snapshot being written.
 *
 * Load = snapshot, then every intact journal line with a seq above the snapshot's, in order. A damaged
 * line (a write torn by a crash, or corruption) is skipped and reported once through `onWarning`. A
 * snapshot that is unreadable or of another version is an error naming the file: starting empty
 * instead would re-export or forget work.
 *
 * Durability: a mutation's promise resolves once its line is written and fdatasync'ed. Lines queued
 * in the same tick, or while a write is in flight, go out in one write + one fdatasync (group commit).
 *
 * Compaction (when the journal outgrows `compactAfterJournalBytes` and the snapshot, on load when the
 * journal is not empty, and on close): snapshot → `PATH.tmp`, fsync, rename over `PATH`, fsync the
 * directory, then truncate the journal. A crash before the rename leaves the old snapshot and the whole
 * journal; after it, the new snapshot and journal lines it already holds, which load skips by seq.
 * (Replaying them would still give the same entries, every op being idempotent, but not always in
 * the same order: a thread removed and put again moves to the end.)
 */
import { dirname, join } from 'node:path';
import { ensureDirectory, errorCode, nodeFileSystem, type FileHandle, type StateFileSystem } from './file-system.js';
import { decodeJournal, encodeJournalLine } from './journal.js';
import { acquireLock, type HeldLock } from './lock.js';
import { applyOp, emptyModel, modelFromSnapshot, toSnapshot, type StateModel, type StateOp } from './model.js';
import { createStoreWithBackend, type StoreBackend } from './store-core.js';
import { StateLocationError, type StateStore, type StoreHooks } from './store.js';

export const STATE_FILE_VERSION = 1;

export interface FileStateStoreOptions extends StoreHooks {
  /**
   * Compact once the journal holds this many bytes, or more than the snapshot if that is bigger (so
   * compaction costs stay proportional to the changes). Default 4 MiB.
   */
  compactAfterJournalBytes?: number;
  /** A lock not refreshed for this long is stale whatever its pid (see lock.ts). Default 60 000. */
  lockStaleAfterMillis?: number;
  /** For tests: replaces some file-system calls. */
  fs?: Partial<StateFileSystem>;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A store over `path` and its companions (created with their directory); call `load()` first. */
export function createFileStateStore(path: string, options: FileStateStoreOptions = {}): StateStore {
  const compactAfterBytes = options.compactAfterJournalBytes ?? 4 * 1024 * 1024;
  const lockStaleAfterMillis = options.lockStaleAfterMillis ?? 60_000;
  if (!(compactAfterBytes > 0)) throw new TypeError(`compactAfterJournalBytes must be positive, got ${compactAfterBytes}`);
  if (!(lockStaleAfterMillis > 0)) throw new TypeError(`lockStaleAfterMillis must be positive, got ${lockStaleAfterMillis}`);
  return createStoreWithBackend(fileBackend(path, compactAfterBytes, lockStaleAfterMillis, options));
}

/** Errors that say the location cannot be used at all, with what to tell the user. */
function locationProblem(path: string, error: unknown): StateLocationError | undefined {
  const code = errorCode(error);
  const detail = (error as Error).message;
  const why: Record<string, string> = {
    EISDIR: `is a directory; give a file path, e.g. ${join(path, 'state.json')}`,
    EACCES: `permission denied (${detail})`,
    EPERM: `operation not permitted (${detail})`,
    EROFS: `is on a read-only file system (${detail})`,
    ENOENT: `its directory cannot be created (${detail})`,
    ENOTDIR: `a parent of it is not a directory (${detail})`,
    EEXIST: `a parent of it is not a directory (${detail})`,
    ENOSPC: `no space left on the device (${detail})`,
    EDQUOT: `disk quota exceeded (${detail})`,
    ELOOP: `too many symbolic links (${detail})`,
    ENAMETOOLONG: `the name is too long (${detail})`,
    EINVAL: `not a usable path (${detail})`,
  };
  const reason = code !== undefined ? why[code] : undefined;
  return reason === undefined ? undefined : new StateLocationError(path, code, `cannot use ${path} for the state: ${reason}`, { cause: error });
}

function fileBackend(path: string, compactAfterBytes: number, lockStaleAfterMillis: number, options: FileStateStoreOptions): StoreBackend {
  const fs: StateFileSystem = { ...nodeFileSystem, ...options.fs };
  const warn = options.onWarning ?? (() => {});
  const journalPath = `${path}.journal`;
  const tmpPath = `${path}.tmp`;

  let model = emptyModel();
  let lock: HeldLock | undefined;
  let journal: FileHandle | undefined;
  /** The seq of the last op applied to the model (journalled or still queued). */
  let seq = 0;
  let journalBytes = 0;
  let snapshotBytes = 0;
  let hasSnapshot = false;
  /** After a failed compaction, the next try waits until the journal has grown this far. */
  let retryCompactionAt = 0;
  let queued: string[] = [];
  let waiters: Waiter[] = [];
  let flushing: Promise<void> | undefined;
  /** Set when a journal write failed: what is on disk is then unknown, so every later mutation fails. */
  let failure: Error | undefined;

  async function readSnapshot(): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return; // first start
      throw error;
    }
    const refuse = (why: string) =>
      new Error(`state file ${path} ${why}. Refusing to start from an empty state, which would re-export or forget work: repair the file or move it aside.`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw refuse(`is not valid JSON (${(error as Error).message})`);
    }
    const fields = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    if (fields.version !== STATE_FILE_VERSION) {
      throw refuse(`has version ${JSON.stringify(fields.version)}, and this assistants-otel reads version ${STATE_FILE_VERSION}`);
    }
    const parsed = modelFromSnapshot(value);
    if (typeof parsed === 'string') throw refuse(`is not a valid version ${STATE_FILE_VERSION} state: ${parsed}`);
    if (typeof fields.seq !== 'number' || !Number.isSafeInteger(fields.seq) || fields.seq < 0) throw refuse('has no valid seq');
    model = parsed;
    seq = fields.seq;
    snapshotBytes = Buffer.byteLength(text);
    hasSnapshot = true;
  }

  async function replayJournal(): Promise<void> {
    let text = '';
    try {
      text = await fs.readFile(journalPath, 'utf8');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    journalBytes = Buffer.byteLength(text);
    const { entries, damagedLines, tornTail } = decodeJournal(text, journalPath);
    for (const entry of entries) {
      if (entry.seq <= seq) continue; // already in the snapshot: a crash came between rename and truncation
      applyOp(model, entry.op);
      seq = entry.seq;
    }
    if (damagedLines.length === 0) return;
    if (tornTail && damagedLines.length === 1) {
      warn(`state journal ${journalPath}: ignored a torn last line (line ${damagedLines[0]}), left by a crash during a write; that change had not been acknowledged`);
    } else {
      const shown = damagedLines.slice(0, 10).join(', ') + (damagedLines.length > 10 ? ', …' : '');
      const noun = damagedLines.length === 1 ? 'line' : 'lines';
      warn(`state journal ${journalPath}: ignored ${damagedLines.length} damaged ${noun} (${shown}) whose checksum does not match; their changes are lost`);
    }
  }

  async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
    for (let offset = 0; offset < bytes.length; ) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
  }

  /** Makes a rename or a new file in the directory durable. */
  async function syncDirectory(): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(dirname(path), 'r');
      await handle.sync();
    } catch (error) {
      // Windows and some file systems cannot open or sync a directory; there the rename is all we have.
      if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'ENOTSUP'].includes(errorCode(error) ?? '')) throw error;
    } finally {
      await handle?.close();
    }
  }

  async function compact(): Promise<void> {
    if (!journal) throw new Error('compact() before open()');
    // Everything applied so far, including ops still queued: those will land in the journal after
    // the truncation with a seq the snapshot already covers, and load skips them.
    const bytes = Buffer.from(`${JSON.stringify({ version: STATE_FILE_VERSION, seq, ...toSnapshot(model) })}\n`, 'utf8');
    const tmp = await fs.open(tmpPath, 'w');
    try {
      await writeAll(tmp, bytes);
      await tmp.sync();
    } finally {
      await tmp.close();
    }
    await fs.rename(tmpPath, path);
    await syncDirectory(); // the new snapshot must be durable before the journal lines it replaces go
    hasSnapshot = true;
    snapshotBytes = bytes.length;
    await journal.truncate(0);
    journalBytes = 0;
    retryCompactionAt = 0;
  }

  function fail(error: unknown, batch: Waiter[]): void {
    const cause = error instanceof Error ? error : new Error(String(error));
    failure = new Error(`state journal ${journalPath}: a write failed, so the store accepts no more changes: ${cause.message}`, { cause });
    for (const waiter of [...batch, ...waiters]) waiter.reject(failure);
    queued = [];
    waiters = [];
    options.onFailure?.(failure);
  }

  async function flush(handle: FileHandle): Promise<void> {
    await null; // let every commit of this tick join the first batch
    while (queued.length > 0 && !failure) {
      const lines = queued;
      const batch = waiters;
      queued = [];
      waiters = [];
      try {
        const bytes = Buffer.from(lines.join(''), 'utf8');
        await writeAll(handle, bytes);
        await handle.datasync();
        journalBytes += bytes.length;
      } catch (error) {
        fail(error, batch);
        break;
      }
      for (const waiter of batch) waiter.resolve();
      if (journalBytes >= Math.max(compactAfterBytes, snapshotBytes, retryCompactionAt)) {
        try {
          await compact();
        } catch (error) {
          // The journal still holds everything: carry on, and try again once it has grown as much again.
          retryCompactionAt = 2 * journalBytes;
          warn(`state file ${path}: compaction failed, will retry later: ${(error as Error).message}`);
        }
      }
    }
    // Synchronously after seeing the queue empty, so a commit from now on starts a new flush.
    flushing = undefined;
  }

  return {
    name: `state file ${path}`,

    async open(): Promise<StateModel> {
      try {
        await ensureDirectory(fs, dirname(path));
        // A directory given as the state file would only fail later, on its first read.
        const stats = await fs.stat(path).catch((error: unknown) => (errorCode(error) === 'ENOENT' ? undefined : Promise.reject(error)));
        if (stats?.isDirectory()) throw Object.assign(new Error(`EISDIR: is a directory, ${path}`), { code: 'EISDIR' });
        lock = await acquireLock(`${path}.lock`, { fs, staleAfterMillis: lockStaleAfterMillis, statePath: path, onWarning: warn });
      } catch (error) {
        throw locationProblem(path, error) ?? error;
      }
      try {
        await readSnapshot();
        await replayJournal();
        await fs.rm(tmpPath, { force: true }); // a compaction a crash interrupted before its rename
        journal = await fs.open(journalPath, 'a');
        // Start from an empty journal: a torn tail must not swallow the next line appended to it.
        if (journalBytes > 0 || !hasSnapshot) await compact();
        else await syncDirectory(); // the journal may have just been created
        return model;
      } catch (error) {
        await journal?.close();
        await lock.release();
        throw locationProblem(path, error) ?? error;
      }
    },

    commit(op: StateOp): Promise<void> {
      if (failure) return Promise.reject(failure);
      const handle = journal;
      if (!handle) return Promise.reject(new Error(`state file ${path}: commit before open`));
      seq += 1;
      queued.push(encodeJournalLine(seq, op));
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      flushing ??= flush(handle);
      return done;
    },

    async close(): Promise<void> {
      try {
        while (flushing) await flushing;
        if (!failure && journalBytes > 0) await compact();
      } finally {
        await journal?.close();
        await lock?.release();
      }
      if (failure) throw failure;
    },
  };
}
